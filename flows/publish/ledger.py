"""Publish what dbt computed: post ledger entries, open approvals, queue emails.

Each step is one set-based statement keyed by deterministic ids, so running a
night again posts nothing twice. The caller runs them in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import psycopg

from plaudit import failpoints


@dataclass
class PublishResult:
    ledger_entries_posted: int = 0
    awards_auto_approved: int = 0
    awards_pending: int = 0
    awards_deferred: int = 0
    emails_queued: int = 0
    gaming_flags_held: int = 0


def post_ledger(conn: psycopg.Connection, run_id: UUID) -> int:
    """Append the night's new entries to the append-only ledger.

    The entries come from marts.fct_ledger_entries_to_post: those the build found not posted
    (intermediate.int_unposted_ledger_entries), less any posted since. Reading the whole mart
    and leaving out the posted entries by an anti-join cost a pass over all history every night
    (1.3 s of an empty night at M; before that, `on conflict` alone probed the key once per
    entry, 5.0 s).
    `on conflict` stays for a concurrent publisher.
    """
    return conn.execute(
        """
        insert into plaudit.ledger_entries (entry_id, program, version_id, employee_id, entry_kind,
            source_kind, source_id, rule_id, attribution_weight, multiplier, points, capped_points,
            period, effective_at, run_id)
        select entry_id, program, version_id, employee_id, entry_kind,
            source_kind, source_id, rule_id, attribution_weight, multiplier, points, capped_points,
            period, effective_at, %s
        from marts.fct_ledger_entries_to_post
        on conflict (entry_id) do nothing
        """,
        [run_id],
    ).rowcount


def open_awards(conn: psycopg.Connection, run_id: UUID) -> dict[str, int]:
    """Create awards from the proposals; auto-approved ones get their decision at once.

    Rows go in the budget's order: the database's budget trigger
    (plaudit.keep_within_budget) defers any that would overspend, so the
    statuses returned are the ones that stuck, and only awards that were not
    deferred get funding legs.
    """
    rows = conn.execute(
        """
        with inserted as (
            insert into plaudit.awards (award_id, program, version_id, employee_id, award_kind, period,
                points, amount_minor, currency, approval_level, status, status_reason, run_id,
                team, cost_centre, carried_from, source_entry_id, points_period, night)
            select award_id, program, version_id, employee_id, award_kind, period,
                points, amount_minor, currency, approval_level, proposed_status, status_reason, %(run)s,
                team, cost_centre, carried_from, source_entry_id, points_period,
                (select r.night from plaudit.runs r where r.run_id = %(run)s)
            from marts.fct_award_proposals p
            -- a closed period gets no new awards
            where not exists (select 1 from plaudit.period_closes c where c.program = p.program and c.period = p.period)
            order by period, budget_order, instant_at, amount_minor, award_id
            on conflict (award_id) do nothing
            returning award_id, status, status_reason
        ),
        decided as (
            insert into plaudit.approval_decisions (award_id, decision, decided_by, reason)
            select award_id, 'approved', 'plaudit:auto', status_reason
            from inserted where status = 'approved'
        ),
        funded as (
            -- the funding legs are frozen with the award
            insert into plaudit.award_funding (award_id, funding_source, account_id, amount_minor, currency,
                account_currency, account_amount_minor, rate, rate_date)
            select f.award_id, f.funding_source, coalesce(f.account_id, ''), f.amount_minor, f.currency,
                f.account_currency, f.account_amount_minor, f.rate, f.rate_date
            from marts.fct_award_funding f join inserted i on i.award_id = f.award_id
            where i.status <> 'deferred'
        )
        select status, count(*) from inserted group by status
        """,
        {"run": run_id},
    ).fetchall()
    return {status: n for status, n in rows}


def queue_emails(conn: psycopg.Connection, run_id: UUID) -> int:
    """One recognition email per approved award; the dedupe key makes it once only."""
    return conn.execute(
        """
        insert into plaudit.outbox (outbox_id, dedupe_key, template, award_id,
            recipient_employee_id, recipient_email, message_id, run_id)
        select md5(k.dedupe_key), k.dedupe_key, 'recognition', a.award_id, a.employee_id, e.email,
            '<' || md5(k.dedupe_key) || '@plaudit.invalid>', %s
        from plaudit.awards as a
        inner join raw.employees as e on e.employee_id = a.employee_id
        cross join lateral (
            select 'award:' || a.award_id || ':recognition:' || a.employee_id as dedupe_key
        ) as k
        where a.status = 'approved' and e.email is not null
        on conflict (dedupe_key) do nothing
        """,
        [run_id],
    ).rowcount


def hold_flags(conn: psycopg.Connection, run_id: UUID | None) -> int:
    """Record the night's new gaming flags: their feedback earns nothing until someone clears them."""
    return conn.execute(
        """
        insert into plaudit.gaming_flags (flag_id, program, flag_kind, source_kind, source_id, employee_id, detail, run_id)
        select flag_id, program, flag_kind, source_kind, source_id, employee_id, detail, %s
        from intermediate.int_gaming_flags
        on conflict (flag_id) do nothing
        """,
        [run_id],
    ).rowcount


def publish(conn: psycopg.Connection, run_id: UUID) -> PublishResult:
    result = PublishResult(ledger_entries_posted=post_ledger(conn, run_id))
    failpoints.hit("mid_ledger_post")
    result.gaming_flags_held = hold_flags(conn, run_id)
    opened = open_awards(conn, run_id)
    result.awards_auto_approved = opened.get("approved", 0)
    result.awards_pending = opened.get("pending", 0)
    result.awards_deferred = opened.get("deferred", 0)
    result.emails_queued = queue_emails(conn, run_id)
    return result


def preview(conn: psycopg.Connection) -> PublishResult:
    """What publishing would do now, without writing anything (dry run)."""
    (posted,) = conn.execute("select count(*) from marts.fct_ledger_entries_to_post").fetchone()  # type: ignore[misc]
    counts = dict(
        conn.execute(
            "select proposed_status, count(*) from marts.fct_award_proposals f"
            " where not exists (select 1 from plaudit.awards a where a.award_id = f.award_id)"
            " group by proposed_status"
        ).fetchall()
    )
    (flags,) = conn.execute(
        "select count(*) from intermediate.int_gaming_flags f"
        " where not exists (select 1 from plaudit.gaming_flags g where g.flag_id = f.flag_id)"
    ).fetchone()  # type: ignore[misc]
    return PublishResult(
        ledger_entries_posted=posted,
        gaming_flags_held=flags,
        awards_auto_approved=counts.get("approved", 0),
        awards_pending=counts.get("pending", 0),
        awards_deferred=counts.get("deferred", 0),
    )


# A publication of more entries than this is caught up with in its own night (catch_up_due). The
# models that read what was posted take in what was posted since their last build at about 2.4 s
# per 100,000 entries (L at 457fe6f: 0.8 M entries, the weeks of a backlog, made the next night's
# three of them take 21.8 s against 3.4 s after an ordinary night's 35,000), and a catch-up costs
# its own dbt invocation (a few seconds): below this either way costs about the same.
CATCH_UP_MIN_ENTRIES = 100_000


def catch_up_due(posted: int) -> bool:
    """Whether a publication posted so many ledger entries (a first night, a backfill, a backlog of
    days) that the models that read what was posted should take them in now, not in the next night's
    build: more than CATCH_UP_MIN_ENTRIES. By number, not by share of the ledger: what the next night
    would pay grows with the entries, whatever the ledger's size (at L a backlog of three weeks posts
    about 11% of it, below the quarter at which those models compute everything,
    much_of_the_ledger_posted_since, and made the next night miss its 60 s)."""
    return posted > CATCH_UP_MIN_ENTRIES
