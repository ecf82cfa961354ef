from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from flows.ingest.files import ingest_file
from flows.ingest.kinds import KINDS
from plaudit.demo_data import generate
from plaudit.errors import IngestError

HEADER = "response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at\n"


def ingest(url: str, kind: str, path: Path):
    with psycopg.connect(url) as conn:
        fr = ingest_file(conn, path, kind=KINDS[kind])
        conn.commit()
    r = fr.kinds[kind]
    assert r.rows_read == r.loaded + r.updated + r.duplicates + r.quarantined
    return r


def test_demo_exports_load_whole_and_a_second_time_add_nothing(fresh_db, tmp_path):
    counts = generate(tmp_path / "demo", employees=20, days=5, seed=3)
    for kind in KINDS:
        r = ingest(fresh_db, kind, tmp_path / "demo" / f"{kind}.csv")
        assert (r.loaded, r.quarantined) == (counts[kind], 0), r
    again = ingest(fresh_db, "feedback", tmp_path / "demo" / "feedback.csv")
    assert (again.loaded, again.duplicates) == (0, counts["feedback"])
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select count(*) from raw.feedback_responses").fetchone()[0] == counts["feedback"]


def test_a_files_checking_tables_are_emptied_as_it_goes_not_at_the_commit(fresh_db, tmp_path):
    """The landing, checked and typed copies of a file are truncated once the next step is built
    (at L they held tens of GB until the commit); what was loaded is unchanged."""
    counts = generate(tmp_path / "demo", employees=20, days=5, seed=3)
    with psycopg.connect(fresh_db) as conn:
        fr = ingest_file(conn, tmp_path / "demo" / "participants.csv", kind=KINDS["participants"])
        sizes = {t: conn.execute("select pg_relation_size(%s::regclass)", [t]).fetchone()[0]
                 for t in ("landing", "checked", "typed", "classified")}
        conn.commit()
    assert fr.kinds["participants"].loaded == counts["participants"]
    assert sizes["landing"] == sizes["checked"] == sizes["typed"] == 0 < sizes["classified"], sizes


def test_a_load_bigger_than_its_table_builds_the_indexes_after_its_rows(fresh_db, tmp_path, monkeypatch):
    """A file that brings more rows than its table holds loads without the table's indexes and builds
    them again (new index files); the same indexes and primary key come back and are enforced. A file
    smaller than what the table holds loads with them in place; a file whose transaction is rolled
    back leaves them as they were."""
    from flows.ingest import files

    monkeypatch.setattr(files, "BULK_MIN_ROWS", 10)
    generate(tmp_path / "a", employees=20, days=5, seed=3)
    generate(tmp_path / "b", employees=20, days=1, seed=4, start=date(2026, 11, 2), first_id=1_000_000)

    def indexes(conn):
        return conn.execute(
            "select indexrelid::regclass::text, pg_get_indexdef(indexrelid), indisprimary and indisvalid, indexrelid"
            " from pg_index where indrelid = 'raw.interaction_participants'::regclass order by 1"
        ).fetchall()

    def participants(folder):
        return tmp_path / folder / "participants.csv"

    with psycopg.connect(fresh_db) as conn:
        empty = indexes(conn)
        ingest_file(conn, participants("b"), kind=KINDS["participants"])
        assert [i[:3] for i in indexes(conn)] == [i[:3] for i in empty]
        conn.rollback()  # the file's transaction fails: the indexes are the ones it started with
        assert indexes(conn) == empty

        first = ingest_file(conn, participants("a"), kind=KINDS["participants"]).kinds["participants"]
        conn.commit()
        assert first.loaded > 10
        built = indexes(conn)
        assert [i[:3] for i in built] == [i[:3] for i in empty] and len(built) == 4
        assert {i[3] for i in built}.isdisjoint({i[3] for i in empty})  # built again
        assert sum(i[2] for i in built) == 1  # the primary key, and it holds
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into raw.interaction_participants select * from raw.interaction_participants limit 1")
        conn.rollback()

        later = ingest_file(conn, participants("b"), kind=KINDS["participants"]).kinds["participants"]
        conn.commit()
        assert 10 < later.loaded < first.loaded
        assert indexes(conn) == built  # fewer rows than the table holds: loaded with the indexes in place


def test_generator_is_deterministic_by_seed(tmp_path):
    generate(tmp_path / "a", employees=15, days=3, seed=11)
    generate(tmp_path / "b", employees=15, days=3, seed=11)
    for f in (tmp_path / "a").iterdir():
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes()


def test_bad_rows_are_quarantined_with_a_reason_and_the_run_goes_on(fresh_db, tmp_path):
    f = tmp_path / "feedback.csv"
    f.write_bytes(
        (
            HEADER
            + "G1,I1,,csat,5,fine,email,2026-10-02T10:00:00Z\n"
            + "B1,I1,,csat,9,,email,2026-10-02\n"  # score outside the scale
            + "B2,I1,,csat,3,,email,31/02/2026\n"  # unparseable date
            + "B3,I1,,smiley,3,,email,2026-10-02\n"  # unknown enum
            + "B4,,,csat,3,,email,2026-10-02\n"  # names nobody
            + "B5,I1,,csat,3,,email,2031-10-02\n"  # future
            + "B6,I1,,csat,3,,email\n"  # ragged
            + ",I1,,csat,3,,email,2026-10-02\n"  # missing id
            + "G1,I1,,csat,4,changed,email,2026-10-02T10:00:00Z\n"  # same id, other content
            + "G2,I1,,csat,5,\"<b>quoted, with comma</b>\",email,2026-10-02\n"
            + "G2,I1,,csat,5,\"<b>quoted, with comma</b>\",email,2026-10-02\n"  # exact duplicate
        ).encode()
        + b"B7,I1,,csat,5,caf\xe9,email,2026-10-02\n"  # latin-1 byte in a utf-8 file
        + b"B8,I1,,csat,5,nul\x00byte,email,2026-10-02\n"
    )
    r = ingest(fresh_db, "feedback", f)
    assert (r.rows_read, r.loaded, r.duplicates, r.quarantined) == (13, 2, 1, 10)
    reasons = r.quarantined_by_reason
    assert reasons["score 9 is outside the csat scale"] == 1
    assert reasons["unparseable timestamptz in responded_at: '31/02/2026'"] == 1
    assert reasons["unknown feedback_kind 'smiley' (expected one of csat, nps, ces, stars, thumbs)"] == 1
    assert reasons["feedback names neither an interaction nor an employee"] == 1
    assert reasons["responded_at lies in the future: 2031-10-02"] == 1
    assert reasons["row has 7 fields, the header has 8"] == 1
    assert reasons["missing required field response_id"] == 1
    assert reasons["same id as line 2 of this file, with different content"] == 1
    assert reasons["bytes that are not valid utf-8 (declare the file's encoding in its mapping)"] == 1
    assert reasons["NUL byte in row"] == 1
    with psycopg.connect(fresh_db) as conn:
        lines = sorted(r[0] for r in conn.execute("select source_line from plaudit.quarantine"))
        assert lines == [3, 4, 5, 6, 7, 8, 9, 10, 13, 14]
        raw = conn.execute("select raw_text from plaudit.quarantine where source_line = 3").fetchone()[0]
        assert raw.startswith("B1,I1,,csat,9")


def test_a_changed_event_in_a_later_file_is_quarantined_but_master_data_updates(fresh_db, tmp_path):
    (tmp_path / "f1.csv").write_text(HEADER + "X1,I1,,csat,5,,email,2026-10-02\n")
    (tmp_path / "f2.csv").write_text(HEADER + "X1,I1,,csat,1,,email,2026-10-02\n")
    ingest(fresh_db, "feedback", tmp_path / "f1.csv")
    r = ingest(fresh_db, "feedback", tmp_path / "f2.csv")
    assert r.quarantined == 1 and "f1.csv line 2, with different content" in next(iter(r.quarantined_by_reason))
    emp = "employee_id,full_name,status,team\n"
    (tmp_path / "e1.csv").write_text(emp + "E1,Ann Example,active,Lyon\n")
    (tmp_path / "e2.csv").write_text(emp + "E1,Ann Example,active,Berlin\n")
    ingest(fresh_db, "employees", tmp_path / "e1.csv")
    r = ingest(fresh_db, "employees", tmp_path / "e2.csv")
    assert (r.updated, r.loaded) == (1, 0)


def test_whole_file_problems_are_refused_with_a_clear_error(fresh_db, tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(IngestError, match="is empty: expected a header row"):
        ingest(fresh_db, "feedback", tmp_path / "empty.csv")
    (tmp_path / "nocol.csv").write_text("response_id,score\nR1,5\n")
    with pytest.raises(IngestError, match="missing required column.*feedback_kind.*responded_at"):
        ingest(fresh_db, "feedback", tmp_path / "nocol.csv")
    (tmp_path / "header.csv").write_text(HEADER)
    r = ingest(fresh_db, "feedback", tmp_path / "header.csv")
    assert r.rows_read == 0


def test_a_mapping_renames_columns_and_sets_constants_through_the_cli(fresh_db, tmp_path):
    import json
    import os
    import subprocess
    import sys

    export = tmp_path / "survey.csv"
    export.write_text("\ufeffTicket;Rating;Said;When\nT9;5;Great help;2026-10-03T10:00:00Z\nT8;7;;2026-10-03\n", encoding="utf-8")
    mapping = tmp_path / "survey.yml"
    mapping.write_text(
        "delimiter: ';'\n"
        "kinds:\n"
        "  feedback:\n"
        "    fields: {response_id: Ticket, interaction_id: Ticket, score: Rating, comment: Said, responded_at: When,\n"
        "             feedback_kind: {value: csat}, channel: {value: email}}\n"
    )
    r = subprocess.run(
        [sys.executable, "-m", "plaudit.cli", "ingest", "--file", str(export),
         "--mapping", str(mapping), "--json"],
        capture_output=True, text=True, env=os.environ.copy(), timeout=120,
    )
    assert r.returncode == 0, r.stderr
    counts = json.loads(r.stdout)["kinds"]["feedback"]
    assert (counts["rows_read"], counts["loaded"], counts["quarantined"]) == (2, 1, 1)
    assert counts["quarantined_by_reason"] == {"score 7 is outside the csat scale": 1}
    with psycopg.connect(fresh_db) as conn:
        row = conn.execute("select response_id, feedback_kind, score, comment, channel from raw.feedback_responses").fetchone()
    assert row == ("T9", "csat", 5, "Great help", "email")


def test_a_customer_first_name_is_kept_only_where_the_mapping_allows_it(fresh_db, tmp_path):
    from flows.ingest import mapping as mapping_mod

    native = tmp_path / "feedback.csv"
    native.write_text(HEADER.strip() + ",customer_first_name\nR1,I1,,csat,5,Great,email,2026-10-03T10:00:00Z,Sam\n")
    ingest(fresh_db, "feedback", native)  # Plaudit's own format: the column is ignored

    spec = ("kinds:\n  feedback:\n    fields: {response_id: Id, interaction_id: Id, score: Score, comment: Said,\n"
            "             responded_at: When, feedback_kind: {value: csat}, customer_first_name: First}\n")
    refused = tmp_path / "refused.yml"
    refused.write_text(spec)
    with pytest.raises(IngestError, match="customer_first_name_allowed: true"):
        mapping_mod.load(refused)
    allowed = tmp_path / "allowed.yml"
    allowed.write_text("customer_first_name_allowed: true\n" + spec)
    export = tmp_path / "survey.csv"
    export.write_text("Id,Score,Said,When,First\nR2,5,Lovely,2026-10-03T10:00:00Z,Priya\n")
    with psycopg.connect(fresh_db) as conn:
        ingest_file(conn, export, mapping=mapping_mod.load(allowed))
        conn.commit()
        names = dict(conn.execute("select response_id, customer_first_name from raw.feedback_responses").fetchall())
    assert names == {"R1": None, "R2": "Priya"}

    # the recognition email shows the name beside the customer's words, and nothing when there is none
    from flows.publish.emails import RecognitionRenderer

    row = {"program_definition": {"title": "T", "communications": {"default_locale": "en"}}, "locale": "en",
           "full_name": "Alice Agent", "period": "2026-10", "points": 10, "amount_minor": 500, "currency": "EUR",
           "balance": 10, "manager_name": None, "tier_name": None, "next_tier_name": None, "points_to_next_tier": None,
           "quotes": [{"text": "Lovely", "customer": "Priya", "kind": "csat", "score": 5, "channel": "email"},
                      {"text": "Fine", "customer": None, "kind": "csat", "score": 4, "channel": "sms"}]}
    _, text, html = RecognitionRenderer().render(row)
    assert "(Priya, CSAT 5, email)" in text and "(CSAT 4, sms)" in text
    assert "Priya &middot; CSAT 5" in html


RAW_TABLES = ["employees", "accounts", "exchange_rates", "interactions", "interaction_participants",
              "feedback_responses", "nominations"]


def _raw_fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Rows and a digest of each raw table's content (load times and ingest ids left out)."""
    out = {}
    with psycopg.connect(url) as conn:
        for t in RAW_TABLES:
            out[t] = conn.execute(sql.SQL(
                "select count(*), md5(coalesce(string_agg(r::text, '|' order by r::text), ''))"
                " from (select to_jsonb(x) - '_ingested_at' - 'updated_at' as r from {} as x) as s"
            ).format(sql.Identifier("raw", t))).fetchone()
        out["quarantine"] = conn.execute(
            "select count(*), md5(coalesce(string_agg(kind || source_line || reason, '|' order by kind, source_line), ''))"
            " from plaudit.quarantine"
        ).fetchone()
    return out


def test_event_kinds_load_at_once_in_worker_processes_and_equal_one_at_a_time(
        server_url, monkeypatch, tmp_path):
    """The nightly inbox loads large event files of different kinds in parallel processes; the
    database ends the same as loading them one by one (bad rows, hashes and all)."""
    import uuid

    from flows.ingest.inbox import ingest_inbox, ingest_workers, pending_files
    from plaudit import db, settings

    inbox = tmp_path / "inbox"
    generate(inbox, employees=30, days=6, seed=5)
    with (inbox / "feedback.csv").open("a") as f:
        f.write("RBAD1,T00000001,,csat,9,out of scale,web,2026-10-02T10:00:00,\n")
    (inbox / "participants-late.csv").write_text(
        "interaction_id,employee_id,participant_role,touched_at\nT00000001,E0003,assist,2026-10-01T09:00:00\n")
    monkeypatch.setenv("PLAUDIT_HASH_KEY", "test-hash-key")
    monkeypatch.setenv("PLAUDIT_INBOX_DIR", str(inbox))
    fingerprints = {}
    for workers, min_bytes in (("1", "0"), ("2", "0")):
        monkeypatch.setenv("PLAUDIT_DB_NAME", f"t_{uuid.uuid4().hex[:10]}")
        monkeypatch.setenv("PLAUDIT_INGEST_WORKERS", workers)
        monkeypatch.setenv("PLAUDIT_INGEST_PARALLEL_MIN_BYTES", min_bytes)
        url = db.database_url()
        s = settings.load()
        with psycopg.connect(url) as conn:
            assert ingest_workers(pending_files(conn, inbox, s.mappings_dir)) == int(workers)
        results, refused = ingest_inbox(url, inbox, s.mappings_dir)
        assert refused == []
        # master data first, then the events in the usual order, whatever finished first
        assert [Path(r.file).name for r in results] == [
            "employees.csv", "accounts.csv", "exchange_rates.csv", "interactions.csv", "participants-late.csv",
            "participants.csv", "feedback.csv", "nominations.csv"]
        assert sum(r.quarantined_rows for r in results) == 1
        fingerprints[workers] = _raw_fingerprint(url)
        # run again: every file is remembered by its hash, nothing loads twice
        assert ingest_inbox(url, inbox, s.mappings_dir) == ([], [])
        assert _raw_fingerprint(url) == fingerprints[workers]
    assert fingerprints["1"] == fingerprints["2"]
    assert fingerprints["2"]["feedback_responses"][0] > 100
