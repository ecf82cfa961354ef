"""Operations: upgrades, configuration, run history, backfills, secrets in logs."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest

from plaudit import db

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plaudit.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.fixture()
def cli_env(e2e, tmp_path):
    """The environment a subprocess needs to run the fixture night against the test API server."""
    from prefect.settings import PREFECT_API_URL

    return os.environ.copy() | {"PREFECT_API_URL": str(PREFECT_API_URL.value())}


def new_database(server_url: str) -> str:
    """The URL of a new, empty database on the session server (for a test that migrates it itself)."""
    name = f"upgrade_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return server_url.replace("/plaudit?", f"/{name}?")


def test_upgrading_a_database_made_by_an_older_migration_set_keeps_its_data(server_url):
    url = new_database(server_url)
    assert db.apply_migrations(url, upto=1) == ["0001_initial.sql"]
    with psycopg.connect(url) as conn:
        conn.execute("insert into raw.employees (employee_id, full_name, status, role, _row_hash, _source_file,"
                     " _source_line) values ('E1', 'Ann Example', 'active', 'customer_service', 'h', 'hr.csv', 2)")
        conn.execute("insert into plaudit.runs (run_id, program, night, dry_run, status)"
                     " values (gen_random_uuid(), 'demo', '2026-10-31', false, 'completed')")
    applied = db.apply_migrations(url)
    assert applied == [name for _, name, _ in db.migration_files()][1:]
    with psycopg.connect(url) as conn:
        assert conn.execute("select full_name, email_hash from raw.employees").fetchall() == [("Ann Example", None)]
        assert conn.execute("select count(*) from plaudit.runs").fetchone()[0] == 1
        # the new history table starts from what was there: the first version, valid since always
        assert conn.execute("select employee_id, valid_from::text, valid_to::text from raw.employee_history"
                            ).fetchall() == [("E1", "-infinity", "infinity")]
    assert db.apply_migrations(url) == []


def test_the_awards_made_before_migration_0021_get_their_runs_night_even_in_a_closed_period(server_url):
    url = new_database(server_url)
    db.apply_migrations(url, upto=20)
    with psycopg.connect(url) as conn:
        run_id = conn.execute("insert into plaudit.runs (run_id, program, night, dry_run, status) values"
                              " (gen_random_uuid(), 'demo', '2026-12-15', false, 'completed') returning run_id"
                              ).fetchone()[0]
        conn.execute("insert into plaudit.awards (award_id, program, version_id, employee_id, award_kind, period,"
                     " points, amount_minor, currency, approval_level, status, status_reason, run_id) values"
                     " ('a1', 'demo', 'v1', 'E1', 'periodic', '2026-10', 10, 500, 'EUR', 'auto', 'deferred',"
                     " 'budget exhausted', %s), ('a2', 'demo', 'v1', 'E2', 'periodic', '2026-10', 10, 500, 'EUR',"
                     " 'auto', 'deferred', 'made by hand', null)", [run_id])
        conn.execute("insert into plaudit.period_closes (program, period, closed_by) values ('demo', '2026-10', 'F1')")
    assert "0021_award_night.sql" in db.apply_migrations(url)
    with psycopg.connect(url) as conn:
        assert conn.execute("select award_id, night from plaudit.awards order by 1").fetchall() == [
            ("a1", date(2026, 12, 15)), ("a2", None)]
        # the closed period's awards are kept as they are again
        with pytest.raises(psycopg.errors.RaiseException, match="is closed"):
            conn.execute("update plaudit.awards set status = 'rejected' where award_id = 'a1'")


def test_config_show_masks_every_secret(tmp_path):
    env = os.environ.copy() | {
        "PLAUDIT_DATABASE_URL": "postgresql://plaudit:db-pass-123@db.internal:5432/plaudit",
        "PLAUDIT_SMTP_URL": "smtp+starttls://mailer:smtp-pass-456@mail.internal:587",
        "PLAUDIT_HASH_KEY": "hash-key-789",
    }
    r = cli("config", "show", "--json", env=env)
    assert r.returncode == 0, r.stderr
    for secret in ("db-pass-123", "smtp-pass-456", "hash-key-789"):
        assert secret not in r.stdout
    shown = json.loads(r.stdout)
    assert shown["PLAUDIT_SMTP_URL"] == {"value": "smtp+starttls://mailer:***@mail.internal:587", "from": "environment"}
    assert "***" in shown["PLAUDIT_DATABASE_URL"]["value"] and shown["PLAUDIT_HASH_KEY"]["value"] == "***"


def test_config_show_prints_every_setting_the_settings_table_documents():
    """The table in plaudit/settings.py's docstring is the list; `config show` prints each of its variables."""
    from plaudit import settings

    documented = re.findall(r"^\| (PLAUDIT_\w+)", settings.__doc__ or "", re.M)
    env = os.environ.copy() | {"PLAUDIT_INGEST_WORKERS": "3"}
    env.pop("PLAUDIT_DATABASE_URL", None)
    r = cli("config", "show", "--json", env=env)
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert len(documented) >= 17 and sorted(shown) == sorted(documented)
    assert shown["PLAUDIT_INGEST_WORKERS"] == {"value": "3", "from": "environment"}
    assert shown["PLAUDIT_EMBEDDED_SHARED_BUFFERS_MB"]["from"] == "default"


def test_the_dbt_log_level_decides_what_dbt_writes_to_its_log(fresh_db, monkeypatch):
    """PLAUDIT_DBT_LOG_LEVEL reaches dbt: at debug its log holds every statement it ran, at info only the
    nodes it built; anything else is refused, naming the levels."""
    from flows.transform import dbt
    from plaudit import settings
    from plaudit.errors import ConfigError

    log = settings.load().home / "dbt" / "logs" / "dbt.log"

    def statements_logged(level: str) -> tuple[int, int]:
        monkeypatch.setenv("PLAUDIT_DBT_LOG_LEVEL", level)
        before = log.stat().st_size if log.exists() else 0
        dbt.build(fresh_db, night="2026-10-31", program="demo", select="stg_raw__employees", command="run")
        with open(log, "rb") as f:  # what this build added (all of it if dbt began a new file at 10 MB)
            f.seek(before if log.stat().st_size >= before else 0)
            added = f.read().decode(errors="replace")
        return added.count("SQL status"), added.count("stg_raw__employees")

    debug, info = statements_logged("debug"), statements_logged("info")
    assert debug[0] > 0 and debug[1] > 0
    assert info == (0, info[1]) and info[1] > 0
    monkeypatch.setenv("PLAUDIT_DBT_LOG_LEVEL", "verbose")
    with pytest.raises(ConfigError, match="PLAUDIT_DBT_LOG_LEVEL='verbose' is not one of debug, info, warn"):
        settings.load()


def test_a_dbt_selection_of_nothing_is_an_error(fresh_db):
    """dbt itself only warns and succeeds having done nothing: a misspelt model, or a tag (the ledger's
    catch-up selects `tag:ledger_catch_up`) that no model has any more."""
    from flows.transform import dbt
    from plaudit.errors import PlauditError

    with pytest.raises(PlauditError, match="--select 'stg_employees' matched nothing"):
        dbt.build(fresh_db, night="2026-10-31", program="demo", select="stg_employees", command="run")
    assert dbt.build(fresh_db, night="2026-10-31", program="demo", select="stg_raw__employees", command="run").models == 1


@pytest.mark.slow
def test_backfill_runs_nights_in_order_skips_completed_ones_and_resumes(e2e, plaudit_in_process):
    """The commands run in this process (plaudit_in_process: the code `plaudit backfill` runs)."""
    plaudit = plaudit_in_process
    plaudit("backfill", "--from", "2026-10-30", "--to", "2026-10-30", "--program", "e2e")
    # as if interrupted after the first night: the next backfill runs only the rest
    rest = plaudit("backfill", "--from", "2026-10-30", "--to", "2026-11-01", "--program", "e2e", "--json")
    assert "3 night(s), 1 already completed, 2 to run" in rest.stderr
    nights = [json.loads(x) for x in re.findall(r"^\{.*?^\}", rest.stdout, re.S | re.M)]
    assert [n["night"] for n in nights] == ["2026-10-31", "2026-11-01"]
    assert nights[0]["awards_auto_approved"] == 1  # October closes on its last night
    forced = plaudit("backfill", "--from", "2026-10-31", "--to", "2026-10-31", "--program", "e2e", "--force", "--json")
    assert "1 night(s), 0 already completed, 1 to run" in forced.stderr
    again = [json.loads(x) for x in re.findall(r"^\{.*?^\}", forced.stdout, re.S | re.M)]
    assert [n["ledger_entries_posted"] + n["emails_written"] + n["awards_auto_approved"] for n in again] == [0]

    listed = json.loads(plaudit("runs", "list", "--json").stdout)
    assert len(listed) == 4 and {r["status"] for r in listed} == {"completed"}
    shown = json.loads(plaudit("runs", "show", listed[0]["run_id"][:8], "--json").stdout)
    versions = shown["summary"]["versions"]
    assert set(versions) >= {"plaudit", "git_commit", "program", "dbt_manifest"}
    assert re.fullmatch(r"[0-9a-f]{12}(\+dirty)?", versions["git_commit"])
    assert set(shown["summary"]["stages"]) == {"ingest", "apis", "program", "dbt", "expectations", "publish", "emails",
                                                   "catch_up"}


def test_secrets_never_reach_the_logs(cli_env, tmp_path):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    password, hash_key = "smtp-Pa55-word-0xC0FFEE", "hash-key-DEADBEEF-42"
    received = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            received.append(envelope.content)
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"mailer" and auth_data.password == password.encode())

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        env = cli_env | {"PLAUDIT_SMTP_URL": f"smtp://mailer:{password}@127.0.0.1:{port}",
                         "PLAUDIT_HASH_KEY": hash_key, "PREFECT_LOGGING_LEVEL": "DEBUG",
                         "PLAUDIT_DBT_LOG_LEVEL": "debug"}  # every SQL statement dbt ran (the suite's default is info)
        r = cli("run", "--night", "2026-10-31", "--program", "e2e", "--json", env=env)
        assert r.returncode == 0, r.stderr[-2000:]
        assert json.loads(r.stdout)["emails_sent"] == 1 and len(received) == 1  # the login worked
        shown = cli("runs", "list", "--json", env=env)
    finally:
        controller.stop()
    url = cli_env["PLAUDIT_DB_NAME"]
    logs = [r.stdout, r.stderr, shown.stdout]
    home = Path(os.environ["PLAUDIT_HOME"])
    dbt_logs = [p.read_text(errors="replace") for p in (home / "dbt" / "logs").glob("*.log")]
    assert any("SQL status" in text for text in dbt_logs)  # the statements too: dbt's log at its most verbose
    logs += dbt_logs
    with psycopg.connect(db.database_url()) as conn:
        logs += [str(row) for row in conn.execute("select summary, error from plaudit.runs")]
        logs += [str(row) for row in conn.execute("select * from plaudit.outbox")]
    assert url and len("".join(logs)) > 1000
    for text in logs:
        assert password not in text and hash_key not in text
