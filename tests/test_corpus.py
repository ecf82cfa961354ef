"""The bad-input corpus (tests/corpus/cases.yml): every file's outcome, and nothing lost."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from flows.ingest.files import ingest_file
from flows.ingest.inbox import kind_of
from flows.ingest.kinds import KINDS
from plaudit import program
from plaudit.errors import IngestError, ProgramError

CORPUS = Path(__file__).parent / "corpus"
CASES = yaml.safe_load((CORPUS / "cases.yml").read_text())


def test_the_corpus_has_what_the_issue_asks_for():
    assert len(CASES["files"]) + len(CASES["programs"]) >= 30
    listed = {c["file"] for c in CASES["files"]} | {c["file"] for c in CASES["programs"]}
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file() and p.name != "cases.yml"}
    assert listed == on_disk  # every file has an expected outcome


def test_every_bad_file_is_quarantined_with_its_reason_or_refused_and_nothing_is_lost(fresh_db):
    with psycopg.connect(fresh_db) as conn:
        for case in CASES["files"]:
            path = CORPUS / case["file"]
            kind = kind_of(path)
            if "refused" in case:
                with pytest.raises(IngestError) as err:
                    ingest_file(conn, path, kind=KINDS[kind])
                conn.rollback()
                assert case["refused"] in str(err.value), case["file"]
                continue
            r = ingest_file(conn, path, kind=KINDS[kind]).kinds[kind]
            conn.commit()
            expected = case.get("quarantined", {})
            got = (r.loaded, r.updated, r.duplicates, r.quarantined_by_reason)
            assert got == (case.get("loaded", 0), 0, case.get("duplicates", 0), expected), case["file"]
            assert r.rows_read == r.loaded + r.updated + r.duplicates + r.quarantined, case["file"]
            (in_quarantine,) = conn.execute(
                "select count(*) from plaudit.quarantine where source_file = %s", [str(path)]).fetchone()
            assert in_quarantine == sum(expected.values()), case["file"]

        # text is stored exactly as the customer wrote it (escaping and neutralising happen on output)
        comments = dict(conn.execute(
            "select response_id, comment from raw.feedback_responses where response_id in ('E1', 'Q1', 'P1', 'C1')"))
        assert comments["E1"] == "شكرا جزيلا 🙏 תודה רבה 👍🏽 \u202eevil\u202c"
        assert comments["Q1"] == "'); drop table raw.feedback_responses; --"
        assert comments["P1"] == '=HYPERLINK("http://evil.example","click")'
        assert len(comments["C1"]) == len("great " * 180000) - 1  # trailing space trimmed, nothing cut
        assert conn.execute("select count(*) from raw.feedback_responses").fetchone()[0] > 0  # still there


@pytest.mark.parametrize("case", CASES["programs"], ids=[c["file"] for c in CASES["programs"]])
def test_every_bad_program_is_refused_naming_the_problem(case):
    with pytest.raises(ProgramError) as err:
        program.load(CORPUS / case["file"])
    assert case["error"] in str(err.value)
    assert f"{case['file'].split('/')[-1]}:" in str(err.value)  # the file and line
