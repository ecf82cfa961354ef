"""Ingest one scale's generated exports one file at a time, then with the event kinds in parallel
processes, each into its own fresh database on the same server, in one run:
`python bench/ingest_parallel.py .plaudit/bench-M/data` (after `make bench SCALE=M`; the databases
stay on that server, `PLAUDIT_DB_NAME=ingest_...`, until the folder is deleted). Other worker counts
to compare follow the folder: `python bench/ingest_parallel.py .plaudit/bench-M/data 2 3 2 3`."""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path


def ingest_once(data: Path, workers: str, label: str, *, drop: bool = False) -> tuple[int, float]:
    """Ingest the folder's files with `workers` processes into a fresh database; rows loaded, seconds.
    With `drop`, the database is dropped afterwards (at M each holds about 4 GB)."""
    from flows.ingest.inbox import ingest_inbox
    from plaudit import db, settings

    home = data.parent
    os.environ["PLAUDIT_INGEST_WORKERS"] = workers
    os.environ["PLAUDIT_DB_NAME"] = f"ingest_{label}_{uuid.uuid4().hex[:6]}"
    inbox = home / f"inbox-ingest-{label}"
    shutil.rmtree(inbox, ignore_errors=True)
    shutil.copytree(data, inbox, ignore=shutil.ignore_patterns("generated.json"))
    url = db.database_url()
    t0 = time.perf_counter()
    results, _ = ingest_inbox(url, inbox, settings.load().mappings_dir)
    seconds = time.perf_counter() - t0
    shutil.rmtree(inbox)
    if drop:
        drop_database(url)
    return sum(r.loaded for r in results), seconds


def drop_database(url: str) -> None:
    """Drop the database `url` names (a bench's own, made fresh for one run)."""
    import psycopg
    from psycopg import sql

    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(url, dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {}").format(sql.Identifier(str(name))))


def main() -> None:
    data = Path(sys.argv[1]).resolve()
    os.environ.update({"PLAUDIT_HOME": str(data.parent), "DO_NOT_TRACK": "1"})
    figures: dict[str, list[float]] = {}
    for workers in sys.argv[2:] or ["1", "2"]:
        rows, seconds = ingest_once(data, workers, workers)
        figures.setdefault(workers, []).append(seconds)
        print(f"workers={workers}: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s", flush=True)
    first, *others = figures
    for workers in others:
        ratio = min(figures[first]) / min(figures[workers])
        print(f"workers={workers} against workers={first} (best of each): {ratio:.2f}x as fast")


if __name__ == "__main__":
    main()
