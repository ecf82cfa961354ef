"""Weekly manager digests and the monthly close reminder: two deployable flows.

Content is selected in SQL (the coaching items are a dbt mart); Python renders
and queues one message per recipient through the outbox, whose dedupe key
(what, which week or period, whom) makes each go once however often the flow
runs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from prefect import flow, get_run_logger, task
from psycopg.rows import dict_row

from flows.publish import emails as email_delivery
from plaudit import db, settings
from plaudit import program as program_schema


def _program(name: str) -> program_schema.Program:
    return program_schema.load(program_schema.resolve(name, settings.load().programs_dir))


def _points(value: Decimal) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _quote(text: str | None) -> str | None:
    return email_delivery.trim_words(email_delivery.mask_contacts(text), 160) if text else None


@task(name="build manager digests")
def build_manager_digests(url: str, program: str, start: date, end: date) -> list[dict[str, Any]]:
    """One digest per manager with something to say: recognitions, pending approvals, coaching."""
    prog = _program(program)
    window = {"program": program, "start": start, "end": end + timedelta(days=1)}
    with psycopg.connect(url, row_factory=dict_row) as conn:
        recognitions = conn.execute(
            """
            select e.manager_id, e.employee_id, e.full_name, sum(l.points) as points,
                   (select f.comment from plaudit.ledger_entries l2
                    join raw.feedback_responses f on l2.source_kind = 'feedback' and f.response_id = l2.source_id
                    where l2.employee_id = e.employee_id and l2.program = %(program)s
                      and l2.effective_at >= %(start)s and l2.effective_at < %(end)s
                      and nullif(trim(f.comment), '') is not null
                    order by f.score desc, f.responded_at desc limit 1) as quote
            from plaudit.ledger_entries l join raw.employees e on e.employee_id = l.employee_id
            where l.program = %(program)s and l.effective_at >= %(start)s and l.effective_at < %(end)s
              and e.manager_id is not null
            group by e.manager_id, e.employee_id, e.full_name
            order by e.manager_id, points desc, e.employee_id
            """, window).fetchall()
        pending = conn.execute(
            """
            select e.manager_id, a.award_id, e.full_name, a.period, a.points, a.amount_minor, a.currency
            from plaudit.awards a join raw.employees e on e.employee_id = a.employee_id
            where a.program = %(program)s and a.status = 'pending' and e.manager_id is not null
            order by e.manager_id, a.period, a.amount_minor desc
            """, window).fetchall()
        coaching = conn.execute(
            """
            select c.manager_id, e.full_name, c.feedback_kind, c.score, c.channel, c.comment
            from marts.fct_coaching_items c join raw.employees e on e.employee_id = c.employee_id
            where c.manager_id is not null and c.responded_at >= %(start)s and c.responded_at < %(end)s
            order by c.manager_id, c.responded_at
            """, window).fetchall()
        managers = {r["employee_id"]: r for r in conn.execute(
            "select employee_id, full_name, email, locale from raw.employees where email is not null")}
    sections: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in recognitions:
        sections[r["manager_id"]]["recognitions"].append(
            {"name": r["full_name"], "points": _points(r["points"]), "quote": _quote(r["quote"])})
    for a in pending:
        sections[a["manager_id"]]["pending"].append(
            {"name": a["full_name"], "award_id": a["award_id"], "period": a["period"], "points": _points(a["points"]),
             "amount": email_delivery.money(a["amount_minor"], a["currency"])})
    for c in coaching:
        sections[c["manager_id"]]["coaching"].append(
            {"name": c["full_name"], "kind": c["feedback_kind"], "score": c["score"], "channel": c["channel"],
             "comment": _quote(c["comment"])})
    env = email_delivery.environment()
    week_label = f"{start:%d %b} – {end:%d %b %Y}"
    messages = []
    for manager_id, parts in sorted(sections.items()):
        m = managers.get(manager_id)
        if m is None:
            continue
        first_name = m["full_name"].split(" ", 1)[0]
        ctx = {"subject": f"Your team's week: {week_label}", "first_name": first_name, "manager_id": manager_id,
               "week_label": week_label, "program_title": prog.title, "locale": m["locale"] or "en",
               "recognitions": parts.get("recognitions", []), "pending": parts.get("pending", []),
               "coaching": parts.get("coaching", [])}
        messages.append({
            "key": f"digest:{program}:{end.isoformat()}:manager:{manager_id}", "template": "manager_digest",
            "to_id": manager_id, "to_email": m["email"], "to_name": m["full_name"], "subject": ctx["subject"],
            "text": env.get_template("manager_digest.txt.j2").render(ctx),
            "html": env.get_template("manager_digest.html.j2").render(ctx),
            "sender": prog.communications.sender,
        })
    return messages


def _achievement(entry: dict[str, Any]) -> str:
    """A bonus ledger entry in words: 'reached Silver', 'milestone: fiftieth customer', ..."""
    name = entry["rule_id"].replace("_", " ")
    return {
        "tier_bonus": f"reached {entry['source_id'].removeprefix('tier:')}",
        "milestone": f"milestone: {name}",
        "streak_bonus": f"streak: {name}",
        "challenge_bonus": f"challenge completed: {name}",
        "leaderboard_bonus": f"top of the {entry['source_id'].removeprefix('leaderboard:')} leaderboard",
    }.get(entry["entry_kind"], name)


@task(name="build team broadcasts")
def build_team_broadcasts(url: str, program: str, start: date, end: date) -> list[dict[str, Any]]:
    """For each team with praise this week: its best customer words, to every active member."""
    prog = _program(program)
    window = {"program": program, "start": start, "end": end + timedelta(days=1)}
    with psycopg.connect(url, row_factory=dict_row) as conn:
        praise = conn.execute(
            """
            select e.team, e.full_name, f.comment, f.feedback_kind, f.score, l.points
            from plaudit.ledger_entries l
            join raw.employees e on e.employee_id = l.employee_id
            left join raw.feedback_responses f on l.source_kind = 'feedback' and f.response_id = l.source_id
            where l.program = %(program)s and l.effective_at >= %(start)s and l.effective_at < %(end)s
              and e.team is not null
            """, window).fetchall()
        achievements = conn.execute(
            """
            select e.team, e.full_name, l.entry_kind, l.rule_id, l.source_id, l.points
            from plaudit.ledger_entries l join raw.employees e on e.employee_id = l.employee_id
            where l.program = %(program)s and l.effective_at >= %(start)s and l.effective_at < %(end)s
              and l.source_kind = 'bonus' and e.team is not null
            order by e.team, l.effective_at, e.full_name
            """, window).fetchall()
        members = conn.execute(
            "select employee_id, full_name, email, team from raw.employees"
            " where status = 'active' and email is not null and team is not null order by team, employee_id"
        ).fetchall()
    by_team: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in praise:
        by_team[p["team"]].append(p)
    reached: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in achievements:
        reached[a["team"]].append({"name": a["full_name"], "what": _achievement(a), "points": _points(a["points"])})
    env = email_delivery.environment()
    week_label = f"{start:%d %b} – {end:%d %b %Y}"
    messages = []
    for team, rows in sorted(by_team.items()):
        points: dict[str, Decimal] = defaultdict(Decimal)
        for r in rows:
            points[r["full_name"]] += r["points"]
        quotes = sorted((r for r in rows if r["comment"] and r["comment"].strip()),
                        key=lambda r: (-r["points"], r["full_name"]))[:5]
        ctx = {"subject": f"{team}: what customers said this week", "team": team, "week_label": week_label,
               "program_title": prog.title, "locale": prog.communications.default_locale,
               "points": _points(sum(points.values(), Decimal(0))),
               "quotes": [{"text": _quote(q["comment"]), "who": q["full_name"], "kind": q["feedback_kind"],
                           "score": q["score"]} for q in quotes],
               "top": [{"name": n, "points": _points(v)} for n, v in sorted(points.items(), key=lambda kv: -kv[1])[:3]],
               "milestones": reached.get(team, [])}
        text = env.get_template("team_broadcast.txt.j2").render(ctx)
        html = env.get_template("team_broadcast.html.j2").render(ctx)
        for m in (m for m in members if m["team"] == team):
            messages.append({"key": f"broadcast:{program}:{end.isoformat()}:{m['employee_id']}",
                             "template": "team_broadcast", "to_id": m["employee_id"], "to_email": m["email"],
                             "to_name": m["full_name"], "subject": ctx["subject"], "text": text, "html": html,
                             "sender": prog.communications.sender})
    return messages


@task(name="build close reminders")
def build_close_reminders(url: str, program: str, period: str) -> list[dict[str, Any]]:
    """The period's finance summary for each finance approver of the program: award totals by
    status and who pays (the company budget and each co-funding account)."""
    prog = _program(program)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        totals = {r["status"]: r for r in conn.execute(
            "select status, count(*) as n, coalesce(sum(amount_minor), 0) as minor from plaudit.awards"
            " where program = %s and period = %s group by status", [program, period])}
        funding = conn.execute(
            "select case f.funding_source when 'company' then 'Company budget'"
            "       else coalesce(ac.account_name, f.account_id) end as source, sum(f.amount_minor) as minor"
            " from plaudit.award_funding f join plaudit.awards a using (award_id)"
            " left join raw.accounts ac on ac.account_id = nullif(f.account_id, '')"
            " where a.program = %s and a.period = %s and a.status = 'approved'"
            " group by 1 order by (min(f.funding_source) = 'company') desc, 2 desc", [program, period]).fetchall()
        people = conn.execute(
            "select employee_id, full_name, email from raw.employees where employee_id = any(%s) and email is not null",
            [prog.awards.finance_approvers]).fetchall()
    env = email_delivery.environment()
    label = datetime.strptime(period, "%Y-%m").strftime("%B %Y")
    ctx: dict[str, Any] = {"subject": f"{label} is ready to close", "period_label": label, "program_title": prog.title,
                           "locale": prog.communications.default_locale,
                           "budget": email_delivery.money(prog.minor(prog.budget.monthly), prog.currency),
                           "funding": [(f["source"], email_delivery.money(int(f["minor"]), prog.currency))
                                       for f in funding],
                           "period": period, "program": program}
    for status in ("approved", "pending", "deferred", "rejected"):
        t = totals.get(status, {"n": 0, "minor": 0})
        ctx[f"{status}_count"] = t["n"]
        ctx[f"{status}_amount"] = email_delivery.money(int(Decimal(t["minor"])), prog.currency)
    text = env.get_template("close_reminder.txt.j2").render(ctx)
    html = env.get_template("close_reminder.html.j2").render(ctx)
    return [{"key": f"close-reminder:{program}:{period}:{p['employee_id']}", "template": "close_reminder",
             "to_id": p["employee_id"], "to_email": p["email"], "to_name": p["full_name"],
             "subject": ctx["subject"], "text": text, "html": html, "sender": prog.communications.sender}
            for p in people]


@task(name="queue and send", retries=2, retry_delay_seconds=[5, 30])
def queue_and_send(url: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    with db.connect(url) as conn:
        queued = email_delivery.queue_rendered(conn, messages)
    r = email_delivery.deliver(url)
    return {"queued": queued, "emails_written": r.written, "emails_sent": r.sent, "emails_failed": r.failed}


def _last_sunday(today: date) -> date:
    return today - timedelta(days=(today.weekday() + 1) % 7 or 7)


@flow(name="weekly-digest")
def weekly_digest(week_ending: date | None = None, program: str = "demo") -> dict[str, Any]:
    """The week ending `week_ending` (default: last Sunday): each manager's private digest,
    and each team's broadcast of its best customer words to every member."""
    end = week_ending or _last_sunday(datetime.now(ZoneInfo("UTC")).date())
    start = end - timedelta(days=6)
    url = db.database_url()
    digests = build_manager_digests(url, program, start, end)
    broadcasts = build_team_broadcasts(url, program, start, end)
    out = queue_and_send(url, digests + broadcasts)
    get_run_logger().info("week %s–%s: %s digests, %s broadcast messages, %s queued now",
                          start, end, len(digests), len(broadcasts), out["queued"])
    return {"week_start": start.isoformat(), "week_end": end.isoformat(), "digests": len(digests),
            "broadcasts": len(broadcasts), **out}


@flow(name="monthly-close-reminder")
def monthly_close_reminder(period: str | None = None, program: str = "demo") -> dict[str, Any]:
    """Remind the program's finance approvers that `period` (default: last month) is ready to close."""
    if period is None:
        first = datetime.now(ZoneInfo("UTC")).date().replace(day=1)
        period = (first - timedelta(days=1)).strftime("%Y-%m")
    url = db.database_url()
    messages = build_close_reminders(url, program, period)
    if not messages:
        get_run_logger().warning("program %s lists no finance approvers with an email: no reminder sent", program)
    out = queue_and_send(url, messages)
    return {"period": period, "reminders": len(messages), **out}
