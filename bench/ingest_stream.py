"""The Python side of an ingest alone: read, map, hash and mask a file's rows, no database.

`flows.ingest.files.landing_rows` is what `plaudit ingest` streams into COPY; this times it on
files in Plaudit's own format (those `plaudit generate` writes), rows dropped as they come.
To compare two versions of the code, run it at each commit one after the other on the same files
(bench/RESULTS.md gives such ratios). Usage:

    .venv/bin/python bench/ingest_stream.py KIND=FILE[:ROWS] ...
    e.g. feedback=.plaudit/bench-M/data/feedback.csv:500000 interactions=.plaudit/bench-M/data/interactions.csv
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

from flows.ingest.files import FileResult, IngestResult, landing_rows
from flows.ingest.mapping import Mapping
from flows.ingest.readers import open_source


def main(args: list[str]) -> None:
    if not args:
        sys.exit(__doc__)
    for arg in args:
        kind, _, spec = arg.partition("=")
        path, _, limit = spec.partition(":")
        src = open_source(Path(path), None)
        mapping = Mapping.native(kind, src.header)
        rows = src.rows() if not limit else itertools.islice(src.rows(), int(limit))
        result = FileResult(file=path, kinds={kind: IngestResult(kind, path)})
        started = time.perf_counter()
        n = sum(1 for _ in landing_rows(mapping, rows, result, header=src.header))
        took = time.perf_counter() - started
        print(f"{kind}: {n:,} landing rows in {took:.2f} s, {n / took:,.0f} rows/s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
