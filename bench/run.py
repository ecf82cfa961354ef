"""Nights against the floor: `make bench SCALE=S|M|L` (or `python bench/run.py --scale S`).

One run, one database, in this order:

1. generate the scale's data with `plaudit generate` (in its own process, not timed as Plaudit);
2. the floor: a plain COPY of the raw exports and bench/floor.sql, one hand-written statement for
   the demo program's core rules (last touch, points table, covered roles, monthly cap);
3. a full night: everything new at once (ingest, dbt build, expectations, publish, emails), then
   email rendering: the night's recognition messages rendered again and again, per second;
4. an incremental night: one more generated day on top of the whole history;
5. an empty night: the same night again, nothing new (the fixed cost);
6. the same night once more: what an empty night costs when the night before it published
   nothing new either (the empty night reads the incremental night's publication);
7. the next day's night: one more generated day, after a night that posted one day (the
   incremental night also takes in all that the full night posted: a night like every later one);
8. the weeks up to late in the month at once (timed, not a target: a backlog's night), the night
   after them (one more day: it also takes in all that the backlog's night posted), and a
   late-month night: one more day on the 27th (LATE_DAY) after that ordinary one, where whatever
   a night computes from the month's 1st costs most (the nights above come at a month's start);
9. a full refresh: `dbt build --full-refresh` over the same data (the transform alone).

After each step the figures so far are written, so a run stopped at L still leaves what it measured,
and every dbt node's timing of each night stays in the bench folder (timings/STAGE.json).
Prefect's API runs as a test server started before the clock (a deployed worker has one).
Figures go to bench/results/SCALE.json and the SCALE section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# feedback rows wanted, employees; days follow from the generator's ~1.26 responses per employee-day
SCALES = {"S": (10_000, 500), "M": (1_000_000, 5_000), "L": (10_000_000, 50_000)}
RESPONSES_PER_EMPLOYEE_DAY = 1.26
NIGHT = date(2026, 10, 31)  # a month end, so the night makes October's awards and emails
LATE_DAY = 27  # the late-month night's day of November: late, but before the month's close
# free disk a run needs at its peak, in GB: the generated files, and the database while the full
# night's ingest still holds its checking tables for the biggest files. At L on 2026-12-03 (73a117c)
# the database reached 71 GB during the ingest (34 GB after it) with 6 GB of generated files; the
# ingest has since emptied each checking table once the next is built (07d7429), about half of
# those 37 GB; with the weeks up to late November on top, the 457fe6f run peaked at 69.1 GB, so L
# asks for 72. Each run measures its own peak (`peak_disk_gb`, the bench folder
# sampled every few seconds); S and M scaled down from L, with room to spare.
DISK_GB = {"S": 2, "M": 10, "L": 72}
# the nights that add one day to the history, on which the incremental targets are judged: at a
# month's start (after the full night, and after an ordinary one) and late in it (after the weeks at
# once, and after an ordinary one)
ONE_DAY_NIGHTS = ("incremental", "ordinary", "after_backlog", "late")
TARGETS = {"full_vs_floor": 3.0, "incremental_vs_full_refresh": 0.10, "incremental_s": 60, "empty_s": 20,
           "peak_rss_mb": 500, "emails_per_s": 2000}


def cli(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "plaudit.cli", *args], check=True, env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def slowest_models(home: Path, stage: str, n: int = 6, target: str = "target") -> list[list[object]]:
    """The last dbt invocation's slowest nodes (dbt's own timing), as [name, seconds]. Every node's
    timing stays in the bench folder, as timings/<stage>.json (dbt's run_results), for profiling.
    `target`: the night's build's folder, or the catch-up's with the ledger (`catch-up-target`)."""
    path = home / "dbt" / target / "run_results.json"
    if not path.exists():
        return []
    (home / "timings").mkdir(exist_ok=True)
    shutil.copyfile(path, home / "timings" / f"{stage}.json")
    results = json.loads(path.read_text())["results"]
    top = sorted(results, key=lambda r: -r["execution_time"])[:n]
    return [[r["unique_id"].split(".", 2)[-1], round(r["execution_time"], 2)] for r in top]


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def replace_with_link(src: str, dst: str) -> None:
    """Put a hard link to src at dst, replacing what is there (the inbox remembers files by content)."""
    Path(dst).unlink(missing_ok=True)
    os.link(src, dst)


def check_disk(home: Path, need_gb: float, *, keep: Path | None = None) -> None:
    """Stop before starting when the disk cannot hold the run's peak (a full disk fails it an hour in).
    What a previous run of this scale left in `home` is counted as free, since the run deletes it
    first, except `keep` (reused data) and the inbox's hard links to it."""
    probe = home
    while not probe.exists():
        probe = probe.parent
    free_gb = shutil.disk_usage(probe).free / 2**30
    if home.exists():
        inodes = {}
        for f in home.rglob("*"):
            if f.is_file() and not f.is_symlink() and (keep is None or keep not in f.parents):
                st = f.stat()
                if keep is None or st.st_nlink == 1:
                    inodes[st.st_ino] = st.st_size
        free_gb += sum(inodes.values()) / 2**30
    if free_gb < need_gb:
        sys.exit(f"bench: this run needs about {need_gb:.0f} GB of free disk at its peak and {free_gb:.0f} GB is free"
                 f" on {probe}. Free some space (an old bench database: rm -rf .plaudit/bench-*), or run a smaller"
                 " scale.")


class DiskWatch:
    """The most the bench folder (data, inbox, database, WAL, logs) held at once, sampled in a thread."""

    def __init__(self, home: Path, every_s: float = 3.0) -> None:
        self.home, self.every_s, self.peak = home, every_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="disk-watch", daemon=True)

    def size(self) -> int:
        seen: dict[int, int] = {}  # by inode: the inbox holds hard links to the generated files
        for folder, _, files in os.walk(self.home):
            for name in files:
                try:
                    st = os.lstat(os.path.join(folder, name))
                except FileNotFoundError:  # a temporary file gone between the listing and the stat
                    continue
                seen[st.st_ino] = st.st_blocks * 512
        return sum(seen.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.size())
            self._stop.wait(self.every_s)

    def start(self) -> DiskWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Take a last sample and end the thread (it walks the whole bench folder every few seconds)."""
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.size())

    @property
    def peak_gb(self) -> float:
        return round(self.peak / 2**30, 1)


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def floor(url: str, inbox: Path, night_end: str) -> dict[str, float]:
    import psycopg

    tables = {
        "employees": "employee_id text, full_name text, email text, locale text, manager_id text, team text,"
                     " cost_centre text, role text, location text, hire_date date, status text, terminated_on date",
        "participants": "interaction_id text, employee_id text, participant_role text, touched_at timestamptz",
        "feedback": "response_id text, interaction_id text, employee_id text, feedback_kind text, score int,"
                    " comment text, channel text, responded_at timestamptz, customer_email text",
    }
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema if exists bench_floor cascade")
        conn.execute("create schema bench_floor")
        t0 = time.perf_counter()
        for name, cols in tables.items():
            conn.execute(f"create table bench_floor.{name} ({cols})")  # noqa: S608 - fixed names, no user values
            with conn.cursor().copy(
                f"copy bench_floor.{name} from stdin with (format csv, header true)"  # noqa: S608
            ) as copy, open(inbox / f"{name}.csv", "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
        conn.execute("analyze bench_floor.feedback, bench_floor.participants, bench_floor.employees")
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = conn.execute((ROOT / "bench" / "floor.sql").read_text(),
                            {"night_end": night_end, "cap_per_month": 250}).fetchall()
        query = time.perf_counter() - t0
        conn.execute("drop schema bench_floor cascade")
    return {"load_s": round(load, 2), "query_s": round(query, 2), "total_s": round(load + query, 2),
            "employee_periods": len(rows)}


def _messages(conn: Any, source: Any, where: Any) -> list[dict[str, Any]]:
    """Rows of `emails._CONTEXT_SQL` for `source` and `where`, with their program definitions (the
    rows the nightly rendering reads), through a `dict_row` connection."""
    from psycopg import sql

    from flows.publish import emails

    rows = conn.execute(sql.SQL(emails._CONTEXT_SQL).format(source=source, where=where)).fetchall()
    definitions = emails.ProgramDefinitions(conn)
    return [definitions.attach(row) for row in rows]


def award_messages(conn: Any, limit: int = 5000) -> list[dict[str, Any]]:
    """The recognition message each of the first `limit` awards would get, whether queued or not."""
    from psycopg import sql

    # the awards in a subquery with its LIMIT, which the planner cannot flatten: the
    # per-message lookups run for those awards only, whatever the statistics say
    return _messages(conn, sql.SQL(
        "from (select * from plaudit.awards order by award_id limit {}) a"
        " cross join lateral (select a.award_id as outbox_id,"
        " '<bench@plaudit.invalid>' as message_id, 'bench@example.invalid' as recipient_email,"
        " now() as queued_at, 0 as attempts) as o").format(sql.Literal(limit)), sql.SQL(""))


def render_rate(url: str, seconds: float = 5.0) -> dict[str, float]:
    import psycopg
    from psycopg import sql
    from psycopg.rows import dict_row

    from flows.publish import emails

    with psycopg.connect(url, row_factory=dict_row) as conn:
        # every queued recognition message, rendered or not: the outbox the nightly rendering reads
        rows = _messages(conn, emails._PENDING_RENDER["source"], sql.SQL("where o.template = 'recognition'"))
        queued = bool(rows)
        if not rows:
            # no award approved, so nothing queued (the budget defers them at M and L): the message
            # each award would get once approved, up to 5,000 of them, is the same work
            rows = award_messages(conn)
    if not rows:
        return {"emails_per_s": 0.0, "rendered": 0}
    n, per_second = rendered_for(emails.RecognitionRenderer().render, rows, seconds)
    return {"emails_per_s": round(per_second), "rendered": n, "distinct_messages": len(rows), "queued": queued}


def rendered_for(render: Any, rows: list[dict[str, Any]], seconds: float) -> tuple[int, float]:
    """`render` the rows one after another, again and again, for `seconds`: (messages, messages per second)."""
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        render(rows[n % len(rows)])
        n += 1
    return n, n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=list(SCALES), default="S")
    ap.add_argument("--reuse-data", action="store_true",
                    help="keep the data a previous run generated for this scale (generating L takes ~9 minutes)")
    args = ap.parse_args()
    target_rows, employees = SCALES[args.scale]
    agents = employees * 0.8
    days = max(3, round(target_rows / (agents * RESPONSES_PER_EMPLOYEE_DAY)))
    night = NIGHT
    start = night - timedelta(days=days - 1)

    home = ROOT / ".plaudit" / f"bench-{args.scale}"
    inbox, data, day_data = home / "inbox", home / "data", home / "data-next-day"
    env = os.environ | {
        "PLAUDIT_HOME": str(home), "PLAUDIT_INBOX_DIR": str(inbox), "PLAUDIT_OUT_DIR": str(home / "out"),
        "PLAUDIT_DB_NAME": "bench", "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    os.environ.update(env)
    print(f"scale {args.scale}: {employees:,} employees, {days} days from {start} (about {target_rows:,} responses)")
    # what the data was generated with, and how long it took (the file is written last, so a
    # generation that was stopped is never reused)
    params, generated = data / "generated.json", None
    wanted = {"employees": employees, "days": days, "start": start.isoformat()}
    if args.reuse_data and params.exists():
        generated = json.loads(params.read_text())
        if {k: generated.get(k) for k in wanted} != wanted:
            generated = None
    reused_gb = sum(f.stat().st_size for f in data.glob("*.csv")) / 2**30 if generated else 0.0
    check_disk(home, DISK_GB[args.scale] - reused_gb, keep=data if generated else None)
    if generated:
        for child in home.iterdir():  # everything but the data: a new database, a new inbox
            if child != data:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        gen_s = generated["seconds"]
        print(f"reusing the data generated in {gen_s:.0f} s")
    else:
        shutil.rmtree(home, ignore_errors=True)
        _, gen_s = timed(cli, "generate", "--out", str(data), "--employees", str(employees), "--days", str(days),
                         "--start", start.isoformat(), env=env)
        params.write_text(json.dumps(wanted | {"seconds": round(gen_s, 1)}))
    # the inbox gets the next day's files too; hard links, not copies (12 GB less at L)
    shutil.copytree(data, inbox, copy_function=os.link, ignore=shutil.ignore_patterns("generated.json"))
    rows_on_disk = {p.stem: sum(1 for _ in p.open("rb")) - 1 for p in data.glob("*.csv")}
    print(f"generated in {gen_s:.0f} s: {rows_on_disk}", flush=True)

    import psycopg
    from prefect.testing.utilities import prefect_test_harness

    from flows.nightly import nightly
    from flows.transform import dbt
    from plaudit import db

    url = db.database_url()
    disk = DiskWatch(home).start()
    with psycopg.connect(url) as conn:
        (pg_version,) = conn.execute("show server_version").fetchone()  # type: ignore[misc]
        (shared_buffers,) = conn.execute("show shared_buffers").fetchone()  # type: ignore[misc]
    results: dict = {  # type: ignore[type-arg]
        "scale": args.scale, "employees": employees, "days": days, "night": night.isoformat(),
        "rows_generated": rows_on_disk, "generate_s": round(gen_s, 1), "commit": git_commit(), "complete": False,
        "machine": {"cores": os.cpu_count(),
                    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
                    "cpu": cpu_name(), "python": platform.python_version(), "postgresql": pg_version,
                    "shared_buffers": shared_buffers},
    }

    def save() -> None:
        """Write what has been measured so far: a long run that is stopped still leaves its figures."""
        with psycopg.connect(url) as conn:
            (db_bytes,) = conn.execute("select pg_database_size(current_database())").fetchone()  # type: ignore[misc]
        results["database_mb"] = round(db_bytes / 2**20)
        results["peak_disk_gb"] = disk.peak_gb
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        out = ROOT / "bench" / "results" / f"{args.scale}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")
        update_results_md(results)

    # the floor first: the same files the full night loads, computing what it computes for the same night
    results["floor"] = floor(url, data, f"{(night + timedelta(days=1)).isoformat()}T00:00:00+00:00")
    print(f"floor: {results['floor']}", flush=True)
    save()
    with prefect_test_harness(server_startup_timeout=120):
        full, full_s = timed(nightly, night=night, program="demo")
        print(f"full night: {full_s:.1f} s {full['stages']}", flush=True)
        results.update({
            "full_night_s": round(full_s, 1), "full_night_stages": full["stages"],
            "full_night_slowest_models": slowest_models(home, "full_night"), "ingest_rows": full["rows_ingested"],
            "full_night_catch_up_models": slowest_models(home, "full_night_catch_up", target="catch-up-target")
            if full.get("ledger_caught_up") else [],
            "ingest_rows_per_s": round(full["rows_ingested"] / full["stages"]["ingest"]),
            "ledger_entries": full["ledger_entries_posted"],
            "awards": full["awards_auto_approved"] + full["awards_pending"] + full["awards_deferred"],
        })
        results["rendering"] = render_rate(url)
        print(f"rendering: {results['rendering']}", flush=True)
        save()

        def add_day(after: date, first_id: int, *, until: date | None = None) -> date:
            """The next working day after `after` (the generated shops are closed on Sundays, and Oct 31
            is a Saturday), or every day up to `until`, generated and put in the inbox; returns the
            last day."""
            day = until or after + timedelta(days=1)
            while day.weekday() == 6:
                day += timedelta(days=1)
            shutil.rmtree(day_data, ignore_errors=True)
            cli("generate", "--out", str(day_data), "--employees", str(employees), "--days",
                str((day - after).days), "--start", (after + timedelta(days=1)).isoformat(),
                "--first-id", str(first_id), env=env)
            # the day's events only: a generation for another window draws other hire and termination
            # dates, so its employees file would restate every employee (at L it made credits
            # recompute 2.2 M rows)
            for master in ("employees", "accounts", "exchange_rates"):
                (day_data / f"{master}.csv").unlink(missing_ok=True)
            shutil.copytree(day_data, inbox, dirs_exist_ok=True, copy_function=replace_with_link)
            return day

        def night_step(key: str, label: str, day: date, *, rows: bool = False) -> None:
            """Run the night of `day`, print it, and keep its seconds, stages and slowest models as
            `<key>_night_s`, `<key>_stages` (and `<key>_rows`) and `<key>_slowest_models`; the ledger
            entries it posted and whether it caught up with them as `<key>_ledger`, and the
            catch-up's slowest models, if it ran, as `<key>_catch_up_models`."""
            out, seconds = timed(nightly, night=day, program="demo")
            print(f"{label}: {seconds:.1f} s {out['stages']}"
                  + (f" ({out['rows_ingested']:,} rows)" if rows else "")
                  + (f", caught up with {out['ledger_entries_posted']:,} entries" if out.get("ledger_caught_up")
                     else ""), flush=True)
            results.update({f"{key}_night_s": round(seconds, 1), f"{key}_stages": out["stages"],
                            f"{key}_slowest_models": slowest_models(home, key),
                            f"{key}_ledger": {"posted": out["ledger_entries_posted"],
                                              "caught_up": bool(out.get("ledger_caught_up"))}})
            if out.get("ledger_caught_up"):
                results[f"{key}_catch_up_models"] = slowest_models(home, f"{key}_catch_up",
                                                                   target="catch-up-target")
            if rows:
                results[f"{key}_rows"] = out["rows_ingested"]
            save()

        # one new working day on top of the history, straight after the full night
        nxt = add_day(night, 10**9)
        night_step("incremental", "incremental night", nxt, rows=True)
        night_step("empty", "empty night", nxt)
        # the same night once more: the fixed cost when the night before published nothing new
        # either (the empty night's publication read by this one; deferred awards still carry)
        night_step("settled", "same night again", nxt)
        # the next working day: a night after an ordinary night (the one above posted a day), where the
        # incremental night above also takes in all that the full night posted
        after = add_day(nxt, 2 * 10**9)
        night_step("ordinary", "next day's night", after, rows=True)
        # the weeks up to two days before LATE_DAY in one night, the night after them, then one more
        # day late in the month: the nights above come at a month's start, where a model that
        # computes the month so far has nothing to compute
        backlog = add_day(after, 3 * 10**9, until=after.replace(day=LATE_DAY) - timedelta(days=2))
        night_step("backlog", f"the days up to {backlog} at once", backlog, rows=True)
        first = add_day(backlog, 4 * 10**9)
        night_step("after_backlog", f"the night after them ({first})", first, rows=True)
        late = add_day(first, 5 * 10**9)
        night_step("late", f"late-month night ({late})", late, rows=True)
        # last, so that the nights above run on what a night builds, not on what a refresh leaves
        _, refresh_s = timed(dbt.build, url, night=late.isoformat(), program="demo", full_refresh=True)
        print(f"full refresh (dbt): {refresh_s:.1f} s", flush=True)
        results.update({"full_refresh_dbt_s": round(refresh_s, 1),
                        "full_refresh_slowest_models": slowest_models(home, "full_refresh"), "complete": True})
    disk.stop()
    save()
    print(f"written bench/results/{args.scale}.json and bench/RESULTS.md")


def ratios(r: dict) -> dict[str, float]:  # type: ignore[type-arg]
    out = {}
    if "full_night_s" in r:
        out["full_night_vs_floor"] = round(r["full_night_s"] / r["floor"]["total_s"], 1)
    if "full_refresh_dbt_s" in r:
        # a catch-up with the ledger (after a publication of much of it) is dbt work too
        for key in ONE_DAY_NIGHTS:
            if f"{key}_night_s" in r:
                inc = r[f"{key}_stages"]
                out[f"{key}_vs_full_refresh"] = round(
                    (inc["dbt"] + inc.get("catch_up", 0)) / r["full_refresh_dbt_s"], 3)
    if "incremental_night_s" in r:
        out["incremental_night_vs_full_night"] = round(r["incremental_night_s"] / r["full_night_s"], 2)
    return out


def fmt_models(models: list[list[object]] | None) -> str:
    return ", ".join(f"`{name}` {sec} s" for name, sec in (models or [])[:4]) or "n/a"


def update_results_md(r: dict) -> None:  # type: ignore[type-arg]
    m, fl, q = r["machine"], r["floor"], ratios(r)
    gone = "not reached"

    def get(key: str, fmt: str = "{} s") -> str:
        return fmt.format(r[key]) if key in r else gone

    holds = {
        "full night ≤ 3× floor (target at M)": q.get("full_night_vs_floor", 1e9) <= TARGETS["full_vs_floor"],
        "incremental dbt ≤ 10% of a full refresh (target at L)": max(
            q.get(f"{k}_vs_full_refresh", 1e9) for k in ONE_DAY_NIGHTS) <= TARGETS["incremental_vs_full_refresh"],
        "incremental night < 60 s": max(
            r.get(f"{k}_night_s", 1e9) for k in ONE_DAY_NIGHTS) < TARGETS["incremental_s"],
        "empty night < 20 s": r.get("empty_night_s", 1e9) < TARGETS["empty_s"],
        "peak RSS < 500 MB": r["peak_rss_mb"] < TARGETS["peak_rss_mb"],
        "rendering ≥ 2,000 emails/s": r.get("rendering", {}).get("emails_per_s", 0) >= TARGETS["emails_per_s"],
    }
    measured = {
        "full night ≤ 3× floor (target at M)": "full_night_vs_floor" in q,
        "incremental dbt ≤ 10% of a full refresh (target at L)": all(
            f"{k}_vs_full_refresh" in q for k in ONE_DAY_NIGHTS),
        "incremental night < 60 s": all(f"{k}_night_s" in r for k in ONE_DAY_NIGHTS),
        "empty night < 20 s": "empty_night_s" in r,
        "peak RSS < 500 MB": True,
        "rendering ≥ 2,000 emails/s": r.get("rendering", {}).get("rendered", 0) > 0,
    }
    st = r.get("full_night_stages", {})
    stage = {k: f"{v} s" for k, v in st.items()}
    def night(key: str) -> str:
        """A night's seconds and its dbt's (the entries it posted, and its catch-up with them if it
        ran), or that the run did not reach it."""
        if key + "_night_s" not in r:
            return gone
        led, catch_up = r.get(key + "_ledger"), r[key + "_stages"].get("catch_up", 0)
        posted = "" if not led else f"; {led['posted']:,} entries posted" + (
            f", caught up with in {catch_up} s" if led["caught_up"] else "")
        return f"{r[key + '_night_s']} s (dbt {r[key + '_stages']['dbt']} s{posted})"

    inc, settled, ordinary = night("incremental"), night("settled"), night("ordinary")
    backlog, after_backlog, late = night("backlog"), night("after_backlog"), night("late")
    rendering = gone if "rendering" not in r else (
        f"{r['rendering']['emails_per_s']:,} per second"
        + ("" if r["rendering"].get("queued", True) else " (nothing queued: the messages of awards not yet approved)")
        if r["rendering"].get("rendered") else
        "nothing to render: the night queued no recognition email")
    rows = f"{r['ingest_rows']:,} rows ingested" if "ingest_rows" in r else \
        f"{sum(r['rows_generated'].values()):,} rows generated"
    buffers = f" (shared_buffers {m['shared_buffers']})" if m.get("shared_buffers") else ""
    status = "One run." if r.get("complete") else \
        "One run, **stopped before its last step**: what it reached is below, the rest reads *not reached*."
    section = f"""<!-- bench:{r['scale']} -->
### Scale {r['scale']}: {rows} ({r['rows_generated'].get('feedback', 0):,} feedback), {r['employees']:,} employees, {r['days']} days

Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, PostgreSQL {m['postgresql']}{buffers}. {status}

| measure | value |
|---|---:|
| generate (not Plaudit's time) | {r['generate_s']} s |
| full night | {get('full_night_s')} |
| &nbsp; ingest | {stage.get('ingest', gone)}{f" ({r['ingest_rows_per_s']:,} rows/s)" if 'ingest_rows_per_s' in r else ''} |
| &nbsp; dbt build | {stage.get('dbt', gone)} |
| &nbsp; expectations | {stage.get('expectations', gone)} |
| &nbsp; publish | {stage.get('publish', gone)}{f" ({r['ledger_entries']:,} entries, {r['awards']:,} awards)" if 'awards' in r else ''} |
| &nbsp; emails (render + write) | {stage.get('emails', gone)} |
| &nbsp; catching up with the ledger it posted (dbt) | {stage.get('catch_up', gone)} |
| incremental night (one new day{f", {r['incremental_rows']:,} rows" if 'incremental_rows' in r else ''}) | {inc} |
| empty night | {get('empty_night_s')} |
| the same night once more (the empty night's publication read) | {settled} |
| the next day's night (one more new day, after an ordinary night{f", {r['ordinary_rows']:,} rows" if 'ordinary_rows' in r else ''}) | {ordinary} |
| the weeks up to late in the month in one night (not a target{f", {r['backlog_rows']:,} rows" if 'backlog_rows' in r else ''}) | {backlog} |
| the night after them (one more new day{f", {r['after_backlog_rows']:,} rows" if 'after_backlog_rows' in r else ''}) | {after_backlog} |
| late-month night (one more new day, the {LATE_DAY}th, after an ordinary night{f", {r['late_rows']:,} rows" if 'late_rows' in r else ''}) | {late} |
| full refresh (dbt build --full-refresh, after the nights) | {get('full_refresh_dbt_s')} |
| floor: COPY load + one statement | {fl['total_s']} s ({fl['load_s']} + {fl['query_s']}) |
| email rendering | {rendering} |
| peak RSS of the Python process | {r['peak_rss_mb']} MB |
| database size | {r['database_mb']} MB |
| disk at the peak (the bench folder: data, inbox, database) | {r.get('peak_disk_gb', 'not measured')} GB |

Slowest dbt nodes (dbt's timing): full night {fmt_models(r.get('full_night_slowest_models'))}
(its catch-up with the ledger: {fmt_models(r.get('full_night_catch_up_models'))});
incremental night {fmt_models(r.get('incremental_slowest_models'))}; empty night
{fmt_models(r.get('empty_slowest_models'))}; the same night once more
{fmt_models(r.get('settled_slowest_models'))}; the next day's night
{fmt_models(r.get('ordinary_slowest_models'))}; the weeks at once {fmt_models(r.get('backlog_slowest_models'))}
(their catch-up with the ledger: {fmt_models(r.get('backlog_catch_up_models'))}); the night after the weeks at once
{fmt_models(r.get('after_backlog_slowest_models'))}; the late-month night
{fmt_models(r.get('late_slowest_models'))}; full refresh {fmt_models(r.get('full_refresh_slowest_models'))}.
Commit {r.get('commit', 'unknown')}.

Ratios: full night / floor = **{q.get('full_night_vs_floor', gone)}×**; incremental dbt / full refresh =
**{q.get('incremental_vs_full_refresh', gone)}** (the next day's {q.get('ordinary_vs_full_refresh', gone)}, after the weeks
at once {q.get('after_backlog_vs_full_refresh', gone)}, late in the month **{q.get('late_vs_full_refresh', gone)}**);
incremental night / full night = {q.get('incremental_night_vs_full_night', gone)}.

""" + "\n".join(f"- {('holds' if holds[k] else 'MISSED') if measured[k] else 'not reached'}: {k}"
                for k in holds) + f"\n<!-- /bench:{r['scale']} -->\n"
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text()
    pattern = re.compile(rf"<!-- bench:{r['scale']} -->.*?<!-- /bench:{r['scale']} -->\n", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        marker = "## Nights against the floor (issue 8): `make bench SCALE=S|M|L`\n"
        if marker not in text:
            text += "\n" + marker
        text += "\n" + section
    path.write_text(text)


if __name__ == "__main__":
    main()
