"""Approvals in a spreadsheet: `plaudit approvals export --out F.xlsx` and `import F.xlsx`.

The export lists the awards waiting for a decision with why each exists (its
points by kind) and the customers' own words (contact details masked), plus
empty `decision` and `reason` columns. The import applies every filled row as
the importing approver, with the same refusals as the command line, in one
transaction: every row or none, and a report naming each row that failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from flows.publish.approvals import decide_in
from flows.publish.emails import mask_contacts, money, trim_words
from flows.publish.payouts import neutralise
from plaudit.errors import ApprovalError, PlauditError

COLUMNS = ["award_id", "employee_id", "employee", "manager_id", "period", "points", "amount", "approval_level",
           "why", "customer_words", "decision", "reason"]
DECISIONS = {"approve": "approved", "approved": "approved", "reject": "rejected", "rejected": "rejected"}

EXPORT_SQL = """
select a.award_id, a.employee_id, e.full_name, e.manager_id, a.period, a.points, a.amount_minor, a.currency,
       a.approval_level, a.status_reason,
       (select string_agg(k.entry_kind || ' ' || k.points, ', ' order by k.points desc)
        from (select entry_kind, sum(points) as points from plaudit.ledger_entries l
              where l.program = a.program and l.employee_id = a.employee_id and l.period = a.period
              group by entry_kind) k) as points_by_kind,
       (select array_agg(q.comment) from (
            select f.comment from plaudit.ledger_entries l
            join raw.feedback_responses f on l.source_kind = 'feedback' and f.response_id = l.source_id
            where l.program = a.program and l.employee_id = a.employee_id and l.period = a.period
              and nullif(trim(f.comment), '') is not null
            order by f.score desc, f.responded_at desc limit 3) q) as words
from plaudit.awards a left join raw.employees e on e.employee_id = a.employee_id
where a.status = %(status)s and (%(program)s::text is null or a.program = %(program)s)
order by a.period, a.approval_level, a.amount_minor desc, a.award_id
"""


def export_sheet(url: str, out: Path, *, status: str = "pending", program: str | None = None) -> int:
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(EXPORT_SQL, {"status": status, "program": program}).fetchall()
    wb = Workbook()
    ws = wb.active
    ws.title = "approvals"
    ws.append(COLUMNS)
    for r in rows:
        words = " | ".join(trim_words(mask_contacts(w), 200) for w in (r["words"] or []))
        ws.append([neutralise(v) for v in (
            r["award_id"], r["employee_id"], r["full_name"], r["manager_id"], r["period"], r["points"],
            money(r["amount_minor"], r["currency"]), r["approval_level"],
            f"{r['status_reason']}; points: {r['points_by_kind'] or 'none'}", words, None, None,
        )])
    choice = DataValidation(type="list", formula1='"approve,reject"', allow_blank=True)
    ws.add_data_validation(choice)
    choice.add(f"K2:K{max(2, len(rows) + 1)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return len(rows)


def import_sheet(url: str, path: Path, approver: str) -> dict[str, Any]:
    """Apply every filled row as `approver`, all or none; raise ApprovalError with a per-row report."""
    from openpyxl import load_workbook

    try:
        ws = load_workbook(path, read_only=True, data_only=True).worksheets[0]
    except Exception as exc:  # not a workbook at all
        raise PlauditError(f"{path} is not a readable .xlsx file: {exc}") from exc
    rows = ws.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    missing = [c for c in ("award_id", "decision", "reason") if c not in header]
    if missing:
        raise PlauditError(
            f"{path}: column(s) {', '.join(missing)} missing; start from `plaudit approvals export`"
        )
    at = {name: header.index(name) for name in ("award_id", "decision", "reason")}
    errors: list[str] = []
    applied: list[dict[str, Any]] = []
    with psycopg.connect(url, row_factory=dict_row) as conn, conn.transaction() as whole:
        for n, values in enumerate(rows, start=2):
            award_id, decision, reason = (values[at[c]] if at[c] < len(values) else None for c in at)
            if not decision:
                continue  # left for later
            normalised = DECISIONS.get(str(decision).strip().lower())
            if normalised is None:
                errors.append(f"row {n} ({award_id}): decision {decision!r}: write approve or reject")
                continue
            try:
                with conn.transaction():  # a savepoint: one bad row does not spoil the check of the rest
                    applied.append(decide_in(conn, str(award_id or ""), approver, normalised, str(reason or "")))
            except (ApprovalError, psycopg.Error) as exc:
                errors.append(f"row {n} ({award_id}): {str(exc).splitlines()[0]}")
        if errors:
            raise psycopg.Rollback(whole)  # every row or none
    if errors:
        raise ApprovalError(
            f"{path}: nothing was applied; {len(errors)} row(s) need fixing:\n  " + "\n  ".join(errors)
        )
    return {"applied": len(applied), "approved": sum(a["decision"] == "approved" for a in applied),
            "rejected": sum(a["decision"] == "rejected" for a in applied),
            "emails_queued": sum(a["emails_queued"] for a in applied)}
