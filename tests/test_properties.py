"""Properties over generated programs and data (hypothesis), each example a real night on its own
database: attribution weights sum to 1, a balance is the sum of its entries, funding legs sum to
the award, no budget is overspent or negative, no ineligible employee earns, and running the
night again changes nothing.

Each example costs two nights (about 20 s), so the examples are few and derandomised: CI sees the
same ones every time. Raise PLAUDIT_PROPERTY_EXAMPLES to explore more locally.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.nightly import nightly
from plaudit import db

pytestmark = pytest.mark.slow

ROLES = ["customer_service", "tech_support", "back_office"]  # back_office is never eligible
MODELS = ["last_touch", "first_touch", "linear", "time_decay", "role_weighted"]


@st.composite
def worlds(draw):
    n_emp = draw(st.integers(3, 7))
    employees = [(f"E{i}", draw(st.sampled_from(ROLES)), draw(st.sampled_from(["T1", "T2"]))) for i in range(n_emp)]
    accounts = [("ACC1", draw(st.sampled_from(["0.5", "0.25", "1"])), draw(st.sampled_from(["", "3.00", "50.00"])))]
    interactions = []
    for i in range(draw(st.integers(4, 14))):
        opened = datetime(2026, 10, 1, 8) + timedelta(days=draw(st.integers(0, 28)), hours=draw(st.integers(0, 8)))
        touchers = draw(st.lists(st.sampled_from([e[0] for e in employees]), min_size=1, max_size=3, unique=True))
        parts = [(e, "owner" if k == 0 else draw(st.sampled_from(["assist", "escalation"])),
                  opened + timedelta(minutes=30 * (k + 1))) for k, e in enumerate(touchers)]
        scores = draw(st.lists(st.tuples(st.sampled_from(["csat", "nps"]), st.integers(0, 10)), min_size=0, max_size=2))
        feedback = [(kind, max(1, min(5, s)) if kind == "csat" else s) for kind, s in scores]
        interactions.append((f"I{i}", draw(st.sampled_from(["ACC1", ""])), opened, parts, feedback))
    program = {
        "model": draw(st.sampled_from(MODELS)),
        "value": draw(st.sampled_from(["0.10", "0.50", "1.00"])),
        "auto": draw(st.sampled_from(["1.00", "5.00", "50.00"])),
        "budget": draw(st.sampled_from(["0.00", "4.00", "20.00", "500.00"])),
        "team_budget": draw(st.sampled_from([None, "2.00", "10.00"])),
        "cap": draw(st.sampled_from([None, "15"])),
    }
    return employees, accounts, interactions, program


def write_world(world, inbox, programs) -> None:
    employees, accounts, interactions, p = world
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "employees.csv").write_text(
        "employee_id,full_name,email,manager_id,team,cost_centre,role,location,hire_date,status\n"
        "BOSS,Big Boss,boss@staff.example,,HQ,CC-0,team_lead,Lyon,2020-01-01,active\n"
        + "".join(f"{e},Person {e},{e.lower()}@staff.example,BOSS,{t},CC-{t},{r},Lyon,2020-01-01,active\n"
                  for e, r, t in employees))
    (inbox / "accounts.csv").write_text(
        "account_id,account_name,segment,co_funding_share,co_funding_monthly_cap,currency\n"
        + "".join(f"{a},Account {a},b2b,{s},{c},EUR\n" for a, s, c in accounts))
    rows_i, rows_p, rows_f = [], [], []
    for iid, acc, opened, parts, feedback in interactions:
        rows_i.append(f"{iid},{acc},C{iid},ticket,email,q1,{opened:%Y-%m-%dT%H:%M:%SZ},\n")
        rows_p += [f"{iid},{e},{role},{t:%Y-%m-%dT%H:%M:%SZ}\n" for e, role, t in parts]
        last = max(t for _, _, t in parts)
        rows_f += [f"R{iid}_{k},{iid},,{kind},{score},,email,{last + timedelta(hours=1 + k):%Y-%m-%dT%H:%M:%SZ}\n"
                   for k, (kind, score) in enumerate(feedback)]
    (inbox / "interactions.csv").write_text(
        "interaction_id,account_id,customer_id,interaction_kind,channel,queue,opened_at,closed_at\n" + "".join(rows_i))
    (inbox / "participants.csv").write_text(
        "interaction_id,employee_id,participant_role,touched_at\n" + "".join(rows_p))
    (inbox / "feedback.csv").write_text(
        "response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at\n" + "".join(rows_f))
    extra = ""
    if p["model"] == "role_weighted":
        extra += '  role_weights: {owner: "0.6", assist: "0.3", escalation: "0.1"}\n'
    if p["model"] == "time_decay":
        extra += '  half_life_hours: "2"\n'
    caps = f'caps:\n  per_day: "{p["cap"]}"\n' if p["cap"] else ""
    teams = f'  teams: {{T1: "{p["team_budget"]}"}}\n' if p["team_budget"] else ""
    programs.mkdir(parents=True, exist_ok=True)
    (programs / "prop.yml").write_text(f"""program: prop
title: Property
effective_from: 2026-01-01
currency: EUR
eligibility:
  roles: [customer_service, tech_support]
attribution:
  model: {p["model"]}
{extra}points:
  - {{rule: csat_5, kind: csat, scores: [5, 5], points: 10}}
  - {{rule: csat_4, kind: csat, scores: [4, 4], points: 5}}
  - {{rule: nps_promoter, kind: nps, scores: [9, 10], points: 10}}
{caps}awards:
  value_per_point: "{p["value"]}"
  auto_approve_up_to: "{p["auto"]}"
  max_award: "100000.00"
  finance_approvers: [BOSS]
budget:
  monthly: "{p["budget"]}"
{teams}""")


STATE = [
    "select entry_id, employee_id, points, period from plaudit.ledger_entries order by 1",
    "select award_id, amount_minor, status from plaudit.awards order by 1",
    "select award_id, funding_source, account_id, amount_minor from plaudit.award_funding order by 1, 2, 3",
    "select dedupe_key from plaudit.outbox order by 1",
]


def check_properties(url: str, budget: str, team_budget: str | None) -> None:
    with psycopg.connect(url) as conn:
        q = conn.execute
        # attribution weights of each piece of feedback sum to exactly 1
        assert q("select response_id, sum(attribution_weight) from intermediate.int_feedback_credited"
                 " where employee_id is not null group by 1 having sum(attribution_weight) <> 1").fetchall() == []
        # the mart's posted entries are the ledger's rows as posted, whatever the rules say now
        assert q("select entry_id, employee_id, points, period from marts.fct_ledger_entries where posted"
                 " except select entry_id, employee_id, points, period from plaudit.ledger_entries").fetchall() == []
        # a balance is the sum of its entries
        assert q("select b.employee_id from marts.fct_employee_balances b"
                 " left join (select employee_id, sum(points) p from marts.fct_ledger_entries group by 1) l"
                 " using (employee_id) where b.balance_points <> coalesce(l.p, 0)").fetchall() == []
        # funding legs sum to the award
        assert q("select a.award_id from plaudit.awards a left join plaudit.award_funding f using (award_id)"
                 " where a.status <> 'deferred' group by a.award_id, a.amount_minor"
                 " having coalesce(sum(f.amount_minor), -1) <> a.amount_minor").fetchall() == []
        assert q("select count(*) from plaudit.award_funding where amount_minor < 0").fetchone() == (0,)
        # no budget is overspent (so none goes negative): the program's, and team T1's
        (spent,) = q("select coalesce(max(s), 0) from (select sum(amount_minor) s from plaudit.awards"
                     " where status in ('pending', 'approved') group by period) t").fetchone()
        assert spent <= round(float(budget) * 100)
        if team_budget:
            (t1,) = q("select coalesce(max(s), 0) from (select sum(amount_minor) s from plaudit.awards"
                      " where status in ('pending', 'approved') and team = 'T1' group by period) t").fetchone()
            assert t1 <= round(float(team_budget) * 100)
        # nobody outside the covered roles earns from feedback
        assert q("select l.entry_id from plaudit.ledger_entries l join raw.employees e using (employee_id)"
                 " where l.source_kind = 'feedback' and e.role not in ('customer_service', 'tech_support')"
                 ).fetchall() == []


@settings(max_examples=int(os.environ.get("PLAUDIT_PROPERTY_EXAMPLES", "3")), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(world=worlds())
def test_properties_hold_for_generated_programs_and_data(world, empty_database, prefect_harness, tmp_path_factory,
                                                          monkeypatch):
    home = tmp_path_factory.mktemp("world")
    monkeypatch.setenv("PLAUDIT_DB_NAME", empty_database("t"))
    monkeypatch.setenv("PLAUDIT_INBOX_DIR", str(home / "inbox"))
    monkeypatch.setenv("PLAUDIT_PROGRAMS_DIR", str(home / "programs"))
    monkeypatch.setenv("PLAUDIT_OUT_DIR", str(home / "out"))
    monkeypatch.setenv("PLAUDIT_HASH_KEY", "property-key")
    write_world(world, home / "inbox", home / "programs")
    url = db.database_url()

    nightly(night=date(2026, 10, 31), program="prop")
    check_properties(url, world[3]["budget"], world[3]["team_budget"])
    with psycopg.connect(url) as conn:
        before = [conn.execute(s).fetchall() for s in STATE]
    again = nightly(night=date(2026, 10, 31), program="prop")
    assert again["ledger_entries_posted"] == 0
    with psycopg.connect(url) as conn:
        assert [conn.execute(s).fetchall() for s in STATE] == before
