"""The `plaudit` command as a user runs it: real subprocesses (a second run in process), real database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PLAUDIT = [sys.executable, "-m", "plaudit.cli"]


def plaudit(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PLAUDIT, *args], capture_output=True, text=True, env=env or os.environ.copy(), timeout=timeout)


def test_help_lists_every_command():
    r = plaudit("--help")
    assert r.returncode == 0
    for command in ("generate", "ingest", "run", "backfill", "report", "demo", "db", "program", "runs",
                    "approvals", "emails", "config"):
        assert command in r.stdout


def test_program_validate_names_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text((FIXTURES / "night" / "program.yml").read_text().replace("model: linear", "model: random"))
    r = plaudit("program", "validate", str(bad))
    assert r.returncode == 1
    assert f"{bad}:10: attribution.model: Input should be 'last_touch', 'first_touch', 'linear', 'role_weighted' or 'time_decay'" in r.stderr
    ok = plaudit("program", "validate", str(FIXTURES / "night" / "program.yml"))
    assert ok.returncode == 0 and "valid" in ok.stdout


@pytest.mark.slow
def test_run_json_twice_posts_nothing_the_second_time(empty_database, tmp_path, prefect_harness, monkeypatch,
                                                        plaudit_in_process):
    from prefect.settings import PREFECT_API_URL

    inbox = tmp_path / "inbox"
    shutil.copytree(FIXTURES / "night", inbox)
    programs = tmp_path / "programs"
    programs.mkdir()
    shutil.move(inbox / "program.yml", programs / "e2e.yml")
    env = os.environ.copy() | {
        "PLAUDIT_DB_NAME": empty_database("t"),
        "PLAUDIT_INBOX_DIR": str(inbox),
        "PLAUDIT_PROGRAMS_DIR": str(programs),
        "PLAUDIT_OUT_DIR": str(tmp_path / "out"),
        # the session's test API server, instead of an ephemeral server per subprocess
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
    }
    first = plaudit("run", "--night", "2026-10-31", "--program", "e2e", "--json", env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    s1 = json.loads(first.stdout)
    assert {k: s1[k] for k in ("night", "rows_ingested", "rows_quarantined", "ledger_entries_posted",
                               "awards_auto_approved", "awards_pending", "emails_written")} == {
        "night": "2026-10-31", "rows_ingested": 28, "rows_quarantined": 1, "ledger_entries_posted": 5,
        "awards_auto_approved": 1, "awards_pending": 1, "emails_written": 1}
    emails = sorted((tmp_path / "out" / "emails").glob("*.eml"))
    before = [p.read_bytes() for p in emails]

    # the second run in this process (the same command, plaudit_in_process)
    for name in ("PLAUDIT_DB_NAME", "PLAUDIT_INBOX_DIR", "PLAUDIT_PROGRAMS_DIR", "PLAUDIT_OUT_DIR"):
        monkeypatch.setenv(name, env[name])
    second = plaudit_in_process("run", "--night", "2026-10-31", "--program", "e2e", "--json")
    s2 = json.loads(second.stdout)
    assert (s2["ledger_entries_posted"], s2["emails_written"], s2["rows_ingested"]) == (0, 0, 0)
    assert [p.read_bytes() for p in sorted((tmp_path / "out" / "emails").glob("*.eml"))] == before

    listed = plaudit("runs", "list", "--json", env=env)
    runs = json.loads(listed.stdout)
    assert [(r["night"], r["status"]) for r in runs] == [("2026-10-31", "completed")] * 2

    outbox = json.loads(plaudit("emails", "list", "--json", env=env).stdout)
    assert [(m["template"], m["recipient_employee_id"], m["state"]) for m in outbox] == [("recognition", "B1", "sent")]
    pending = json.loads(plaudit("approvals", "list", "--json", env=env).stdout)
    assert [(a["employee_id"], a["status"]) for a in pending] == [("A1", "pending")]
    preview = tmp_path / "preview.html"
    shown = plaudit("emails", "preview", "--award", pending[0]["award_id"][:10], "--out", str(preview), env=env)
    assert shown.returncode == 0, shown.stderr
    html = preview.read_text()
    assert "Alice, your customers noticed" in html and "€15.00" in html and "30 points" in html

    bad_night = plaudit("run", "--night", "31/10/2026", env=env)
    assert bad_night.returncode == 1 and "write it as YYYY-MM-DD" in bad_night.stderr
