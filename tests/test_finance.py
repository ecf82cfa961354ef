"""Finance on the hand-made fixture night (tests/fixtures/night): routing by amount, co-funding
legs, payout exports that reconcile, and closing a period. Real PostgreSQL, dbt, GX.

Worked by hand (see test_nightly.py for the points): ACME co-funds half, capped at 100.00.
  A1: 30 points, all earned on ACME (R1, R2 on I1/I2, nomination N1) → 15.00 EUR:
      ACME 7.50, company 7.50.
  B1: 15 points, 5 on ACME (R1) and 10 not (R5) → 7.50 EUR:
      ACME floor(750 × 5/15 × 0.5) = 1.25, company 6.25.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import date

import psycopg
import pytest

from flows.nightly import nightly
from flows.publish.approvals import decide
from flows.publish.payouts import close, export
from plaudit.errors import ApprovalError, PlauditError


def legs(url: str) -> dict[tuple[str, str], int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select a.employee_id, f.funding_source || ':' || f.account_id, f.amount_minor"
            " from plaudit.award_funding f join plaudit.awards a using (award_id)"
        ).fetchall()
    return {(e, s): m for e, s, m in rows}


def test_finance_routing_refuses_a_manager_and_accepts_a_finance_approver(e2e):
    url, _, programs = e2e
    prog = programs / "e2e.yml"
    prog.write_text(prog.read_text().replace('auto_approve_up_to: "10.00"',
                                             'auto_approve_up_to: "10.00"\n  manager_approves_up_to: "12.00"'))
    nightly(night=date(2026, 10, 31), program="e2e")
    with psycopg.connect(url) as conn:
        award_id, level = conn.execute("select award_id, approval_level from plaudit.awards where employee_id = 'A1'").fetchone()
    assert level == "finance"
    with pytest.raises(ApprovalError, match="B1 is not a finance approver of program e2e"):
        decide(url, award_id, "B1", "approved", "not mine to decide")
    assert decide(url, award_id, "M1", "approved", "signed off")["decided_by"] == "M1"


def test_co_funding_payouts_and_a_closed_period(e2e, tmp_path):
    url, _, _ = e2e
    nightly(night=date(2026, 10, 31), program="e2e")
    assert legs(url) == {("A1", "account:ACME"): 750, ("A1", "company:"): 750,
                         ("B1", "account:ACME"): 125, ("B1", "company:"): 625}
    with psycopg.connect(url) as conn:
        (a1,) = conn.execute("select award_id from plaudit.awards where employee_id = 'A1'").fetchone()
        # customer-supplied text that a spreadsheet would run as a formula
        conn.execute("""update raw.accounts set account_name = '=HYPERLINK("http://evil.example","Acme")'""")
    decide(url, a1, "M1", "approved", "great month")

    x = export(url, "e2e", "2026-10", "csv", tmp_path / "payouts.csv")
    rows = list(csv.reader((tmp_path / "payouts.csv").open()))
    statement = [r for r in rows if r[0] == "co_funding_statement"]
    assert statement == [["co_funding_statement", "ACME", "'=HYPERLINK(\"http://evil.example\",\"Acme\")", "0.5000",
                          "100.00", "2", "8.75", "EUR", "8.75", "EUR"]]
    by_employee = {r[1]: r for r in rows if r[0] == "by_employee"}
    assert by_employee["A1"][5:10] == ["30.00", "15.00", "7.50", "7.50", "EUR"]
    assert by_employee["B1"][5:10] == ["15.00", "7.50", "6.25", "1.25", "EUR"]
    [totals] = [r for r in rows if r[0] == "totals"]
    assert totals[1:] == ["22.50", "22.50", "45.00", "45.00"]  # awards = legs; award points = ledger points
    assert not x.closed

    with pytest.raises(PlauditError, match="B1 is not a finance approver"):
        close(url, "e2e", "2026-10", "B1")
    assert close(url, "e2e", "2026-10", "M1")["awards"] == 2
    with pytest.raises(PlauditError, match="already closed"):
        close(url, "e2e", "2026-10", "M1")
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.RaiseException, match="is closed"):
        conn.execute("update plaudit.awards set amount_minor = 1 where award_id = %s", [a1])

    first = export(url, "e2e", "2026-10", "xlsx", tmp_path / "a.xlsx")
    export(url, "e2e", "2026-10", "xlsx", tmp_path / "b.xlsx")
    digest = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("a.xlsx", "b.xlsx")]
    assert first.closed and digest[0] == digest[1]  # a closed period's export is reproducible
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "a.xlsx")["co_funding_statement"]
    assert ws["B2"].value.startswith("'=") and ws["B2"].data_type == "s"

    # late feedback for October lands in November; October's awards do not move
    (tmp_path / "inbox" / "feedback_late.csv").write_text(
        "response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at\n"
        "R10,I4,,csat,5,,email,2026-10-20T12:00:00Z\n"
    )
    (tmp_path / "inbox" / "participants_late.csv").write_text(
        "interaction_id,employee_id,participant_role,touched_at\nI4,A1,owner,2026-10-13T09:00:00Z\n"
    )
    nightly(night=date(2026, 11, 1), program="e2e")
    with psycopg.connect(url) as conn:
        late = conn.execute("select period, points from plaudit.ledger_entries where source_id = 'R10'").fetchall()
        october = conn.execute("select sum(amount_minor) from plaudit.awards where period = '2026-10'").fetchone()
    assert [(p, str(pts)) for p, pts in late] == [("2026-11", "5.00")]  # shared with C1 (linear), who earns nothing
    assert october == (2250,)
    assert hashlib.sha256(export(url, "e2e", "2026-10", "xlsx", tmp_path / "c.xlsx").path.read_bytes()).hexdigest() == digest[0]


def test_gaming_flags_hold_feedback_and_decisions_release_or_reverse_it(e2e, tmp_path, balances_off_the_ledger):
    """R11 comes from A1's own staff address: held, never posted. Then the program limits each
    customer to one rating of an employee in 30 days, and R14 (customer C5, B1, 10-19) arrives
    late: R5 (C5 again, 10-20), already posted for B1, is now the second rating, held. A colleague
    cannot clear A1's flag, nor can A1; their manager M1 clears it and R11 posts on the next night.
    M1 confirms R5: B1's posted 10 points are reversed by a compensating entry."""
    from flows.publish.flags import decide as decide_flag
    from flows.publish.flags import list_flags

    url, _, programs = e2e
    inbox = tmp_path / "inbox"
    (inbox / "feedback_selfie.csv").write_text(
        "response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at,customer_email\n"
        "R11,I2,,csat,5,Great!,email,2026-10-06T12:30:00Z,A1@staff.test.example\n"
    )
    s = nightly(night=date(2026, 10, 31), program="e2e")
    assert s["gaming_flags_held"] == 1
    [flag] = list_flags(url, "held")
    assert (flag["flag_kind"], flag["source_id"], flag["employee_id"]) == ("own_address", "R11", "A1")
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from plaudit.ledger_entries where source_id = 'R11'").fetchone() == (0,)

    prog = programs / "e2e.yml"
    prog.write_text(prog.read_text() + "gaming:\n  repeat_rater: {max_ratings: 1, days: 30}\n")
    (inbox / "interactions_late.csv").write_text(
        "interaction_id,account_id,customer_id,interaction_kind,channel,queue,opened_at,closed_at\n"
        "I9,,C5,chat,web,support,2026-10-18T08:55:00Z,2026-10-18T10:00:00Z\n")
    (inbox / "participants_late.csv").write_text(
        "interaction_id,employee_id,participant_role,touched_at\nI9,B1,owner,2026-10-18T09:00:00Z\n")
    (inbox / "feedback_late.csv").write_text(
        "response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at\n"
        "R14,I9,,csat,4,,web,2026-10-19T12:00:00Z\n")
    assert nightly(night=date(2026, 11, 1), program="e2e")["gaming_flags_held"] == 1
    repeat = next(f for f in list_flags(url, "held") if f["flag_kind"] == "repeat_rater")
    assert (repeat["source_id"], repeat["employee_id"]) == ("R5", "B1")

    with pytest.raises(ApprovalError, match="B1 may not decide flags on A1"):
        decide_flag(url, flag["flag_id"], "B1", "cleared", "looks fine")
    with pytest.raises(ApprovalError, match="raised on themselves"):
        decide_flag(url, flag["flag_id"], "A1", "cleared", "it was me")
    with pytest.raises(ApprovalError, match="no gaming flag"):
        decide_flag(url, "nope", "M1", "cleared", "x")
    decide_flag(url, flag["flag_id"][:10], "M1", "cleared", "a shared family address")
    with pytest.raises(ApprovalError, match="already cleared by M1"):
        decide_flag(url, flag["flag_id"], "M1", "confirmed", "twice")
    assert decide_flag(url, repeat["flag_id"], "M1", "confirmed", "same customer, same week")["entries_reversed"] == 1

    nightly(night=date(2026, 11, 2), program="e2e")
    with psycopg.connect(url) as conn:
        entries = conn.execute(
            "select source_id, employee_id, entry_kind, points from plaudit.ledger_entries"
            " where source_id in ('R11', 'R5') or entry_kind = 'reversal' order by entry_kind, source_id"
        ).fetchall()
        (reversed_id,) = conn.execute(
            "select entry_id from plaudit.ledger_entries where source_id = 'R5' and employee_id = 'B1'").fetchone()
    assert [(e[0], e[1], e[2], str(e[3])) for e in entries] == [
        ("R11", "A1", "feedback_points", "10.00"),
        ("R5", "B1", "feedback_points", "10.00"),
        (reversed_id, "B1", "reversal", "-10.00"),
    ]
    # B1's balance keeps R5's posted 10 points and their reversal: it is the ledger's
    assert balances_off_the_ledger(url) == []


def test_approvals_round_trip_through_a_spreadsheet_all_or_nothing(e2e, tmp_path):
    """The export carries why the award exists and the customer's words (masked, formulas made inert);
    an import with one bad row applies nothing and names the row; fixed, it applies every row."""
    from openpyxl import load_workbook

    from flows.publish.approval_sheets import export_sheet, import_sheet

    url, _, _ = e2e
    nightly(night=date(2026, 10, 31), program="e2e")
    sheet = tmp_path / "approvals.xlsx"
    assert export_sheet(url, sheet) == 1  # A1's 15.00, waiting for M1
    wb = load_workbook(sheet)
    ws = wb["approvals"]
    header = [c.value for c in ws[1]]
    row = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert row["employee_id"] == "A1" and "needs manager approval" in row["why"] and "nomination_points 20" in row["why"]
    assert "Alice and Bob fixed it together" in row["customer_words"]
    ws.cell(2, header.index("decision") + 1, "approve")
    ws.cell(2, header.index("reason") + 1, "great month")
    ws.append(["nope"] + [None] * 9 + ["approve", "x"])
    wb.save(sheet)

    with pytest.raises(ApprovalError) as refused:
        import_sheet(url, sheet, "M1")
    assert "nothing was applied; 1 row(s) need fixing" in str(refused.value) and "row 3 (nope): no award" in str(refused.value)
    with psycopg.connect(url) as conn:
        assert conn.execute("select status from plaudit.awards where employee_id = 'A1'").fetchone() == ("pending",)

    ws.delete_rows(3)
    wb.save(sheet)
    with pytest.raises(ApprovalError, match=r"row 2 \(.*\): A1 cannot decide on their own award"):
        import_sheet(url, sheet, "A1")
    assert import_sheet(url, sheet, "M1") == {"applied": 1, "approved": 1, "rejected": 0, "emails_queued": 1}
    with psycopg.connect(url) as conn:
        assert conn.execute("select decided_by, reason from plaudit.approval_decisions d join plaudit.awards a"
                            " using (award_id) where a.employee_id = 'A1'").fetchone() == ("M1", "great month")
