"""The runs table: every nightly run, its stages, counts and outcome.

One run per program and night at a time: a run holds a PostgreSQL advisory
lock on its own connection for as long as it lives (released by the server if
the process dies), so a second run for the same night is refused at once.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg.rows import dict_row

from plaudit.errors import RunLocked

RUN_LOCK_NAMESPACE = 7_001_002
_RUN_COLUMNS = (
    "select run_id::text, program, night::text, dry_run, status, started_at, finished_at,"
    " round(extract(epoch from finished_at - started_at)::numeric, 1)::float as seconds, summary, error"
    " from plaudit.runs "
)


class NightLock:
    """Holds the advisory lock for (program, night) until closed."""

    def __init__(self, url: str, program: str, night: date) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        got = self.conn.execute(
            "select pg_try_advisory_lock(%s, hashtext(%s))", [RUN_LOCK_NAMESPACE, f"{program}:{night}"]
        ).fetchone()[0]  # type: ignore[index]
        if not got:
            holder = self.conn.execute(
                "select run_id, started_at from plaudit.runs where program = %s and night = %s"
                " and status = 'running' order by started_at desc limit 1",
                [program, night],
            ).fetchone()
            self.conn.close()
            who = f"run {holder[0]} (started {holder[1]:%Y-%m-%d %H:%M:%S %Z})" if holder else "another run"
            raise RunLocked(
                f"night {night} of program {program} is being run by {who}. "
                "Wait for it to finish (`plaudit runs list`), then run again if needed."
            )

    def close(self) -> None:
        self.conn.close()


def code_version() -> dict[str, str]:
    """Plaudit's version and, in a git checkout, the commit the code runs from."""
    import subprocess
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    try:
        pkg = version("plaudit")
    except PackageNotFoundError:
        pkg = "unknown"
    root = Path(__file__).resolve().parents[1]
    commit = "unknown"
    if (root / ".git").exists():
        try:
            out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                                 capture_output=True, text=True, timeout=5)
            if out.returncode == 0:
                commit = out.stdout.strip()
                dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                       capture_output=True, text=True, timeout=5).stdout.strip()
                commit += "+dirty" if dirty else ""
        except (OSError, subprocess.TimeoutExpired):
            pass
    return {"plaudit": pkg, "git_commit": commit}


def completed_nights(url: str, program: str) -> set[date]:
    """Nights of a program that have a completed (not dry) run."""
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute(
            "select distinct night from plaudit.runs where program = %s and status = 'completed' and not dry_run",
            [program],
        )}


def get_run(url: str, run_id: str) -> dict[str, Any] | None:
    """One run by id or unique id prefix."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(
            _RUN_COLUMNS + "where run_id::text like %s || '%%' order by started_at desc limit 2", [run_id]
        ).fetchall()
    if len(rows) > 1:
        from plaudit.errors import PlauditError

        raise PlauditError(f"run id {run_id!r} is ambiguous: give more characters")
    return rows[0] if rows else None


def start(conn: psycopg.Connection, program: str, night: date, dry_run: bool) -> UUID:
    run_id = uuid4()
    # A run left 'running' by a killed process is over: mark it so.
    conn.execute(
        "update plaudit.runs set status = 'failed', finished_at = now(),"
        " error = 'interrupted: the process ended before the run finished'"
        " where program = %s and night = %s and status = 'running'",
        [program, night],
    )
    conn.execute(
        "insert into plaudit.runs (run_id, program, night, dry_run, status) values (%s, %s, %s, %s, 'running')",
        [run_id, program, night, dry_run],
    )
    return run_id


def finish(conn: psycopg.Connection, run_id: UUID, status: str, summary: dict[str, Any], error: str | None = None) -> None:
    conn.execute(
        "update plaudit.runs set status = %s, finished_at = now(), summary = %s, error = %s where run_id = %s",
        [status, json.dumps(summary, default=str), error, run_id],
    )


def list_runs(url: str, limit: int = 50) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(_RUN_COLUMNS + "order by started_at desc limit %s", [limit]).fetchall()
