"""One embedded PostgreSQL and one Prefect test harness per session.

Each test that needs a clean database gets a new, empty database on that server
(`fresh_db`), so tests never see each other's rows. Its name is the same for every test of
a worker process (dropped and created again): dbt's parsed manifest names the database, so a
new name per test cost a parse (3.7 s) and made the next process's partial parse start over.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Quiet and offline before Prefect, dbt or GX are imported anywhere.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# dbt's file log without every SQL statement: a build of the fixture night spent about 15% of its
# Python writing them (5.89 s of CPU at debug, 5.02 s at info, six alternate pairs in one process;
# docs/decisions.md, "dbt's file log"; whole suites on this noisy machine did not show it). The
# test of the setting, and the one that greps the logs for secrets, ask for debug themselves.
os.environ.setdefault("PLAUDIT_DBT_LOG_LEVEL", "info")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked slow (half a minute to a few minutes each) go first, the rest after them in
    their usual order: the two workers then share out the long ones and finish at about the same
    time, where a long test handed out last kept one worker busy for minutes after the other ended.
    They share them only when handed a test at a time (`make test`'s `--maxschedchunk 1`): by
    default xdist hands each worker a quarter of its half at the start, and the first worker got
    the first 21 tests, every slow one (1,375 s of a suite's 2,302 s of tests; the other worker then
    waited about 450 s at the end)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def plaudit_home() -> Iterator[Path]:
    """A PLAUDIT_HOME under the project's .plaudit/ (embedded PostgreSQL refuses private folders)."""
    home = ROOT / ".plaudit" / f"test-{uuid.uuid4().hex[:8]}"
    home.mkdir(parents=True)
    saved = {k: os.environ.get(k) for k in ("PLAUDIT_HOME", "PLAUDIT_DATABASE_URL", "PLAUDIT_DB_NAME", "PREFECT_HOME")}
    os.environ["PLAUDIT_HOME"] = str(home)
    os.environ["PREFECT_HOME"] = str(home / "prefect")
    os.environ.pop("PLAUDIT_DATABASE_URL", None)
    yield home
    from plaudit import db

    os.environ.pop("PLAUDIT_DATABASE_URL", None)
    db.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url(plaudit_home: Path) -> str:
    """The session's embedded server (database `plaudit`, migrated)."""
    from plaudit import db

    return db.database_url()


@pytest.fixture(scope="session")
def empty_database(server_url: str) -> Callable[[str], str]:
    """`empty_database(prefix)`: the name `<prefix>_<worker>`, its database dropped if a previous
    test left one (creating and migrating it is left to Plaudit, as on a first run)."""
    import psycopg
    from psycopg import sql

    def make(prefix: str) -> str:
        name = f"{prefix}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        return name

    return make


@pytest.fixture()
def fresh_db(empty_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A new, migrated database on the session server; settings point at it."""
    from plaudit import db

    monkeypatch.setenv("PLAUDIT_DB_NAME", empty_database("t"))
    monkeypatch.setenv("PLAUDIT_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("PLAUDIT_INBOX_DIR", str(tmp_path / "inbox"))
    monkeypatch.setenv("PLAUDIT_PROGRAMS_DIR", str(ROOT / "programs"))
    monkeypatch.setenv("PLAUDIT_MAPPINGS_DIR", str(ROOT / "mappings"))
    monkeypatch.setenv("PLAUDIT_HASH_KEY", "test-hash-key")
    return db.database_url()


@pytest.fixture(scope="session")
def prefect_harness(plaudit_home: Path) -> Iterator[None]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # No heartbeats: a flow run waits up to a second for its heartbeat thread at its end, and the
    # suite runs dozens of nights in process (the setting cannot be unset through the environment).
    with prefect_test_harness(server_startup_timeout=60), \
            temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.fixture()
def night_inbox(tmp_path: Path) -> Path:
    """The hand-made fixture night's CSV files, copied into the inbox."""
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    for f in (FIXTURES / "night").glob("*.csv"):
        shutil.copy(f, inbox / f.name)
    return inbox


@pytest.fixture()
def e2e(fresh_db, night_inbox, tmp_path, monkeypatch, prefect_harness):
    """A fresh database, the fixture night in the inbox and the `e2e` program."""
    programs = tmp_path / "programs"
    programs.mkdir()
    shutil.copy(FIXTURES / "night" / "program.yml", programs / "e2e.yml")
    monkeypatch.setenv("PLAUDIT_PROGRAMS_DIR", str(programs))
    return fresh_db, tmp_path / "out" / "emails", programs


def _balances_off_the_ledger(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select employee_id, b.balance_points, l.points from marts.fct_employee_balances as b"
            " full join (select employee_id, sum(points) as points from plaudit.ledger_entries group by 1) as l"
            " using (employee_id) where b.balance_points is distinct from coalesce(l.points, 0)"
        ).fetchall()


@pytest.fixture()
def balances_off_the_ledger() -> Callable[[str], list[tuple]]:
    """(employee, balance, ledger sum) for each balance that is not the sum of the employee's posted
    ledger entries, read after a night that published (empty when the balances are right)."""
    return _balances_off_the_ledger


def _ledger_mart_rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select entry_id, program, version_id, employee_id, entry_kind, source_kind, source_id, rule_id,"
            " attribution_weight, multiplier, points, capped_points, period, effective_at, posted"
            " from marts.fct_ledger_entries order by entry_id"
        ).fetchall()
    # the view has no key of its own (its halves each have one, and the unposted half leaves out
    # what the ledger holds): each entry once, checked wherever a test reads it
    twice = sorted(entry for entry, n in Counter(r[0] for r in rows).items() if n > 1)
    assert not twice, f"entries in marts.fct_ledger_entries twice: {twice}"
    return rows


@pytest.fixture()
def ledger_mart_rows() -> Callable[[str], list[tuple]]:
    """The ledger mart's rows, without its incremental bookkeeping (when and from what they were
    written): what an incremental build and a full refresh must agree on."""
    return _ledger_mart_rows


def _plaudit_in_process(*args: str, ok: bool = True):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from plaudit.cli import app

    result = CliRunner().invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, f"plaudit {' '.join(args)}: {result.exception!r}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture()
def plaudit_in_process() -> Callable[..., object]:
    """`plaudit ARGS` run in this process, through typer's CliRunner (the code the command runs): a
    new process spends 15 to 20 s on its imports and its first dbt build. Its result has `exit_code`,
    `stdout`, `stderr`, `output` and `exception`; with `ok` (the default) a non-zero exit fails the
    test with the command, its error and the end of its stderr. The environment is the test's: set
    PLAUDIT_* with monkeypatch first."""
    return _plaudit_in_process


class SmtpSink:
    """A real SMTP server's handler: answers DATA from a script ("451 ...", "550 ..."), then 250 OK."""

    def __init__(self) -> None:
        self.script: list[str] = []
        self.received: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        import email
        import email.policy

        if self.script:
            return self.script.pop(0)
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture()
def smtp_sink(monkeypatch):
    """An SMTP server on 127.0.0.1 (aiosmtpd) with PLAUDIT_SMTP_URL pointing at it; fast retries, no pacing."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("PLAUDIT_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("PLAUDIT_SMTP_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("PLAUDIT_SMTP_RETRIES", "3")
    monkeypatch.setenv("PLAUDIT_SMTP_RATE_PER_MINUTE", "0")
    yield sink
    controller.stop()
