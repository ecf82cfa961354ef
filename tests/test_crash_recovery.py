"""The crash matrix: kill a real `plaudit` process at each failpoint, run again, and get exactly
what a clean run gets. Real subprocesses, real PostgreSQL, dbt, GX, and a real SMTP server on
127.0.0.1 (aiosmtpd) that records every message it accepts.

The crashed night is a real `plaudit run` process. The night after it runs in the test's own
process: the same `nightly()` that `plaudit run` calls, without a new process's 10 to 15 s of
imports (Prefect, dbt, GX) for each of the seven failpoints.

Marked slow (about 3 minutes); it still runs in `make test` and CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import psycopg
import pytest

from flows.nightly import nightly
from plaudit import db
from plaudit.failpoints import EXIT_CODE, FAILPOINTS

pytestmark = pytest.mark.slow

# What a night publishes, in a form that does not depend on the database or the run.
STATE_SQL = {
    "ledger": "select entry_id, employee_id, entry_kind, points, period from plaudit.ledger_entries order by 1",
    "awards": "select award_id, employee_id, period, amount_minor, status, approval_level from plaudit.awards"
              " order by 1",
    "approvals": "select award_id, decision, decided_by from plaudit.approval_decisions order by 1",
    "funding": "select award_id, funding_source, account_id, amount_minor from plaudit.award_funding order by 1, 2, 3",
    "outbox": "select dedupe_key, message_id, state from plaudit.outbox order by 1",
    "raw": "select (select count(*) from raw.feedback_responses), (select count(*) from raw.interactions),"
           " (select count(*) from raw.employees), (select count(*) from plaudit.quarantine)",
}
NIGHT_OF = date(2026, 10, 31)
NIGHT = ["run", "--night", NIGHT_OF.isoformat(), "--program", "e2e"]
EXPORT = ["payouts", "export", "--period", "2026-10", "--format", "csv", "--program", "e2e"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plaudit.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def state(env: dict[str, str]) -> dict[str, list[tuple]]:
    url = db.database_url(migrate=False)  # the test's own database: the same server, another name
    url = url.replace(f"/{os.environ['PLAUDIT_DB_NAME']}", f"/{env['PLAUDIT_DB_NAME']}", 1)
    with psycopg.connect(url) as conn:
        return {name: conn.execute(q).fetchall() for name, q in STATE_SQL.items()}


@pytest.fixture()
def crash_env(e2e, smtp_sink, empty_database):
    """A subprocess environment: the fixture night, the test's new database (the clean run: one of
    its own), the SMTP sink, the session's Prefect API (so each process skips starting a
    temporary server)."""
    from prefect.settings import PREFECT_API_URL

    def make(*, clean: bool = False) -> dict[str, str]:
        name = empty_database("clean") if clean else os.environ["PLAUDIT_DB_NAME"]
        return os.environ.copy() | {"PREFECT_API_URL": str(PREFECT_API_URL.value()), "PLAUDIT_DB_NAME": name}

    return make, smtp_sink


def message_ids(sink) -> Counter[str]:
    return Counter(m["Message-ID"] for m in sink.received)


_CLEAN: list = []


@pytest.fixture()
def clean(crash_env, tmp_path):
    """What a clean run publishes and sends, and its payout export's bytes (computed once: ids,
    amounts and Message-IDs do not depend on the database or the folders)."""
    if _CLEAN:
        return _CLEAN[0]
    make, sink = crash_env
    env = make(clean=True)
    r = run(NIGHT, env)
    assert r.returncode == 0, r.stderr[-2000:]
    out = tmp_path / "clean.csv"
    r = run([*EXPORT, "--out", str(out)], env)
    assert r.returncode == 0, r.stderr[-2000:]
    sent = message_ids(sink)
    sink.received.clear()
    _CLEAN.append((state(env), sent, out.read_bytes()))
    return _CLEAN[0]


@pytest.mark.parametrize("failpoint", [f for f in FAILPOINTS if f != "mid_export"])
def test_a_night_killed_at_a_failpoint_then_run_again_equals_a_clean_run(failpoint, crash_env, clean):
    make, sink = crash_env
    expected, expected_ids, _ = clean
    env = make()
    crashed = run(NIGHT, env | {"PLAUDIT_FAILPOINT": failpoint})
    assert crashed.returncode == EXIT_CODE, crashed.stderr[-2000:]
    assert f"failpoint {failpoint}: exiting now" in crashed.stderr

    nightly(night=NIGHT_OF, program="e2e")  # run again, as `plaudit run` does
    assert state(env) == expected

    ids = message_ids(sink)
    assert set(ids) == set(expected_ids)
    if failpoint == "after_smtp_accept":
        # the one allowed exception: the message the server accepted before the crash goes again,
        # with the same Message-ID, so the recipient's mail client shows it once
        assert sorted(ids.values()) == [1] * (len(ids) - 1) + [2]
    else:
        assert set(ids.values()) == {1}


def test_an_export_killed_half_way_leaves_no_file_and_the_next_one_is_identical(crash_env, clean, tmp_path):
    make, _ = crash_env
    _, _, expected_bytes = clean
    env = make()
    nightly(night=NIGHT_OF, program="e2e")
    out = tmp_path / "payouts.csv"
    crashed = run([*EXPORT, "--out", str(out)], env | {"PLAUDIT_FAILPOINT": "mid_export"})
    assert crashed.returncode == EXIT_CODE, crashed.stderr[-2000:]
    assert not out.exists()  # only the half-written temporary file
    assert Path(str(out) + ".partial").exists()
    assert run([*EXPORT, "--out", str(out)], env).returncode == 0
    assert out.read_bytes() == expected_bytes
    assert not Path(str(out) + ".partial").exists()


def test_debug_failpoints_lists_every_failpoint():
    r = subprocess.run([sys.executable, "-m", "plaudit.cli", "debug", "failpoints", "--json"], capture_output=True,
                       text=True, check=True)
    import json

    assert set(json.loads(r.stdout)) == set(FAILPOINTS)
