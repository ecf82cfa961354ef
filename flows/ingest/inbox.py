"""The inbox: files dropped into `$PLAUDIT_INBOX_DIR` are ingested by the nightly flow.

- `inbox/<kind>*.csv` (jsonl, xlsx too): Plaudit's own format; the kind is the
  start of the file name (`feedback-2026-10-31.csv`, `employees_hr.csv`).
- `inbox/<source>/*`: an export read with `mappings/<source>.yml`
  (`$PLAUDIT_MAPPINGS_DIR`), e.g. `inbox/call_center_2021q1/january.csv`.

Files are remembered by content hash in plaudit.ingests, never moved: a file
already ingested is skipped, and the same content under a new name too.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from flows.ingest import mapping as mapping_mod
from flows.ingest.files import FileResult, file_sha256, ingest_file
from flows.ingest.kinds import KINDS
from plaudit import failpoints, settings
from plaudit.errors import IngestError

# Master data first, so a night's events find their employees.
INGEST_ORDER = ["employees", "accounts", "exchange_rates", "interactions", "participants", "feedback", "nominations"]
SUFFIXES = {".csv", ".jsonl", ".ndjson", ".xlsx"}


def kind_of(path: Path) -> str | None:
    stem = path.name.lower()
    for k in INGEST_ORDER:
        if stem.startswith(k):
            return k
    return None


def pending_files(conn: psycopg.Connection, inbox: Path, mappings_dir: Path) -> list[tuple[str | None, Path, Path | None]]:
    """(kind, file, mapping) for every file not ingested yet, master data first."""
    if not inbox.is_dir():
        return []
    done = {h for (h,) in conn.execute("select file_sha256 from plaudit.ingests where finished_at is not null")}
    found: list[tuple[int, str, str | None, Path, Path | None]] = []
    for path in sorted(inbox.iterdir()):
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            k = kind_of(path)
            if k and file_sha256(path) not in done:
                found.append((INGEST_ORDER.index(k), path.name, k, path, None))
        elif path.is_dir():
            mapping = mappings_dir / f"{path.name}.yml"
            if not mapping.exists():
                raise IngestError(
                    f"inbox folder {path} has no mapping {mapping}: add the mapping or move the folder out of the inbox"
                )
            for f in sorted(path.iterdir()):
                if f.is_file() and f.suffix.lower() in SUFFIXES and file_sha256(f) not in done:
                    found.append((len(INGEST_ORDER), f"{path.name}/{f.name}", None, f, mapping))
    return [(k, p, m) for _, _, k, p, m in sorted(found, key=lambda x: (x[0], x[1]))]


# Event kinds do not read one another while they are checked and loaded, so files of different
# event kinds can load at once, each kind's files in order, each file its own transaction.
PARALLEL_KINDS = ("interactions", "participants", "feedback", "nominations")

Pending = tuple[str | None, Path, Path | None]


def _ingest_one(conn: psycopg.Connection, kind: str | None, path: Path, mapping: Path | None,
                results: list[FileResult], refused: list[dict[str, str]]) -> None:
    """Ingest one file and commit; a file refused whole is recorded as refused instead."""
    try:
        m = mapping_mod.load(mapping) if mapping else None
        results.append(ingest_file(conn, path, kind=KINDS[kind] if kind else None, mapping=m))
        conn.commit()
    except IngestError as exc:
        conn.rollback()
        with conn.transaction():
            ingest_id = conn.execute(
                "insert into plaudit.ingests (kind, source_file, file_sha256, source, finished_at)"
                " values (%s, %s, %s, %s, now()) returning ingest_id",
                [kind or (mapping.stem if mapping else "?"), str(path), file_sha256(path), "refused"],
            ).fetchone()[0]  # type: ignore[index]
            conn.execute(
                "insert into plaudit.quarantine (ingest_id, kind, source_file, source_line, raw_text, reason)"
                " values (%s, %s, %s, 0, null, %s)",
                [ingest_id, kind or "?", str(path), f"file refused: {exc}"],
            )
        refused.append({"file": str(path), "reason": str(exc)})


def _ingest_group(url: str, group: list[Pending]) -> tuple[list[FileResult], list[dict[str, str]]]:
    """One event kind's files, in order, in a worker process (its own connection)."""
    results: list[FileResult] = []
    refused: list[dict[str, str]] = []
    with psycopg.connect(url) as conn:
        for kind, path, mapping in group:
            _ingest_one(conn, kind, path, mapping, results, refused)
    return results, refused


def _worker_init() -> None:
    # the parent process hits the failpoint when a worker's file has committed
    os.environ.pop("PLAUDIT_FAILPOINT", None)


def ingest_workers(pending: list[Pending]) -> int:
    """How many processes load the event files: `PLAUDIT_INGEST_WORKERS` (default: the cores), at most
    one per event kind, and 1 when the event files are smaller than `PLAUDIT_INGEST_PARALLEL_MIN_BYTES`
    (starting worker processes would cost more than it saves)."""
    s = settings.load()
    kinds = {k for k, _, m in pending if k in PARALLEL_KINDS and m is None}
    size = sum(p.stat().st_size for k, p, m in pending if k in kinds and m is None)
    if s.ingest_workers < 2 or len(kinds) < 2 or size < s.ingest_parallel_min_bytes:
        return 1
    return min(s.ingest_workers, len(kinds))


def ingest_inbox(url: str, inbox: Path, mappings_dir: Path) -> tuple[list[FileResult], list[dict[str, str]]]:
    """Ingest every new file, each in its own transaction.

    A file refused whole (empty, no header, a required column missing, not the
    declared format) does not stop the night: it is recorded with its reason in
    plaudit.ingests and plaudit.quarantine (line 0), remembered by content hash
    so it is not retried every night, and returned in the refused list.

    Master data loads first, one file at a time; then, when the event files
    are large, each event kind loads in its own process (`ingest_workers`),
    at once; then the mapped folders, one file at a time.
    """
    results: list[FileResult] = []
    refused: list[dict[str, str]] = []
    with psycopg.connect(url) as conn:
        pending = pending_files(conn, inbox, mappings_dir)
        workers = ingest_workers(pending)
        parallel = [x for x in pending if workers > 1 and x[0] in PARALLEL_KINDS and x[2] is None]
        first = [x for x in pending if x not in parallel and x[0] is not None and x[0] not in PARALLEL_KINDS]
        last = [x for x in pending if x not in parallel and x not in first]
        for kind, path, mapping in first:
            _ingest_one(conn, kind, path, mapping, results, refused)
            failpoints.hit("after_ingest_commit")
        if parallel:
            _ingest_parallel(url, parallel, workers, results, refused)
        for kind, path, mapping in last:
            _ingest_one(conn, kind, path, mapping, results, refused)
            failpoints.hit("after_ingest_commit")
    return results, refused


def _ingest_parallel(url: str, pending: list[Pending], workers: int,
                     results: list[FileResult], refused: list[dict[str, str]]) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    groups: dict[str | None, list[Pending]] = {}
    for item in pending:
        groups.setdefault(item[0], []).append(item)
    # largest kinds first, so the two processes finish close together
    order = sorted(groups.values(), key=lambda g: -sum(p.stat().st_size for _, p, _ in g))
    by_kind: dict[str | None, tuple[list[FileResult], list[dict[str, str]]]] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_init) as pool:
        futures = {pool.submit(_ingest_group, url, g): g[0][0] for g in order}
        try:
            for fut in as_completed(futures):
                by_kind[futures[fut]] = fut.result()
                failpoints.hit("after_ingest_commit")
        except BrokenProcessPool as exc:
            raise IngestError(
                f"an ingest worker process died ({exc}); files it had committed stay loaded and the rest "
                "load on the next run. Set PLAUDIT_INGEST_WORKERS=1 to load one file at a time."
            ) from exc
    for kind in PARALLEL_KINDS:  # results in the usual order, whatever finished first
        if kind in by_kind:
            results.extend(by_kind[kind][0])
            refused.extend(by_kind[kind][1])


def api_mappings(mappings_dir: Path) -> list[mapping_mod.Mapping]:
    """Mappings whose `api.url` is set: the nightly flow pulls them."""
    found = []
    for path in sorted(mappings_dir.glob("*.yml")) if mappings_dir.is_dir() else []:
        m = mapping_mod.load(path)
        if m.api is not None and m.api.url:
            found.append(m)
    return found
