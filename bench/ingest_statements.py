"""Where one file's ingest spends its time: each SQL statement timed, into a fresh database on
the scale's bench server, dropped afterwards. The COPY of the landing rows is not a statement:
it is the total less the statements, and runs beside the Python side (its CPU time is printed).
Usage (after `make bench SCALE=M`):

    .venv/bin/python bench/ingest_statements.py KIND FILE [STATEMENTS]
    e.g. participants .plaudit/bench-M/data/participants.csv 8
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

from ingest_parallel import drop_database  # this folder is on the path


def main(args: list[str]) -> None:
    if len(args) < 2:
        sys.exit(__doc__)
    kind, path, shown = args[0], Path(args[1]).resolve(), int(args[2]) if len(args) > 2 else 8
    os.environ.update({"PLAUDIT_HOME": str(path.parent.parent), "DO_NOT_TRACK": "1",
                       "PLAUDIT_DB_NAME": f"ingest_statements_{uuid.uuid4().hex[:6]}"})
    import psycopg

    from flows.ingest.files import ingest_file
    from flows.ingest.kinds import kind as kind_named
    from plaudit import db

    url = db.database_url()
    timed: list[tuple[float, str]] = []
    execute = psycopg.Connection.execute

    def timed_execute(self, query, *a, **k):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        cursor = execute(self, query, *a, **k)
        text = query.as_string(self) if hasattr(query, "as_string") else str(query)
        timed.append((time.perf_counter() - started, " ".join(text.split())[:100]))
        return cursor

    try:
        with psycopg.connect(url) as conn:
            psycopg.Connection.execute = timed_execute  # type: ignore[method-assign]
            started, cpu = time.perf_counter(), time.process_time()
            result = ingest_file(conn, path, kind=kind_named(kind)).kinds[kind]
            conn.commit()
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
            psycopg.Connection.execute = execute  # type: ignore[method-assign]
    finally:
        drop_database(url)
    statements = sum(s for s, _ in timed)
    print(f"{kind}: {result.loaded:,} rows loaded in {took:.1f} s; statements {statements:.1f} s, the COPY"
          f" and the rest {took - statements:.1f} s; this process's CPU {cpu:.1f} s")
    for seconds, text in sorted(timed, reverse=True)[:shown]:
        print(f"{seconds:8.2f} s  {text}")


if __name__ == "__main__":
    main(sys.argv[1:])
