"""The period report: one self-contained HTML file (charts as inline SVG, no external resources).

Participation, the points distribution, budget use by team, award status
split, the funding split (company budget and co-funding accounts), CSAT of recognised employees before and after their first recognition
against those not yet recognised, and the customers' words of the period.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from flows.publish.emails import environment, mask_contacts, money, trim_words
from plaudit import program as program_schema
from plaudit import settings
from plaudit.errors import PlauditError


def _bars(items: list[tuple[str, Decimal]], *, width: int = 560, bar: int = 22, label_w: int = 170,
          fmt: str = "{:,.0f}") -> dict[str, Any]:
    """Geometry for a horizontal bar chart rendered as inline SVG by the template.

    Values stay Decimal (they may be money); only the bar lengths are floats.
    """
    top = float(max((v for _, v in items), default=0) or 1)
    rows = []
    for i, (label, value) in enumerate(items):
        w = max(1.0, (width - label_w - 70) * float(value) / top) if value else 0
        rows.append({"y": i * (bar + 8), "label": label, "w": round(w, 1), "value": fmt.format(value)})
    return {"rows": rows, "height": len(items) * (bar + 8), "width": width, "bar": bar, "label_w": label_w}


def build(url: str, program: str, period: str) -> dict[str, Any]:
    prog = program_schema.load(program_schema.resolve(program, settings.load().programs_dir))
    p = {"program": program, "period": period, "roles": prog.eligibility.roles}
    with psycopg.connect(url, row_factory=dict_row) as conn:
        people = conn.execute(
            """
            with covered as (
                -- the employees the program covers who worked some of the period
                select e.employee_id, e.full_name, e.team from raw.employees e
                where (e.status <> 'terminated' or e.terminated_on >= to_date(%(period)s || '-01', 'YYYY-MM-DD'))
                  and (%(roles)s::text[] is null or e.role = any(%(roles)s::text[]))
            ), earned as (
                select employee_id, sum(points) as points, count(*) as entries
                from plaudit.ledger_entries where program = %(program)s and period = %(period)s group by employee_id
            )
            select c.employee_id, c.full_name, c.team, coalesce(e.points, 0) as points, coalesce(e.entries, 0) as entries
            from covered c left join earned e using (employee_id)
            """, p).fetchall()
        feedback = conn.execute(
            "select feedback_kind, count(*) as n from raw.feedback_responses"
            " where to_char(responded_at at time zone 'UTC', 'YYYY-MM') = %(period)s group by 1 order by 2 desc", p
        ).fetchall()
        awards = conn.execute(
            """
            select a.status, e.team, count(*) as n, sum(a.amount_minor) as minor
            from plaudit.awards a join raw.employees e using (employee_id)
            where a.program = %(program)s and a.period = %(period)s group by 1, 2
            """, p).fetchall()
        funding = conn.execute(
            """
            select case f.funding_source when 'company' then 'Company budget' else coalesce(ac.account_name, f.account_id) end
                       as source,
                   count(distinct f.award_id) as awards, sum(f.amount_minor) as minor
            from plaudit.award_funding f join plaudit.awards a using (award_id)
            left join raw.accounts ac on ac.account_id = nullif(f.account_id, '')
            where a.program = %(program)s and a.period = %(period)s and a.status = 'approved'
            group by 1 order by (min(f.funding_source) = 'company') desc, 3 desc
            """, p).fetchall()
        csat = conn.execute(
            """
            with first_recognition as (
                -- recognised on the day after the period the award is for
                select employee_id, min(to_date(period || '-01', 'YYYY-MM-DD') + interval '1 month') as recognised_at
                from plaudit.awards where program = %(program)s and status = 'approved' group by employee_id
            ), program_start as (select min(recognised_at) as t from first_recognition),
            scores as (
                select p.employee_id, f.score, f.responded_at
                from raw.feedback_responses f
                join raw.interaction_participants p on p.interaction_id = f.interaction_id and p.participant_role = 'owner'
                where f.feedback_kind = 'csat'
            )
            select case when r.employee_id is null then 'not yet recognised' else 'recognised' end as grp,
                   avg(s.score) filter (where s.responded_at < coalesce(r.recognised_at, (select t from program_start))) as before,
                   avg(s.score) filter (where s.responded_at >= coalesce(r.recognised_at, (select t from program_start))) as after,
                   count(distinct s.employee_id) as employees
            from scores s left join first_recognition r using (employee_id)
            group by 1 order by 1 desc
            """, p).fetchall()
        words = conn.execute(
            """
            select f.comment, f.feedback_kind, f.score, f.channel, e.full_name
            from plaudit.ledger_entries l
            join raw.feedback_responses f on l.source_kind = 'feedback' and f.response_id = l.source_id
            join raw.employees e on e.employee_id = l.employee_id
            where l.program = %(program)s and l.period = %(period)s and nullif(trim(f.comment), '') is not null
            order by l.points desc, f.responded_at desc limit 8
            """, p).fetchall()
    if not people:
        raise PlauditError(f"nothing to report: no employees loaded (program {program}, period {period})")
    earners = [x for x in people if x["points"] > 0]
    bins = [(0, 0), (1, 49), (50, 99), (100, 199), (200, 299), (300, 10**9)]
    dist = []
    for lo, hi in bins:
        label = "0" if hi == 0 else (f"{lo}+" if hi >= 10**9 else f"{lo}–{hi}")
        dist.append((label, Decimal(sum(1 for x in people if lo <= x["points"] <= hi))))
    by_team: dict[str, Decimal] = {}
    by_status: dict[str, tuple[int, int]] = {}
    for a in awards:
        if a["status"] in ("approved", "pending"):
            team = a["team"] or "(no team)"
            by_team[team] = by_team.get(team, Decimal(0)) + Decimal(a["minor"]) / 100
        n, minor = by_status.get(a["status"], (0, 0))
        by_status[a["status"]] = (n + a["n"], minor + int(a["minor"]))
    budget = prog.minor(prog.budget.monthly)
    committed = sum(by_status.get(s, (0, 0))[1] for s in ("approved", "pending"))
    return {
        "program_title": prog.title, "period": period,
        "period_label": datetime.strptime(period, "%Y-%m").strftime("%B %Y"),
        "generated": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "employees": len(people), "earners": len(earners),  # covered by the program
        "participation_pct": round(100 * len(earners) / len(people)),
        "feedback": [(f["feedback_kind"].upper(), f["n"]) for f in feedback],
        "points_total": sum((x["points"] for x in people), Decimal(0)),
        "distribution": _bars(dist),
        "budget_by_team": _bars(sorted(by_team.items(), key=lambda kv: -kv[1]), fmt="{:,.2f} " + prog.currency),
        "budget": money(budget, prog.currency), "committed": money(committed, prog.currency),
        "budget_pct": round(100 * committed / budget) if budget else 0,
        "funding_split": [(f["source"], f["awards"], money(int(f["minor"]), prog.currency)) for f in funding],
        "funding_chart": _bars([(f["source"], Decimal(int(f["minor"])) / 100) for f in funding],
                               fmt="{:,.2f} " + prog.currency),
        "status_split": [(s, n, money(minor, prog.currency)) for s, (n, minor) in sorted(by_status.items())],
        "csat": [{"group": c["grp"], "employees": c["employees"],
                  "before": f"{c['before']:.2f}" if c["before"] is not None else "—",
                  "after": f"{c['after']:.2f}" if c["after"] is not None else "—"} for c in csat],
        "words": [{"text": trim_words(mask_contacts(w["comment"]), 240), "who": w["full_name"],
                   "kind": w["feedback_kind"].upper(), "score": w["score"], "channel": w["channel"]} for w in words],
    }


def write(url: str, program: str, period: str, out: Path) -> Path:
    ctx = build(url, program, period)
    html = environment().get_template("report.html.j2").render(ctx)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
