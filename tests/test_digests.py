"""Weekly manager digests and the monthly close reminder, on the fixture night."""

from __future__ import annotations

import email
import email.policy
from datetime import date

import psycopg


def run_night(night: date) -> dict:
    from flows.nightly import nightly

    return nightly(night=night, program="e2e")


def messages(emails_dir, template: str) -> list[email.message.EmailMessage]:
    out = []
    for p in sorted(emails_dir.glob("*.eml")):
        m = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        if m["X-Plaudit-Template"] == template:
            out.append(m)
    return out


def test_the_weekly_digest_goes_to_each_manager_once_with_private_coaching(e2e):
    url, emails_dir, _ = e2e
    from flows.digests import weekly_digest

    run_night(date(2026, 10, 31))
    # the week of 2026-10-19 … 10-25: R5 (B1, NPS 10, 10 points), R6 (A1, CSAT 2: a coaching item),
    # N1 (A1's nomination, 20 points); A1's October award is pending M1's decision.
    out = weekly_digest(week_ending=date(2026, 10, 25), program="e2e")
    # one manager digest; the Support team's broadcast goes to its active members M1, A1 and B1
    assert (out["digests"], out["broadcasts"], out["queued"], out["emails_written"]) == (1, 3, 4, 4)
    [digest] = messages(emails_dir, "manager_digest")
    assert digest["To"] == "Maria Manager <m1@staff.test.example>"
    html = digest.get_body(("html",)).get_content()
    text = digest.get_body(("plain",)).get_content()
    for body in (html, text):
        assert "Alice Agent" in body and "20 points" in body      # the nomination
        assert "Bob Agent" in body and "10 points" in body        # the NPS 10
        assert "15.00 EUR for 2026-10" in body                    # pending approval
        assert "CSAT 2" in body and "Too slow" in body            # coaching, private to the manager
        assert "7946" not in body and "[phone removed]" in body   # customer contact details masked
    assert "&lt;script&gt;" in html and "<script>" not in html

    again = weekly_digest(week_ending=date(2026, 10, 25), program="e2e")
    assert (again["queued"], again["emails_written"]) == (0, 0)
    assert len(messages(emails_dir, "manager_digest")) == 1

    broadcasts = messages(emails_dir, "team_broadcast")
    assert sorted(m["To"].addresses[0].username for m in broadcasts) == ["a1", "b1", "m1"]
    text = broadcasts[0].get_body(("plain",)).get_content()
    assert "Support: what customers said this week" in text and "30 points earned by the team" in text
    assert "about Bob Agent (NPS 10)" in text and "[phone removed]" in text and "Too slow" not in text
    assert "Most praised this week: Alice Agent (20 points), Bob Agent (10 points)" in text


def test_the_close_reminder_goes_to_the_finance_approvers_with_the_period_totals(e2e):
    url, emails_dir, _ = e2e
    from flows.digests import monthly_close_reminder

    run_night(date(2026, 10, 31))
    out = monthly_close_reminder(period="2026-10", program="e2e")
    assert (out["reminders"], out["emails_written"]) == (1, 1)
    [reminder] = messages(emails_dir, "close_reminder")
    assert reminder["To"] == "Maria Manager <m1@staff.test.example>"
    text = reminder.get_body(("plain",)).get_content()
    assert "October 2026 is ready to close" in text
    assert "Approved awards              1  7.50 EUR" in text
    assert "Waiting for a manager        1  15.00 EUR" in text
    # who pays B1's approved 7.50: ACME co-funds 1.25 (see test_finance.py), the company the rest
    assert "Company budget: 6.25 EUR" in text and "Acme Corp: 1.25 EUR" in text
    assert "plaudit period close 2026-10 --program e2e" in text
    assert monthly_close_reminder(period="2026-10", program="e2e")["emails_written"] == 0
    with psycopg.connect(url) as conn:
        kinds = dict(conn.execute("select template, count(*) from plaudit.outbox group by 1").fetchall())
    assert kinds == {"recognition": 1, "close_reminder": 1}
