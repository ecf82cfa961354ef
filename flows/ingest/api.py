"""Pull records from an HTTP JSON API, page by page, incrementally.

Each page is loaded and committed together with the cursor for the next page
(plaudit.api_cursors), so a pull that fails in the middle resumes from the last
committed page, and the next night asks only for records after the saved
cursor. 5xx answers, timeouts and connection errors are retried with
exponential back-off; a 4xx stops the pull with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import psycopg
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from flows.ingest.files import load_rows
from flows.ingest.mapping import ApiSource, Mapping
from flows.ingest.readers import Row, record_row
from plaudit.errors import IngestError


class _Retryable(Exception):
    """A 5xx answer: worth another try."""


@dataclass
class PullResult:
    source: str
    url: str
    pages: int = 0
    records: int = 0
    loaded: int = 0
    quarantined: int = 0
    cursor: str | None = None
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _dig(obj: Any, path: str | None) -> Any:
    if path is None:
        return None
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _fetch(client: httpx.Client, url: str, params: dict[str, Any], api: ApiSource) -> dict[str, Any]:
    @retry(
        retry=retry_if_exception_type((_Retryable, httpx.TransportError)),
        stop=stop_after_attempt(api.retries),
        wait=wait_exponential(multiplier=api.backoff_seconds, max=60),
        reraise=True,
    )
    def once() -> dict[str, Any]:
        r = client.get(url, params=params)
        if r.status_code >= 500:
            raise _Retryable(f"{r.status_code} from {url}")
        if r.status_code >= 400:
            hint = f" (check the token in ${api.token_env})" if r.status_code in (401, 403) and api.token_env else ""
            raise IngestError(f"{url} answered {r.status_code}{hint}: {r.text[:200]}")
        try:
            body = r.json()
        except json.JSONDecodeError:
            raise IngestError(f"{url} did not answer JSON: {r.text[:200]!r}") from None
        if not isinstance(body, dict):
            raise IngestError(f"{url} answered JSON that is not an object")
        return body

    try:
        return once()
    except (_Retryable, httpx.TransportError) as exc:
        raise IngestError(
            f"{url} failed {api.retries} times ({exc}); pages before it are loaded and the cursor is saved, "
            "so the next pull resumes from there"
        ) from exc


def pull(db_url: str, url: str, mapping: Mapping) -> PullResult:
    api = mapping.api or ApiSource()
    source = mapping.name or url
    headers = {"Accept": "application/json"}
    if api.token_env:
        token = os.environ.get(api.token_env)
        if not token:
            raise IngestError(f"the API token variable ${api.token_env} is not set")
        headers["Authorization"] = f"Bearer {token}"
    result = PullResult(source=source, url=url)
    with psycopg.connect(db_url) as conn, httpx.Client(headers=headers, timeout=api.timeout_seconds) as client:
        row = conn.execute("select cursor from plaudit.api_cursors where source = %s", [source]).fetchone()
        cursor = row[0] if row else None
        conn.commit()
        for _ in range(api.max_pages):
            params: dict[str, Any] = {}
            if cursor is not None:
                params[api.cursor_param] = cursor
            if api.page_size_param:
                params[api.page_size_param] = api.page_size
            body = _fetch(client, url, params, api)
            records = _dig(body, api.records)
            if not isinstance(records, list):
                raise IngestError(f"{url}: no list of records at {api.records!r} in the answer (keys: {', '.join(body)})")
            next_cursor = _dig(body, api.next_cursor)
            result.pages += 1
            if records:
                rows: list[Row] = []
                for i, rec in enumerate(records, start=1):
                    text = json.dumps(rec, ensure_ascii=False, sort_keys=True)
                    rows.append(record_row(i, text, rec) if isinstance(rec, dict)
                                else Row(i, text, None, "a record must be a JSON object"))
                page = json.dumps(records, sort_keys=True).encode()
                fr = load_rows(conn, mapping, rows, source_file=f"{url} (cursor {cursor})",
                               source_sha256=hashlib.sha256(page).hexdigest(), source=source)
                result.records += len(records)
                result.loaded += fr.loaded
                result.quarantined += fr.quarantined_rows
                for k, r in fr.kinds.items():
                    acc = result.kinds.setdefault(k, {"loaded": 0, "updated": 0, "duplicates": 0, "quarantined": 0})
                    for key in acc:
                        acc[key] += getattr(r, key)
            if next_cursor is not None:
                cursor = str(next_cursor)
            conn.execute(
                "insert into plaudit.api_cursors (source, cursor, records) values (%s, %s, %s)"
                " on conflict (source) do update set cursor = excluded.cursor,"
                " records = plaudit.api_cursors.records + excluded.records, updated_at = now()",
                [source, cursor, len(records)],
            )
            conn.commit()  # the page and its cursor together
            ended = bool(_dig(body, api.end_of_stream)) if api.end_of_stream else False
            if not records or ended or next_cursor is None:
                break
    result.cursor = cursor
    return result
