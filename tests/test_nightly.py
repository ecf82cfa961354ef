"""The nightly flow end to end on the hand-made fixture in tests/fixtures/night.

Expected numbers, worked out by hand from the CSV files and program.yml
(linear attribution; csat 5 → 10, csat 4 → 5, nps 9–10 → 10, nomination → 20;
0.50 EUR a point; auto-approve up to 10.00 EUR):

  R1  I1 csat 5, A1 and B1 touched before the rating  → A1 5.00, B1 5.00
  R2  I2 csat 4, B1 touched only after the rating     → A1 5.00
  R3  T1 was terminated on 10-10, rating on 10-12     → nothing
  R4  C1 is back office, not covered                  → nothing
  R5  I5 nps 10                                       → B1 10.00
  R6  csat 2 has no band                              → nothing
  R7  given on 11-02, after the night                 → nothing yet
  R8  csat 9                                          → quarantined
  N1  nomination                                      → A1 20.00

  A1: 30 points → 15.00 EUR, above 10.00 → pending, manager M1
  B1: 15 points →  7.50 EUR              → auto-approved, 1 email
"""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from flows.publish.approvals import decide
from plaudit.errors import ApprovalError, GateFailed

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "night"
NIGHT = date(2026, 10, 31)


def run(night: date = NIGHT, **kw):
    from flows.nightly import nightly

    return nightly(night=night, program="e2e", **kw)


def snapshot(emails_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(emails_dir.glob("*.eml"))}


def test_a_night_end_to_end_then_again_publishes_nothing_twice(e2e):
    url, emails_dir, _ = e2e
    s = run()
    assert s["rows_ingested"] == 5 + 1 + 6 + 8 + 7 + 1
    assert s["rows_quarantined"] == 1
    # the whole ledger, but 5 entries: far below a catch-up's 100,000, so the next build takes them in
    assert (s["ledger_entries_posted"], s["ledger_caught_up"]) == (5, False) and "catch_up" in s["stages"]
    assert (s["awards_auto_approved"], s["awards_pending"], s["awards_deferred"]) == (1, 1, 0)
    assert s["emails_written"] == 1

    with psycopg.connect(url) as conn:
        points = dict(conn.execute(
            "select employee_id, sum(points) from plaudit.ledger_entries group by 1").fetchall())
        assert points == {"A1": Decimal("30.00"), "B1": Decimal("15.00")}
        by_source = sorted(conn.execute(
            "select source_id, employee_id, points, rule_id from plaudit.ledger_entries").fetchall())
        assert by_source == [
            ("N1", "A1", Decimal("20.00"), "nomination"),
            ("R1", "A1", Decimal("5.00"), "csat_5"),
            ("R1", "B1", Decimal("5.00"), "csat_5"),
            ("R2", "A1", Decimal("5.00"), "csat_4"),
            ("R5", "B1", Decimal("10.00"), "nps_promoter"),
        ]
        awards = sorted(conn.execute(
            "select employee_id, period, amount_minor, currency, status from plaudit.awards").fetchall())
        assert awards == [("A1", "2026-10", 1500, "EUR", "pending"), ("B1", "2026-10", 750, "EUR", "approved")]
        (reason,) = conn.execute("select reason from plaudit.quarantine").fetchone()
        assert reason == "score 9 is outside the csat scale"

    [eml] = emails_dir.glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "Bob Agent <b1@staff.test.example>"
    assert msg["Message-ID"] == f"<{eml.stem}@plaudit.invalid>"
    assert [p.get_content_type() for p in msg.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert msg["Subject"] == "Bob, vos clients l’ont remarqué"  # Bob's locale is fr
    for body in (html, text):
        assert "octobre 2026" in body and "15 points" in body and "7,50\u00a0€" in body
        assert "Votre responsable" in body and "Maria Manager" in body
        assert "7946" not in body and "[phone removed]" in body  # customer contact details masked
    assert "&lt;script&gt;" in html and "<script>" not in html  # customer text escaped
    assert "Bob was great &amp; kind" in html

    before = snapshot(emails_dir)
    again = run()
    assert (again["rows_ingested"], again["ledger_entries_posted"], again["emails_written"]) == (0, 0, 0)
    assert (again["awards_auto_approved"], again["awards_pending"]) == (0, 0)
    assert snapshot(emails_dir) == before

    with psycopg.connect(url) as conn:
        statuses = [r[0] for r in conn.execute("select status from plaudit.runs order by started_at")]
        assert statuses == ["completed", "completed"]


def test_approvals_refuse_what_they_must_and_an_approval_sends_one_email(e2e):
    url, emails_dir, _ = e2e
    run()
    with psycopg.connect(url) as conn:
        (award_id,) = conn.execute("select award_id from plaudit.awards where employee_id = 'A1'").fetchone()
        (auto_id,) = conn.execute("select award_id from plaudit.awards where employee_id = 'B1'").fetchone()

    with pytest.raises(ApprovalError, match="own award"):
        decide(url, award_id, "A1", "approved", "me")
    with pytest.raises(ApprovalError, match="not in the manager chain"):
        decide(url, award_id, "B1", "approved", "colleague")
    with pytest.raises(ApprovalError, match="no award with id"):
        decide(url, "nope", "M1", "approved", "x")
    with pytest.raises(ApprovalError, match="already approved by plaudit:auto"):
        decide(url, auto_id, "M1", "rejected", "x")

    r = decide(url, award_id, "M1", "approved", "great month")
    assert r["emails_queued"] == 1
    with pytest.raises(ApprovalError, match="already approved by M1"):
        decide(url, award_id, "M1", "approved", "twice")

    s = run(date(2026, 11, 1))
    assert s["emails_written"] == 1 and s["ledger_entries_posted"] == 0
    assert len(list(emails_dir.glob("*.eml"))) == 2
    with psycopg.connect(url) as conn:
        decision = conn.execute(
            "select decision, decided_by, reason from plaudit.approval_decisions where award_id = %s", [award_id]
        ).fetchone()
        assert decision == ("approved", "M1", "great month")


def test_a_dry_run_reports_and_publishes_nothing(e2e):
    url, emails_dir, _ = e2e
    from flows.ingest.inbox import ingest_inbox
    from plaudit import settings

    s = settings.load()
    results, refused = ingest_inbox(url, s.inbox_dir, s.mappings_dir)
    assert len(results) == 6 and refused == []
    s = run(dry_run=True)
    assert (s["ledger_entries_posted"], s["awards_auto_approved"], s["awards_pending"]) == (5, 1, 1)
    assert s["emails_written"] == 0
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from plaudit.ledger_entries").fetchone()[0] == 0
        assert conn.execute("select count(*) from plaudit.awards").fetchone()[0] == 0
        assert conn.execute("select count(*) from plaudit.outbox").fetchone()[0] == 0
    assert not emails_dir.exists() or not any(emails_dir.iterdir())


def test_a_failing_expectation_stops_publication_and_names_itself(e2e):
    url, emails_dir, programs = e2e
    prog = programs / "e2e.yml"
    prog.write_text(prog.read_text().replace('max_award: "100.00"', 'max_award: "10.00"'))
    with pytest.raises(GateFailed) as exc:
        run()
    msg = str(exc.value)
    assert "award_proposals: expect_column_values_to_be_between on amount_minor" in msg
    assert "1 unexpected, e.g. [1500]" in msg
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from plaudit.ledger_entries").fetchone()[0] == 0
        assert conn.execute("select count(*) from plaudit.awards").fetchone()[0] == 0
        (status, error) = conn.execute("select status, error from plaudit.runs").fetchone()
        assert status == "failed" and "expect_column_values_to_be_between" in error
        # the marts are kept for inspection
        assert conn.execute("select count(*) from marts.fct_award_proposals").fetchone()[0] == 2
    assert not emails_dir.exists() or not any(emails_dir.iterdir())


def test_the_ledger_gate_checks_what_the_night_would_post_not_what_is_posted(e2e):
    """The ledger suite runs on fct_ledger_entries_to_post: a bad entry still to post stops the
    night; the entries posted before are not validated again (they cannot change)."""
    from expectations.checkpoint import run_checkpoint

    url, _, _ = e2e
    to_post = "select count(*) from marts.fct_ledger_entries_to_post"
    unposted = "select count(*) from intermediate.int_unposted_ledger_entries where entry_id <> ''"
    run()
    params = {"night_end": "2026-11-01T00:00:00+00:00", "max_award_minor": 10_000}
    with psycopg.connect(url) as conn:
        # the build before the publish step found five entries to post: the mart reads them as posted now
        assert conn.execute(unposted).fetchone()[0] == 5
        assert conn.execute("select count(*) from marts.fct_ledger_entries where posted").fetchone()[0] == 5
        assert conn.execute(to_post).fetchone()[0] == 0
    run()  # built again: nothing left to post
    with psycopg.connect(url) as conn:
        assert conn.execute(unposted).fetchone()[0] == 0
        # the marker row keeps the build's marks: the next build goes on from them
        assert conn.execute("select _ledger_posted_at from intermediate.int_unposted_ledger_entries"
                            " where entry_id = ''").fetchone() == conn.execute(
            "select max(posted_at) from plaudit.ledger_entries").fetchone()
        # a posted entry held wrong by the build is history: not checked again
        made_up = """
            insert into intermediate.int_unposted_ledger_entries (entry_id, program, version_id, employee_id,
                entry_kind, source_kind, source_id, rule_id, attribution_weight, multiplier, points, capped_points,
                period, effective_at)
            select {}, program, version_id, employee_id, 'made_up', source_kind, 'R-new', rule_id,
                attribution_weight, multiplier, points, capped_points, period, effective_at
            from plaudit.ledger_entries where employee_id = %s limit 1
        """
        conn.execute(made_up.format("entry_id"), ["A1"])
    assert run_checkpoint(url, params).success

    with psycopg.connect(url) as conn:
        conn.execute(made_up.format("md5('new')"), ["B1"])
        assert conn.execute(to_post).fetchone()[0] == 1
    with pytest.raises(GateFailed) as exc:
        run_checkpoint(url, params)
    assert "ledger_entries: expect_column_values_to_be_in_set on entry_kind" in str(exc.value)
    assert "1 unexpected, e.g. ['made_up']" in str(exc.value)


def test_data_tests_on_an_incremental_model_check_the_rows_its_latest_build_wrote(e2e):
    """`where: "__latest_build__"` (dbt_project/macros/tests.sql): rows written before were
    checked by the build that wrote them; the next night checks its own rows only."""
    from flows.transform import dbt

    url, _, _ = e2e
    run()
    with psycopg.connect(url) as conn:
        conn.execute("update intermediate.int_feedback_attributed set attribution_model = 'made_up',"
                     " attribution_weight = attribution_weight / 2 where response_id = 'R1'")
    run(date(2026, 11, 2))  # R7, given on 11-02, is attributed now: the build's only new rows
    with psycopg.connect(url) as conn:
        latest = conn.execute(
            "select distinct response_id from intermediate.int_feedback_attributed"
            " where _built_at = (select max(_built_at) from intermediate.int_feedback_attributed)"
        ).fetchall()
        assert latest == [("R7",)]
        conn.execute("update intermediate.int_feedback_attributed set attribution_model = 'made_up',"
                     " attribution_weight = attribution_weight / 2 where response_id = 'R7'")
    with pytest.raises(GateFailed) as exc:
        dbt.build(url, night="2026-11-02", program="e2e", command="test", select="int_feedback_attributed")
    assert "accepted_values_int_feedback_attributed_attribution_model" in str(exc.value)
    assert "int_feedback_attributed__weights_sum_to_one" in str(exc.value)  # the singular test too

    # in a build, the tests check the rows that build wrote: none when it wrote none (migration
    # 0017), where the latest _built_at checked R7's build again ...
    dbt.build(url, night="2026-11-02", program="e2e", select="int_feedback_attributed")
    # ... and R7's rows when the build writes them again (its feedback loaded again), as written
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create function public.made_up() returns trigger language plpgsql as"
                     " $$ begin new.attribution_model := 'made_up'; return new; end $$")
        conn.execute("create trigger made_up before insert on intermediate.int_feedback_attributed"
                     " for each row execute function public.made_up()")
        conn.execute("update raw.feedback_responses set _ingested_at = now() where response_id = 'R7'")
        with pytest.raises(GateFailed) as exc:
            dbt.build(url, night="2026-11-02", program="e2e", select="int_feedback_attributed")
        assert "accepted_values_int_feedback_attributed_attribution_model" in str(exc.value)
        made_up = conn.execute("select distinct response_id from intermediate.int_feedback_attributed"
                               " where attribution_model = 'made_up' order by 1").fetchall()
        # R1's rows, made up before and not written again, were checked by neither build
        assert made_up == [("R1",), ("R7",)]


@pytest.mark.slow
def test_a_view_is_created_again_only_when_its_definition_changed(e2e):
    """dbt_project/macros/materializations/view.sql: the same night again leaves every view as it
    was; a view whose SQL names the night is created again for another night; a view on a table
    the build replaced is there after it; a view on a table that gained a column is created again;
    a full refresh creates them all again. (And incremental.sql: a column added by hand to an
    incremental model's table is dropped by its next build.)"""
    from flows.transform import dbt

    url, _, _ = e2e
    views = ("select c.relname, c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace"
             " where c.relkind = 'v' and n.nspname in ('staging', 'intermediate', 'marts')")

    def oids() -> dict[str, int]:
        with psycopg.connect(url) as conn:
            return dict(conn.execute(views).fetchall())

    run()  # the fixture night, published
    dbt.build(url, night="2026-10-31", program="e2e")
    first = oids()
    assert len(first) >= 30
    dbt.build(url, night="2026-10-31", program="e2e")
    assert oids() == first
    with psycopg.connect(url) as conn:  # an upgrade adds a column to a table a view reads
        conn.execute("alter table raw.feedback_responses add column survey_language text")
    dbt.build(url, night="2026-10-31", program="e2e")
    migrated = oids()
    assert migrated.pop("stg_raw__feedback_responses") != first["stg_raw__feedback_responses"]
    assert migrated == {k: v for k, v in first.items() if k != "stg_raw__feedback_responses"}
    # an incremental model's table given a column by hand: dbt's on_schema_change path
    # (materializations/incremental.sql takes it only when the columns differ) drops it again
    columns = ("select attname, format_type(atttypid, atttypmod) from pg_attribute where attrelid ="
               " 'intermediate.int_coaching_items'::regclass and attnum > 0 and not attisdropped order by 1")
    with psycopg.connect(url) as conn:
        built_columns = conn.execute(columns).fetchall()
        conn.execute("alter table intermediate.int_coaching_items add column by_hand text")
    dbt.build(url, night="2026-10-31", program="e2e")
    with psycopg.connect(url) as conn:
        assert conn.execute(columns).fetchall() == built_columns
    dbt.build(url, night="2026-11-01", program="e2e")
    next_night = oids()
    assert next_night["int_employee_fairness"] != first["int_employee_fairness"]  # it names the night
    assert next_night["stg_raw__nominations"] == first["stg_raw__nominations"]
    with psycopg.connect(url) as conn:  # and reads the new night's
        assert "2026-11-01" in conn.execute(
            "select pg_get_viewdef('intermediate.int_employee_fairness'::regclass)").fetchone()[0]
    # the leaderboard bonuses (a table) are built again for the new night, and the view over them,
    # dropped with the old table, is created again
    assert next_night["int_points_earned"] != first["int_points_earned"]
    dbt.build(url, night="2026-11-01", program="e2e", full_refresh=True)
    assert not set(oids().values()) & set(next_night.values())


TABLE_MODELS = (
    "int_leaderboard_bonuses", "int_award_candidates",
    "fct_employee_balances", "fct_leaderboard", "fct_award_funding", "fct_award_proposals",
)


@pytest.mark.slow
def test_a_table_is_built_again_only_when_its_sql_or_inputs_changed(e2e, monkeypatch, ledger_mart_rows):
    """dbt_project/macros/materializations/table.sql: a table model whose SQL and inputs are as
    they were is left as it is; a change to a table it reads, even through views and other
    models, builds it again, and what it then holds is what a full refresh gives."""
    from flows.transform import dbt

    url, _, _ = e2e
    tables = ("select c.relname, c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace"
              " where c.relkind = 'r' and n.nspname in ('intermediate', 'marts') and c.relname = any(%s)")

    def oids() -> dict[str, int]:
        with psycopg.connect(url) as conn:
            return dict(conn.execute(tables, [list(TABLE_MODELS)]).fetchall())

    def contents() -> dict[str, list]:
        with psycopg.connect(url) as conn:
            named = conn.execute("select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                                 " where c.relkind = 'r' and c.relname = any(%s)", [list(TABLE_MODELS)]).fetchall()
            query = sql.SQL("select * from {}")
            return {t: sorted(map(repr, conn.execute(query.format(sql.Identifier(s, t))).fetchall()))
                    for s, t in named}

    def rebuilt(before: dict[str, int]) -> set[str]:
        return {t for t, oid in oids().items() if before[t] != oid}

    def mart_written() -> tuple:  # the entries not posted are incremental: what they hold, when written
        with psycopg.connect(url) as conn:
            built = conn.execute("select count(*), max(_built_at) from intermediate.int_unposted_ledger_entries"
                                 " where entry_id <> ''").fetchone()
        return built, ledger_mart_rows(url)

    run()  # the fixture night, published: the ledger then holds what the tables were built from
    dbt.build(url, night="2026-10-31", program="e2e")
    first = oids()
    assert set(first) == set(TABLE_MODELS)
    dbt.build(url, night="2026-10-31", program="e2e")
    assert rebuilt(first) == set()
    with psycopg.connect(url) as conn:
        # statements that write nothing change nothing
        conn.execute("insert into plaudit.feedback_retractions (response_id, retracted_by, reason)"
                     " values ('R5', 't', 'test') on conflict do nothing")
        conn.execute("delete from plaudit.feedback_retractions")
        conn.rollback()
        conn.execute("update raw.employees set full_name = full_name where false")
    dbt.build(url, night="2026-10-31", program="e2e")
    assert rebuilt(first) == set()

    # a closed period: read by the entries not posted and the proposals, and what reads those; every
    # entry is posted (a posted entry keeps its period), so nothing is written and what reads it stays
    written = mart_written()
    with psycopg.connect(url) as conn:
        conn.execute("insert into plaudit.period_closes (program, period, closed_by) values ('e2e', '2026-09', 't')")
    dbt.build(url, night="2026-10-31", program="e2e")
    assert rebuilt(first) == {"fct_award_funding", "fct_award_proposals"}
    assert mart_written() == written

    # a carried award (a deferred one moved on) is read by the proposals and funding, not by the
    # ledger mart or the award candidates (both read int_periodic_awards_made); a periodic award
    # made is read by all of them (the mart, with nothing to post, writes nothing)
    award = ("insert into plaudit.awards (award_id, program, version_id, employee_id, award_kind, period, points,"
             " amount_minor, currency, approval_level, status, status_reason, carried_from)"
             " select md5(award_id || %s), program, version_id, employee_id, 'periodic', %s, points, amount_minor,"
             " currency, approval_level, 'pending', 'test', {} from plaudit.awards"
             " where award_kind = 'periodic' order by award_id limit 1")
    for carried_from, expected in (("award_id", {"fct_award_funding", "fct_award_proposals"}),
                                   ("null", {"fct_award_funding", "fct_award_proposals", "int_award_candidates"})):
        before = oids()
        with psycopg.connect(url) as conn:
            assert conn.execute(award.format(carried_from), [carried_from, "2026-12"]).rowcount == 1
        dbt.build(url, night="2026-10-31", program="e2e")
        assert rebuilt(before) == expected, carried_from
    assert mart_written() == written
    second = oids()

    # retracted feedback: the caps (incremental) compute its period again, and so do the tiers
    # (incremental by period), and every table after them through the views over them is built again
    tiers_written = ("select max(_built_at) from intermediate.int_tier_bonuses_by_period"
                     " where program = 'e2e' and period = '2026-10'")
    with psycopg.connect(url) as conn:
        tiers_before = conn.execute(tiers_written).fetchone()[0]
        conn.execute("insert into plaudit.feedback_retractions (response_id, retracted_by, reason) values ('R5', 't', 'test')")
    dbt.build(url, night="2026-10-31", program="e2e")
    assert "fct_employee_balances" in rebuilt(second)
    with psycopg.connect(url) as conn:
        assert conn.execute(tiers_written).fetchone()[0] > tiers_before
    assert mart_written()[0][0] == written[0][0] + 1  # the correction, to post
    incremental = contents(), mart_written()[1]
    assert any(row[4] == "correction" for row in incremental[1])  # R5's posted points reversed
    dbt.build(url, night="2026-10-31", program="e2e", full_refresh=True)
    assert not set(oids().values()) & set(second.values())
    assert (contents(), mart_written()[1]) == incremental
    # another night builds again the tables whose SQL names it, not those whose inputs are as they were
    third = oids()
    coaching_written = "select count(*), max(_built_at) from intermediate.int_coaching_items"
    with psycopg.connect(url) as conn:
        coaching = conn.execute(coaching_written).fetchone()
    dbt.build(url, night="2026-11-01", program="e2e")
    assert "fct_employee_balances" in rebuilt(third)  # (the tiers in force on the night)
    with psycopg.connect(url) as conn:  # nothing attributed since: no coaching item written
        assert conn.execute(coaching_written).fetchone() == coaching
    # for raw tables loaded without triggers firing: every table, every build (docs/operations.md)
    fourth = oids()
    dbt.build(url, night="2026-11-01", program="e2e")
    assert rebuilt(fourth) == set()
    monkeypatch.setenv("PLAUDIT_REBUILD_TABLES", "true")
    dbt.build(url, night="2026-11-01", program="e2e")
    assert rebuilt(fourth) == set(TABLE_MODELS)


@pytest.mark.slow
def test_corrections_compare_only_the_posted_entries_that_can_have_changed(e2e, ledger_mart_rows):
    """int_ledger_corrections_by_program is incremental: a build compares again the posted entries
    posted or corrected since its last build and those of the days the caps computed since; it
    keeps the corrections of the others as they were. Each state is what a full refresh gives."""
    from flows.transform import dbt

    url, _, _ = e2e

    def read(query: str, *params: object) -> list[tuple]:
        with psycopg.connect(url) as conn:
            return conn.execute(query, params).fetchall()

    def held() -> tuple[int, list[tuple]]:
        """(how many posted entries the last build compared, the corrections it holds)"""
        (compared,), = read("select compared_entries from intermediate.int_ledger_corrections_by_program"
                            " where program = 'e2e' and entry_id is null")
        return compared, read("select entry_id, source_id, rule_id, points, corrected_period"
                              " from intermediate.int_ledger_corrections order by entry_id")

    def build() -> tuple[int, list[tuple]]:
        dbt.build(url, night="2026-10-31", program="e2e")
        return held()

    def same_as_full_refresh(corrections: list[tuple]) -> None:
        mart = ledger_mart_rows(url)
        dbt.build(url, night="2026-10-31", program="e2e", full_refresh=True, command="run")  # (data tests: ran in build() before)
        assert held()[1] == corrections
        assert ledger_mart_rows(url) == mart
        assert build() == (0, corrections)  # and the build after it has nothing to compare

    run()  # the fixture night, published
    posted = read("select entry_id, source_id, points, to_char(effective_at at time zone 'UTC', 'YYYY-MM')"
                  " from plaudit.ledger_entries where source_kind in ('feedback', 'nomination')")
    assert build() == (len(posted), [])  # every entry was posted since the night's build
    assert build() == (0, [])  # nothing changed since

    # R5 retracted: the caps compute its period again (entries after it were posted), and only that
    # period's entries are compared
    (r5_entry, _, r5_points, r5_period), = [p for p in posted if p[1] == "R5"]
    with psycopg.connect(url) as conn:
        conn.execute("insert into plaudit.feedback_retractions (response_id, retracted_by, reason)"
                     " values ('R5', 't', 'test')")
    compared, corrections = build()
    assert compared == len([p for p in posted if p[3] == r5_period])
    assert [(c[1:]) for c in corrections] == [(r5_entry, "correction:feedback_retracted", -r5_points, r5_period)]
    assert build() == (0, corrections)  # kept as it was, not compared again
    same_as_full_refresh(corrections)

    # the night again posts the correction: the next build compares R5's entry alone, and it is settled
    assert run()["ledger_entries_posted"] == 1
    assert build() == (1, [])
    same_as_full_refresh([])


def test_a_publication_of_much_of_the_ledger_is_caught_up_with_in_its_own_night(e2e, monkeypatch, ledger_mart_rows,
                                                                                balances_off_the_ledger):
    """A night that posts many ledger entries (a first night, a backfill, a backlog of days; here any
    night, the 100,000 entries' minimum lowered to 0) builds the models that read what was posted
    once more after publishing. So the next build finds nothing posted since: the corrections
    compare no entry, and everything stays what a full refresh gives. The night's own dbt results
    stay in dbt/target (the bench reads them); a night that posts nothing does not catch up. The
    rule counts entries, not a share of the ledger: one correction, a sixth of it, is caught up
    with too."""
    from flows.publish import ledger
    from flows.transform import dbt
    from plaudit import settings

    monkeypatch.setattr(ledger, "CATCH_UP_MIN_ENTRIES", 0)
    url, _, _ = e2e

    def marks() -> list[tuple]:
        """(the ledger's latest posting, then each caught-up model's latest mark of it; the
        posted entries the corrections compared)"""
        with psycopg.connect(url) as conn:
            return conn.execute(
                "select (select max(posted_at) from plaudit.ledger_entries),"
                " (select max(_ledger_posted_at) from intermediate.int_employee_ledger_totals),"
                " (select _ledger_posted_at from intermediate.int_unposted_ledger_entries where entry_id = ''),"
                " (select _ledger_posted_at from intermediate.int_ledger_corrections_by_program where entry_id is null),"
                " (select compared_entries from intermediate.int_ledger_corrections_by_program where entry_id is null)"
            ).fetchall()

    s = run()
    assert (s["ledger_entries_posted"], s["ledger_caught_up"]) == (5, True) and "catch_up" in s["stages"]
    [(posted_at, *caught_up, compared)] = marks()
    assert caught_up == [posted_at] * 3 and compared == 5  # every entry the night posted, compared
    assert balances_off_the_ledger(url) == []
    night_results = json.loads((settings.load().home / "dbt" / "target" / "run_results.json").read_text())
    assert "model.plaudit.fct_award_proposals" in {r["unique_id"] for r in night_results["results"]}

    dbt.build(url, night="2026-10-31", program="e2e")
    [(_, *_, compared)] = marks()
    assert compared == 0  # nothing posted since the catch-up
    assert balances_off_the_ledger(url) == []
    mart = ledger_mart_rows(url)
    assert [row[-1] for row in mart] == [True] * 5  # all posted, nothing left to post
    dbt.build(url, night="2026-10-31", program="e2e", full_refresh=True, command="run")
    assert ledger_mart_rows(url) == mart
    again = run()
    assert (again["ledger_entries_posted"], again["ledger_caught_up"]) == (0, False)

    with psycopg.connect(url) as conn:
        conn.execute("insert into plaudit.feedback_retractions (response_id, retracted_by, reason) values ('R5', 't', 't')")
    correction = run()
    assert (correction["ledger_entries_posted"], correction["ledger_caught_up"]) == (1, True)
    [(posted_at, *caught_up, compared)] = marks()
    assert caught_up == [posted_at] * 3 and compared == 1  # the correction alone, in the catch-up
    assert balances_off_the_ledger(url) == []
    dbt.build(url, night="2026-10-31", program="e2e")
    assert marks()[0][-1] == 0
    mart = ledger_mart_rows(url)
    dbt.build(url, night="2026-10-31", program="e2e", full_refresh=True, command="run")
    assert ledger_mart_rows(url) == mart  # what the catch-up left is what a full refresh gives


def test_a_catch_up_that_fails_leaves_the_night_completed_and_the_work_to_the_next_build(e2e, monkeypatch):
    """The catch-up runs after the night published: when its dbt run fails, the run still completes
    (with a warning), and the next build does the work (its corrections compare what was posted).
    The failure is dbt's own: the catch-up's invocation names a command dbt does not have."""
    import flows.nightly
    from flows.publish import ledger
    from flows.transform import dbt

    monkeypatch.setattr(ledger, "CATCH_UP_MIN_ENTRIES", 0)
    real_build = dbt.build

    def build_with_a_bad_catch_up(url, **kw):  # type: ignore[no-untyped-def]
        if kw.get("select") == "tag:ledger_catch_up":
            kw["command"] = "no-such-command"
        return real_build(url, **kw)

    monkeypatch.setattr(flows.nightly.dbt, "build", build_with_a_bad_catch_up)
    url, _, _ = e2e
    s = run()
    assert (s["ledger_entries_posted"], s["ledger_caught_up"]) == (5, False)
    with psycopg.connect(url) as conn:
        (status,), = conn.execute("select status from plaudit.runs").fetchall()
        (compared,), = conn.execute("select compared_entries from intermediate.int_ledger_corrections_by_program"
                                    " where entry_id is null").fetchall()
    assert status == "completed" and compared == 0  # (the night's build: nothing was posted yet)
    real_build(url, night="2026-10-31", program="e2e")
    with psycopg.connect(url) as conn:
        (compared,), = conn.execute("select compared_entries from intermediate.int_ledger_corrections_by_program"
                                    " where entry_id is null").fetchall()
    assert compared == 5


def test_a_ledger_mart_that_was_a_table_becomes_a_view(e2e, ledger_mart_rows):
    """An upgrade: the mart was a table holding the posted entries too, with a `posted` flag and
    its bookkeeping (before 2026-12-05). The first build makes it the view over the ledger and
    int_unposted_ledger_entries, and it holds what a full refresh gives."""
    from flows.transform import dbt

    url, _, _ = e2e
    run()
    with psycopg.connect(url) as conn:
        conn.execute("insert into plaudit.feedback_retractions (response_id, retracted_by, reason) values ('R5', 't', 't')")
        conn.execute("drop view marts.fct_ledger_entries_to_post")
        conn.execute("create table marts.old_mart as select *, null::timestamptz as _ledger_posted_at,"
                     " null::timestamptz as _capped_built_at, null::timestamptz as _night_end, now() as _built_at"
                     " from marts.fct_ledger_entries")
        conn.execute("drop view marts.fct_ledger_entries")
        conn.execute("drop table intermediate.int_unposted_ledger_entries")
        conn.execute("alter table marts.old_mart rename to fct_ledger_entries")
        conn.execute("alter table marts.fct_ledger_entries add primary key (entry_id)")
    dbt.build(url, night="2026-10-31", program="e2e")
    taken_over = ledger_mart_rows(url)
    with psycopg.connect(url) as conn:
        kinds = conn.execute("select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                             " where n.nspname = 'marts' and c.relname like 'fct_ledger_entries%' order by 1").fetchall()
    assert kinds == [("fct_ledger_entries", "v"), ("fct_ledger_entries_to_post", "v")]
    assert [row[4] for row in taken_over if not row[-1]] == ["correction"]  # R5's points reversed, to post
    assert len(taken_over) > 1 and all(row[-1] for row in taken_over if row[4] != "correction")
    dbt.build(url, night="2026-10-31", program="e2e", full_refresh=True)
    assert ledger_mart_rows(url) == taken_over


def test_every_table_dbt_reads_notes_its_changes(fresh_db):
    """A source table without the trigger of migration 0016 would leave the tables built from
    it as they were after it changed (materializations/table.sql)."""
    import yaml

    sources = set()
    for path in (Path(__file__).resolve().parents[1] / "dbt_project" / "models").rglob("_*sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            sources |= {f"{source.get('schema', source['name'])}.{t['name']}" for t in source["tables"]}
    assert len(sources) >= 19
    with psycopg.connect(fresh_db) as conn:
        noted = {r[0] for r in conn.execute(
            "select tgrelid::regclass::text from pg_trigger where tgname = 'relation_changed'")}
    assert sources - noted == set()


def test_the_ledger_refuses_updates_and_deletes(e2e):
    url, _, _ = e2e
    run()
    with psycopg.connect(url) as conn:
        for statement in ("update plaudit.ledger_entries set points = 0", "delete from plaudit.ledger_entries"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
            conn.rollback()


def test_with_smtp_settings_emails_go_to_the_server_once(e2e, smtp_sink):
    url, emails_dir, _ = e2e
    s = run()
    assert (s["emails_sent"], s["emails_written"]) == (1, 0)
    [msg] = smtp_sink.received
    assert msg["To"] == "Bob Agent <b1@staff.test.example>"
    assert "&lt;script&gt;" in msg.get_body(("html",)).get_content()
    again = run()
    assert again["emails_sent"] == 0 and len(smtp_sink.received) == 1
    with psycopg.connect(url) as conn:
        state, attempts, message_id = conn.execute("select state, attempts, message_id from plaudit.outbox").fetchone()
    assert (state, attempts, message_id) == ("sent", 1, msg["Message-ID"])
    assert not emails_dir.exists() or not any(emails_dir.iterdir())


def test_a_second_run_of_the_same_night_is_refused_while_the_first_holds_it(e2e):
    import os
    import subprocess
    import sys
    import time

    from plaudit import runs
    from plaudit.errors import RunLocked

    url, _, _ = e2e
    # Another process starts the night and holds it (as a long dbt build would).
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, datetime; from plaudit import db, runs; url = db.database_url();"
         "lock = runs.NightLock(url, 'e2e', datetime.date(2026, 10, 31));"
         "import psycopg; c = psycopg.connect(url, autocommit=True); runs.start(c, 'e2e', datetime.date(2026, 10, 31), False);"
         "print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLocked, match=r"night 2026-10-31 of program e2e is being run by run [0-9a-f-]{36}"):
            run()
        with psycopg.connect(url) as conn:
            assert conn.execute("select count(*) from plaudit.ledger_entries").fetchone()[0] == 0
    finally:
        holder.kill()
        holder.wait()
    # Once the holder is gone (even killed), the server releases the lock and the night runs.
    deadline = time.monotonic() + 10
    while True:
        try:
            runs.NightLock(url, "e2e", NIGHT).close()
            break
        except RunLocked:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    s = run()
    assert s["ledger_entries_posted"] == 5
    with psycopg.connect(url) as conn:
        statuses = sorted(r[0] for r in conn.execute("select status from plaudit.runs"))
    assert statuses == ["completed", "failed"]  # the killed holder's run is marked failed


def test_an_unusable_address_fails_its_message_and_the_rest_still_go_out(e2e):
    url, emails_dir, _ = e2e
    from flows.publish.emails import deliver, queue_rendered

    run()
    with psycopg.connect(url) as conn:
        queued = queue_rendered(conn, [
            {"key": f"test:{who}", "template": "test", "to_id": who, "to_email": addr, "to_name": who,
             "subject": "hello", "text": "hi", "html": "<p>hi</p>", "sender": "Test <t@test.example>"}
            for who, addr in (("bad", "léa@staff.test.example"), ("good", "good@staff.test.example"))
        ])
        conn.commit()
    assert queued == 2
    r = deliver(url)
    assert (r.written, r.failed) == (1, 1)
    with psycopg.connect(url) as conn:
        state, error = conn.execute("select state, last_error from plaudit.outbox where dedupe_key = 'test:bad'").fetchone()
    assert state == "failed" and "cannot build the message for 'léa@staff.test.example'" in error


def test_program_templates_override_the_shipped_ones_and_render_in_the_sandbox(e2e):
    url, emails_dir, programs = e2e
    own = programs / "e2e-templates"
    own.mkdir()
    (own / "recognition.txt.j2").write_text("Bravo {{ first_name }}: {{ points }} points!\n")
    prog = programs / "e2e.yml"
    prog.write_text(prog.read_text().replace("communications:\n", "communications:\n  templates: e2e-templates\n"))
    s = run()
    assert s["emails_written"] == 1
    [eml] = emails_dir.glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg.get_body(("plain",)).get_content().strip() == "Bravo Bob: 15 points!"

    # A template that reaches for Python internals is stopped by the sandbox: the message fails, the run goes on.
    (own / "recognition.txt.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    with psycopg.connect(url) as conn:
        (award_id,) = conn.execute("select award_id from plaudit.awards where employee_id = 'A1'").fetchone()
        conn.commit()
    decide(url, award_id, "M1", "approved", "great month")
    s = run(date(2026, 11, 1))
    assert (s["emails_written"], s["ledger_entries_posted"]) == (0, 0)
    with psycopg.connect(url) as conn:
        state, error = conn.execute("select state, last_error from plaudit.outbox where award_id = %s", [award_id]).fetchone()
    assert state == "failed" and error.startswith("template error (SecurityError)")


def test_a_file_refused_whole_is_recorded_once_and_the_night_goes_on(e2e, night_inbox):
    url, _, _ = e2e
    (night_inbox / "feedback-empty.csv").write_text("")
    (night_inbox / "feedback-nocolumns.csv").write_text("response_id,score\nX1,5\n")
    s = run()
    assert s["ledger_entries_posted"] == 5  # the good files went in, the night published
    refused = {Path(f["file"]).name: f["reason"] for f in s["files_refused"]}
    assert "is empty: expected a header row" in refused["feedback-empty.csv"]
    assert "missing required column(s) feedback_kind, responded_at" in refused["feedback-nocolumns.csv"]
    again = run()
    assert again["files_refused"] == []  # remembered by content hash, not retried every night
    with psycopg.connect(url) as conn:
        lines = conn.execute(
            "select source_line, reason from plaudit.quarantine where reason like 'file refused:%%'").fetchall()
    assert sorted(line for line, _ in lines) == [0, 0]
