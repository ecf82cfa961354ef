"""A first load with and without building the raw tables' indexes after the rows
(`flows.ingest.files.BULK_MIN_ROWS`), alternately, each into its own fresh database on the same
server, in one run: `python bench/ingest_bulk.py .plaudit/bench-M/data [rounds]` (after
`make bench SCALE=M`). One worker process, so the setting reaches every file's load; each
database is dropped after its run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ingest_parallel import ingest_once  # this folder is on the path


def main() -> None:
    data = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    os.environ.update({"PLAUDIT_HOME": str(data.parent), "DO_NOT_TRACK": "1"})
    from flows.ingest import files

    built_after = files.BULK_MIN_ROWS
    figures: dict[str, list[float]] = {"indexes in place": [], "indexes built after": []}
    for _ in range(rounds):
        for arm, minimum in (("indexes in place", 10**18), ("indexes built after", built_after)):
            files.BULK_MIN_ROWS = minimum
            rows, seconds = ingest_once(data, "1", arm.replace(" ", "_"), drop=True)
            figures[arm].append(seconds)
            print(f"{arm}: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s", flush=True)
    before, after = (min(v) for v in figures.values())
    print(f"best of each: {before:.1f} s -> {after:.1f} s ({after / before:.2f}x the time)")


if __name__ == "__main__":
    main()
