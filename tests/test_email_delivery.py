"""SMTP delivery semantics against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import time

import psycopg

from flows.publish.emails import deliver, queue_rendered


def queue(url: str, *names: str) -> None:
    with psycopg.connect(url) as conn:
        queue_rendered(conn, [
            {"key": f"test:{n}", "template": "test", "to_id": n, "to_email": f"{n}@staff.test.example", "to_name": n,
             "subject": f"Hello {n}", "text": "hi", "html": "<p>hi &amp; welcome</p>", "sender": "T <t@test.example>"}
            for n in names
        ])


def state(url: str, name: str) -> tuple[str, int, str | None]:
    with psycopg.connect(url) as conn:
        return conn.execute("select state, attempts, last_error from plaudit.outbox where dedupe_key = %s",
                            [f"test:{name}"]).fetchone()


def test_a_4xx_is_retried_and_then_delivered_once(fresh_db, smtp_sink):
    queue(fresh_db, "ann")
    smtp_sink.script = ["451 4.3.0 Try again later"]
    r = deliver(fresh_db)
    assert (r.sent, r.failed, r.deferred) == (1, 0, 0)
    assert state(fresh_db, "ann") == ("sent", 2, None)
    [msg] = smtp_sink.received
    assert msg["Subject"] == "Hello ann" and msg["Message-ID"].endswith("@plaudit.invalid>")
    assert [p.get_content_type() for p in msg.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    assert deliver(fresh_db).sent == 0 and len(smtp_sink.received) == 1


def test_a_5xx_fails_the_message_with_the_server_reason(fresh_db, smtp_sink):
    queue(fresh_db, "bob", "cid")
    smtp_sink.script = ["550 5.1.1 Mailbox unavailable"]
    r = deliver(fresh_db)
    assert (r.sent, r.failed) == (1, 1)
    states = sorted([state(fresh_db, "bob"), state(fresh_db, "cid")])
    assert states == [("failed", 1, "refused: 550 5.1.1 Mailbox unavailable"), ("sent", 1, None)]
    assert deliver(fresh_db).sent == 0  # a failed message is not sent again by itself


def test_a_persistent_4xx_stays_queued_and_goes_out_once_on_the_next_run(fresh_db, smtp_sink):
    queue(fresh_db, "dee")
    smtp_sink.script = ["421 4.7.0 Too busy"] * 3
    r = deliver(fresh_db)
    assert (r.sent, r.deferred) == (0, 1)
    st, attempts, error = state(fresh_db, "dee")
    assert (st, attempts) == ("queued", 3) and "421 4.7.0 Too busy" in error
    assert deliver(fresh_db).sent == 1
    assert len(smtp_sink.received) == 1 and state(fresh_db, "dee")[:2] == ("sent", 4)


def test_the_rate_limit_paces_messages(fresh_db, smtp_sink, monkeypatch):
    monkeypatch.setenv("PLAUDIT_SMTP_RATE_PER_MINUTE", "300")  # one every 0.2 s
    queue(fresh_db, "e1", "e2", "e3", "e4")
    t0 = time.monotonic()
    assert deliver(fresh_db).sent == 4
    assert time.monotonic() - t0 >= 0.6
