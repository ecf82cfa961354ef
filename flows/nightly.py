"""The nightly run: ingest → dbt build → expectations → publish → emails (→ catching up with the
ledger after a publication of much of it).

One deployable flow. Tasks are coarse (one dbt build, one checkpoint, one
batch of emails); all row-level logic is in dbt. A failing dbt test or
expectation stops the run before anything is published and is never retried.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.ingest.inbox import api_mappings, ingest_inbox
from flows.publish import emails as email_delivery
from flows.publish import ledger
from flows.transform import dbt
from plaudit import db, failpoints, runs, settings
from plaudit import program as program_schema
from plaudit.errors import PlauditError


@task(name="ingest inbox")
def ingest(url: str) -> dict[str, Any]:
    """Ingest every new file in the inbox (each file one transaction)."""
    s = settings.load()
    results, refused = ingest_inbox(url, s.inbox_dir, s.mappings_dir)
    log = get_run_logger()
    for r in results:
        log.info("ingested %s: %s rows, %s loaded, %s quarantined", r.file, r.source_rows, r.loaded, r.quarantined_rows)
    for f in refused:
        log.warning("refused %s: %s", f["file"], f["reason"])
    return {
        "files": [r.as_dict() for r in results],
        "files_refused": refused,
        "rows_ingested": sum(r.loaded for r in results),
        "rows_quarantined": sum(r.quarantined_rows for r in results),
    }


@task(name="pull APIs", retries=2, retry_delay_seconds=[10, 60])
def pull_apis(url: str) -> dict[str, Any]:
    """Pull every API source a mapping declares (`api.url`), from its saved cursor.

    A retry resumes from the last committed page, so nothing is loaded twice.
    """
    from flows.ingest.api import pull

    pulled = [pull(url, m.api.url, m) for m in api_mappings(settings.load().mappings_dir) if m.api and m.api.url]
    return {
        "api_pulls": [p.as_dict() for p in pulled],
        "api_rows_ingested": sum(p.loaded for p in pulled),
        "api_rows_quarantined": sum(p.quarantined for p in pulled),
    }


@task(name="load program")
def load_program(url: str, program: str) -> dict[str, Any]:
    """Validate the program file and record its version."""
    path = program_schema.resolve(program, settings.load().programs_dir)
    prog = program_schema.load(path)
    with db.connect(url) as conn:
        version = program_schema.store(conn, prog)
    return {"program": prog.program, "version_id": version, "max_award_minor": prog.minor(prog.awards.max_award)}


@task(name="dbt build")
def dbt_build(url: str, night: date, program: str) -> dict[str, Any]:
    # Statistics of the night's rows first: the models' plans depend on them. dbt parses its project
    # meanwhile: on the L bench database, ANALYZE of the raw tables a night wrote and a first parse,
    # with a cold cache, took 23-25 s one after the other and 12-21 s side by side (bench/RESULTS.md).
    with ThreadPoolExecutor(max_workers=1) as pool:
        analysed = pool.submit(db.analyze_changed, url)
        dbt.parse(url)
        analysed.result()
    r = dbt.build(url, night=night.isoformat(), program=program)
    return {"models": r.models, "tests": r.tests_passed, "unit_tests": r.unit_tests_passed, "manifest_hash": r.manifest_hash}


@task(name="expectations")
def expectations(url: str, night: date, max_award_minor: int) -> dict[str, Any]:
    from expectations.checkpoint import run_checkpoint

    night_end = datetime.combine(night + timedelta(days=1), datetime.min.time(), ZoneInfo("UTC"))
    r = run_checkpoint(url, {"night_end": night_end.isoformat(), "max_award_minor": max_award_minor})
    return {"expectations_evaluated": r.evaluated}


@task(name="publish")
def publish(url: str, run_id: Any, dry_run: bool) -> dict[str, Any]:
    """Post the ledger, open approvals, queue emails: one transaction."""
    with db.connect(url) as conn:
        result = ledger.preview(conn) if dry_run else ledger.publish(conn, run_id)
        if not dry_run:
            conn.commit()
            db.analyze_grown(conn, "plaudit", {
                "ledger_entries": result.ledger_entries_posted, "gaming_flags": result.gaming_flags_held,
                "awards": result.awards_auto_approved + result.awards_pending + result.awards_deferred,
                "outbox": result.emails_queued,
            })
    return result.__dict__


@task(name="send emails", retries=2, retry_delay_seconds=[5, 30])
def send_emails(url: str) -> dict[str, Any]:
    """Deliver the queued outbox (SMTP errors are retried; each message goes once)."""
    r = email_delivery.deliver(url)
    return {"emails_written": r.written, "emails_sent": r.sent, "emails_failed": r.failed,
            "emails_deferred": r.deferred, "email_files": r.files}


@task(name="catch up with the ledger")
def catch_up(url: str, night: date, program: str, posted: int) -> dict[str, Any]:
    """After a publication of many ledger entries (a first night, a backfill, a backlog of days:
    ledger.catch_up_due), build the models that read what was posted (dbt tag `ledger_catch_up`: the
    posted totals, the corrections, the entries not posted) while the night still has the work in
    hand. Otherwise the next night's build would take them in, on its critical path: at L a pass
    over 7 M entries in each after a first night, 18 s more after three weeks at once. An ordinary
    night leaves its own day's entries to the next build, where they are small.

    Failing here leaves what the night published as it is: the next night builds these models
    itself, so it is a warning, not a failed run."""
    if not ledger.catch_up_due(posted):
        return {"ledger_caught_up": False}
    try:
        r = dbt.build(url, night=night.isoformat(), program=program, command="run", select="tag:ledger_catch_up",
                      target="catch-up-target", on_failure="what the night published stands; the next night builds them")
    except PlauditError as exc:
        get_run_logger().warning("catching up with the %s ledger entries just posted failed: %s", posted, exc)
        return {"ledger_caught_up": False}
    get_run_logger().info("caught up with the %s ledger entries just posted (%s models)", posted, r.models)
    return {"ledger_caught_up": True}


def default_night() -> date:
    return (datetime.now(ZoneInfo("UTC")) - timedelta(days=1)).date()


@flow(name="nightly", log_prints=False)
def nightly(night: date | None = None, program: str = "demo", dry_run: bool = False) -> dict[str, Any]:
    """Run one night for one program. `night` defaults to yesterday (UTC)."""
    night = night or default_night()
    log = get_run_logger()
    url = db.database_url()
    lock = runs.NightLock(url, program, night)
    summary: dict[str, Any] = {"night": night.isoformat(), "program": program, "dry_run": dry_run, "stages": {},
                               "versions": runs.code_version()}
    with db.connect(url) as conn:
        run_id = runs.start(conn, program, night, dry_run)
    summary["run_id"] = str(run_id)

    def stage(name: str, fn: Any, *args: Any) -> dict[str, Any]:
        t0 = time.monotonic()
        out = fn(*args)
        summary["stages"][name] = round(time.monotonic() - t0, 2)
        return out

    try:
        if dry_run:
            summary.update(rows_ingested=0, rows_quarantined=0, files=[])
        else:
            summary.update(stage("ingest", ingest, url))
            apis = stage("apis", pull_apis, url)
            summary["rows_ingested"] += apis.pop("api_rows_ingested")
            summary["rows_quarantined"] += apis.pop("api_rows_quarantined")
            summary.update(apis)
        prog = stage("program", load_program, url, program)
        summary["program_version"] = summary["versions"]["program"] = prog["version_id"]
        summary.update(stage("dbt", dbt_build, url, night, program))
        failpoints.hit("after_dbt_build")
        summary["versions"]["dbt_manifest"] = summary.get("manifest_hash")
        summary.update(stage("expectations", expectations, url, night, prog["max_award_minor"]))
        failpoints.hit("after_expectations")
        summary.update(stage("publish", publish, url, run_id, dry_run))
        failpoints.hit("after_outbox_queued")
        if dry_run:
            summary.update(emails_written=0, emails_sent=0, emails_failed=0, email_files=[])
        else:
            summary.update(stage("emails", send_emails, url))
            summary.update(stage("catch_up", catch_up, url, night, program, summary["ledger_entries_posted"]))
    except Exception as exc:
        with db.connect(url) as conn:
            runs.finish(conn, run_id, "failed", summary, error=str(exc))
        lock.close()
        log.error("run %s failed: %s", run_id, exc)
        raise
    with db.connect(url) as conn:
        runs.finish(conn, run_id, "completed", summary)
    lock.close()
    _artifact(summary)
    log.info("night %s done: %s entries posted, %s emails", night, summary["ledger_entries_posted"], summary["emails_written"] + summary["emails_sent"])
    return summary


def _artifact(s: dict[str, Any]) -> None:
    rows = [
        ("rows ingested", s["rows_ingested"]), ("rows quarantined", s["rows_quarantined"]),
        ("ledger entries posted", s["ledger_entries_posted"]), ("awards auto-approved", s["awards_auto_approved"]),
        ("awards pending approval", s["awards_pending"]), ("awards deferred (budget)", s["awards_deferred"]),
        ("emails written", s["emails_written"]), ("emails sent", s["emails_sent"]),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    import re

    create_markdown_artifact(
        # artifact keys allow lowercase letters, digits and dashes only
        key="nightly-" + re.sub(r"[^a-z0-9-]+", "-", s["program"].lower()),
        markdown=f"# Night {s['night']} — {s['program']}{' (dry run)' if s['dry_run'] else ''}\n\n| | |\n|---|---|\n{table}\n",
        description=f"Plaudit nightly summary for {s['night']}",
    )

