"""Gaming flags: list them, clear them (the feedback earns its points on the next
night) or confirm them (the feedback stays held, and any points it already
posted are reversed by compensating ledger entries).

Refused: deciding a flag on oneself; someone who is neither in the flagged
employee's manager chain nor a finance approver of the program; deciding twice;
an unknown id.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from flows.publish.approvals import in_manager_chain
from plaudit.errors import ApprovalError

LIST_SQL = """
select g.flag_id, g.program, g.flag_kind, g.source_kind, g.source_id, g.employee_id, e.full_name, g.detail,
       g.status, g.flagged_at, g.decided_by, g.decided_at, g.reason
from plaudit.gaming_flags g left join raw.employees e on e.employee_id = g.employee_id
where (%(status)s::text is null or g.status = %(status)s)
order by g.flagged_at, g.flag_id
"""

# Posted entries of the flagged feedback for the flagged employee, reversed once each
# by what is left of them after earlier corrections: a compensating entry in the
# entry's period, or an adjustment in the next open period when that one is closed
# or its award already exists.
REVERSE_SQL = """
insert into plaudit.ledger_entries (entry_id, program, version_id, employee_id, entry_kind, source_kind, source_id,
    rule_id, attribution_weight, multiplier, points, capped_points, period, effective_at)
select md5(concat_ws('|', l.program, 'reversal', l.entry_id)), l.program, l.version_id, l.employee_id, 'reversal',
       'ledger_entry', l.entry_id, 'gaming_confirmed:' || %(flag_kind)s, l.attribution_weight, l.multiplier,
       -(l.points + coalesce(c.points, 0)), 0,
       -- the entry's period, unless it is closed or the employee's award for it exists: then an
       -- adjustment in the next open period (the same rule as fct_ledger_entries)
       case when l.period <= coalesce(last.closed, '') or l.period <= coalesce(last.awarded, '')
            then to_char(to_date(greatest(last.closed, last.awarded) || '-01', 'YYYY-MM-DD') + interval '1 month',
                         'YYYY-MM')
            else l.period end,
       l.effective_at  -- when the reversed points took effect; posted_at says when it was posted
from plaudit.ledger_entries l
left join lateral (
    select sum(c.points) as points from plaudit.ledger_entries c
    where c.source_kind = 'ledger_entry' and c.source_id = l.entry_id
) c on true
cross join lateral (
    select (select max(period) from plaudit.period_closes p where p.program = l.program) as closed,
           (select max(period) from plaudit.awards a where a.program = l.program and a.employee_id = l.employee_id
              and a.award_kind = 'periodic' and a.carried_from is null) as awarded
) last
where l.program = %(program)s and l.source_kind = %(source_kind)s and l.source_id = %(source_id)s
  and l.employee_id = %(employee_id)s and l.points + coalesce(c.points, 0) <> 0
on conflict (entry_id) do nothing
"""


def list_flags(url: str, status: str | None = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(LIST_SQL, {"status": status}).fetchall()


def decide(url: str, flag_id: str, decider: str, decision: str, reason: str) -> dict[str, Any]:
    assert decision in ("cleared", "confirmed")
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "select * from plaudit.gaming_flags where flag_id like %s || '%%' for update", [flag_id]
        ).fetchall()
        if not rows:
            raise ApprovalError(f"no gaming flag with id {flag_id!r}: `plaudit flags list` shows the ids")
        if len(rows) > 1:
            raise ApprovalError(f"flag id {flag_id!r} is ambiguous ({len(rows)} flags): give more characters")
        flag = rows[0]
        if flag["status"] != "held":
            raise ApprovalError(
                f"flag {flag['flag_id']} was already {flag['status']} by {flag['decided_by']}: it cannot be decided twice"
            )
        if decider == flag["employee_id"]:
            raise ApprovalError(f"{decider} cannot decide a gaming flag raised on themselves")
        finance = conn.execute(
            "select exists (select 1 from plaudit.program_versions where program = %s"
            " and definition -> 'awards' -> 'finance_approvers' ? %s) as ok",
            [flag["program"], decider],
        ).fetchone()
        allowed = in_manager_chain(conn, flag["employee_id"], decider) or bool(finance and finance["ok"])
        if not allowed:
            raise ApprovalError(
                f"{decider} may not decide flags on {flag['employee_id']}: it takes their manager (or someone above) "
                "or a finance approver of the program"
            )
        conn.execute(
            "update plaudit.gaming_flags set status = %s, decided_by = %s, decided_at = now(), reason = %s"
            " where flag_id = %s",
            [decision, decider, reason, flag["flag_id"]],
        )
        reversed_entries = 0
        if decision == "confirmed":
            reversed_entries = conn.execute(REVERSE_SQL, {**flag}).rowcount
        return {"flag_id": flag["flag_id"], "status": decision, "decided_by": decider, "reason": reason,
                "entries_reversed": reversed_entries}
