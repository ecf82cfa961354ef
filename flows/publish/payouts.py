"""Finance: payout tables per period and closing a period.

`export` writes the approved awards of a period as four tables (by funding
source, by cost centre, by employee, and a co-funding statement per account)
plus reconciliation totals, as CSV (one file, a `section` column) or XLSX (a
sheet per table). It refuses to write a file whose totals do not reconcile to
the ledger. Text from customers or employees that a spreadsheet would read as
a formula (=, +, -, @, tab, carriage return) is prefixed with an apostrophe.

`close` locks a period: a finance approver of the program records the close;
from then on the database refuses changes to its awards and decisions, and
late feedback lands in the next open period. An export of a closed period is
byte-for-byte reproducible.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from flows.publish.approvals import require_finance_approver
from plaudit import failpoints
from plaudit.errors import PlauditError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

SECTIONS_SQL = {
    "by_funding_source": """
        select case f.funding_source when 'company' then 'company budget' else 'account' end as source,
               nullif(f.account_id, '') as account_id, ac.account_name, count(*) as awards,
               sum(f.amount_minor) as amount_minor, f.currency
        from plaudit.award_funding f
        join plaudit.awards a on a.award_id = f.award_id
        left join raw.accounts ac on ac.account_id = nullif(f.account_id, '')
        where a.program = %(program)s and a.period = %(period)s and a.status = 'approved'
        group by 1, 2, 3, f.currency order by 1 desc, 2 nulls first
    """,
    "by_cost_centre": """
        select coalesce(a.cost_centre, e.cost_centre, '(none)') as cost_centre, count(*) as awards,
               sum(a.points) as points,
               sum(a.amount_minor) as amount_minor, a.currency
        from plaudit.awards a left join raw.employees e on e.employee_id = a.employee_id
        where a.program = %(program)s and a.period = %(period)s and a.status = 'approved'
        group by 1, a.currency order by 1
    """,
    "by_employee": """
        select a.employee_id, e.full_name, e.cost_centre, a.award_id, a.points, a.amount_minor,
               coalesce(sum(f.amount_minor) filter (where f.funding_source = 'company'), 0) as company_minor,
               coalesce(sum(f.amount_minor) filter (where f.funding_source = 'account'), 0) as accounts_minor,
               a.currency, d.decided_by
        from plaudit.awards a
        left join raw.employees e on e.employee_id = a.employee_id
        left join plaudit.award_funding f on f.award_id = a.award_id
        left join plaudit.approval_decisions d on d.award_id = a.award_id
        where a.program = %(program)s and a.period = %(period)s and a.status = 'approved'
        group by a.employee_id, e.full_name, e.cost_centre, a.award_id, a.points, a.amount_minor, a.currency,
                 d.decided_by
        order by a.employee_id
    """,
    "co_funding_statement": """
        select ac.account_id, ac.account_name, ac.co_funding_share, ac.co_funding_monthly_cap,
               count(*) as awards, sum(f.amount_minor) as amount_minor, f.currency,
               -- what the account pays in its own currency, at the rate of each award's date
               sum(coalesce(f.account_amount_minor, f.amount_minor)) as account_amount_minor,
               coalesce(f.account_currency, f.currency) as account_currency
        from plaudit.award_funding f
        join plaudit.awards a on a.award_id = f.award_id
        join raw.accounts ac on ac.account_id = f.account_id
        where a.program = %(program)s and a.period = %(period)s and a.status = 'approved'
          and f.funding_source = 'account'
        group by ac.account_id, ac.account_name, ac.co_funding_share, ac.co_funding_monthly_cap, f.currency,
                 coalesce(f.account_currency, f.currency)
        order by ac.account_id
    """,
}

TOTALS_SQL = """
select
    (select coalesce(sum(amount_minor), 0) from plaudit.awards
     where program = %(program)s and period = %(period)s and status = 'approved') as awards_minor,
    (select coalesce(sum(f.amount_minor), 0) from plaudit.award_funding f join plaudit.awards a using (award_id)
     where a.program = %(program)s and a.period = %(period)s and a.status = 'approved') as legs_minor,
    (select coalesce(sum(points), 0) from plaudit.awards
     where program = %(program)s and period = %(period)s and status = 'approved') as award_points,
    -- what the ledger holds for each approved award: an instant award's entry; otherwise the
    -- employee's entries in the period whose points it pays, less those paid as instant awards
    (select coalesce(sum(lp.points), 0) from plaudit.awards a
     cross join lateral (
         select sum(l.points) as points from plaudit.ledger_entries l
         where l.program = a.program and l.employee_id = a.employee_id
           and case when a.source_entry_id is not null then l.entry_id = a.source_entry_id
                    else l.period = coalesce(a.points_period, a.period)
                         and l.entry_id not in (select i.source_entry_id from plaudit.awards i
                                                where i.program = a.program and i.employee_id = a.employee_id
                                                  and i.source_entry_id is not null) end
     ) lp
     where a.program = %(program)s and a.period = %(period)s and a.status = 'approved') as ledger_points
"""


def neutralise(value: Any) -> Any:
    """A text a spreadsheet would run as a formula, made inert with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _money(minor: Any) -> Decimal:
    return (Decimal(int(minor)) / 100).quantize(Decimal("0.01"))


@dataclass
class Export:
    path: Path
    sections: dict[str, list[dict[str, Any]]]
    totals: dict[str, Any]
    closed: bool


def collect(url: str, program: str, period: str) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any], bool]:
    params = {"program": program, "period": period}
    with psycopg.connect(url, row_factory=dict_row) as conn:
        sections = {name: conn.execute(q, params).fetchall() for name, q in SECTIONS_SQL.items()}  # type: ignore[arg-type]
        totals = conn.execute(TOTALS_SQL, params).fetchone() or {}
        closed = conn.execute(
            "select 1 from plaudit.period_closes where program = %s and period = %s", [program, period]
        ).fetchone() is not None
    problems = []
    if totals["awards_minor"] != totals["legs_minor"]:
        problems.append(f"funding legs sum to {_money(totals['legs_minor'])}, awards to {_money(totals['awards_minor'])}")
    by_employee = sum(int(r["amount_minor"]) for r in sections["by_employee"])
    if by_employee != totals["awards_minor"]:
        problems.append(f"the employee table sums to {_money(by_employee)}, awards to {_money(totals['awards_minor'])}")
    if totals["award_points"] != totals["ledger_points"]:
        problems.append(
            f"approved awards hold {totals['award_points']} points, the ledger {totals['ledger_points']} for them"
        )
    if problems:
        raise PlauditError(f"the {period} payouts do not reconcile, no file written: {'; '.join(problems)}")
    return sections, dict(totals), closed


def _rows(sections: dict[str, list[dict[str, Any]]], totals: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Each section as (header, rows), money as Decimal with 2 places, text neutralised."""
    out: dict[str, tuple[list[str], list[list[Any]]]] = {}
    for name, rows in sections.items():
        if not rows:
            header = []
        else:
            header = [k.removesuffix("_minor") for k in rows[0]]
        body = [
            [neutralise(_money(v) if k.endswith("_minor") else v) for k, v in r.items()]
            for r in rows
        ]
        out[name] = (header, body)
    out["totals"] = (
        ["approved_awards_amount", "funding_legs_amount", "award_points", "ledger_points"],
        [[_money(totals["awards_minor"]), _money(totals["legs_minor"]), totals["award_points"], totals["ledger_points"]]],
    )
    return out


def export(url: str, program: str, period: str, fmt: str, out: Path) -> Export:
    if fmt not in ("csv", "xlsx"):
        raise PlauditError(f"--format {fmt!r}: use csv or xlsx")
    sections, totals, closed = collect(url, program, period)
    tables = _rows(sections, totals)
    out.parent.mkdir(parents=True, exist_ok=True)
    # written to a temporary file, then renamed: a crash never leaves half an export under its name
    tmp = out.with_name(out.name + ".partial")
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for name, (header, body) in tables.items():
            w.writerow(["section", *header])
            for row in body:
                w.writerow([name, *row])
        text = buf.getvalue()
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text[: len(text) // 2])
            f.flush()
            failpoints.hit("mid_export")
            f.write(text[len(text) // 2:])
    else:
        _write_xlsx(tmp, program, period, tables)
    os.replace(tmp, out)
    return Export(out, sections, totals, closed)


def _write_xlsx(out: Path, program: str, period: str, tables: dict[str, tuple[list[str], list[list[Any]]]]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for name, (header, body) in tables.items():
        ws = wb.create_sheet(name[:31])
        if header:
            ws.append(header)
        for row in body:
            ws.append(row)
    # the same content gives the same bytes: fixed document dates, fixed zip entry times
    fixed = datetime.strptime(period + "-01", "%Y-%m-%d")
    wb.properties.created = wb.properties.modified = fixed
    wb.properties.creator = f"Plaudit ({program})"
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + fixed.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", data)
            if info.filename == "xl/workbook.xml":
                failpoints.hit("mid_export")
            fixed_info = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed_info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed_info, data)


def close(url: str, program: str, period: str, closer: str, *, defer_pending: bool = False) -> dict[str, Any]:
    """Close a period (one transaction). Refused: not a finance approver, already closed, the
    period not yet ended, awards still pending (unless `defer_pending`, which defers them)."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('plaudit:close:' || %s || ':' || %s))", [program, period])
        require_finance_approver(conn, program, closer, may="close a period", nothing="nothing to close")
        prior = conn.execute(
            "select closed_by, closed_at from plaudit.period_closes where program = %s and period = %s",
            [program, period],
        ).fetchone()
        if prior:
            raise PlauditError(f"{period} is already closed (by {prior['closed_by']} on {prior['closed_at']:%Y-%m-%d})")
        (awards,) = conn.execute(
            "select count(*) from plaudit.awards where program = %s and period = %s", [program, period]
        ).fetchone().values()
        if awards == 0:
            raise PlauditError(f"{period} has no awards yet: run the night after its last day first")
        (pending,) = conn.execute(
            "select count(*) from plaudit.awards where program = %s and period = %s and status = 'pending'",
            [program, period],
        ).fetchone().values()
        deferred = 0
        if pending and not defer_pending:
            raise PlauditError(
                f"{period} has {pending} award(s) still pending: decide them (`plaudit approvals list`) or close "
                "with --defer-pending to defer them"
            )
        if pending:
            deferred = conn.execute(
                "update plaudit.awards set status = 'deferred', status_reason = %s"
                " where program = %s and period = %s and status = 'pending'",
                [f"not decided before {period} was closed by {closer}", program, period],
            ).rowcount
        conn.execute(
            "insert into plaudit.period_closes (program, period, closed_by, deferred_awards) values (%s, %s, %s, %s)",
            [program, period, closer, deferred],
        )
        return {"program": program, "period": period, "closed_by": closer, "awards": awards,
                "deferred_pending": deferred}
