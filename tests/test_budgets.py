"""Budgets, instant and carried awards, corrections, currencies and nomination rings, on the
hand-made fixture night (tests/fixtures/night) with a real PostgreSQL, dbt and GX.

Points of the fixture night (worked in tests/test_nightly.py, linear attribution):
  A1: R1 5 (I1 shared with B1) + R2 5 (I2: B1 touched it after the rating) + N1 20 (nomination)
  B1: R1 5 + R5 10 = 15; R7 (2026-11-02, I1) gives A1 and B1 5 each in November.
At 0.50 EUR a point.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from flows.nightly import nightly
from flows.publish.explain import explain_award, render_award
from flows.publish.retractions import retract
from plaudit import program as program_mod
from plaudit.errors import ApprovalError, GateFailed

ROOT = Path(__file__).resolve().parents[1]


def awards(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select employee_id, award_kind, period, points_period, amount_minor, status,"
            " carried_from is not null from plaudit.awards order by period, employee_id, award_kind, amount_minor"
        ).fetchall()


def instant_nominations(prog: Path, monthly_budget: str) -> None:
    """The e2e program, with nominations paid as instant awards and a smaller monthly budget."""
    prog.write_text(
        prog.read_text()
        .replace('finance_approvers: [M1]', 'finance_approvers: [M1]\n  instant: [nomination]')
        .replace('monthly: "1000.00"', f'monthly: "{monthly_budget}"')
    )


def test_instant_awards_deferrals_carried_and_an_adjustment_after_payment(e2e, balances_off_the_ledger):
    url, _, programs = e2e
    instant_nominations(programs / "e2e.yml", monthly_budget="10.00")
    nightly(night=date(2026, 10, 31), program="e2e")
    # Oct: the nomination is paid on its own (10.00, a manager decides) and takes the whole budget
    # first; the periodic awards (A1 10 points → 5.00, B1 15 → 7.50) are deferred.
    assert awards(url) == [
        ("A1", "instant", "2026-10", "2026-10", 1000, "pending", False),
        ("A1", "periodic", "2026-10", "2026-10", 500, "deferred", False),
        ("B1", "periodic", "2026-10", "2026-10", 750, "deferred", False),
    ]
    with psycopg.connect(url) as conn:
        reason = conn.execute("select status_reason from plaudit.awards where status = 'deferred' limit 1").fetchone()[0]
    assert reason.startswith("budget exhausted")

    # R2 (Oct 6) is withdrawn after October's awards exist: A1's posted 5 points come back as a
    # correction in November, the next open period.
    with pytest.raises(ApprovalError, match="B1 is not a finance approver"):
        retract(url, "e2e", "R2", "B1", "not mine to retract")
    retract(url, "e2e", "R2", "M1", "the customer withdrew it")
    with pytest.raises(ApprovalError, match="already retracted by M1"):
        retract(url, "e2e", "R2", "M1", "twice")

    nightly(night=date(2026, 11, 30), program="e2e")
    with psycopg.connect(url) as conn:
        corrections = conn.execute(
            "select employee_id, period, points, rule_id from plaudit.ledger_entries"
            " where entry_kind = 'correction' order by employee_id"
        ).fetchall()
    assert [(e, p, str(pts), r) for e, p, pts, r in corrections] == [
        ("A1", "2026-11", "-5.00", "correction:feedback_retracted"),
    ]
    # A1's balance keeps R2's posted 5 points and adds their correction: it is the ledger's
    assert balances_off_the_ledger(url) == []
    # Nov: the deferred awards queue first, smallest first, within 10.00: A1's 5.00 fits, B1's
    # 7.50 does not (deferred again, to December). November's own points: A1 5 (R7) − 5 (the
    # correction) = 0, no award; B1 5 → 2.50 queues behind B1's deferred 7.50 and is deferred too
    # (nothing overtakes a deferred award).
    nov = [a for a in awards(url) if a[2] == "2026-11"]
    assert nov == [
        ("A1", "periodic", "2026-11", "2026-10", 500, "approved", True),
        ("B1", "periodic", "2026-11", "2026-11", 250, "deferred", False),
        ("B1", "periodic", "2026-11", "2026-10", 750, "deferred", True),
    ]

    # Running the night again creates, posts and corrects nothing more.
    before = awards(url)
    again = nightly(night=date(2026, 11, 30), program="e2e")
    assert again["ledger_entries_posted"] == 0 and awards(url) == before


def test_a_proposal_whose_points_are_not_the_ledgers_fails_the_build_for_either_kind(e2e):
    """fct_award_proposals__points_match_ledger looks an instant award's entry up by id and reads
    the periodic awards' entries for their periods only: a proposal of either kind whose points
    are not what the ledger holds for it fails it, and the proposals as built pass."""
    from flows.transform import dbt

    url, _, programs = e2e
    instant_nominations(programs / "e2e.yml", monthly_budget="10.00")
    nightly(night=date(2026, 10, 31), program="e2e")
    with psycopg.connect(url) as conn:
        kinds = conn.execute("select award_kind, count(*) from marts.fct_award_proposals"
                             " where employee_id = 'A1' and carried_from is null group by 1 order by 1").fetchall()
    assert kinds == [("instant", 1), ("periodic", 1)]

    def check() -> None:
        dbt.build(url, night="2026-10-31", program="e2e", command="test",
                  select="fct_award_proposals__points_match_ledger")

    def shift(kind: str, by: int) -> None:
        with psycopg.connect(url) as conn:
            conn.execute("update marts.fct_award_proposals set points = points + %s"
                         " where employee_id = 'A1' and award_kind = %s", [by, kind])

    check()
    for kind in ("instant", "periodic"):
        shift(kind, 1)
        with pytest.raises(GateFailed, match="fct_award_proposals__points_match_ledger"):
            check()
        shift(kind, -1)
    check()


def test_a_deferred_instant_award_is_considered_again_once_the_next_period_has_ended(e2e):
    url, _, programs = e2e
    instant_nominations(programs / "e2e.yml", monthly_budget="5.00")
    nightly(night=date(2026, 10, 31), program="e2e")
    # the nomination (10.00) does not fit October's 5.00; nothing overtakes it
    october = awards(url)
    assert ("A1", "instant", "2026-10", "2026-10", 1000, "deferred", False) in october
    assert {a[5] for a in october} == {"deferred"}
    # November has not ended: the same night again, twice, carries nothing into it (or beyond)
    nightly(night=date(2026, 10, 31), program="e2e")
    nightly(night=date(2026, 10, 31), program="e2e")
    assert awards(url) == october
    nightly(night=date(2026, 11, 30), program="e2e")
    nightly(night=date(2026, 11, 30), program="e2e")
    carried = [a for a in awards(url) if a[6]]
    assert ("A1", "instant", "2026-11", "2026-10", 1000, "deferred", True) in carried
    assert {a[2] for a in carried} == {"2026-11"}  # once, into November only
    assert len(carried) == len(october)


def test_a_night_over_months_long_ended_carries_its_deferred_awards_into_the_month_after_it(e2e):
    """The first night over a history (or one after a pause) prices months that ended long ago. An
    award it defers is considered again with the budget of the first month not ended that night,
    December here, and not walked through each month already ended, one month a night (at L, a
    deferred award per month passed: 1.25 million after four nights)."""
    url, _, programs = e2e
    instant_nominations(programs / "e2e.yml", monthly_budget="5.00")
    nightly(night=date(2026, 12, 15), program="e2e")
    first = awards(url)
    # October: the nomination (10.00) does not fit 5.00 and nothing overtakes it; November's
    # 2.50 + 2.50 fit
    deferred = [a for a in first if a[5] == "deferred"]
    assert {a[2] for a in deferred} == {"2026-10"} and len(deferred) == 3
    assert [a[5] for a in first if a[2] == "2026-11"] == ["approved", "approved"]
    # November had ended on the night October's awards were deferred: they do not go into it
    nightly(night=date(2026, 12, 16), program="e2e")
    assert awards(url) == first
    with psycopg.connect(url) as conn:
        nights = conn.execute("select distinct night from plaudit.awards").fetchall()
    assert nights == [(date(2026, 12, 15),)]
    # once December has ended, each is considered with December's budget, smallest first
    nightly(night=date(2026, 12, 31), program="e2e")
    carried = [a for a in awards(url) if a[6]]
    assert carried == [
        ("A1", "instant", "2026-12", "2026-10", 1000, "deferred", True),
        ("A1", "periodic", "2026-12", "2026-10", 500, "approved", True),
        ("B1", "periodic", "2026-12", "2026-10", 750, "deferred", True),
    ]
    # `plaudit explain award` says when a deferred award was made and where it went on
    with psycopg.connect(url) as conn:
        (october, december) = conn.execute(
            "select d.award_id, c.award_id from plaudit.awards d join plaudit.awards c on c.carried_from = d.award_id"
            " where d.employee_id = 'B1' and d.period = '2026-10'").fetchone()
    text = render_award(explain_award(url, october))
    assert "on the night of 2026-12-15" in text
    assert f"as award {december} for 2026-12, deferred" in text
    assert "not yet: considered again" in render_award(explain_award(url, december))


def test_co_funding_in_another_currency_and_a_nomination_ring(e2e):
    url, _, programs = e2e
    inbox = programs.parent / "inbox"
    (inbox / "accounts.csv").write_text(
        "account_id,account_name,segment,co_funding_share,co_funding_monthly_cap,currency\n"
        "ACME,Acme Corp,b2b,0.5,100.00,USD\n"
    )
    prog = programs / "e2e.yml"
    prog.write_text(prog.read_text() + "gaming:\n  nomination_burst: {max_nominations: 1, days: 7}\n")
    # two customers of one company nominate B1 within a day: the second is held
    (inbox / "nominations_ring.csv").write_text(
        "nomination_id,employee_id,account_id,customer_id,reason,channel,nominated_at,customer_email\n"
        "N2,B1,,C7,Best agent ever,web,2026-10-23T10:00:00Z,ann@ring.example\n"
        "N3,B1,,C8,Best agent ever!!,web,2026-10-24T10:00:00Z,Bob@RING.example\n"
    )
    with pytest.raises(GateFailed, match="co_funding_has_rates"):
        nightly(night=date(2026, 10, 31), program="e2e")
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from plaudit.awards").fetchone() == (0,)
        # the domain is kept only as a keyed hash, the same for both spellings
        hashes = conn.execute("select distinct customer_domain_hash from raw.nominations where nomination_id in ('N2', 'N3')").fetchall()
        assert len(hashes) == 1 and "ring" not in hashes[0][0]

    (inbox / "exchange_rates.csv").write_text(
        "rate_date,from_currency,to_currency,rate\n2026-10-01,EUR,USD,1.0800\n2026-11-01,EUR,USD,1.2000\n"
    )
    s = nightly(night=date(2026, 10, 31), program="e2e")
    assert s["gaming_flags_held"] == 1
    with psycopg.connect(url) as conn:
        flag = conn.execute("select flag_kind, source_kind, source_id, employee_id from plaudit.gaming_flags").fetchall()
        legs = conn.execute(
            "select a.employee_id, f.amount_minor, f.currency, f.account_amount_minor, f.account_currency, f.rate,"
            " f.rate_date from plaudit.award_funding f join plaudit.awards a using (award_id)"
            " where f.funding_source = 'account' order by 1"
        ).fetchall()
        b1_points = conn.execute("select points from plaudit.awards where employee_id = 'B1'").fetchone()[0]
    assert flag == [("nomination_burst", "nomination", "N3", "B1")]
    assert str(b1_points) == "35.00"  # 15 + N2's 20; N3 earns nothing while held

    # the same night again, nothing new: no nomination day is written again (the caps would compute
    # its period again); a third nomination from the domain is held too, and only its day written
    days = ("select flag_day, max(_built_at), array_agg(source_id order by source_id) filter (where flag_id is not null)"
            " from intermediate.int_gaming_flags_by_day where source_kind = 'nomination' group by 1 order by 1")
    with psycopg.connect(url) as conn:
        before = conn.execute(days).fetchall()
    assert [(d.isoformat(), ids) for d, _, ids in before] == [("2026-10-24", ["N3"])]
    nightly(night=date(2026, 10, 31), program="e2e")
    with psycopg.connect(url) as conn:
        assert conn.execute(days).fetchall() == before
    (inbox / "nominations_ring2.csv").write_text(
        "nomination_id,employee_id,account_id,customer_id,reason,channel,nominated_at,customer_email\n"
        "N4,B1,,C9,Best agent!,web,2026-10-26T10:00:00Z,cy@ring.example\n"
    )
    nightly(night=date(2026, 10, 31), program="e2e")
    with psycopg.connect(url) as conn:
        after = conn.execute(days).fetchall()
    assert [(d.isoformat(), ids) for d, _, ids in after] == [("2026-10-24", ["N3"]), ("2026-10-26", ["N4"])]
    assert after[0] == before[0]
    # A1's 15.00 award (all on ACME) → ACME's half 7.50 EUR at the Oct 1 rate 1.08 = 8.10 USD;
    # B1's 17.50 holds 5 points on ACME (R1): floor(1750 × 5/35 × 0.5) = 1.25 EUR = floor(125 × 1.08) = 1.35 USD.
    assert [(e, m, c, am, ac, str(r), d) for e, m, c, am, ac, r, d in legs] == [
        ("A1", 750, "EUR", 810, "USD", "1.08000000", date(2026, 10, 1)),
        ("B1", 125, "EUR", 135, "USD", "1.08000000", date(2026, 10, 1)),
    ]


WRITER = """
import sys, time, psycopg
url, award, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
with psycopg.connect(url) as conn:
    t0 = time.monotonic()
    conn.execute(
        "insert into plaudit.awards (award_id, program, version_id, employee_id, award_kind, period, points,"
        " amount_minor, currency, approval_level, status, status_reason, team, cost_centre)"
        " select %s, program, version_id, %s, 'periodic', '2026-10', 120, 6000, 'EUR', 'manager', 'pending',"
        " 'needs manager approval', 'Support', 'CC-1' from plaudit.program_versions",
        [award, award])
    print(f"{time.monotonic() - t0:.2f}", flush=True)
    time.sleep(hold)  # keep the transaction open while the other process tries
"""


def test_two_processes_creating_awards_at_once_never_overspend(fresh_db, tmp_path):
    """Two processes each create a 60.00 award in the same period of a 100.00 budget, their
    transactions overlapping. The database's budget trigger makes the second wait for the first
    and defer its award: what is pending or approved never passes the budget."""
    prog = program_mod.load(ROOT / "tests" / "fixtures" / "night" / "program.yml")
    prog = prog.model_copy(update={"budget": prog.budget.model_copy(update={"monthly": Decimal("100.00")})})
    with psycopg.connect(fresh_db) as conn:
        program_mod.store(conn, prog)

    first = subprocess.Popen([sys.executable, "-c", WRITER, fresh_db, "W1", "2"], stdout=subprocess.PIPE, text=True)
    time.sleep(1)  # W1 has inserted and holds its transaction open
    second = subprocess.run([sys.executable, "-c", WRITER, fresh_db, "W2", "0"], capture_output=True, text=True,
                            check=True)
    first.wait(timeout=30)
    assert first.returncode == 0
    assert float(second.stdout) >= 0.5  # W2's insert waited for W1's commit

    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute("select award_id, status, status_reason from plaudit.awards order by award_id").fetchall()
        (spent,) = conn.execute(
            "select sum(amount_minor) from plaudit.awards where status in ('pending', 'approved')").fetchone()
    assert [(a, s) for a, s, _ in rows] == [("W1", "pending"), ("W2", "deferred")]
    assert rows[1][2] == "budget exhausted: the program has 40.00 EUR left of 100.00 for 2026-10"
    assert spent == 6000


def test_team_and_cost_centre_budgets_are_enforced_by_the_database(fresh_db):
    prog = program_mod.load(ROOT / "tests" / "fixtures" / "night" / "program.yml")
    budget = program_mod.Budget(monthly="1000.00", teams={"Support": "50.00"}, cost_centres={"CC-9": "20.00"})
    with psycopg.connect(fresh_db) as conn:
        program_mod.store(conn, prog.model_copy(update={"budget": budget}))
        insert = (
            "insert into plaudit.awards (award_id, program, version_id, employee_id, award_kind, period, points,"
            " amount_minor, currency, approval_level, status, status_reason, team, cost_centre)"
            " select %s, program, version_id, %s, 'periodic', '2026-10', 1, %s, 'EUR', 'auto', 'approved', 'ok', %s, %s"
            " from plaudit.program_versions returning status, status_reason"
        )
        assert conn.execute(insert, ["a", "A1", 3000, "Support", "CC-1"]).fetchone()[0] == "approved"
        assert conn.execute(insert, ["b", "B1", 3000, "Support", "CC-1"]).fetchone() == (
            "deferred", "budget exhausted: team Support has 20.00 EUR left of 50.00 for 2026-10")
        assert conn.execute(insert, ["c", "C1", 2500, "Back Office", "CC-9"]).fetchone() == (
            "deferred", "budget exhausted: cost centre CC-9 has 20.00 EUR left of 20.00 for 2026-10")
        assert conn.execute(insert, ["d", "C1", 2000, "Back Office", "CC-9"]).fetchone()[0] == "approved"
