"""Retract feedback: the customer withdrew it or it was found invalid.

Nothing is edited: the retraction is recorded, the next night's dbt build stops
giving the feedback points, and `int_ledger_corrections` posts compensating
entries for what it had already earned (as an adjustment in the next open
period when the employee's award for that period already exists).
Only a finance approver of the program may retract, once, with a reason.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from flows.publish.approvals import require_finance_approver
from plaudit.errors import ApprovalError


def retract(url: str, program: str, response_id: str, by: str, reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise ApprovalError("a retraction needs a reason: pass --reason 'what happened'")
    with psycopg.connect(url, row_factory=dict_row) as conn:
        require_finance_approver(conn, program, by, may="retract feedback", nothing="nothing to retract from")
        if conn.execute("select 1 from raw.feedback_responses where response_id = %s", [response_id]).fetchone() is None:
            raise ApprovalError(f"no feedback with id {response_id!r}: check the response id in your export")
        prior = conn.execute(
            "select retracted_by, retracted_at from plaudit.feedback_retractions where response_id = %s", [response_id]
        ).fetchone()
        if prior:
            raise ApprovalError(
                f"feedback {response_id} was already retracted by {prior['retracted_by']} "
                f"on {prior['retracted_at']:%Y-%m-%d}"
            )
        conn.execute(
            "insert into plaudit.feedback_retractions (response_id, retracted_by, reason) values (%s, %s, %s)",
            [response_id, by, reason],
        )
        posted = conn.execute(
            "select coalesce(sum(points), 0) as points from plaudit.ledger_entries"
            " where program = %s and source_kind = 'feedback' and source_id = %s",
            [program, response_id],
        ).fetchone()
        return {"response_id": response_id, "retracted_by": by, "reason": reason,
                "points_to_reverse": posted["points"] if posted else 0}
