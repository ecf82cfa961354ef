"""The inbox: files dropped into `$PLAUDIT_INBOX_DIR` are ingested by the nightly flow.

A file's kind is the start of its name (`feedback.csv`, `feedback-2026-10-31.csv`,
`employees_hr.csv`, ...). Files are remembered by content hash in
plaudit.ingests, never moved: a file already ingested is skipped.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from flows.ingest.files import IngestResult, file_sha256, ingest_file
from flows.ingest.kinds import KINDS

# Order matters only for readability of the summary; checks do not depend on it.
INGEST_ORDER = ["employees", "accounts", "interactions", "participants", "feedback", "nominations"]


def kind_of(path: Path) -> str | None:
    stem = path.name.lower()
    for k in INGEST_ORDER:
        if stem.startswith(k):
            return k
    return None


def pending_files(conn: psycopg.Connection, inbox: Path) -> list[tuple[str, Path]]:
    if not inbox.is_dir():
        return []
    done = {
        (k, h)
        for k, h in conn.execute("select kind, file_sha256 from plaudit.ingests where finished_at is not null")
    }
    found = []
    for path in sorted(inbox.glob("*.csv")):
        k = kind_of(path)
        if k and (k, file_sha256(path)) not in done:
            found.append((k, path))
    return sorted(found, key=lambda kp: (INGEST_ORDER.index(kp[0]), kp[1].name))


def ingest_inbox(url: str, inbox: Path) -> list[IngestResult]:
    results = []
    with psycopg.connect(url) as conn:
        for k, path in pending_files(conn, inbox):
            results.append(ingest_file(conn, KINDS[k], path))
            conn.commit()
    return results
