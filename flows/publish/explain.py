"""Why an entry or an award exists: `plaudit explain ledger|award ID`.

Read-only. An entry is looked up in the posted ledger first, then among the
entries computed by the last dbt build but not yet posted. Customer text is
shown with contact details masked, as everywhere an employee may read it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from flows.publish.emails import mask_contacts, money
from plaudit.errors import PlauditError

ENTRY_SQL = """
select entry_id, program, version_id, employee_id, entry_kind, source_kind, source_id, rule_id,
       attribution_weight, multiplier, points, capped_points, period, effective_at,
       posted_at, run_id::text as run_id, true as posted
from plaudit.ledger_entries where entry_id like %(id)s || '%%'
union all
select entry_id, program, version_id, employee_id, entry_kind, source_kind, source_id, rule_id,
       attribution_weight, multiplier, points, capped_points, period, effective_at,
       null, null, false
from marts.fct_ledger_entries f
where entry_id like %(id)s || '%%'
  and not exists (select 1 from plaudit.ledger_entries l where l.entry_id = f.entry_id)
"""

PARTICIPANTS_SQL = """
select p.employee_id, e.full_name, p.participant_role, p.touched_at,
       p.touched_at <= %(at)s as before_feedback, null::numeric as attribution_weight, null as attribution_model
from raw.interaction_participants p left join raw.employees e on e.employee_id = p.employee_id
where p.interaction_id = %(i)s order by p.touched_at, p.employee_id
"""

# The shares come from the last dbt build (before a night runs, they may be missing).
PARTICIPANTS_WITH_SHARES_SQL = """
select p.employee_id, e.full_name, p.participant_role, p.touched_at,
       p.touched_at <= %(at)s as before_feedback, c.attribution_weight, c.attribution_model
from raw.interaction_participants p left join raw.employees e on e.employee_id = p.employee_id
left join intermediate.int_feedback_credited c
       on c.response_id = %(r)s and c.employee_id = p.employee_id and c.credit_kind = 'attributed'
where p.interaction_id = %(i)s order by p.touched_at, p.employee_id
"""

# Bonus entries name the program section their rule comes from.
BONUS_SECTIONS = {
    "streak_bonus": "streaks", "milestone": "milestones", "challenge_bonus": "challenges",
    "tier_bonus": "tiers", "leaderboard_bonus": "fairness",
}


def _one(conn: psycopg.Connection[Any], sql: str, params: Any, what: str, ident: str) -> dict[str, Any]:
    rows = conn.execute(sql, params).fetchall()
    if not rows:
        raise PlauditError(f"no {what} {ident!r}: check the id (`plaudit approvals list --status all` lists awards)")
    if len(rows) > 1:
        raise PlauditError(f"{what} id {ident!r} is ambiguous ({len(rows)} match): give more characters")
    return dict(rows[0])


def _relation_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null as ok", [name]).fetchone()["ok"]  # type: ignore[index]


def _version(conn: psycopg.Connection[Any], program: str, version_id: str) -> dict[str, Any]:
    return conn.execute(
        "select version_id, effective_from, attribution_model, definition from plaudit.program_versions"
        " where program = %s and version_id = %s",
        [program, version_id],
    ).fetchone() or {}


def explain_entry(url: str, entry_id: str) -> dict[str, Any]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        e = _one(conn, ENTRY_SQL, {"id": entry_id}, "ledger entry", entry_id)
        version = _version(conn, e["program"], e["version_id"])
        definition = version.pop("definition", {}) or {}
        out: dict[str, Any] = {"entry": e, "employee": _employee(conn, e["employee_id"]), "version": version}
        uncapped = e["points"] + e["capped_points"]
        out["computation"] = {
            "points_before_cap": uncapped,
            "capped_points": e["capped_points"],
            "points": e["points"],
            "caps": definition.get("caps") or {},
        }
        if e["source_kind"] in ("feedback", "nomination"):
            rule = conn.execute(
                "select rule_id, feedback_kind, score_min, score_max, points from plaudit.program_point_rules"
                " where program = %s and version_id = %s and rule_id = %s",
                [e["program"], e["version_id"], e["rule_id"]],
            ).fetchone()
            out["rule"] = rule
            if rule:
                out["computation"]["formula"] = (
                    f"{rule['points']} (rule {rule['rule_id']}) × {e['attribution_weight']} (weight)"
                    f" × {e['multiplier']} (multiplier) = {uncapped}"
                )
            out["multipliers"] = [m for m in definition.get("multipliers", [])]
        else:
            section = BONUS_SECTIONS.get(e["entry_kind"], "")
            rules = definition.get(section)
            if isinstance(rules, list):
                out["rule"] = next((r for r in rules if r.get("name") == e["rule_id"]
                                    or f"tier_{str(r.get('name', '')).lower()}" == e["rule_id"]), None)
            else:
                out["rule"] = rules
        if e["source_kind"] == "feedback":
            out.update(_feedback(conn, e["source_id"]))
        elif e["source_kind"] == "nomination":
            n = conn.execute(
                "select nomination_id, account_id, reason, channel, nominated_at from raw.nominations"
                " where nomination_id = %s", [e["source_id"]],
            ).fetchone()
            if n and n["reason"]:
                n["reason"] = mask_contacts(n["reason"])
            out["nomination"] = n
        out["awards"] = conn.execute(
            "select award_id, period, status, amount_minor, currency from plaudit.awards"
            " where program = %s and employee_id = %s and period = %s",
            [e["program"], e["employee_id"], e["period"]],
        ).fetchall()
        return out


def _employee(conn: psycopg.Connection[Any], employee_id: str) -> dict[str, Any] | None:
    return conn.execute(
        "select employee_id, full_name, team, role, manager_id from raw.employees where employee_id = %s",
        [employee_id],
    ).fetchone()


def _feedback(conn: psycopg.Connection[Any], response_id: str) -> dict[str, Any]:
    f = conn.execute(
        "select response_id, interaction_id, feedback_kind, score, channel, comment, responded_at"
        " from raw.feedback_responses where response_id = %s", [response_id],
    ).fetchone()
    if f is None:
        return {"feedback": None}
    if f["comment"]:
        f["comment"] = mask_contacts(f["comment"])
    out: dict[str, Any] = {"feedback": f, "interaction": None, "participants": []}
    if f["interaction_id"]:
        out["interaction"] = conn.execute(
            "select interaction_id, account_id, interaction_kind, channel, queue, opened_at, closed_at"
            " from raw.interactions where interaction_id = %s", [f["interaction_id"]],
        ).fetchone()
        sql = PARTICIPANTS_WITH_SHARES_SQL if _relation_exists(conn, "intermediate.int_feedback_credited") \
            else PARTICIPANTS_SQL
        out["participants"] = conn.execute(
            sql, {"r": response_id, "i": f["interaction_id"], "at": f["responded_at"]}
        ).fetchall()
    return out


def explain_award(url: str, award_id: str) -> dict[str, Any]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        a = _one(conn, "select * from plaudit.awards where award_id like %s || '%%'", [award_id], "award", award_id)
        version = _version(conn, a["program"], a["version_id"])
        definition = version.pop("definition", {}) or {}
        entries = conn.execute(
            # the entries the award pays: an instant award's own entry; otherwise the period's
            # (a carried award's original period), less those paid as instant awards
            "select entry_kind, count(*) as entries, sum(points) as points, sum(capped_points) as capped_points"
            " from plaudit.ledger_entries l where program = %(program)s and employee_id = %(employee_id)s"
            " and case when %(source_entry_id)s::text is not null then entry_id = %(source_entry_id)s"
            "     else period = coalesce(%(points_period)s, %(period)s) and entry_id not in ("
            "         select i.source_entry_id from plaudit.awards i where i.program = l.program"
            "         and i.employee_id = l.employee_id and i.source_entry_id is not null) end"
            " group by entry_kind order by entry_kind",
            a,
        ).fetchall()
        budget = conn.execute(
            "select v.monthly_budget_minor,"
            " coalesce(sum(x.amount_minor) filter (where x.status in ('approved', 'pending')), 0) as committed_minor,"
            " count(*) filter (where x.status = 'deferred') as deferred_awards"
            " from plaudit.program_versions v left join plaudit.awards x on x.program = v.program and x.period = %s"
            " where v.program = %s and v.version_id = %s group by v.monthly_budget_minor",
            [a["period"], a["program"], a["version_id"]],
        ).fetchone()
        decision = conn.execute(
            "select decision, decided_by, reason, decided_at from plaudit.approval_decisions where award_id = %s",
            [a["award_id"]],
        ).fetchone()
        funding = conn.execute(
            "select f.funding_source, nullif(f.account_id, '') as account_id, ac.account_name, f.amount_minor, f.currency"
            " from plaudit.award_funding f left join raw.accounts ac on ac.account_id = nullif(f.account_id, '')"
            " where f.award_id = %s order by f.funding_source desc, f.account_id", [a["award_id"]],
        ).fetchall()
        # a deferred award is reconsidered as a new award that points back at it (carried_from)
        carried_on = conn.execute(
            "select award_id, period, status from plaudit.awards where carried_from = %s", [a["award_id"]]
        ).fetchone()
        value = Decimal(str((definition.get("awards") or {}).get("value_per_point", "0")))
        return {
            "award": a,
            "carried_on": carried_on,
            "employee": _employee(conn, a["employee_id"]),
            "version": version,
            "entries_by_kind": entries,
            "computation": {
                "points": a["points"],
                "value_per_point": value,
                "formula": f"{a['points']} points × {value} {a['currency']} = {money(a['amount_minor'], a['currency'])}",
                "auto_approve_up_to": (definition.get("awards") or {}).get("auto_approve_up_to"),
            },
            "budget": budget,
            "funding": funding,
            "decision": decision,
        }


# ------------------------------------------------------------------ text


def _rule_text(rule: dict[str, Any] | None) -> str:
    if not rule:
        return "(not found in the program version)"
    if "feedback_kind" in rule:
        band = "" if rule["feedback_kind"] in ("nomination", "comment_named") else f" {rule['score_min']}–{rule['score_max']}"
        return f"{rule['rule_id']}: {rule['feedback_kind']}{band} → {rule['points']} points"
    return ", ".join(f"{k} {v}" for k, v in rule.items())


def _kv(label: str, value: Any) -> str:
    return f"  {label:<18} {value}"


def render_entry(x: dict[str, Any]) -> str:
    e, emp, c = x["entry"], x["employee"] or {}, x["computation"]
    lines = [
        f"ledger entry {e['entry_id']} ({'posted ' + str(e['posted_at']) if e['posted'] else 'computed, not yet posted'})",
        _kv("employee", f"{emp.get('full_name', '?')} ({e['employee_id']}), team {emp.get('team')}"),
        _kv("kind", f"{e['entry_kind']} from {e['source_kind']} {e['source_id']}"),
        _kv("when", f"{e['effective_at']} (period {e['period']})"),
        _kv("program", f"{e['program']} version {e['version_id']} (in force from {x['version'].get('effective_from')},"
                       f" {x['version'].get('attribution_model')} attribution)"),
        _kv("rule", _rule_text(x.get("rule"))),
    ]
    if "formula" in c:
        lines.append(_kv("points", c["formula"]))
    if c["capped_points"]:
        lines.append(_kv("cap", f"{c['capped_points']} held back by the caps {c['caps']}; {c['points']} credited"))
    else:
        lines.append(_kv("credited", f"{c['points']} points"))
    f = x.get("feedback")
    if f:
        lines += ["", "customer feedback",
                  _kv("response", f"{f['response_id']}: {f['feedback_kind']} {f['score']} via {f['channel']} at {f['responded_at']}"),
                  _kv("comment", f["comment"] or "(none)")]
    i = x.get("interaction")
    if i:
        lines += ["", f"interaction {i['interaction_id']} ({i['interaction_kind']}, {i['channel']}, {i['queue']})"]
        for p in x["participants"]:
            share = p["attribution_weight"]
            lines.append(
                f"  {p['full_name'] or p['employee_id']:<24} {p['participant_role']:<10} touched {p['touched_at']}"
                + ("" if p["before_feedback"] else "  (after the feedback: no share)")
                + (f"  share {share} ({p['attribution_model']})" if share is not None else "")
            )
    n = x.get("nomination")
    if n:
        lines += ["", f"nomination {n['nomination_id']} via {n['channel']} at {n['nominated_at']}: {n['reason']}"]
    for a in x.get("awards", []):
        lines.append(_kv("award", f"{a['award_id']} {a['period']} {a['status']} {money(a['amount_minor'], a['currency'])}"))
    return "\n".join(lines)


def render_award(x: dict[str, Any]) -> str:
    a, emp, c, b, d = x["award"], x["employee"] or {}, x["computation"], x["budget"] or {}, x["decision"]
    lines = [
        f"award {a['award_id']}: {a['award_kind']} for {a['period']}",
        _kv("employee", f"{emp.get('full_name', '?')} ({a['employee_id']}), manager {emp.get('manager_id')}"),
        _kv("amount", c["formula"]),
        _kv("program", f"{a['program']} version {a['version_id']}"),
        _kv("status", f"{a['status']}: {a['status_reason']}"),
        _kv("routing", f"{a['approval_level']} (auto-approved up to {c['auto_approve_up_to']} {a['currency']})"),
    ]
    if a.get("night"):
        lines.append(_kv("made", f"on the night of {a['night']}"))
    if a["status"] == "deferred":
        n = x.get("carried_on")
        lines.append(_kv("carried on", f"as award {n['award_id']} for {n['period']}, {n['status']}" if n else
                         "not yet: considered again in the first open month not ended on the night it was"
                         " deferred, once that month has ended (docs/finance.md)"))
    if b:
        lines.append(_kv("budget", f"{money(b['committed_minor'], a['currency'])} committed of "
                                   f"{money(b['monthly_budget_minor'], a['currency'])} for {a['period']};"
                                   f" {b['deferred_awards']} award(s) deferred"))
    if x["funding"]:
        lines.append(_kv("funding", "; ".join(
            f"{'company budget' if f['funding_source'] == 'company' else f['account_name'] or f['account_id']} "
            f"{money(f['amount_minor'], f['currency'])}" for f in x["funding"])))
    lines.append(_kv("decision", f"{d['decision']} by {d['decided_by']} at {d['decided_at']}: {d['reason']}" if d else "none yet"))
    lines += ["", "points paid, by kind" + (f" (carried from the deferred award {a['carried_from']})"
                                             if a.get("carried_from") else "")]
    for r in x["entries_by_kind"]:
        lines.append(f"  {r['entry_kind']:<22} {r['entries']:>5} entries {r['points']:>10} points"
                     + (f"  ({r['capped_points']} capped)" if r["capped_points"] else ""))
    return "\n".join(lines)
