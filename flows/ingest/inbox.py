"""The inbox: files dropped into `$PLAUDIT_INBOX_DIR` are ingested by the nightly flow.

- `inbox/<kind>*.csv` (jsonl, xlsx too): Plaudit's own format; the kind is the
  start of the file name (`feedback-2026-10-31.csv`, `employees_hr.csv`).
- `inbox/<source>/*`: an export read with `mappings/<source>.yml`
  (`$PLAUDIT_MAPPINGS_DIR`), e.g. `inbox/call_center_2021q1/january.csv`.

Files are remembered by content hash in plaudit.ingests, never moved: a file
already ingested is skipped, and the same content under a new name too.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from flows.ingest import mapping as mapping_mod
from flows.ingest.files import FileResult, file_sha256, ingest_file
from flows.ingest.kinds import KINDS
from plaudit import failpoints
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


def ingest_inbox(url: str, inbox: Path, mappings_dir: Path) -> tuple[list[FileResult], list[dict[str, str]]]:
    """Ingest every new file, each in its own transaction.

    A file refused whole (empty, no header, a required column missing, not the
    declared format) does not stop the night: it is recorded with its reason in
    plaudit.ingests and plaudit.quarantine (line 0), remembered by content hash
    so it is not retried every night, and returned in the refused list.
    """
    results: list[FileResult] = []
    refused: list[dict[str, str]] = []
    with psycopg.connect(url) as conn:
        for kind, path, mapping in pending_files(conn, inbox, mappings_dir):
            try:
                m = mapping_mod.load(mapping) if mapping else None
                results.append(ingest_file(conn, path, kind=KINDS[kind] if kind else None, mapping=m))
                conn.commit()
                failpoints.hit("after_ingest_commit")
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
    return results, refused


def api_mappings(mappings_dir: Path) -> list[mapping_mod.Mapping]:
    """Mappings whose `api.url` is set: the nightly flow pulls them."""
    found = []
    for path in sorted(mappings_dir.glob("*.yml")) if mappings_dir.is_dir() else []:
        m = mapping_mod.load(path)
        if m.api is not None and m.api.url:
            found.append(m)
    return found
