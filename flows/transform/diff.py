"""`plaudit program diff OLD.yml NEW.yml --period YYYY-MM`: what a program change would do.

Each file is stored under a throwaway program name, in force for all time,
and the dbt models up to the ledger run into throwaway schemas; nothing is
published and the nightly schemas are untouched. The per-employee points of
the period under each file are compared, then the throwaway rows and schemas
are dropped.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from flows.transform import dbt
from plaudit import program as programs
from plaudit.errors import PlauditError

PROGRAM_TABLES = ("program_point_rules", "program_eligibility", "program_multipliers", "program_role_weights",
                  "program_versions")


@dataclass
class Row:
    employee_id: str
    full_name: str
    old_points: Decimal
    new_points: Decimal
    old_amount: Decimal
    new_amount: Decimal

    @property
    def delta(self) -> Decimal:
        return self.new_points - self.old_points


def _period_end(period: str) -> date:
    try:
        y, m = (int(x) for x in period.split("-"))
        return date(y, m, calendar.monthrange(y, m)[1])
    except ValueError as exc:
        raise PlauditError(f"--period {period!r}: write the month as YYYY-MM, e.g. 2026-10") from exc


def _points(url: str, prog: programs.Program, name: str, night: date, period: str) -> dict[str, Decimal]:
    prefix = f"{name}_"
    throwaway = prog.model_copy(update={"program": name, "effective_from": date(1900, 1, 1)})
    with psycopg.connect(url, autocommit=True) as conn:
        programs.store(conn, throwaway)
    dbt.run_isolated(url, night=night.isoformat(), program=name, schema_prefix=prefix, select="+fct_ledger_entries")
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            sql.SQL("select employee_id, sum(points) from {}.fct_ledger_entries where period = %s group by 1").format(
                sql.Identifier(f"{prefix}marts")
            ),
            [period],
        ).fetchall()
    return {r[0]: r[1] for r in rows}


def _cleanup(url: str, names: list[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            for table in PROGRAM_TABLES:
                conn.execute(
                    sql.SQL("delete from plaudit.{} where program = %s").format(sql.Identifier(table)), [name]
                )
            for layer in ("staging", "intermediate", "marts"):
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(f"{name}_{layer}")))


def program_diff(url: str, old_file: Path, new_file: Path, period: str) -> dict[str, Any]:
    old, new = programs.load(old_file), programs.load(new_file)
    night = _period_end(period)
    run = uuid.uuid4().hex[:8]
    names = [f"diff_{run}_old", f"diff_{run}_new"]
    try:
        before = _points(url, old, names[0], night, period)
        after = _points(url, new, names[1], night, period)
    finally:
        _cleanup(url, names)
    with psycopg.connect(url) as conn:
        people = dict(conn.execute("select employee_id, full_name from raw.employees").fetchall())
    rows = [
        Row(e, people.get(e, "?"), before.get(e, Decimal(0)), after.get(e, Decimal(0)),
            (before.get(e, Decimal(0)) * old.awards.value_per_point).quantize(Decimal("0.01")),
            (after.get(e, Decimal(0)) * new.awards.value_per_point).quantize(Decimal("0.01")))
        for e in sorted(set(before) | set(after))
    ]
    rows.sort(key=lambda r: (-abs(r.delta), r.employee_id))
    return {
        "period": period,
        "old": {"file": str(old_file), "version_id": old.version_id, "currency": old.currency},
        "new": {"file": str(new_file), "version_id": new.version_id, "currency": new.currency},
        "employees": [
            {"employee_id": r.employee_id, "full_name": r.full_name, "old_points": r.old_points,
             "new_points": r.new_points, "delta_points": r.delta, "old_amount": r.old_amount,
             "new_amount": r.new_amount}
            for r in rows
        ],
        "totals": {
            "old_points": sum((r.old_points for r in rows), Decimal(0)),
            "new_points": sum((r.new_points for r in rows), Decimal(0)),
            "old_amount": sum((r.old_amount for r in rows), Decimal(0)),
            "new_amount": sum((r.new_amount for r in rows), Decimal(0)),
            "employees_changed": sum(1 for r in rows if r.delta != 0),
        },
    }
