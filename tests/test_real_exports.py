"""Ingestion of real, messy exports through mappings (issue: real exports and APIs)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from flows.ingest import mapping as mapping_mod
from flows.ingest.files import ingest_file
from flows.ingest.kinds import KINDS
from flows.ingest.personal import keyed_hash
from plaudit.errors import IngestError

ROOT = Path(__file__).resolve().parents[1]
CALL_CENTRE = ROOT.parent / "shared" / "datasets" / "call_center_2021q1.csv"
MAPPING = ROOT / "mappings" / "call_center_2021q1.yml"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plaudit.cli", *args], capture_output=True, text=True,
                          env=env or os.environ.copy(), timeout=300)


def test_the_call_centre_export_gives_the_published_counts_and_twice_loads_nothing(fresh_db):
    assert CALL_CENTRE.exists(), f"the shared data set is missing: {CALL_CENTRE}"
    first = cli("ingest", "--mapping", str(MAPPING), "--file", str(CALL_CENTRE), "--json")
    assert first.returncode == 0, first.stderr
    k = json.loads(first.stdout)["kinds"]
    assert (k["interactions"]["loaded"], k["participants"]["loaded"], k["feedback"]["loaded"]) == (5000, 5000, 4054)
    assert k["feedback"]["filtered_out"] == 946
    assert sum(v["quarantined"] for v in k.values()) == 0
    second = json.loads(cli("ingest", "--mapping", str(MAPPING), "--file", str(CALL_CENTRE), "--json").stdout)["kinds"]
    assert [v["loaded"] for v in second.values()] == [0, 0, 0]
    assert [v["duplicates"] for v in second.values()] == [5000, 5000, 4054]
    with psycopg.connect(fresh_db) as conn:
        # day-first dates, times without a leading zero, durations added to the end of the call
        opened, closed = conn.execute(
            "select opened_at, closed_at from raw.interactions where interaction_id = 'ID0001'").fetchone()
        assert (opened.isoformat(), (closed - opened).seconds) == ("2021-01-01T09:12:58+00:00", 143)
        last = conn.execute("select opened_at from raw.interactions where interaction_id = 'ID5000'").fetchone()[0]
        assert last.isoformat() == "2021-03-31T17:39:50+00:00"


def test_the_nightly_flow_runs_on_the_call_centre_export(fresh_db, tmp_path, monkeypatch, prefect_harness):
    inbox = tmp_path / "inbox"
    (inbox / "call_center_2021q1").mkdir(parents=True)
    shutil.copy(CALL_CENTRE, inbox / "call_center_2021q1" / "calls.csv")
    shutil.copy(ROOT / "mappings" / "call_center_2021q1_employees.csv", inbox / "employees.csv")
    monkeypatch.setenv("PLAUDIT_INBOX_DIR", str(inbox))
    from flows.nightly import nightly
    from flows.publish import emails

    monkeypatch.setattr(emails, "RENDER_BATCH", 3)  # the messages are rendered and stored a few at a time
    s = nightly(night=datetime(2021, 1, 31).date(), program="call_center")
    # Independently of Plaudit: January's CSAT 5 earn 10 points, CSAT 4 earn 5, last touch = the agent.
    expected: dict[str, Decimal] = defaultdict(Decimal)
    with CALL_CENTRE.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            if row["Date"].endswith("/01/2021") and row["Satisfaction rating"] in ("4", "5"):
                expected[row["Agent"]] += 10 if row["Satisfaction rating"] == "5" else 5
    assert s["rows_ingested"] == 9 + 5000 + 5000 + 4054 and s["rows_quarantined"] == 0
    with psycopg.connect(fresh_db) as conn:
        points = dict(conn.execute("select employee_id, sum(points) from plaudit.ledger_entries group by 1").fetchall())
        awards = dict(conn.execute("select employee_id, amount_minor from plaudit.awards where period = '2021-01'").fetchall())
    assert points == expected
    assert awards == {agent: int(p * 10) for agent, p in expected.items()}  # 0.10 USD a point, in cents
    assert s["emails_written"] == len(expected) > 2 * emails.RENDER_BATCH


def test_encodings_are_declared_and_bad_bytes_quarantined(fresh_db, tmp_path):
    text = "employee_id,full_name,status\nE1,Zoé Lefèvre,active\nE2,Jürgen Groß,active\n"
    latin = tmp_path / "hr_latin1.csv"
    latin.write_bytes(text.encode("latin-1"))
    m = tmp_path / "hr.yml"
    m.write_text("encoding: latin-1\nkinds:\n  employees:\n    fields: {employee_id: employee_id, full_name: full_name, status: status}\n")
    with psycopg.connect(fresh_db) as conn:
        r = ingest_file(conn, latin, mapping=mapping_mod.load(m)).kinds["employees"]
        conn.commit()
        assert (r.loaded, r.quarantined) == (2, 0)
        names = {n for (n,) in conn.execute("select full_name from raw.employees")}
        assert names == {"Zoé Lefèvre", "Jürgen Groß"}
    with psycopg.connect(fresh_db) as conn:  # the same bytes read as utf-8: quarantined, not mangled
        r = ingest_file(conn, latin, kind=KINDS["employees"]).kinds["employees"]
        conn.commit()
    assert r.quarantined == 2
    assert r.quarantined_by_reason == {"bytes that are not valid utf-8 (declare the file's encoding in its mapping)": 2}


def test_jsonl_and_xlsx_exports(fresh_db, tmp_path):
    jl = tmp_path / "feedback.jsonl"
    jl.write_text(
        json.dumps({"response_id": "J1", "interaction_id": "I1", "feedback_kind": "nps", "score": 9,
                    "responded_at": "2026-10-02T10:00:00Z", "extra": {"nested": True}}) + "\n"
        + "{not json\n"
        + json.dumps({"response_id": "J2", "employee_id": "E1", "feedback_kind": "stars", "score": 4,
                      "responded_at": "2026-10-02T11:00:00Z"}) + "\n"
    )
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Nominee", "Why", "When", "Ref"])
    ws.append(["E1", "Saved our launch", datetime(2026, 10, 3, 9, 30), 1001])
    ws.append(["E2", "=HYPERLINK(\"http://x\")", datetime(2026, 10, 4, 9, 30), 1002])
    xlsx = tmp_path / "nominations.xlsx"
    wb.save(xlsx)
    m = tmp_path / "noms.yml"
    m.write_text(
        "format: xlsx\ntimezone: Europe/Paris\nkinds:\n  nominations:\n    fields:\n"
        "      nomination_id: {template: 'NOM-{Ref}'}\n      employee_id: Nominee\n      reason: Why\n"
        "      nominated_at: {column: When, parse: datetime}\n"
    )
    with psycopg.connect(fresh_db) as conn:
        j = ingest_file(conn, jl, kind=KINDS["feedback"]).kinds["feedback"]
        x = ingest_file(conn, xlsx, mapping=mapping_mod.load(m)).kinds["nominations"]
        conn.commit()
        assert (j.rows_read, j.loaded, j.quarantined) == (3, 2, 1)
        assert next(iter(j.quarantined_by_reason)).startswith("not valid JSON")
        assert (x.loaded, x.quarantined) == (2, 0)
        at = conn.execute("select nominated_at from raw.nominations where nomination_id = 'NOM-1001'").fetchone()[0]
        assert at.isoformat() == "2026-10-03T07:30:00+00:00"  # 09:30 in Paris (summer time)


def test_a_later_record_replaces_the_old_only_when_newer(fresh_db, tmp_path):
    head = "response_id,interaction_id,feedback_kind,score,responded_at,updated_at\n"
    files = {
        "v1.csv": "U1,I1,csat,3,2026-10-02,2026-10-02T10:00:00Z\n",
        "v2.csv": "U1,I1,csat,5,2026-10-02,2026-10-03T10:00:00Z\n",  # newer: replaces
        "v0.csv": "U1,I1,csat,1,2026-10-02,2026-10-01T10:00:00Z\n",  # older: refused
    }
    outcomes = []
    with psycopg.connect(fresh_db) as conn:
        for name, body in files.items():
            (tmp_path / name).write_text(head + body)
            r = ingest_file(conn, tmp_path / name, kind=KINDS["feedback"]).kinds["feedback"]
            conn.commit()
            outcomes.append((r.loaded, r.updated, r.quarantined))
        assert conn.execute("select score from raw.feedback_responses").fetchone()[0] == 5
    assert outcomes == [(1, 0, 0), (0, 1, 0), (0, 0, 1)]
    assert "older than the version already loaded" in next(iter(r.quarantined_by_reason))


def test_employee_history_keeps_each_version_with_its_validity(fresh_db, tmp_path):
    head = "employee_id,full_name,status,role,team,updated_at\n"
    (tmp_path / "hr1.csv").write_text(head + "E1,Ann Example,active,back_office,Ops,2026-01-01T00:00:00Z\n")
    (tmp_path / "hr2.csv").write_text(head + "E1,Ann Example,active,customer_service,Support,2026-10-15T00:00:00Z\n")
    with psycopg.connect(fresh_db) as conn:
        for f in ("hr1.csv", "hr2.csv"):
            ingest_file(conn, tmp_path / f, kind=KINDS["employees"])
            conn.commit()
        versions = conn.execute(
            "select role, valid_from::text, valid_to::text from raw.employee_history order by valid_from").fetchall()
    assert versions == [
        ("back_office", "-infinity", "2026-10-15 00:00:00+00"),
        ("customer_service", "2026-10-15 00:00:00+00", "infinity"),
    ]


def test_contact_details_are_keyed_hashes_and_self_feedback_is_detectable(fresh_db, tmp_path):
    (tmp_path / "employees.csv").write_text("employee_id,full_name,status,email\nE1,Ann Example,active,Ann@Staff.example\n")
    (tmp_path / "feedback.csv").write_text(
        "response_id,employee_id,feedback_kind,score,responded_at,customer_email,customer_phone\n"
        "F1,E1,csat,5,2026-10-02,ann@staff.example ,\n"
        "F2,E1,csat,9,2026-10-02,someone@customer.example,+44 20 7946 0958\n"
    )
    with psycopg.connect(fresh_db) as conn:
        ingest_file(conn, tmp_path / "employees.csv", kind=KINDS["employees"])
        ingest_file(conn, tmp_path / "feedback.csv", kind=KINDS["feedback"])
        conn.commit()
        self_feedback = conn.execute(
            "select f.response_id from raw.feedback_responses f join raw.employees e"
            " on e.email_hash = f.customer_email_hash").fetchall()
        assert self_feedback == [("F1",)]
        (raw_text,) = conn.execute("select raw_text from plaudit.quarantine").fetchone()
        everything = " ".join(str(r) for r in conn.execute(
            "select f.*, q.* from raw.feedback_responses f full join plaudit.quarantine q on false"))
    assert "customer.example" not in raw_text and "7946" not in raw_text and "[personal data removed]" in raw_text
    assert "customer.example" not in everything and "7946" not in everything
    assert keyed_hash("customer_email", "ANN@staff.example", b"test-hash-key") == keyed_hash(
        "customer_email", "ann@staff.example", b"test-hash-key")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("kinds: {feedback: {fields: {response_id: a, score: b}}}", "required field(s) not mapped: feedback_kind, responded_at"),
        ("kinds: {feedback: {fields: {response_id: a, mood: b}}}", "unknown field(s) mood"),
        ("timezone: Mars/Olympus\nkinds: {}", "unknown time zone 'Mars/Olympus'"),
        ("kinds: {tickets: {fields: {}}}", "unknown kind 'tickets'"),
        ("kinds: {feedback: {fields: {response_id: {column: a, value: b}}}}", "exactly one of column, columns, value or template"),
    ],
)
def test_mapping_errors_name_the_file_and_the_field(tmp_path, body, message):
    m = tmp_path / "m.yml"
    m.write_text(body)
    with pytest.raises(IngestError) as exc:
        mapping_mod.load(m)
    assert str(m) in str(exc.value) and message in str(exc.value)


@pytest.mark.parametrize(
    ("spec", "record", "expected"),
    [
        ({"column": "a"}, {"a": "  x y  "}, "x y"),
        ({"column": "a"}, {"a": "   "}, None),
        ({"column": "a"}, {}, None),
        ({"value": "call"}, {}, "call"),
        ({"columns": ["d", "t"]}, {"d": "01/02/2021", "t": ""}, "01/02/2021"),
        ({"template": "{id}-csat"}, {"id": "ID7"}, "ID7-csat"),
        ({"column": "a", "map": {"n/a": None, "hi": "high"}}, {"a": " hi "}, "high"),
        ({"column": "a", "map": {"n/a": None}}, {"a": "n/a"}, None),
        ({"column": "a", "parse": "integer"}, {"a": "007"}, "7"),
        ({"column": "a", "parse": "integer"}, {"a": "-3"}, "-3"),
        ({"column": "a", "parse": "integer", "thousands": "."}, {"a": "1.234"}, "1234"),
        ({"column": "a", "parse": "integer"}, {"a": "4.0"}, "4"),
        ({"column": "a", "parse": "integer"}, {"a": "4.5"}, "unparseable integer in f: '4.5' is not a whole number"),
        ({"column": "a", "parse": "integer"}, {"a": "\u00b2"}, "unparseable integer in f: '\u00b2' is not a number"),
        ({"column": "a", "parse": "number", "decimal": ","}, {"a": "2,50"}, "2.50"),
        ({"column": "a", "parse": "boolean"}, {"a": "Ja"}, "true"),
        ({"column": "a", "parse": "boolean"}, {"a": "maybe"}, "unparseable boolean in f: 'maybe' is not yes/no"),
        ({"column": "a", "parse": "date", "format": "%d/%m/%Y"}, {"a": "31/01/2021"}, "2021-01-31"),
        ({"column": "a", "parse": "duration"}, {"a": "0:02:23"}, "143"),
        ({"column": "a", "parse": "datetime"}, {"a": "2026-10-31T23:59:59Z"}, "2026-10-31T23:59:59+00:00"),
        ({"column": "a", "parse": "datetime"}, {"a": "2026-10-31 08:00"}, "2026-10-31T08:00:00+00:00"),
        ({"columns": ["d", "t"], "parse": "datetime", "format": "%d/%m/%Y %H:%M:%S", "plus_duration": "talk"},
         {"d": "01/01/2021", "t": "9:12:58", "talk": "0:02:23"}, "2021-01-01T09:15:21+00:00"),
    ],
)
def test_each_field_reads_as_its_canonical_text_or_the_reason_it_cannot(spec, record, expected):
    """The readers are chosen once per file (the row loop's cost); each way a field is read gives what
    the mapping says, and a value that does not parse gives the quarantine's reason."""
    from zoneinfo import ZoneInfo

    read = mapping_mod.field_reader("f", mapping_mod.FieldSpec(**spec), ZoneInfo("UTC"))
    try:
        got = read(record)
    except mapping_mod.ParseError as exc:
        got = str(exc)
    assert got == expected


def test_a_mapping_that_names_absent_columns_is_refused(fresh_db, tmp_path):
    f = tmp_path / "calls.csv"
    f.write_text("Call Id,Agent\nID1,Jim\n")
    with psycopg.connect(fresh_db) as conn, pytest.raises(IngestError, match=r"uses column\(s\) .*Date.* that the file does not have\. The header has: Call Id, Agent"):
        ingest_file(conn, f, mapping=mapping_mod.load(MAPPING))


def test_the_demo_format_mapping_reads_generated_feedback(fresh_db, tmp_path):
    from plaudit.demo_data import generate

    counts = generate(tmp_path, employees=12, days=3, seed=5)
    with psycopg.connect(fresh_db) as conn:
        r = ingest_file(conn, tmp_path / "feedback.csv", mapping=mapping_mod.load(ROOT / "mappings" / "plaudit_demo.yml"))
        conn.commit()
        hashed = conn.execute("select count(customer_email_hash) from raw.feedback_responses").fetchone()[0]
    assert (r.kinds["feedback"].loaded, r.kinds["feedback"].quarantined) == (counts["feedback"], 0)
    assert 0 < hashed < counts["feedback"]
