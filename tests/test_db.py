import json
import os
import signal
import subprocess
import sys

import psycopg
import pytest
from psycopg import sql

from plaudit import db
from plaudit.errors import DatabaseError


def test_embedded_server_is_up_and_migrated(server_url):
    st = db.status()
    assert st.embedded and st.running and st.pid
    with psycopg.connect(server_url) as conn:
        assert conn.execute("show server_version").fetchone()[0].startswith("18.")
        versions = [r[0] for r in conn.execute("select version from plaudit.schema_migrations")]
    assert versions == [v for v, _, _ in db.migration_files()]
    assert db.apply_migrations(server_url) == []  # applying again changes nothing


def shared_buffers_mb(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select setting::bigint * 8192 / 1048576 from pg_settings where name = 'shared_buffers'").fetchone()[0]


def test_the_embedded_server_runs_with_plaudits_settings_from_its_first_start(server_url, plaudit_home):
    """The session's server was created for it: initdb's start had PostgreSQL's 128 MB, and the
    server started again at once with Plaudit's shared_buffers (an eighth of memory, at most 2 GB)."""
    from plaudit import settings

    wanted = settings.load().embedded_shared_buffers_mb
    assert 128 <= wanted <= 2048
    assert shared_buffers_mb(server_url) == wanted
    pgdata = plaudit_home / "pgdata"
    assert "include_if_exists = 'plaudit.conf'" in (pgdata / "postgresql.conf").read_text()
    assert f"shared_buffers = '{wanted}MB'" in (pgdata / "plaudit.conf").read_text()


def test_a_changed_setting_reaches_the_embedded_server_at_its_next_start(monkeypatch):
    """Its own server (a home of its own): PLAUDIT_EMBEDDED_SHARED_BUFFERS_MB is written for the
    next start; a running server, which other commands may be using, is not restarted for it."""
    import shutil
    import uuid
    from pathlib import Path

    home = Path(__file__).resolve().parents[1] / ".plaudit" / f"settings-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PLAUDIT_HOME", str(home))
    monkeypatch.setenv("PLAUDIT_EMBEDDED_SHARED_BUFFERS_MB", "160")
    try:
        url = db.database_url(migrate=False)
        assert shared_buffers_mb(url) == 160
        monkeypatch.setenv("PLAUDIT_EMBEDDED_SHARED_BUFFERS_MB", "192")
        assert shared_buffers_mb(db.database_url(migrate=False)) == 160  # still running: kept
        assert "shared_buffers = '192MB'" in (home / "pgdata" / "plaudit.conf").read_text()
        assert db.stop()
        assert shared_buffers_mb(db.database_url(migrate=False)) == 192
    finally:
        db.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_a_shared_buffers_setting_postgresql_could_not_start_with_is_refused_with_what_to_set(monkeypatch):
    from plaudit import settings
    from plaudit.errors import ConfigError

    for raw, says in (("8", "must be at least 16"), ("2GB", "is not a number: set it to e.g.")):
        monkeypatch.setenv("PLAUDIT_EMBEDDED_SHARED_BUFFERS_MB", raw)
        with pytest.raises(ConfigError, match=f"PLAUDIT_EMBEDDED_SHARED_BUFFERS_MB='{raw}' {says}"):
            settings.load()


def test_the_database_plaudit_creates_sorts_text_by_code_point_byte_by_byte(fresh_db):
    """PostgreSQL's built-in C.UTF-8 (plaudit/db.py): the order of the server's default C.UTF-8,
    Unicode case mapping, and comparisons by bytes (docs/decisions.md)."""
    words = ["zoë", "Zoe", "Émile", "emile", "Øystein", "ångström", "東京", "a1", "A2", "ß", "_x"]
    with psycopg.connect(fresh_db) as conn:
        provider, locale = conn.execute(
            "select datlocprovider, datlocale from pg_database where datname = current_database()").fetchone()
        assert (provider, locale) == ("b", "C.UTF-8")
        ordered = conn.execute("select array_agg(w order by w) from unnest(%s::text[]) as w", [words]).fetchone()[0]
        assert ordered == sorted(words)  # Python sorts str by code point
        assert conn.execute("select upper('zoë ångström'), lower('ÉMILE')").fetchone() == ("ZOË ÅNGSTRÖM", "émile")


def test_the_database_refuses_a_feedback_kind_the_points_table_does_not_know(fresh_db):
    """Migration 0020: what the ingest quarantines, the database refuses too (the kinds the ingest
    accepts are the constraint's, so dbt does not test them again each night)."""
    from flows.ingest.kinds import FEEDBACK_KINDS

    insert = ("insert into raw.feedback_responses (response_id, feedback_kind, score, responded_at, _row_hash,"
              " _source_file, _source_line) values (%s, %s, 5, now(), 'h', 'f', 1)")
    with psycopg.connect(fresh_db) as conn:
        for i, kind in enumerate(FEEDBACK_KINDS):
            conn.execute(insert, [f"ok{i}", kind])
        with pytest.raises(psycopg.errors.CheckViolation, match="feedback_responses_feedback_kind_check"):
            conn.execute(insert, ["bad", "smiley"])


def test_a_killed_client_leaves_no_stale_handle(server_url, plaudit_home):
    # A process that uses the server and is SIGKILLed leaves its PID in the handle file.
    code = "from plaudit import db; import os, signal; db.database_url(); os.kill(os.getpid(), signal.SIGKILL)"
    proc = subprocess.run([sys.executable, "-c", code], env=os.environ.copy(), timeout=60)
    assert proc.returncode == -signal.SIGKILL
    handles = plaudit_home / "pgdata" / ".handle_pids.json"
    dead = [p for p in json.loads(handles.read_text()) if not _alive(p)]
    assert dead, "the killed process should have left its PID behind"
    # The next command finds the running server, reuses it and forgets the dead PID.
    assert db.database_url() == server_url
    assert not [p for p in json.loads(handles.read_text()) if not _alive(p)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_external_database_url_is_used_instead_of_the_embedded_server(server_url, monkeypatch):
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("drop database if exists external_test")
        conn.execute("create database external_test")
    external = server_url.replace("/plaudit?", "/external_test?")
    monkeypatch.setenv("PLAUDIT_DATABASE_URL", external)
    assert db.database_url() == external
    with psycopg.connect(external) as conn:
        assert conn.execute("select count(*) from plaudit.schema_migrations").fetchone()[0] >= 1
    env = db.dbt_env(external)
    assert env["PLAUDIT_DBT_DBNAME"] == "external_test"


def test_unreachable_external_database_says_what_to_do(monkeypatch):
    monkeypatch.setenv("PLAUDIT_DATABASE_URL", "postgresql://plaudit:secret@127.0.0.1:1/nowhere")
    with pytest.raises(DatabaseError) as exc:
        db.database_url()
    msg = str(exc.value)
    assert "secret" not in msg and "***" in msg
    assert "unset PLAUDIT_DATABASE_URL" in msg


def probe_statistic(conn: psycopg.Connection, column: str) -> int:
    """A column of pg_stat_user_tables for raw.analyse_probe, read afresh."""
    conn.execute("select pg_stat_clear_snapshot()")
    (value,) = conn.execute(
        sql.SQL("select {} from pg_stat_user_tables where relid = 'raw.analyse_probe'::regclass")
        .format(sql.Identifier(column))
    ).fetchone()
    return value


def test_the_nights_rows_are_analysed_before_the_build_when_they_are_more_than_a_sliver(fresh_db):
    """Rows loaded since the last statistics lie past their histograms: the night analyses a table
    never analysed, or one written by more than 50 rows and 2% of it since; a day of a long history
    is left to the indexes."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("drop table if exists raw.analyse_probe")
        # (autovacuum off: it could analyse the table in our place between two steps)
        conn.execute("create table raw.analyse_probe (n int) with (autovacuum_enabled = false)")
        db.analyze_changed(fresh_db)  # whatever earlier tests left

        def write(rows: int) -> None:
            conn.execute("insert into raw.analyse_probe select generate_series(1, %s)", [rows])
            # (a connection reports its writes to the statistics when it is idle, or forced)
            conn.execute("select pg_stat_force_next_flush()")
            conn.execute("select 1")

        def pending() -> int:
            return probe_statistic(conn, "n_mod_since_analyze")

        write(10)  # never analysed: whatever it holds
        assert "analyse_probe" in db.analyze_changed(fresh_db) and pending() == 0
        write(5000)
        assert "analyse_probe" in db.analyze_changed(fresh_db) and pending() == 0
        write(100)  # 100 <= 50 + 2% of 5,010
        assert "analyse_probe" not in db.analyze_changed(fresh_db) and pending() == 100
        write(60)
        assert db.analyze_changed(fresh_db) == ["analyse_probe"] and pending() == 0
        conn.execute("drop table raw.analyse_probe")


def test_tables_a_publication_grew_are_analysed_at_once(fresh_db):
    """Past autovacuum's threshold (50 rows and a tenth of the table) the statistics are taken now;
    below it they are left to autovacuum."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("drop table if exists raw.analyse_probe")
        conn.execute("create table raw.analyse_probe (n int)")
        conn.execute("insert into raw.analyse_probe select generate_series(1, 1000)")
        conn.execute("analyze raw.analyse_probe")

        def analysed() -> int:
            return probe_statistic(conn, "analyze_count")

        before = analysed()
        assert db.analyze_grown(conn, "raw", {"analyse_probe": 0, "accounts": 0}) == []
        assert db.analyze_grown(conn, "raw", {"analyse_probe": 150}) == []  # 150 <= 50 + 100
        assert analysed() == before
        assert db.analyze_grown(conn, "raw", {"analyse_probe": 151, "no_such_table": 10**6}) == ["analyse_probe"]
        assert analysed() == before + 1
        conn.execute("drop table raw.analyse_probe")
