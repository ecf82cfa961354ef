"""The authorisation matrix: who may approve, reject, clear or confirm flags, close a period and
retract feedback. One fixture night (real PostgreSQL, dbt, GX); each row of MATRIX is tried in
order and must be refused with its reason, or allowed.

People (tests/fixtures/night plus two more): M1 manages A1 and B1; F1 is the program's finance
approver and manages nobody; M2 manages S1 in another team. The program: auto-approve up to 5.00,
managers up to 8.00, nominations paid at once. So B1's award (15 points, 7.50) needs a manager,
A1's nomination (20 points, 10.00) needs finance, and R11, rated from A1's own address, is held.
"""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from flows.nightly import nightly
from flows.publish.approvals import decide
from flows.publish.flags import decide as decide_flag
from flows.publish.payouts import close
from flows.publish.retractions import retract
from plaudit.errors import PlauditError

ALLOWED = None
# (action, target, who, None if allowed else the refusal's words)
MATRIX = [
    ("approve", "manager_award", "B1", "cannot decide on their own award"),
    ("approve", "manager_award", "A1", "A1 is not in the manager chain of B1"),
    ("approve", "manager_award", "M2", "M2 is not in the manager chain of B1"),
    ("approve", "manager_award", "F1", "F1 is not in the manager chain of B1"),
    ("approve", "manager_award", "NOBODY", "NOBODY is not in the manager chain of B1"),
    ("approve", "manager_award", "M1", ALLOWED),
    ("reject", "manager_award", "M1", "cannot be decided"),  # decided already
    ("approve", "finance_award", "A1", "cannot decide on their own award"),
    ("approve", "finance_award", "M1", "M1 is not a finance approver of program e2e"),
    ("approve", "finance_award", "M2", "M2 is not a finance approver of program e2e"),
    ("reject", "finance_award", "F1", ALLOWED),
    ("approve", "unknown_award", "F1", "no award with id"),
    ("clear", "flag", "A1", "cannot decide a gaming flag raised on themselves"),
    ("clear", "flag", "B1", "B1 may not decide flags on A1"),
    ("clear", "flag", "M2", "M2 may not decide flags on A1"),
    ("confirm", "flag", "F1", ALLOWED),
    ("clear", "flag", "M1", "already confirmed by F1"),
    ("retract", "R1", "M1", "M1 is not a finance approver of program e2e"),
    ("retract", "R1", "A1", "A1 is not a finance approver of program e2e"),
    ("retract", "R1", "F1", ALLOWED),
    ("retract", "NO-SUCH-RESPONSE", "F1", "no feedback with id"),
    ("close", "2026-10", "M1", "M1 is not a finance approver of program e2e"),
    ("close", "2026-10", "A1", "A1 is not a finance approver of program e2e"),
    ("close", "2026-10", "F1", ALLOWED),
    ("close", "2026-10", "F1", "already closed"),
]


@pytest.fixture()
def night(e2e):
    url, _, programs = e2e
    inbox = programs.parent / "inbox"
    (inbox / "employees_more.csv").write_text(
        "employee_id,full_name,email,locale,manager_id,team,cost_centre,role,location,hire_date,status\n"
        "F1,Fiona Finance,f1@staff.test.example,en,,Finance,CC-5,finance,Lyon,2020-01-01,active\n"
        "M2,Mark Other,m2@staff.test.example,en,,Sales,CC-7,team_lead,Lyon,2020-01-01,active\n"
        "S1,Sam Sales,s1@staff.test.example,en,M2,Sales,CC-7,customer_service,Lyon,2020-01-01,active\n"
    )
    (inbox / "feedback_selfie.csv").write_text(
        "response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at,customer_email\n"
        "R11,I2,,csat,5,Great!,email,2026-10-06T12:30:00Z,A1@staff.test.example\n"
    )
    prog = programs / "e2e.yml"
    prog.write_text(
        prog.read_text()
        .replace('auto_approve_up_to: "10.00"', 'auto_approve_up_to: "5.00"\n  manager_approves_up_to: "8.00"\n'
                 "  instant: [nomination]")
        .replace("finance_approvers: [M1]", "finance_approvers: [F1]")
    )
    nightly(night=date(2026, 10, 31), program="e2e")
    with psycopg.connect(url) as conn:
        ids = dict(conn.execute(
            "select case when approval_level = 'finance' then 'finance_award'"
            " when approval_level = 'manager' then 'manager_award' else 'auto_award' end, award_id"
            " from plaudit.awards where employee_id in ('A1', 'B1')").fetchall())
        (ids["flag"],) = conn.execute("select flag_id from plaudit.gaming_flags").fetchone()
        levels = conn.execute("select employee_id, award_kind, amount_minor, approval_level, status"
                              " from plaudit.awards order by 1, 2").fetchall()
    assert levels == [("A1", "instant", 1000, "finance", "pending"), ("A1", "periodic", 500, "auto", "approved"),
                      ("B1", "periodic", 750, "manager", "pending")]
    ids["unknown_award"] = "no-such-award"
    return url, ids


def attempt(url: str, ids: dict[str, str], action: str, target: str, who: str) -> None:
    if action in ("approve", "reject"):
        decide(url, ids.get(target, target), who, {"approve": "approved", "reject": "rejected"}[action], "matrix")
    elif action in ("clear", "confirm"):
        decide_flag(url, ids[target], who, {"clear": "cleared", "confirm": "confirmed"}[action], "matrix")
    elif action == "retract":
        retract(url, "e2e", target, who, "matrix")
    elif action == "close":
        close(url, "e2e", target, who, defer_pending=True)


def test_the_authorisation_matrix_row_by_row(night):
    url, ids = night
    for action, target, who, refusal in MATRIX:
        row = f"{action} {target} as {who}"
        if refusal is ALLOWED:
            attempt(url, ids, action, target, who)
        else:
            with pytest.raises(PlauditError) as err:
                attempt(url, ids, action, target, who)
            assert refusal in str(err.value), f"{row}: {err.value}"

    # every allowed decision is recorded with who, when and why
    with psycopg.connect(url) as conn:
        decisions = conn.execute("select decided_by, decision, reason from plaudit.approval_decisions"
                                 " where decided_by <> 'plaudit:auto' order by decided_at").fetchall()
        flag = conn.execute("select status, decided_by, reason from plaudit.gaming_flags").fetchone()
        retracted = conn.execute("select response_id, retracted_by from plaudit.feedback_retractions").fetchall()
        closed = conn.execute("select period, closed_by from plaudit.period_closes").fetchall()
    assert decisions == [("M1", "approved", "matrix"), ("F1", "rejected", "matrix")]
    assert flag == ("confirmed", "F1", "matrix")
    assert retracted == [("R1", "F1")]
    assert closed == [("2026-10", "F1")]
