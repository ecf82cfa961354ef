"""The rules engine on the demo data: every rule of the demo program lands in
the ledger, entries and awards explain themselves, and a program diff
publishes nothing. Real embedded PostgreSQL, real dbt build, real GX gate."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import yaml

from flows.digests import weekly_digest
from flows.nightly import nightly
from flows.publish.retractions import retract
from flows.transform import dbt
from plaudit import program as program_schema
from plaudit.demo_data import generate
from plaudit.errors import GateFailed

ROOT = Path(__file__).resolve().parents[1]
ENTRY_KINDS = {"feedback_points", "nomination_points", "streak_bonus", "milestone", "challenge_bonus",
               "leaderboard_bonus", "tier_bonus"}


@pytest.mark.slow
def test_the_demo_program_uses_every_rule_and_explains_itself(fresh_db, tmp_path, prefect_harness,
                                                               balances_off_the_ledger, ledger_mart_rows,
                                                               plaudit_in_process):
    generate(tmp_path / "inbox")
    summary = nightly(night=date(2026, 10, 31), program="demo")
    assert summary["ledger_entries_posted"] > 1000 and summary["rows_quarantined"] == 0

    # the dbt unit tests (hand-worked rows for every rule; nights leave them out) all pass
    units = dbt.build(fresh_db, night="2026-10-31", program="demo", select="test_type:unit", command="test",
                      unit_tests=True)
    declared = sum(len(yaml.safe_load(f.read_text()).get("unit_tests") or [])
                   for f in (ROOT / "dbt_project" / "models").rglob("*.yml"))
    assert units.unit_tests_passed == declared >= 28 and not units.failures

    with psycopg.connect(fresh_db) as conn:
        kinds = dict(conn.execute("select entry_kind, count(*) from plaudit.ledger_entries group by 1").fetchall())
        assert ENTRY_KINDS <= set(kinds), kinds
        # comment-named credit (the demo uses `credit`): some feedback went to the employee the comment named
        (named,) = conn.execute(
            "select count(*) from intermediate.int_feedback_credited where attribution_model = 'comment_named'"
        ).fetchone()
        assert named > 0
        # caps: something was held back, and it is on the entries, not lost
        (capped,) = conn.execute("select sum(capped_points) from plaudit.ledger_entries").fetchone()
        assert capped > 0
        # balances derive from the ledger; every employee with points holds a tier
        assert balances_off_the_ledger(fresh_db) == []
        tiers = {r[0] for r in conn.execute("select distinct tier_name from marts.fct_employee_balances")}
        assert {"Bronze", "Silver"} <= tiers
        # the leaderboard ranks only those with enough feedback, and the top 3 got the bonus
        top = conn.execute("select employee_id from marts.fct_leaderboard where period = '2026-10'"
                           " and leaderboard_rank <= 3 order by leaderboard_rank").fetchall()
        bonus = conn.execute("select employee_id from plaudit.ledger_entries where entry_kind = 'leaderboard_bonus'"
                             " order by employee_id").fetchall()
        assert sorted(top) == bonus and len(bonus) == 3
        (under,) = conn.execute("select count(*) from marts.fct_leaderboard where responses < 8").fetchone()
        assert under == 0
        capped_entry, award_id = conn.execute(
            "select l.entry_id, a.award_id from plaudit.ledger_entries l join plaudit.awards a"
            " on a.employee_id = l.employee_id and a.period = l.period"
            " where l.capped_points > 0 and l.source_kind = 'feedback' order by l.entry_id limit 1"
        ).fetchone()
        # the recognition email says the tier and the distance to the next one (issue 6)
        (body,) = conn.execute(
            "select body_text from plaudit.outbox where template = 'recognition' and body_text like '%%points to Gold%%'"
            " limit 1").fetchone()
        assert re.search(r"Your tier: (Bronze|Silver) · [\d.,]+ points to (Silver|Gold)", body), body
        posted_before = conn.execute("select count(*) from plaudit.ledger_entries").fetchone()
        caps_built = dict(conn.execute(CAPS_BUILT).fetchall())
        marts_before = conn.execute("select count(*), sum(points) from marts.fct_ledger_entries").fetchone()

    # the weekly team broadcast lists the milestones, streaks and tiers reached
    weekly_digest(week_ending=date(2026, 10, 25), program="demo")
    with psycopg.connect(fresh_db) as conn:
        (broadcast,) = conn.execute(
            "select body_text from plaudit.outbox where template = 'team_broadcast'"
            " and body_text like '%%Milestones reached%%' limit 1").fetchone()
    assert re.search(r"- .+: (milestone: |reached |streak: |challenge completed: ).+\(\+\d+ points\)", broadcast)

    r = plaudit_in_process("explain", "ledger", capped_entry[:10])
    assert re.search(r"rule\s+\w+: \w+ \d+–\d+ → [\d.]+ points", r.output)
    assert "held back by the caps" in r.output and "share 1.000000" in r.output
    assert "@" not in r.output.split("comment", 1)[1].splitlines()[0]  # no customer address
    r = plaudit_in_process("explain", "award", award_id, "--json")
    assert '"monthly_budget_minor": 95000' in r.output and '"entries_by_kind"' in r.output
    r = plaudit_in_process("explain", "award", "nope", ok=False)
    assert r.exit_code != 0 and "no award 'nope'" in str(r.exception)  # main() prints it

    # dbt docs generate succeeds and catalogs every mart column

    catalog = json.loads((dbt.docs_generate(fresh_db) / "catalog.json").read_text())
    marts = {n["metadata"]["name"]: n for n in catalog["nodes"].values() if n["metadata"]["schema"] == "marts"}
    assert {"fct_ledger_entries", "fct_employee_balances", "fct_award_proposals", "fct_leaderboard"} <= set(marts)
    assert "tier_name" in marts["fct_employee_balances"]["columns"]

    # a program diff computes both files and publishes nothing
    new = tmp_path / "new.yml"
    new.write_text((ROOT / "programs" / "demo.yml").read_text().replace('per_month: "250"', 'per_month: "100"'))
    r = plaudit_in_process("program", "diff", str(ROOT / "programs" / "demo.yml"), str(new), "--period", "2026-10",
                           "--json")
    d = json.loads(r.output[r.output.index("{"):])
    assert Decimal(d["totals"]["new_points"]) < Decimal(d["totals"]["old_points"])
    assert d["totals"]["employees_changed"] > 0
    # a lower cap can only take points away (bonuses do not depend on capped amounts, tiers may come later)
    assert all(Decimal(e["delta_points"]) <= 0 for e in d["employees"])
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select count(*) from plaudit.ledger_entries").fetchone() == posted_before
        assert conn.execute("select count(*), sum(points) from marts.fct_ledger_entries").fetchone() == marts_before
        assert conn.execute("select count(*) from plaudit.program_versions where program <> 'demo'").fetchone() == (0,)
        assert conn.execute("select count(*) from pg_namespace where nspname like 'diff%'").fetchone() == (0,)

    # milestones and challenges of a later night are counted from its first changed period on, after the
    # earlier periods' tallies: the same as counting over all history (an event numbered from 1 again in
    # November would reach `first_five_star` a second time). Publishing the night's entries does not make
    # the caps compute their periods again: the ledger posts what the caps computed, in their fill order.
    # Streaks likewise: a run that reached the end of October goes on in November (Monday Nov 2 is
    # November's first working day, so a run longer than a day there began in October).
    dbt.build(fresh_db, night="2026-11-02", program="demo")
    with psycopg.connect(fresh_db) as conn:
        incremental = conn.execute(EVENT_BONUSES).fetchall()
        streaks = conn.execute(STREAKS).fetchall()
        caps = conn.execute(CAPS).fetchall()
        tiers = conn.execute(TIERS).fetchall()
        built = dict(conn.execute("select period, max(_built_at) from intermediate.int_event_bonuses_by_period"
                                  " group by 1").fetchall())
        streaks_built = dict(conn.execute("select period, max(_built_at)"
                                          " from intermediate.int_streak_bonuses_by_period group by 1").fetchall())
        tiers_built = dict(conn.execute("select period, max(_built_at)"
                                        " from intermediate.int_tier_bonuses_by_period group by 1").fetchall())
        caps_built_after = dict(conn.execute(CAPS_BUILT).fetchall())
    ledger = ledger_mart_rows(fresh_db)
    assert built["2026-10"] < built["2026-11"]  # October was not computed again
    assert streaks_built["2026-10"] < streaks_built["2026-11"]
    assert tiers_built["2026-10"] < tiers_built["2026-11"]  # the tiers go on from October's stored points
    assert any(r[1] == "2026-11" and r[0] for r in tiers)  # a tier reached in November
    assert any(r[1] == "2026-11" and r[4] for r in incremental)  # November's tallies
    assert any(r[1] == "2026-11" and r[0] is None and r[5] > 1 for r in streaks)  # a run carried on
    assert caps_built_after["2026-10"] == caps_built["2026-10"]  # nor were October's caps
    dbt.build(fresh_db, night="2026-11-02", program="demo")  # nothing new: no period computed again
    with psycopg.connect(fresh_db) as conn:
        assert dict(conn.execute("select period, max(_built_at) from intermediate.int_event_bonuses_by_period"
                                 " group by 1").fetchall()) == built
        assert dict(conn.execute("select period, max(_built_at) from intermediate.int_streak_bonuses_by_period"
                                 " group by 1").fetchall()) == streaks_built
    dbt.build(fresh_db, night="2026-11-02", program="demo", full_refresh=True)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute(EVENT_BONUSES).fetchall() == incremental
        assert conn.execute(STREAKS).fetchall() == streaks
        assert conn.execute(CAPS).fetchall() == caps
        assert conn.execute(TIERS).fetchall() == tiers
    assert ledger_mart_rows(fresh_db) == ledger


@pytest.mark.slow
def test_caps_event_bonuses_and_fairness_compute_again_from_the_first_changed_day_of_a_month(
        fresh_db, tmp_path, prefect_harness):
    """The demo program's caps (40 points a day, 250 a month), milestones and challenges, and
    fairness, night by night within October. A night that adds a day computes that day alone: the month's cap goes on
    from what the days before filled (posted ones, then unposted ones), and events are numbered on
    from the month's stored tallies; fairness sums that day's feedback alone, and adds up the
    month's stored days. A retraction of a posted rating on an earlier day computes the whole month
    of caps again (posted entries fill first). Each equals a full refresh."""
    generate(tmp_path / "inbox")
    nightly(night=date(2026, 10, 26), program="demo")  # publishes October to the 26th

    def read(sql: str) -> list[tuple]:
        with psycopg.connect(fresh_db) as conn:
            return conn.execute(sql).fetchall()

    def build(night: str) -> tuple[list[tuple], list[tuple], list[tuple]]:
        dbt.build(fresh_db, night=night, program="demo",
                  select="+int_event_bonuses_by_period +int_employee_fairness_periods")
        return read(CAPS_OF_DEMO), read(EVENT_BONUSES), read(FAIRNESS_OF_DEMO)

    def same_as_full_refresh(night: str, incremental: tuple[list[tuple], list[tuple], list[tuple]]) -> None:
        # (the views between them too: a table built anew drops the views on it)
        dbt.build(fresh_db, night=night, program="demo", full_refresh=True, command="run",
                  select="int_points_capped_by_period int_points_capped int_employee_events"
                         " int_feedback_event_bonuses_by_period int_served_event_bonuses_by_period"
                         " int_event_bonuses_by_period int_fairness_days int_employee_fairness_periods"
                         " int_employee_fairness")
        assert (read(CAPS_OF_DEMO), read(EVENT_BONUSES), read(FAIRNESS_OF_DEMO)) == incremental

    first, events_first = dict(read(CAPS_DAYS_BUILT)), read(EVENT_ENTRIES_BUILT)
    fairness_first, fairness_before = dict(read(FAIRNESS_DAYS_BUILT)), read(FAIRNESS_OF_DEMO)
    for night in ("2026-10-26", "2026-10-27"):  # (the first takes in what the night posted)
        dbt.build(fresh_db, night=night, program="demo", select="+int_ledger_corrections_by_program")
    # the corrections compare the posted entries of the days the caps computed: none posted on the 27th
    # (by period, every entry posted in October)
    assert read("select compared_entries from intermediate.int_ledger_corrections_by_program"
                " where program = 'demo' and entry_id is null") == [(0,)]
    build("2026-10-27")
    caps, events, fairness = incremental = build("2026-10-28")  # after a day computed and not posted
    second, events_second = dict(read(CAPS_DAYS_BUILT)), read(EVENT_ENTRIES_BUILT)
    assert {d: second[d] for d in first} == first  # the 26 days before were not computed again
    assert second[date(2026, 10, 27)] < second[date(2026, 10, 28)]
    assert [r for r in events_second if r[1] < date(2026, 10, 27)] == events_first  # nor their bonuses
    fairness_second = dict(read(FAIRNESS_DAYS_BUILT))  # nor their fairness sums
    assert {d: fairness_second[d] for d in fairness_first} == fairness_first
    assert fairness_second[date(2026, 10, 27)] < fairness_second[date(2026, 10, 28)]
    # October's fairness, added up from its stored days, took in the 27th and 28th's feedback
    assert sum(r[2] for r in fairness if r[1] == "2026-10") > sum(r[2] for r in fairness_before if r[1] == "2026-10")
    # the month's cap held back points of the days computed alone, where their day's cap did not
    month_capped = [r for r in caps if r[1] >= date(2026, 10, 27) and r[4] > 0 and r[5] <= 40]
    assert month_capped, "no entry of Oct 27-28 held back by the month's cap: the test shows nothing"
    # milestones and challenges were reached on the days numbered alone
    assert {r[1] for r in events_second} & {date(2026, 10, 27), date(2026, 10, 28)}
    assert any(r[4] and r[1] == "2026-10" for r in events)  # October's tallies, on from the stored ones
    same_as_full_refresh("2026-10-28", incremental)

    # a rating of Oct 5, posted, is retracted: October is computed again from its start
    (response_id,) = read("select source_id from plaudit.ledger_entries where source_kind = 'feedback'"
                          " and effective_at < '2026-10-06' and effective_at >= '2026-10-05' and points > 0"
                          " order by source_id limit 1")[0]
    retract(fresh_db, "demo", response_id, "E0001", "the customer withdrew it")
    before = dict(read(CAPS_DAYS_BUILT))
    incremental = build("2026-10-28")
    after = dict(read(CAPS_DAYS_BUILT))
    assert all(after[d] > before[d] for d in before if d.month == 10)
    assert response_id not in {r[2] for r in incremental[0]}
    same_as_full_refresh("2026-10-28", incremental)

    # caps written by period, before the table had a day (the column added with nulls): the next
    # build computes everything, and the old rows go
    with psycopg.connect(fresh_db) as conn:
        conn.execute("update intermediate.int_points_capped_by_period set entry_day = null")
    assert build("2026-10-28") == incremental
    assert read("select count(*) from intermediate.int_points_capped_by_period where entry_day is null") == [(0,)]

    # fairness periods from before the sums by day (a mark of the credits, not of the days): the next
    # build computes every period, and the table takes the new mark
    fairness_columns = ("select column_name from information_schema.columns where table_schema = 'intermediate'"
                        " and table_name = 'int_employee_fairness_periods' and column_name like '\\_%'")
    with psycopg.connect(fresh_db) as conn:
        conn.execute("alter table intermediate.int_employee_fairness_periods"
                     " rename column _days_built_at to _credits_built_at")
        conn.execute("update intermediate.int_employee_fairness_periods set shrunk_score = 0")
    assert build("2026-10-28") == incremental
    assert read(fairness_columns) == [("_days_built_at",)]

    # the event bonuses as one table, as before 2026-12-06 (the view's rows, with their own marks): the
    # next build replaces it with the view of the two tables, and computes the same
    posted_bonuses = ("select l.entry_id from plaudit.ledger_entries as l"
                      " join intermediate.int_event_bonuses_by_period as e using (entry_id) order by 1")
    posted_before = read(posted_bonuses)
    assert posted_before, "no milestone or challenge posted: the upgrade below shows nothing of the ledger"
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create table intermediate.old_event_bonuses as"
                     " select *, _built_at as _capped_built_at, null::timestamptz as _served_built_at,"
                     " null::timestamptz as _program_loaded_at from intermediate.int_event_bonuses_by_period")
        conn.execute("drop view intermediate.int_event_bonuses_by_period cascade")
        conn.execute("alter table intermediate.old_event_bonuses rename to int_event_bonuses_by_period")
    dbt.build(fresh_db, night="2026-10-28", program="demo")  # (the views on the old table went with it)
    assert read(EVENT_BONUSES) == incremental[1]
    assert read("select relkind from pg_class where relname = 'int_event_bonuses_by_period'") == [("v",)]
    # the posted bonuses, computed again by the new tables, keep their ids: none is to be posted twice
    assert read(posted_bonuses) == posted_before


# (entry_id, entry_day, source_id, points, capped_points, the positive points of the employee's day before caps)
CAPS_OF_DEMO = ("select entry_id, entry_day, source_id, points, capped_points,"
                " sum(greatest(points + capped_points, 0)) over (partition by employee_id, entry_day)"
                " from intermediate.int_points_capped_by_period where program = 'demo' and entry_id is not null"
                " order by entry_id")
CAPS_DAYS_BUILT = ("select entry_day, max(_built_at) from intermediate.int_points_capped_by_period"
                   " where program = 'demo' and entry_id is not null group by 1")
FAIRNESS_OF_DEMO = ("select employee_id, period, responses, effective_responses, observed_score, baseline_score,"
                    " shrunk_score, leaderboard_rank from intermediate.int_employee_fairness_periods"
                    " where program = 'demo' order by 2, 1")
FAIRNESS_DAYS_BUILT = ("select entry_day, max(_built_at) from intermediate.int_fairness_days"
                       " where program = 'demo' group by 1")
EVENT_ENTRIES_BUILT = ("select entry_id, entry_day, _built_at from intermediate.int_event_bonuses_by_period"
                       " where program = 'demo' and entry_id is not null order by 1")


TIERS = ("select entry_id, period, employee_id, source_id, effective_at, month_points, leaderboard_points"
         " from intermediate.int_tier_bonuses_by_period where program = 'demo' and employee_id is not null"
         " order by period, employee_id, entry_id nulls first")
CAPS = ("select entry_id, period, points, capped_points from intermediate.int_points_capped_by_period"
        " where program = 'demo' and entry_id is not null order by entry_id")
CAPS_BUILT = ("select period, max(_built_at) from intermediate.int_points_capped_by_period"
              " where program = 'demo' group by 1")
STREAKS = ("select entry_id, period, employee_id, source_id, working_day_no, run_days, points, effective_at"
           " from intermediate.int_streak_bonuses_by_period where program = 'demo' and employee_id is not null"
           " order by 2, 3, 1 nulls first")
EVENT_BONUSES = ("select entry_id, period, entry_kind, employee_id, metric, events, points, effective_at"
                 " from intermediate.int_event_bonuses_by_period where program = 'demo' and employee_id is not null"
                 " order by 2, 4, 5, 1")


@pytest.mark.slow
def test_incremental_attribution_handles_late_feedback_and_changed_participants(e2e, tmp_path):
    """After a first night, a late rating arrives for a two-week-old interaction (R9 on I1) and B1's
    touch of I2 before the rating shows up late (R2 is now shared). The incremental build recomputes
    just those responses, and the result equals a full rebuild."""

    url, _, _ = e2e
    nightly(night=date(2026, 10, 31), program="e2e")
    with psycopg.connect(url) as conn:
        served_first = {r[:2]: r[2:] for r in conn.execute(SERVED).fetchall()}
    # customers served: C1 is back office, T1 was terminated before touching I3
    assert set(served_first) == {("I1", "A1"), ("I1", "B1"), ("I2", "A1"), ("I2", "B1"), ("I5", "B1"),
                                 ("I6", "A1")}
    # a build that writes nothing leaves the statistics alone; one that writes refreshes them (below)
    analysed = ("select analyze_count from pg_stat_user_tables"
                " where relname = 'int_employee_served_events'")
    with psycopg.connect(url) as conn:
        (analyses,) = conn.execute(analysed).fetchone()
    dbt.build(url, night="2026-10-31", program="e2e", select="int_employee_served_events")
    with psycopg.connect(url) as conn:
        assert conn.execute(analysed).fetchone() == (analyses,) and analyses >= 1
    inbox = tmp_path / "inbox"
    (inbox / "feedback_late.csv").write_text(
        "response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at\n"
        "R9,I1,,csat,5,,email,2026-11-01T08:00:00Z\n"
    )
    (inbox / "participants_late.csv").write_text(
        "interaction_id,employee_id,participant_role,touched_at\nI2,B1,assist,2026-10-06T10:00:00Z\n"
        "I6,B1,assist,2026-11-01T09:00:00Z\n"
    )
    assert nightly(night=date(2026, 11, 1), program="e2e")["rows_ingested"] == 3
    with psycopg.connect(url) as conn:
        served = {r[:2]: r[2:] for r in conn.execute(SERVED).fetchall()}
    # B1's late, earlier touch of I2 moves that event; their touch of I6 on 11-01 is one
    assert served[("I2", "B1")][1] == datetime(2026, 10, 6, 10, tzinfo=UTC)
    assert served[("I6", "B1")][1] == datetime(2026, 11, 1, 9, tzinfo=UTC)
    # only the pairs touched since were computed again
    assert served[("I1", "A1")] == served_first[("I1", "A1")]
    assert served[("I2", "B1")][2] > served_first[("I2", "B1")][2]
    with psycopg.connect(url) as conn:
        assert conn.execute(analysed).fetchone()[0] > analyses

    # the weights tests check the responses of the latest build: a share changed there fails them
    weights = "int_feedback_attributed__weights_sum_to_one int_feedback_credited__weights_sum_to_one"
    shares_of_r2 = ("update intermediate.{} set attribution_weight = %s where response_id = 'R2' and employee_id = 'A1'"
                    " and attribution_weight = %s")
    with psycopg.connect(url) as conn:
        for table in ("int_feedback_attributed", "int_feedback_credits"):
            assert conn.execute(shares_of_r2.format(table), (Decimal("0.4"), Decimal("0.5"))).rowcount == 1
    with pytest.raises(GateFailed) as failed:
        dbt.build(url, night="2026-11-01", program="e2e", select=weights, command="test")
    assert str(failed.value).count("weights_sum_to_one") == 2
    with psycopg.connect(url) as conn:
        for table in ("int_feedback_attributed", "int_feedback_credits"):
            conn.execute(shares_of_r2.format(table), (Decimal("0.5"), Decimal("0.4")))

    rows = ("select response_id, employee_id, attribution_weight, _source_watermark"
            " from intermediate.int_feedback_attributed where program = 'e2e' and employee_id is not null"
            " order by 1, 2")
    with psycopg.connect(url) as conn:
        incremental = conn.execute(rows).fetchall()
        ledger = conn.execute("select entry_id, points from marts.fct_ledger_entries order by 1").fetchall()
    shares = {(r, e): w for r, e, w, _ in incremental}
    assert shares[("R2", "A1")] == shares[("R2", "B1")] == Decimal("0.5")  # B1's late touch counts
    assert shares[("R9", "A1")] == shares[("R9", "B1")] == Decimal("0.5")  # the late rating counts
    marks = {r: m for r, _, _, m in incremental}
    first_build = marks["R1"]
    assert marks["R5"] == first_build  # untouched responses were not recomputed
    assert marks["R2"] > first_build and marks["R9"] > first_build

    # (a contract's primary key is named after the table dbt built: `__dbt_tmp` after a full refresh)
    indexes = ("select tablename, replace(indexname, '__dbt_tmp', ''), replace(indexdef, '__dbt_tmp', '')"
               " from pg_indexes where schemaname = 'intermediate' order by 1, 2")
    with psycopg.connect(url) as conn:
        built_with = conn.execute(indexes).fetchall()
    dbt.build(url, night="2026-11-01", program="e2e", full_refresh=True)
    with psycopg.connect(url) as conn:
        full = conn.execute(rows).fetchall()
        # a full refresh builds each table anew: with its indexes, or the next night runs without them
        assert conn.execute(indexes).fetchall() == built_with
        assert ("int_feedback_attributed", "int_feedback_attributed_past_night") in {i[:2] for i in built_with}
        assert conn.execute("select entry_id, points from marts.fct_ledger_entries order by 1").fetchall() == ledger
        assert [r[:4] for r in conn.execute(SERVED).fetchall()] == [k + v[:2] for k, v in sorted(served.items())]
    assert [r[:3] for r in full] == [r[:3] for r in incremental]

    # an earlier night run again after a later one: R9 (given on 11-01) drops out, with a marker row
    dbt.build(url, night="2026-10-31", program="e2e")
    with psycopg.connect(url) as conn:
        earlier = conn.execute(rows).fetchall()
        marker = conn.execute("select employee_id, attribution_model from intermediate.int_feedback_attributed"
                              " where response_id = 'R9'").fetchall()
    assert marker == [(None, "past_night")]
    with psycopg.connect(url) as conn:
        served_earlier = [r[:4] for r in conn.execute(SERVED).fetchall()]
    # B1's touch of I6 is past that night: no event (its old row replaced by a marker)
    assert ("I6", "B1") not in {r[:2] for r in served_earlier}
    dbt.build(url, night="2026-10-31", program="e2e", full_refresh=True)
    with psycopg.connect(url) as conn:
        assert [r[:3] for r in conn.execute(rows).fetchall()] == [r[:3] for r in earlier]
        assert [r[:4] for r in conn.execute(SERVED).fetchall()] == served_earlier
    assert "R9" not in {r[0] for r in earlier}

    # a program version loaded since makes every pair be computed again (its coverage may have
    # changed); the next build, with nothing new, computes none (the test is a constant there)
    with psycopg.connect(url) as conn:
        built = {r[:2]: r[4] for r in conn.execute(SERVED).fetchall()}
    later = tmp_path / "later.yml"
    later.write_text((ROOT / "tests" / "fixtures" / "night" / "program.yml").read_text().replace(
        "effective_from: 2026-01-01", "effective_from: 2027-01-01"))
    with psycopg.connect(url) as conn:
        program_schema.store(conn, program_schema.load(later))
    for again in (True, False):
        dbt.build(url, night="2026-10-31", program="e2e", select="int_employee_served_events")
        with psycopg.connect(url) as conn:
            now_built = {r[:2]: r[4] for r in conn.execute(SERVED).fetchall()}
        assert now_built.keys() == built.keys()
        assert all((now_built[k] > built[k]) is again for k in built), again
        built = now_built


SERVED = ("select interaction_id, employee_id, version_id, event_at, _built_at"
          " from intermediate.int_employee_served_events where program = 'e2e' and event_at is not null"
          " order by 1, 2")
CREDITS = ("select response_id, employee_id, credit_kind, attribution_model, attribution_weight, queue"
           " from intermediate.int_feedback_credited order by 1, 2, 3")
NAMES = ("select response_id, name_key from intermediate.int_feedback_comment_names"
         " where program = 'e2e' and name_key is not null order by 1, 2")
FAIRNESS = ("select employee_id, period, responses, baseline_score, shrunk_score, leaderboard_rank, is_final"
            " from intermediate.int_employee_fairness order by 1, 2")
POINTS = ("select source_kind, source_id, employee_id, entry_kind, points from intermediate.int_points_computed"
          " order by 1, 2, 3, 4")
CAPPED = ("select entry_id, source_id, employee_id, points, capped_points, effective_at from intermediate.int_points_capped"
          " order by 1")
INTERACTIONS = "interaction_id,account_id,customer_id,interaction_kind,channel,queue,opened_at,closed_at,updated_at\n"
HEADER = "employee_id,full_name,email,locale,manager_id,team,cost_centre,role,location,hire_date,status,terminated_on"


@pytest.mark.slow
def test_incremental_credits_follow_new_feedback_new_names_and_changed_employees(e2e, tmp_path):
    """With comment_names: credit, over four nights: new feedback names a participant; a new hire's
    first name turns up in an old comment (every comment is looked at again); a participant's team
    changes back in time, so the team-mate the old comment named is no longer a candidate; then an
    interaction moves to another queue (October's fairness baselines change). Each night recomputes
    only what it can change, and the credits, comment names, fairness and points (before and after
    caps) equal a full rebuild's, on the night, after an earlier night is run again, and after the
    later night is run again."""

    url, _, programs = e2e
    program = programs / "e2e.yml"
    program.write_text(program.read_text().replace("  model: linear\n", "  model: linear\n  comment_names: credit\n"))
    inbox = tmp_path / "inbox"

    def read(sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(url) as conn:
            return conn.execute(sql, params).fetchall()

    def credits_of(response_id: str) -> list[tuple]:
        return [r[1:5] for r in read(CREDITS) if r[0] == response_id]

    def state() -> tuple:  # what each night's checks compare with a full rebuild
        return (read(CREDITS), read(NAMES), read(FAIRNESS), read(POINTS), read(CAPPED), read(COACHING),
                read(TIERS_OF_E2E))

    def built(response_id: str) -> set:
        return {r[0] for r in read("select _built_at from intermediate.int_feedback_credits"
                                   " where program = 'e2e' and response_id = %s", (response_id,))}

    # night 1: R12 on C1's ticket says "Dana", a name nobody has yet
    (inbox / "feedback_dana.csv").write_text(
        "response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at\n"
        "R12,I4,,csat,5,Dana saved the day,email,2026-10-14T12:00:00Z\n"
        "R13,I7,,csat,1,,email,2026-10-22T14:00:00Z\n"
    )
    (inbox / "interactions_i7.csv").write_text(
        INTERACTIONS + "I7,,C7,ticket,email,support,2026-10-22T08:55:00Z,2026-10-22T10:00:00Z,2026-10-22T10:00:00Z\n")
    (inbox / "participants_i7.csv").write_text(
        "interaction_id,employee_id,participant_role,touched_at\nI7,A1,owner,2026-10-22T09:00:00Z\n")
    nightly(night=date(2026, 10, 31), program="e2e")
    assert credits_of("R12") == [("C1", "attributed", "linear", Decimal("1.000000"))]
    assert credits_of("R3") == [("T1", "attributed", "comment_named", Decimal("1.000000"))]  # "Tom was great"
    assert [r[0] for r in credits_of("R1")] == ["A1", "B1"]  # "Alice and Bob": both participants, ambiguous
    r3_built, r4_built = built("R3"), built("R4")
    nomination_built = ("select source_id, _built_at from intermediate.int_points_by_source"
                        " where program = 'e2e' and source_kind = 'nomination' and employee_id is not null")
    n1_built = dict(read(nomination_built))["N1"]

    # night 2: Dana is hired into C1's team (a new employee is a version since always), new feedback
    # on I2 names Bob, and A1 is nominated again
    (inbox / "employees_dana.csv").write_text(
        HEADER + "\nD1,Dana Helper,d1@staff.test.example,en,M1,Back Office,CC-9,back_office,Lyon,2021-01-01,active,\n"
    )
    (inbox / "feedback_bob.csv").write_text(
        "response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at\n"
        "R10,I2,,csat,5,Bob helped a lot,email,2026-11-01T08:00:00Z\n"
    )
    (inbox / "nominations_nov.csv").write_text(
        "nomination_id,employee_id,account_id,customer_id,reason,channel,nominated_at\n"
        "N2,A1,ACME,C1,Alice again,web,2026-11-01T10:00:00Z\n"
    )
    nightly(night=date(2026, 11, 1), program="e2e")
    assert credits_of("R12") == [("D1", "attributed", "comment_named", Decimal("1.000000"))]
    assert credits_of("R10") == [("B1", "attributed", "comment_named", Decimal("1.000000"))]
    # the first names changed: every comment was read again, but only the responses whose names changed
    # were credited again (R12), not one that names the same people (R3) nor one without a comment (R4)
    assert built("R3") == r3_built and built("R4") == r4_built
    # N2 was loaded and earns points; N1, unchanged, was not written again
    assert dict(read(nomination_built)).keys() == {"N1", "N2"} and dict(read(nomination_built))["N1"] == n1_built

    # night 3: C1 moved to Support as customer service on Oct 1st (a correction back in time): at R12,
    # Dana is no team-mate; and C1 is covered by the program then, so R4 (no name in it) earns points
    assert "R4" not in {r[1] for r in read(POINTS)}
    (inbox / "employees_move.csv").write_text(
        HEADER + ",updated_at\n"
        "C1,Carol Backoffice,c1@staff.test.example,en,M1,Support,CC-9,customer_service,Lyon,2021-01-01,active,,"
        "2026-10-01T00:00:00Z\n"
    )
    nightly(night=date(2026, 11, 2), program="e2e")
    assert credits_of("R12") == [("C1", "attributed", "linear", Decimal("1.000000"))]
    assert ("feedback", "R4", "C1", "feedback_points", Decimal("10.00")) in read(POINTS)
    assert built("R3") == r3_built  # Tom's credit does not depend on Carol

    # night 4, nothing but I7 moving to the billing queue, where A1's rating is the only one, I4 loaded
    # again in the same queue, and Bob moving to another cost centre (no name or team changed: R1 and
    # R10, which name him, stay as built)
    october = [r for r in read(FAIRNESS) if r[:2] == ("A1", "2026-10")]
    r1_built, r10_built, r4_built, r13_built = built("R1"), built("R10"), built("R4"), built("R13")
    assert {r[5] for r in read(CREDITS) if r[0] in ("R13", "R4")} == {"support"}
    (inbox / "interactions_move.csv").write_text(
        INTERACTIONS + "I7,,C7,ticket,email,billing,2026-10-22T08:55:00Z,2026-10-22T10:00:00Z,2026-11-02T00:00:00Z\n"
        "I4,,C4,ticket,email,support,2026-10-13T08:55:00Z,2026-10-13T10:00:00Z,2026-11-02T00:00:00Z\n")
    (inbox / "employees_bob.csv").write_text(
        HEADER + ",updated_at\nB1,Bob Agent,b1@staff.test.example,fr,M1,Support,CC-2,customer_service,Lyon,2021-01-01,"
        "active,,2026-11-02T00:00:00Z\n")
    nightly(night=date(2026, 11, 3), program="e2e")
    assert [r for r in read(FAIRNESS) if r[:2] == ("A1", "2026-10")] != october  # another baseline
    assert (built("R1"), built("R10")) == (r1_built, r10_built)
    # R13's credit was written again with I7's new queue; R4's, on I4 in the same queue, was not
    assert [r[5] for r in read(CREDITS) if r[0] == "R13"] == ["billing"]
    assert built("R13") != r13_built and built("R4") == r4_built
    assert ("R13", "A1", "M1") in {r[1:4] for r in read(COACHING)}  # A1's CSAT 1: a coaching item for M1
    incremental = state()

    dbt.build(url, night="2026-11-03", program="e2e", full_refresh=True)
    assert state() == incremental

    # an earlier night again: R10 and R7 (Nov 1st and 2nd) earn nobody; their rows go
    dbt.build(url, night="2026-10-31", program="e2e")
    earlier = state()
    assert not {"R10", "R7"} & {r[0] for r in earlier[0]}
    assert "N2" not in {r[1] for r in earlier[3]}  # nor does N2
    assert "2026-11" not in {r[1] for r in earlier[2]}  # November's fairness rows went with them
    assert read("select count(*) from intermediate.int_feedback_credits where program = 'e2e'"
                " and response_id = 'R10' and employee_id is null") == [(1,)]  # its marker
    # the later night again: the responses marked past the night come back
    dbt.build(url, night="2026-11-03", program="e2e")
    assert state() == incremental
    dbt.build(url, night="2026-10-31", program="e2e")
    assert state() == earlier
    dbt.build(url, night="2026-10-31", program="e2e", full_refresh=True)
    assert state() == earlier


COACHING = "select coaching_item_id, response_id, employee_id, manager_id, score from marts.fct_coaching_items order by 1"
TIERS_OF_E2E = ("select entry_id, period, employee_id, source_id, month_points from intermediate.int_tier_bonuses_by_period"
                " where program = 'e2e' and employee_id is not null order by period, employee_id, entry_id nulls first")
FLAGS = ("select flag_kind, source_kind, source_id, employee_id, detail from intermediate.int_gaming_flags"
         " order by 1, 2, 3, 4")
BALANCES = ("select employee_id, balance_points, entry_count, last_entry_at, rolling_12m_points, tier_name,"
            " points_to_next_tier from marts.fct_employee_balances order by 1")


@pytest.mark.slow
def test_incremental_gaming_flags_follow_late_ratings_moved_customers_and_changed_addresses(e2e, tmp_path,
                                                                                             ledger_mart_rows):
    """One rating per customer and employee within 30 days. R11 comes from A1's own address. Night 2:
    a late rating of B1 by C5 on Oct 19 (R14) makes R5 (C5, Oct 20) the second: the days from Oct 19
    to 30 days later are computed again, R11's Oct 6 is not. Night 3: R14's interaction was another
    customer's: R5's flag goes. Night 4: A1 changed their address: R11's goes. Then R1 is
    retracted. An earlier night (Oct 19) drops R7's flags. A year on, the balances' twelve months
    leave October 2026 out. Each state, flags, points after caps (held and retracted feedback earns
    nothing), the ledger mart and the balances (their posted totals are incremental), equals a full
    rebuild's."""
    url, _, programs = e2e
    prog = programs / "e2e.yml"
    prog.write_text(prog.read_text() + "gaming:\n  repeat_rater: {max_ratings: 1, days: 30}\n")
    inbox = tmp_path / "inbox"

    def read(sql: str, params: tuple | None = None) -> list[tuple]:
        with psycopg.connect(url) as conn:
            return conn.execute(sql, params).fetchall()

    def flags() -> list[tuple]:
        return [(kind, source, employee) for kind, _, source, employee, _ in read(FLAGS)]

    def build_incrementally(night: str) -> tuple:
        dbt.build(url, night=night, program="e2e")
        return read(FLAGS), read(CAPPED), ledger_mart_rows(url), read(BALANCES)

    def same_as_full_rebuild(night: str, incremental: tuple | None = None) -> None:
        """The state an incremental build left (by default, one more build: the mart then takes in
        what the night published) is what a full refresh gives."""
        if incremental is None:
            incremental = build_incrementally(night)
        # (`dbt run`: the data tests ran on the build before; on a full refresh they check nothing more here)
        dbt.build(url, night=night, program="e2e", full_refresh=True, command="run")
        assert (read(FLAGS), read(CAPPED), ledger_mart_rows(url), read(BALANCES)) == incremental

    r11_built = ("select _ratings_built_at from intermediate.int_gaming_flags_by_day"
                 " where program = 'e2e' and source_id = 'R11'")
    (inbox / "feedback_selfie.csv").write_text(
        "response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at,customer_email\n"
        "R11,I2,,csat,5,Great!,email,2026-10-06T12:30:00Z,A1@staff.test.example\n")
    nightly(night=date(2026, 10, 31), program="e2e")
    assert flags() == [("own_address", "R11", "A1")]
    first = read(r11_built)

    # night 2: the late rating
    (inbox / "interactions_late.csv").write_text(
        INTERACTIONS + "I9,,C5,chat,web,support,2026-10-18T08:55:00Z,2026-10-18T10:00:00Z,2026-10-18T10:00:00Z\n")
    (inbox / "participants_late.csv").write_text(
        "interaction_id,employee_id,participant_role,touched_at\nI9,B1,owner,2026-10-18T09:00:00Z\n")
    (inbox / "feedback_late.csv").write_text(
        "response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at\n"
        "R14,I9,,csat,4,,web,2026-10-19T12:00:00Z\n")
    nightly(night=date(2026, 11, 1), program="e2e")
    assert flags() == [("own_address", "R11", "A1"), ("repeat_rater", "R5", "B1")]
    assert read(r11_built) == first  # Oct 6 was not computed again
    days = [d for (d,) in read("select flag_day from intermediate.int_gaming_flags_by_day where program = 'e2e'"
                               " and source_kind = 'feedback' and flag_id is null order by 1")]
    assert days[0] == date(2026, 10, 19) and date(2026, 11, 18) in days and date(2026, 10, 6) not in days
    same_as_full_rebuild("2026-11-01")

    # night 3: I9 was C8's (R7, on Nov 2, is C1's second rating of A1 and B1 since Oct 5); I4 is loaded
    # again, still C4's: R14's rating is written again, R4's is not
    def rating_built(response_id: str) -> list[tuple]:
        return read("select _built_at from intermediate.int_gaming_ratings"
                    " where program = 'e2e' and response_id = %s", (response_id,))
    r4_rating, r14_rating = rating_built("R4"), rating_built("R14")
    (inbox / "interactions_fix.csv").write_text(
        INTERACTIONS + "I9,,C8,chat,web,support,2026-10-18T08:55:00Z,2026-10-18T10:00:00Z,2026-11-02T00:00:00Z\n"
        "I4,,C4,ticket,email,support,2026-10-13T08:55:00Z,2026-10-13T10:00:00Z,2026-11-02T00:00:00Z\n")
    nightly(night=date(2026, 11, 2), program="e2e")
    assert flags() == [("own_address", "R11", "A1"), ("repeat_rater", "R7", "A1"), ("repeat_rater", "R7", "B1")]
    assert rating_built("R4") == r4_rating and rating_built("R14") != r14_rating and r4_rating
    same_as_full_rebuild("2026-11-02")  # R5 earns again: October's caps were computed again

    # night 4: A1's address is another now
    (inbox / "employees_fix.csv").write_text(
        HEADER + ",updated_at\n"
        "A1,Alice Agent,alice@staff.test.example,en,M1,Support,CC-1,customer_service,Lyon,2021-01-01,active,,"
        "2026-11-03T00:00:00Z\n")
    nightly(night=date(2026, 11, 3), program="e2e")
    assert flags() == [("repeat_rater", "R7", "A1"), ("repeat_rater", "R7", "B1")]
    same_as_full_rebuild("2026-11-03")

    # R1 retracted, and the models built again (nothing published since the rebuild)
    assert {"R1"} <= {r[1] for r in read(CAPPED)}
    retract(url, "e2e", "R1", "M1", "the customer withdrew it")
    built = build_incrementally("2026-11-03")
    assert "R1" not in {r[1] for r in read(CAPPED)}
    same_as_full_rebuild("2026-11-03", built)

    # an earlier night: R7 (Nov 2) is past it, its flags go, and the mart drops what later nights posted
    posted_later = "select count(*) from marts.fct_ledger_entries where effective_at >= '2026-10-20'"
    assert read(posted_later) != [(0,)]
    built = build_incrementally("2026-10-19")
    assert flags() == [] and read(posted_later) == [(0,)]
    same_as_full_rebuild("2026-10-19", built)
    # and the nights move on again: the entries posted for the later days come back
    built = build_incrementally("2026-11-03")
    assert read(posted_later) != [(0,)]
    same_as_full_rebuild("2026-11-03", built)

    # a year on: what is older than twelve months leaves the tiers' points, not the balance
    before = {r[0]: r for r in read(BALANCES)}
    same_as_full_rebuild("2027-10-20")
    after = {r[0]: r for r in read(BALANCES)}
    assert any(after[e][4] < before[e][4] and after[e][1] == before[e][1] for e in before)
