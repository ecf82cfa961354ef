"""The HTTP JSON API source against a real server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest

from flows.ingest.api import pull
from flows.ingest.mapping import Mapping
from plaudit.errors import IngestError

TOKEN = "s3cret-token"


class SurveyApi:
    """Cursor pagination over records sorted by id; can fail pages on purpose."""

    def __init__(self, n: int) -> None:
        self.records = [self.record(i) for i in range(1, n + 1)]
        self.fail: dict[str, int] = {}  # cursor → how many more 500s to answer
        self.requests: list[dict[str, str]] = []

    @staticmethod
    def record(i: int) -> dict[str, object]:
        return {"id": f"S{i:04d}", "ticket": f"T{i:04d}", "rating": 5 if i % 2 else 4,
                "email": f"Customer{i}@Example.com", "at": f"2026-10-{1 + i % 28:02d}T10:00:00Z"}

    def page(self, cursor: str | None, limit: int) -> tuple[int, dict[str, object]]:
        key = cursor or ""
        if self.fail.get(key, 0) > 0:
            self.fail[key] -= 1
            return 500, {"error": "upstream hiccup"}
        after = [r for r in self.records if cursor is None or str(r["id"]) > cursor][:limit]
        nxt = after[-1]["id"] if after else cursor
        return 200, {"data": after, "meta": {"next": nxt, "done": len(after) < limit}}


@pytest.fixture()
def api_server(monkeypatch):
    api = SurveyApi(25)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's hook name
            q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            api.requests.append(q)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                status, body = 401, {"error": "bad token"}
            else:
                status, body = api.page(q.get("cursor"), int(q.get("limit", 10)))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SURVEY_TOKEN", TOKEN)
    yield api, f"http://127.0.0.1:{server.server_address[1]}/responses"
    server.shutdown()
    server.server_close()


MAPPING = Mapping.model_validate({
    "name": "survey_api",
    "personal_data": ["email"],
    "api": {"records": "data", "next_cursor": "meta.next", "end_of_stream": "meta.done",
            "page_size": 10, "token_env": "SURVEY_TOKEN", "retries": 3, "backoff_seconds": 0.01},
    "kinds": {"feedback": {"fields": {
        "response_id": "id", "interaction_id": "ticket", "feedback_kind": {"value": "csat"},
        "score": {"column": "rating", "parse": "integer"}, "responded_at": {"column": "at", "parse": "datetime"},
        "customer_email": "email",
    }}},
})


def count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("select count(*) from raw.feedback_responses").fetchone()[0]


def test_a_500_mid_paging_then_a_restart_from_the_saved_cursor(fresh_db, api_server):
    api, url = api_server
    api.fail["S0010"] = 5  # page 2 fails more often than the 3 attempts allowed
    with pytest.raises(IngestError, match="failed 3 times .* the next pull resumes from there"):
        pull(fresh_db, url, MAPPING)
    assert count(fresh_db) == 10  # page 1 is in, with its cursor
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select cursor from plaudit.api_cursors where source = 'survey_api'").fetchone()[0] == "S0010"

    api.fail["S0010"] = 1  # one more hiccup: retried, then fine
    r = pull(fresh_db, url, MAPPING)
    assert (r.records, r.loaded, r.quarantined, r.cursor) == (15, 15, 0, "S0025")
    assert count(fresh_db) == 25
    assert api.requests[-1]["cursor"] == "S0020"  # resumed, never asked for page 1 again after the failure
    assert [q.get("cursor") for q in api.requests].count(None) == 1


def test_the_next_night_asks_only_for_new_records(fresh_db, api_server):
    api, url = api_server
    pull(fresh_db, url, MAPPING)
    api.records += [api.record(i) for i in (26, 27)]
    before = len(api.requests)
    r = pull(fresh_db, url, MAPPING)
    assert (r.records, r.loaded) == (2, 2)
    assert api.requests[before]["cursor"] == "S0025"
    assert count(fresh_db) == 27


def test_customer_emails_from_the_api_are_stored_only_as_keyed_hashes(fresh_db, api_server):
    _, url = api_server
    pull(fresh_db, url, MAPPING)
    with psycopg.connect(fresh_db) as conn:
        dump = "\n".join(str(r) for r in conn.execute("select * from raw.feedback_responses"))
        hashes = {r[0] for r in conn.execute("select customer_email_hash from raw.feedback_responses")}
    assert "example.com" not in dump.lower()
    assert len(hashes) == 25 and all(len(h) == 64 for h in hashes)


def test_a_bad_token_is_refused_with_the_variable_named(fresh_db, api_server, monkeypatch):
    _, url = api_server
    monkeypatch.setenv("SURVEY_TOKEN", "wrong")
    with pytest.raises(IngestError, match=r"answered 401 \(check the token in \$SURVEY_TOKEN\)"):
        pull(fresh_db, url, MAPPING)
