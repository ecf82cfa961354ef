"""Approval decisions on pending awards, with the refusals the product promises.

Refused: an unknown award; an award already decided (or deferred); approving
one's own award; a manager-level approver outside the nominee's manager chain;
a finance-level approver not listed in the program's finance_approvers.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row, tuple_row

from flows.publish.ledger import queue_emails
from plaudit.errors import ApprovalError

LIST_SQL = """
select a.award_id, a.employee_id, e.full_name, e.manager_id, a.period, a.points, a.amount_minor,
       a.currency, a.approval_level, a.status, a.status_reason, a.created_at,
       d.decision, d.decided_by, d.reason as decision_reason, d.decided_at
from plaudit.awards a
left join raw.employees e on e.employee_id = a.employee_id
left join plaudit.approval_decisions d on d.award_id = a.award_id
where (%(status)s::text is null or a.status = %(status)s)
order by a.period, a.status, a.amount_minor desc, a.award_id
"""


def require_finance_approver(conn: psycopg.Connection[Any], program: str, person: str, *, may: str,
                             nothing: str) -> None:
    """Refuse unless `person` is listed in `awards.finance_approvers` of the program's latest version."""
    row = conn.cursor(row_factory=tuple_row).execute(
        "select coalesce(definition -> 'awards' -> 'finance_approvers', '[]'::jsonb) from plaudit.program_versions"
        " where program = %s order by effective_from desc, loaded_at desc limit 1", [program],
    ).fetchone()
    if row is None:
        raise ApprovalError(f"no program {program!r} has run yet: {nothing}")
    listed: list[str] = row[0]
    if person not in listed:
        raise ApprovalError(
            f"{person} is not a finance approver of program {program}: only {', '.join(listed) or '(none listed)'}"
            f" may {may}"
        )


MANAGER_CHAIN_SQL = """
with recursive chain as (
    select manager_id, 1 as depth from raw.employees where employee_id = %(employee)s
    union all
    select e.manager_id, c.depth + 1 from raw.employees e join chain c on e.employee_id = c.manager_id
    where c.depth < 50
)
select exists (select 1 from chain where manager_id = %(person)s) as in_chain
"""


def in_manager_chain(conn: psycopg.Connection[Any], employee_id: str, person: str) -> bool:
    """Whether `person` is the employee's manager, or their manager's manager, and so on up
    (`conn` returns dict rows)."""
    row = conn.execute(MANAGER_CHAIN_SQL, {"employee": employee_id, "person": person}).fetchone()
    return bool(row and row["in_chain"])


def list_awards(url: str, status: str | None = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(LIST_SQL, {"status": status}).fetchall()


def decide(url: str, award_id: str, approver: str, decision: str, reason: str) -> dict[str, Any]:
    """Record one decision in one transaction; raise ApprovalError with the reason if refused."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return decide_in(conn, award_id, approver, decision, reason)


def decide_in(conn: psycopg.Connection[Any], award_id: str, approver: str, decision: str, reason: str) -> dict[str, Any]:
    """One decision inside the caller's transaction (a dict_row connection)."""
    if decision not in ("approved", "rejected"):
        raise ApprovalError(f"decision {decision!r}: use approve or reject")
    if not reason.strip():
        raise ApprovalError("give a reason: it is recorded with the decision")
    award = conn.execute(
        "select * from plaudit.awards where award_id = %s for update", [award_id]
    ).fetchone()
    if award is None:
        raise ApprovalError(f"no award with id {award_id!r}: `plaudit approvals list` shows the ids")
    if award["status"] != "pending":
        prior = conn.execute(
            "select decision, decided_by, decided_at from plaudit.approval_decisions where award_id = %s",
            [award_id],
        ).fetchone()
        why = (
            f"it was already {prior['decision']} by {prior['decided_by']} on {prior['decided_at']:%Y-%m-%d %H:%M}"
            if prior else f"its status is {award['status']} ({award['status_reason']})"
        )
        raise ApprovalError(f"award {award_id} cannot be decided: {why}")
    closed = conn.execute(
        "select closed_by from plaudit.period_closes where program = %s and period = %s",
        [award["program"], award["period"]],
    ).fetchone()
    if closed:
        raise ApprovalError(f"award {award_id} belongs to {award['period']}, closed by {closed['closed_by']}: "
                            "a closed period's awards cannot change")
    if approver == award["employee_id"]:
        raise ApprovalError(f"{approver} cannot decide on their own award {award_id}: ask their manager")
    if award["approval_level"] == "finance":
        (listed,) = conn.execute(
            "select coalesce(definition -> 'awards' -> 'finance_approvers', '[]'::jsonb) from plaudit.program_versions"
            " where program = %s and version_id = %s", [award["program"], award["version_id"]],
        ).fetchone().values()
        if approver not in listed:
            raise ApprovalError(
                f"{approver} is not a finance approver of program {award['program']}: award {award_id} is above "
                f"the manager limit and needs one of {', '.join(listed) or '(none listed)'}"
            )
    else:
        in_chain = in_manager_chain(conn, award["employee_id"], approver)
        if not in_chain:
            raise ApprovalError(
                f"{approver} is not in the manager chain of {award['employee_id']}: a manager-level "
                "award must be decided by the employee's manager or someone above them"
            )
    conn.execute(
        "insert into plaudit.approval_decisions (award_id, decision, decided_by, reason) values (%s, %s, %s, %s)",
        [award_id, decision, approver, reason],
    )
    conn.execute(
        "update plaudit.awards set status = %s, status_reason = %s where award_id = %s",
        [decision, f"{decision} by {approver}: {reason}", award_id],
    )
    queued = queue_emails(conn, None) if decision == "approved" else 0  # type: ignore[arg-type]
    return {"award_id": award_id, "decision": decision, "decided_by": approver, "reason": reason, "emails_queued": queued}
