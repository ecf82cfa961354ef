"""`plaudit`: the command line. Each command starts the embedded database on demand."""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from plaudit import settings
from plaudit.errors import PlauditError

settings.quiet_third_parties()

app = typer.Typer(
    help="Plaudit: customer feedback in; fair points, approved awards and recognition emails out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database: start, stop, status, url.", no_args_is_help=True)
program_app = typer.Typer(help="Program files: validate, diff.", no_args_is_help=True)
runs_app = typer.Typer(help="Past runs: list, show.", no_args_is_help=True)
config_app = typer.Typer(help="Settings: show (secrets masked).", no_args_is_help=True)
emails_app = typer.Typer(help="The outbox: list, send, preview.", no_args_is_help=True)
approvals_app = typer.Typer(help="Awards waiting for a decision: list, show, approve, reject, export, import.",
                            no_args_is_help=True)
payouts_app = typer.Typer(help="Payout tables for finance: export.", no_args_is_help=True)
period_app = typer.Typer(help="Accounting periods: close.", no_args_is_help=True)
flags_app = typer.Typer(help="Gaming flags: list, clear, confirm.", no_args_is_help=True)
feedback_app = typer.Typer(help="Customer feedback: retract.", no_args_is_help=True)
debug_app = typer.Typer(help="For testing Plaudit itself: failpoints.", no_args_is_help=True)
explain_app = typer.Typer(help="Why an entry or an award exists: the feedback, the rule, the numbers.",
                          no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(program_app, name="program")
app.add_typer(runs_app, name="runs")
app.add_typer(approvals_app, name="approvals")
app.add_typer(config_app, name="config")
app.add_typer(emails_app, name="emails")
app.add_typer(explain_app, name="explain")
app.add_typer(payouts_app, name="payouts")
app.add_typer(flags_app, name="flags")
app.add_typer(period_app, name="period")
app.add_typer(feedback_app, name="feedback")
app.add_typer(debug_app, name="debug")

out = Console()
err = Console(stderr=True)


def _json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _url() -> str:
    from plaudit import db

    return db.database_url()


# ------------------------------------------------------------------ db


@db_app.command("start")
def db_start() -> None:
    """Start the embedded PostgreSQL (and apply migrations)."""
    from plaudit import db

    url = db.database_url()
    out.print(f"database ready: {db.mask_url(url)}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL."""
    from plaudit import db

    out.print("stopped" if db.stop() else "not running")


@db_app.command("status")
def db_status(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Whether the database is running, and where."""
    from plaudit import db

    st = db.status()
    data = {"embedded": st.embedded, "running": st.running, "url": st.url and db.mask_url(st.url),
            "pid": st.pid, "pgdata": str(st.pgdata) if st.pgdata else None}
    if as_json:
        _json(data)
    else:
        for k, v in data.items():
            out.print(f"{k:8} {v}")
    raise typer.Exit(0 if st.running else 1)


@db_app.command("url")
def db_url() -> None:
    """Print the database URL (starting the embedded server if needed)."""
    sys.stdout.write(_url() + "\n")


@db_app.command("env")
def db_env() -> None:
    """Print `export` lines that let you run dbt by hand against Plaudit's database."""
    from plaudit import db

    for k, v in db.dbt_env(_url()).items():
        sys.stdout.write(f"export {k}={json.dumps(v)}\n")


# ------------------------------------------------------------------ data


@app.command()
def generate(
    out_dir: Path = typer.Option(..., "--out", help="folder to write the CSV exports into"),
    employees: int = typer.Option(60, min=10, help="number of employees"),
    days: int = typer.Option(33, min=1, help="number of days of activity"),
    seed: int = typer.Option(7, help="random seed: the same seed gives the same files"),
    start: str = typer.Option("2026-10-01", help="first day of activity (YYYY-MM-DD)"),
    first_id: int = typer.Option(0, help="number event ids from here (to add days to an earlier batch)"),
) -> None:
    """Generate realistic demo exports (employees, accounts, interactions, participants, feedback, nominations)."""
    from rich.progress import Progress

    from plaudit.demo_data import generate as gen

    with Progress(console=err, transient=True) as progress:
        bar = progress.add_task("generating days", total=days)
        counts = gen(out_dir, employees=employees, days=days, seed=seed, start=date.fromisoformat(start),
                     on_day=lambda n: progress.advance(bar, n), first_id=first_id)
    for name, n in counts.items():
        out.print(f"{n:>9,} {name:<13} {out_dir / (name + '.csv')}")


@app.command()
def ingest(
    file: Path | None = typer.Option(None, help="an export file (csv, jsonl or xlsx)"),
    kind: str | None = typer.Option(
        None, help="feedback | nominations | interactions | participants | employees | accounts "
                   "(not needed with a mapping that names its kinds)"),
    mapping: Path | None = typer.Option(None, help="a column mapping (mappings/*.yml)"),
    api: str | None = typer.Option(None, help="an HTTP JSON API to pull from instead of a file (needs --mapping)"),
    as_json: bool = typer.Option(False, "--json", help="print the counts as JSON"),
) -> None:
    """Load an export file (or an API) into the raw tables; bad rows go to quarantine."""
    import psycopg
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from flows.ingest import mapping as mapping_mod
    from flows.ingest.files import ingest_file
    from flows.ingest.kinds import kind as kind_of

    if (file is None) == (api is None):
        raise PlauditError("give either --file FILE or --api URL")
    m = mapping_mod.load(mapping) if mapping else None
    k = kind_of(kind) if kind else None
    url = _url()
    if api is not None:
        from flows.ingest.api import pull

        if m is None:
            raise PlauditError("--api needs --mapping: the mapping's `api:` block says how to page and where the records are")
        result = pull(url, api, m)
        if as_json:
            _json(result.as_dict())
        else:
            out.print(f"{api}: {result.pages} page(s), {result.records:,} records; cursor saved: {result.cursor!r}")
        return
    assert file is not None
    with psycopg.connect(url) as conn, Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                                console=err, transient=True) as progress:
        task = progress.add_task(f"reading {file.name}", total=None)
        fr = ingest_file(conn, file, kind=k, mapping=m,
                         on_progress=lambda n: progress.update(task, description=f"reading {file.name}: {n:,} rows"))
        conn.commit()
    if as_json:
        _json(fr.as_dict())
        return
    out.print(f"{fr.file}: {fr.source_rows:,} rows")
    for name, r in fr.kinds.items():
        filtered = f", {r.filtered_out:,} filtered out by the mapping" if r.filtered_out else ""
        out.print(f"  {name}: {r.rows_read:,} read → {r.loaded:,} loaded, {r.updated:,} updated, "
                  f"{r.duplicates:,} duplicates, {r.quarantined:,} quarantined{filtered}")
        for reason, n in r.quarantined_by_reason.items():
            out.print(f"    quarantined {n:,}: {reason}", highlight=False)
    if fr.ignored_columns:
        out.print(f"  columns ignored: {', '.join(repr(c) for c in fr.ignored_columns)}")


# ------------------------------------------------------------------ programs


@program_app.command("validate")
def program_validate(file: Path) -> None:
    """Check a program file; errors name the file, the line and the field."""
    from plaudit import program

    p = program.load(file)
    out.print(f"{file}: valid (program {p.program}, version {p.version_id}, {len(p.points)} points rules)")


# ------------------------------------------------------------------ runs


@program_app.command("diff")
def program_diff(
    old: Path = typer.Argument(..., help="the program file as it is"),
    new: Path = typer.Argument(..., help="the program file as you would change it"),
    period: str = typer.Option(..., help="a past period to recompute, YYYY-MM"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """How a program change would move each employee's points for a past period.

    Nothing is published: both files are computed into throwaway schemas, which are dropped."""
    from flows.transform.diff import program_diff as diff

    err.print(f"computing {period} under {old} and under {new} (two dbt runs) …")
    r = diff(_url(), old, new, period)
    if as_json:
        _json(r)
        return
    t = Table("employee", "old points", "new points", "change", f"old {r['old']['currency']}",
              f"new {r['new']['currency']}", title=f"{period}: {old} → {new}")
    for e in r["employees"]:
        if e["delta_points"] != 0:
            t.add_row(f"{e['full_name']} ({e['employee_id']})", f"{e['old_points']}", f"{e['new_points']}",
                      f"{e['delta_points']:+}", f"{e['old_amount']}", f"{e['new_amount']}")
    out.print(t)
    tot = r["totals"]
    out.print(f"{tot['employees_changed']} of {len(r['employees'])} employee(s) change; points "
              f"{tot['old_points']} → {tot['new_points']}; value before budget {tot['old_amount']} → "
              f"{tot['new_amount']} ({r['new']['currency']}). Nothing was published.")


def _run_night(night: date, program: str, dry_run: bool) -> dict[str, Any]:
    from flows.nightly import nightly

    return nightly(night=night, program=program, dry_run=dry_run)


@app.command()
def run(
    night: str = typer.Option(..., help="the night to run, YYYY-MM-DD: feedback up to the end of this day counts"),
    program: str = typer.Option("demo", help="program name (programs/NAME.yml) or path"),
    dry_run: bool = typer.Option(False, "--dry-run", help="compute and check everything, publish nothing"),
    as_json: bool = typer.Option(False, "--json", help="print the run summary as one JSON object"),
) -> None:
    """Run the nightly flow for one night: ingest → dbt build → expectations → publish → emails."""
    the_night = _parse_night(night, "--night")
    summary = _run_night(the_night, program, dry_run)
    if as_json:
        _json({k: v for k, v in summary.items() if k not in ("files", "api_pulls")})
    else:
        _print_summary(summary)


def _print_summary(s: dict[str, Any]) -> None:
    secs = sum(s.get("stages", {}).values())
    t = Table(title=f"night {s['night']} · {s['program']}{' · dry run' if s['dry_run'] else ''} · {secs:.1f} s",
              show_header=False, title_justify="left")
    for label, key in [("rows ingested", "rows_ingested"), ("rows quarantined", "rows_quarantined"),
                       ("ledger entries posted", "ledger_entries_posted"), ("awards auto-approved", "awards_auto_approved"),
                       ("awards pending approval", "awards_pending"), ("awards deferred (budget)", "awards_deferred"),
                       ("gaming flags held", "gaming_flags_held"),
                       ("emails written (.eml)", "emails_written"), ("emails sent (SMTP)", "emails_sent")]:
        t.add_row(label, f"{s.get(key, 0):,}")
    out.print(t)


@runs_app.command("list")
def runs_list(
    limit: int = typer.Option(50, help="how many runs, newest first"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Past runs, newest first, with their night and status."""
    from plaudit import runs

    rows = runs.list_runs(_url(), limit)
    if as_json:
        _json(rows)
        return
    t = Table("run", "program", "night", "status", "seconds", "posted", "emails")
    for r in rows:
        s = r["summary"] or {}
        t.add_row(r["run_id"][:8], r["program"], r["night"], r["status"] + (" (dry)" if r["dry_run"] else ""),
                  str(r["seconds"] or ""), str(s.get("ledger_entries_posted", "")),
                  str(s.get("emails_written", 0) + s.get("emails_sent", 0)) if s else "")
    out.print(t)


@runs_app.command("show")
def runs_show(
    run_id: str = typer.Argument(..., help="run id (or a unique prefix)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """One run: its stages and their durations, counts, versions and any error."""
    from plaudit import runs

    r = runs.get_run(_url(), run_id)
    if r is None:
        raise PlauditError(f"no run with id {run_id!r}: `plaudit runs list` shows the ids")
    if as_json:
        _json(r)
        return
    s = r["summary"] or {}
    out.print(f"run {r['run_id']} · {r['program']} · night {r['night']} · {r['status']}"
              f"{' (dry run)' if r['dry_run'] else ''} · {r['seconds']} s")
    out.print(f"started {r['started_at']:%Y-%m-%d %H:%M:%S %Z}, finished {r['finished_at'] or '—'}")
    for name, secs in (s.get("stages") or {}).items():
        out.print(f"  stage {name:<13} {secs:>7.2f} s")
    for key in ("rows_ingested", "rows_quarantined", "ledger_entries_posted", "awards_auto_approved",
                "awards_pending", "awards_deferred", "emails_written", "emails_sent", "emails_failed"):
        if key in s:
            out.print(f"  {key.replace('_', ' '):<24} {s[key]:,}")
    for k, v in (s.get("versions") or {}).items():
        out.print(f"  version {k:<16} {v}")
    if r["error"]:
        err.print(f"[red]error:[/red] {r['error']}", highlight=False, soft_wrap=True)


# ------------------------------------------------------------------ emails


@emails_app.command("list")
def emails_list(
    state: str | None = typer.Option(None, help="queued | sending | sent | failed"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Messages in the outbox with their state, attempts and last error."""
    from flows.publish.emails import list_outbox

    rows = list_outbox(_url(), state)
    if as_json:
        _json(rows)
        return
    t = Table("message", "template", "to", "state", "attempts", "last error / delivered to")
    for r in rows:
        t.add_row(r["outbox_id"][:12], r["template"], r["recipient_employee_id"], r["state"], str(r["attempts"]),
                  r["last_error"] or r["delivered_to"] or "")
    out.print(t)
    out.print(f"{len(rows)} message(s)")


@emails_app.command("send")
def emails_send(
    dry_run: bool = typer.Option(False, "--dry-run", help="write queued messages as .eml files, send nothing"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Deliver the queued messages now (SMTP with PLAUDIT_SMTP_URL, else .eml files)."""
    from flows.publish import emails

    url = _url()
    if dry_run:
        folder = settings.load().out_dir / "emails-dry-run"
        files = emails.write_dry_run(url, folder)
        _json({"dry_run": True, "files": files}) if as_json else out.print(
            f"{len(files)} queued message(s) written to {folder}; nothing was sent or marked", soft_wrap=True)
        return
    with err.status("sending…"):
        r = emails.deliver(url)
    data = {"written": r.written, "sent": r.sent, "failed": r.failed, "deferred": r.deferred}
    _json(data) if as_json else out.print(
        f"{r.sent} sent, {r.written} written as .eml, {r.failed} failed, {r.deferred} left queued (temporary failures)")


@emails_app.command("preview")
def emails_preview(
    award: str = typer.Option(..., help="award id (or a unique prefix)"),
    out_file: Path = typer.Option(..., "--out", help="the HTML file to write"),
) -> None:
    """Write an award's recognition email as HTML (as sent, or as it would be)."""
    from flows.publish.emails import preview_award

    url = _url()
    subject, text, html = preview_award(url, _full_award_id(url, award))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(html, encoding="utf-8")
    out.print(f"{subject!r} → {out_file}", soft_wrap=True)


@app.command()
def report(
    period: str = typer.Option(..., help="the period, YYYY-MM"),
    out_file: Path = typer.Option(..., "--out", help="the HTML file to write"),
    program: str = typer.Option("demo", help="program name (programs/NAME.yml) or path"),
) -> None:
    """Write the period's report: one self-contained HTML file with charts."""
    import re

    from flows.publish.report import write

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise PlauditError(f"--period {period!r} is not a month: write it as YYYY-MM")
    path = write(_url(), program, period, out_file)
    out.print(f"report for {program} {period} → {path}", soft_wrap=True)


# ------------------------------------------------------------------ config


@config_app.command("show")
def config_show(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Every setting, where it comes from, with secrets masked."""
    import os

    from plaudit import db

    s = settings.load()
    rows = {
        "PLAUDIT_HOME": str(s.home),
        "PLAUDIT_DATABASE_URL": db.mask_url(s.database_url) if s.database_url else "(embedded server)",
        "PLAUDIT_OUT_DIR": str(s.out_dir),
        "PLAUDIT_SMTP_URL": settings.mask_secret_url(s.smtp_url) if s.smtp_url else "(unset: emails are written as .eml)",
        "PLAUDIT_PROGRAMS_DIR": str(s.programs_dir),
        "PLAUDIT_MAPPINGS_DIR": str(s.mappings_dir),
        "PLAUDIT_INBOX_DIR": str(s.inbox_dir),
        "PLAUDIT_DB_NAME": s.db_name,
        "PLAUDIT_HASH_KEY": "***" if s.hash_key else f"(unset: a generated key in {s.home / 'hash.key'})",
        "PLAUDIT_SMTP_RATE_PER_MINUTE": str(s.smtp_rate_per_minute),
        "PLAUDIT_SMTP_RETRIES": str(s.smtp_retries),
        "PLAUDIT_SMTP_BACKOFF_SECONDS": str(s.smtp_backoff_seconds),
        "PLAUDIT_SMTP_CA_FILE": str(s.smtp_ca_file) if s.smtp_ca_file else "(the system's certificates)",
        "PLAUDIT_INGEST_WORKERS": str(s.ingest_workers),
        "PLAUDIT_INGEST_PARALLEL_MIN_BYTES": str(s.ingest_parallel_min_bytes),
        "PLAUDIT_EMBEDDED_SHARED_BUFFERS_MB": "(unused: PLAUDIT_DATABASE_URL is set)" if s.database_url
        else f"{s.embedded_shared_buffers_mb} (read at the embedded server's start)",
        "PLAUDIT_DBT_LOG_LEVEL": s.dbt_log_level,
        "PLAUDIT_REBUILD_TABLES": os.environ.get("PLAUDIT_REBUILD_TABLES") or "false",
    }
    data = {k: {"value": v, "from": "environment" if os.environ.get(k) else "default"} for k, v in rows.items()}
    if as_json:
        _json(data)
        return
    t = Table("setting", "value", "from")
    for k, v in data.items():
        t.add_row(k, v["value"], v["from"])
    out.print(t)


# ------------------------------------------------------------------ backfill


@app.command()
def backfill(
    date_from: str = typer.Option(..., "--from", help="first night, YYYY-MM-DD"),
    date_to: str = typer.Option(..., "--to", help="last night, YYYY-MM-DD"),
    program: str = typer.Option("demo", help="program name (programs/NAME.yml) or path"),
    force: bool = typer.Option(False, "--force", help="run nights that already completed again (publishes nothing twice)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object per night"),
) -> None:
    """Run a range of nights in order; nights already completed are skipped, so an interrupted backfill resumes."""
    from datetime import timedelta

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from plaudit import runs

    first, last = _parse_night(date_from, "--from"), _parse_night(date_to, "--to")
    if last < first:
        raise PlauditError(f"--to {last} is before --from {first}")
    nights = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    done = set() if force else runs.completed_nights(_url(), program)
    todo = [n for n in nights if n not in done]
    err.print(f"backfill {program}: {len(nights)} night(s), {len(nights) - len(todo)} already completed, {len(todo)} to run")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=False, disable=not todo) as progress:
        bar = progress.add_task("nights", total=len(todo))
        for n in todo:
            progress.update(bar, description=f"night {n}")
            s = _run_night(n, program, False)
            if as_json:
                _json({k: v for k, v in s.items() if k not in ("files", "api_pulls")})
            progress.advance(bar)


def _parse_night(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PlauditError(f"{option} {text!r} is not a date: write it as YYYY-MM-DD") from None


# ------------------------------------------------------------------ approvals


@approvals_app.command("list")
def approvals_list(
    status: str | None = typer.Option("pending", help="pending | approved | rejected | deferred | all"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Awards and their approval state (pending by default)."""
    from flows.publish.approvals import list_awards
    from flows.publish.emails import money

    rows = list_awards(_url(), None if status == "all" else status)
    if as_json:
        _json(rows)
        return
    t = Table("award", "employee", "period", "points", "amount", "status", "who decides / why")
    for r in rows:
        t.add_row(r["award_id"][:12], f"{r['full_name']} ({r['employee_id']})", r["period"], f"{r['points']}",
                  money(r["amount_minor"], r["currency"]), r["status"],
                  f"manager {r['manager_id']}" if r["status"] == "pending" else r["status_reason"])
    out.print(t)
    out.print(f"{len(rows)} award(s)")


def _full_award_id(url: str, prefix: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        ids = [r[0] for r in conn.execute("select award_id from plaudit.awards where award_id like %s || '%%'", [prefix])]
    if len(ids) == 1:
        return str(ids[0])
    if len(ids) > 1:
        raise PlauditError(f"award id {prefix!r} is ambiguous ({len(ids)} awards): give more characters")
    return prefix


@approvals_app.command("show")
def approvals_show(
    award_id: str = typer.Argument(..., help="award id (or a unique prefix)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """One award: why it exists, its routing, the budget of its period and the decision."""
    explain_award(award_id, as_json)


@approvals_app.command("export")
def approvals_export(
    out_file: Path = typer.Option(..., "--out", help="the .xlsx file to write"),
    status: str = typer.Option("pending", help="pending | approved | rejected | deferred"),
    program: str | None = typer.Option(None, help="only this program"),
) -> None:
    """Awards as a spreadsheet, with why each exists and the customers' words; fill decision and reason."""
    from flows.publish.approval_sheets import export_sheet

    n = export_sheet(_url(), out_file, status=status, program=program)
    out.print(f"{n} award(s) → {out_file}; fill the decision (approve or reject) and reason columns, then "
              f"`plaudit approvals import {out_file} --as YOUR_EMPLOYEE_ID`", soft_wrap=True)


@approvals_app.command("import")
def approvals_import(
    file: Path = typer.Argument(..., help="a spreadsheet from `plaudit approvals export`"),
    as_employee: str = typer.Option(..., "--as", help="your employee id (every decision is recorded as yours)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Apply the filled decisions: every row or none, with a report of the rows that failed."""
    from flows.publish.approval_sheets import import_sheet

    r = import_sheet(_url(), file, as_employee)
    _json(r) if as_json else out.print(
        f"{r['applied']} decision(s) applied as {as_employee}: {r['approved']} approved, {r['rejected']} rejected;"
        f" {r['emails_queued']} email(s) queued")


@approvals_app.command("approve")
def approvals_approve(
    award_id: str = typer.Argument(..., help="award id (or a unique prefix)"),
    as_employee: str = typer.Option(..., "--as", help="your employee id"),
    reason: str = typer.Option("approved", help="why"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Approve a pending award (its recognition email is queued)."""
    from flows.publish.approvals import decide

    url = _url()
    r = decide(url, _full_award_id(url, award_id), as_employee, "approved", reason)
    _json(r) if as_json else out.print(f"award {r['award_id']} approved by {as_employee}; {r['emails_queued']} email(s) queued")


@approvals_app.command("reject")
def approvals_reject(
    award_id: str = typer.Argument(..., help="award id (or a unique prefix)"),
    as_employee: str = typer.Option(..., "--as", help="your employee id"),
    reason: str = typer.Option(..., help="why (recorded with the decision)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Reject a pending award, with a reason."""
    from flows.publish.approvals import decide

    url = _url()
    r = decide(url, _full_award_id(url, award_id), as_employee, "rejected", reason)
    _json(r) if as_json else out.print(f"award {r['award_id']} rejected by {as_employee}")


# ------------------------------------------------------------------ finance


@payouts_app.command("export")
def payouts_export(
    period: str = typer.Option(..., help="the period, YYYY-MM"),
    fmt: str = typer.Option("xlsx", "--format", help="csv | xlsx"),
    out_file: Path = typer.Option(..., "--out", help="the file to write"),
    program: str = typer.Option("demo", help="program name"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The period's approved awards by funding source, cost centre and employee, and a co-funding
    statement per account; totals reconcile to the ledger or nothing is written."""
    from flows.publish.payouts import export

    x = export(_url(), program, period, fmt, out_file)
    summary = {"file": str(x.path), "period": period, "closed": x.closed,
               "approved_awards": len(x.sections["by_employee"]),
               "amount": str(Decimal(int(x.totals["awards_minor"])) / 100),
               "co_funded": str(sum(Decimal(int(r["amount_minor"])) for r in x.sections["co_funding_statement"]) / 100)}
    if as_json:
        _json(summary)
    else:
        out.print(f"{summary['approved_awards']} approved award(s), {summary['amount']} in all "
                  f"({summary['co_funded']} co-funded by accounts){' — period closed' if x.closed else ''} → {x.path}")


@period_app.command("close")
def period_close(
    period: str = typer.Argument(..., help="the period to close, YYYY-MM"),
    as_employee: str = typer.Option(..., "--as", help="your employee id (a finance approver of the program)"),
    program: str = typer.Option("demo", help="program name"),
    defer_pending: bool = typer.Option(False, "--defer-pending", help="defer awards nobody decided, then close"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Lock a period: its awards and payouts never change after; late feedback goes to the next period."""
    from flows.publish.payouts import close

    r = close(_url(), program, period, as_employee, defer_pending=defer_pending)
    _json(r) if as_json else out.print(
        f"{period} closed by {as_employee}: {r['awards']} award(s) locked"
        + (f", {r['deferred_pending']} undecided deferred" if r["deferred_pending"] else ""))


@flags_app.command("list")
def flags_list(
    status: str | None = typer.Option("held", help="held | cleared | confirmed | all"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Feedback held as possible gaming (it earns nothing until cleared)."""
    from flows.publish.flags import list_flags

    rows = list_flags(_url(), None if status == "all" else status)
    if as_json:
        _json(rows)
        return
    t = Table("flag", "employee", "kind", "feedback", "why", "status")
    for r in rows:
        t.add_row(r["flag_id"][:12], f"{r['full_name']} ({r['employee_id']})", r["flag_kind"], r["source_id"],
                  r["detail"], r["status"] if r["status"] == "held" else f"{r['status']} by {r['decided_by']}")
    out.print(t)
    out.print(f"{len(rows)} flag(s)")


def _decide_flag(flag_id: str, as_employee: str, decision: str, reason: str, as_json: bool) -> None:
    from flows.publish.flags import decide

    r = decide(_url(), flag_id, as_employee, decision, reason)
    _json(r) if as_json else out.print(
        f"flag {r['flag_id']} {decision} by {as_employee}"
        + (f"; {r['entries_reversed']} posted entr(y/ies) reversed" if decision == "confirmed" else
           "; its feedback earns points from the next night"))


@flags_app.command("clear")
def flags_clear(
    flag_id: str = typer.Argument(..., help="flag id (or a unique prefix)"),
    as_employee: str = typer.Option(..., "--as", help="your employee id"),
    reason: str = typer.Option(..., help="why it is not gaming"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Not gaming: release the feedback (its points post on the next night)."""
    _decide_flag(flag_id, as_employee, "cleared", reason, as_json)


@flags_app.command("confirm")
def flags_confirm(
    flag_id: str = typer.Argument(..., help="flag id (or a unique prefix)"),
    as_employee: str = typer.Option(..., "--as", help="your employee id"),
    reason: str = typer.Option(..., help="why it is gaming"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Gaming: keep the feedback held, and reverse any points it already posted."""
    _decide_flag(flag_id, as_employee, "confirmed", reason, as_json)


@feedback_app.command("retract")
def feedback_retract(
    response_id: str = typer.Argument(..., help="the feedback's response id"),
    as_employee: str = typer.Option(..., "--as", help="your employee id (a finance approver of the program)"),
    reason: str = typer.Option(..., help="why: withdrawn by the customer, found invalid, ..."),
    program: str = typer.Option("demo", help="program name"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Feedback withdrawn or invalid: it earns nothing from the next night on, and what it already
    posted is reversed by correction entries (an adjustment in the next open period once paid)."""
    from flows.publish.retractions import retract

    r = retract(_url(), program, response_id, as_employee, reason)
    _json(r) if as_json else out.print(
        f"feedback {response_id} retracted by {as_employee}; {r['points_to_reverse']} posted point(s) will be "
        "reversed by the next night")


@debug_app.command("failpoints")
def debug_failpoints(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """The named points where PLAUDIT_FAILPOINT=NAME kills the process (crash-recovery tests)."""
    from plaudit.failpoints import EXIT_CODE, FAILPOINTS

    if as_json:
        _json(FAILPOINTS)
        return
    t = Table("failpoint", "the process exits when")
    for name, where in FAILPOINTS.items():
        t.add_row(name, where)
    out.print(t)
    out.print(f"PLAUDIT_FAILPOINT=NAME exits there at once (code {EXIT_CODE}, no cleanup). See docs/reliability.md.")


# ------------------------------------------------------------------ explain


@explain_app.command("ledger")
def explain_ledger(
    entry_id: str = typer.Argument(..., help="ledger entry id (or a unique prefix)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """A ledger entry: the customer's feedback, the interaction and its participants, the weights,
    the rule and its version, the multiplier and the cap."""
    from flows.publish.explain import explain_entry, render_entry

    x = explain_entry(_url(), entry_id)
    _json(x) if as_json else sys.stdout.write(render_entry(x) + "\n")


@explain_app.command("award")
def explain_award(
    award_id: str = typer.Argument(..., help="award id (or a unique prefix)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """An award: its points by kind, the value per point, the budget of its period and the approval."""
    from flows.publish.explain import explain_award as explain
    from flows.publish.explain import render_award

    x = explain(_url(), award_id)
    _json(x) if as_json else sys.stdout.write(render_award(x) + "\n")


# ------------------------------------------------------------------ demo


@app.command()
def demo(
    nights: list[str] = typer.Option(["2026-10-30", "2026-10-31", "2026-11-01"], "--night", help="nights to run"),
) -> None:
    """Generate demo data into the inbox and run the demo's nights end to end."""
    import os

    from plaudit.demo_data import generate as gen

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the demo prints its own summary
    s = settings.load()
    err.print(f"[bold]Plaudit demo[/bold] · data in {s.home}")
    if not any(s.inbox_dir.glob("*.csv")):
        counts = gen(s.inbox_dir, start=date(2026, 10, 1), days=33)
        err.print("generated " + ", ".join(f"{n:,} {k}" for k, n in counts.items()) + f" in {s.inbox_dir}")
    summaries = []
    for n in nights:
        err.print(f"running night {n} …")
        summaries.append(_run_night(date.fromisoformat(n), "demo", False))
    for sm in summaries:
        _print_summary(sm)
    _demo_finance(s.out_dir)
    from flows.digests import weekly_digest
    from flows.publish.emails import deliver

    deliver(_url())  # the recognition emails of the awards approved at month end

    err.print("sending the weekly manager digests and team broadcasts for the week ending 2026-10-25 …")
    weekly_digest(week_ending=date(2026, 10, 25), program="demo")
    out.print(f"\n[bold]Outputs[/bold] in {s.emails_dir}")
    by_template: dict[str, list[Path]] = {}
    for e in sorted(s.emails_dir.glob("*.eml")):
        head = e.read_bytes()[:4096].decode("utf-8", "replace")
        kind = next((ln.split(":", 1)[1].strip() for ln in head.splitlines() if ln.startswith("X-Plaudit-Template:")), "?")
        by_template.setdefault(kind, []).append(e)
    for kind, label in (("recognition", "recognition emails"), ("manager_digest", "manager digests"),
                        ("team_broadcast", "team broadcast messages")):
        files = by_template.get(kind, [])
        out.print(f"  {len(files)} {label}, e.g. {files[0] if files else '—'}", soft_wrap=True)
    from flows.publish.report import write as write_report

    report_path = write_report(_url(), "demo", "2026-10", s.out_dir / "report-2026-10.html")
    out.print(f"  the October report: {report_path}", soft_wrap=True)
    out.print("\n[bold]Try next[/bold]\n  .venv/bin/plaudit flags list              feedback held as possible gaming"
              "\n  .venv/bin/plaudit approvals list --status all   every award and who decided it"
              "\n  .venv/bin/plaudit explain award AWARD_ID  why an award is what it is"
              "\n  .venv/bin/plaudit runs list               what each night did"
              "\n  .venv/bin/plaudit run --night 2026-11-02  run another night (see README)")


def _demo_finance(out_dir: Path) -> None:
    """The demo's month end: managers and finance decide October's pending awards (simulated
    people, each through the same checks as the CLI), finance closes October and exports the
    payout tables."""
    import psycopg

    from flows.publish.approvals import decide
    from flows.publish.emails import money
    from flows.publish.flags import list_flags
    from flows.publish.payouts import close, export

    url = _url()
    with psycopg.connect(url) as conn:
        if not conn.execute("select 1 from plaudit.period_closes where program = 'demo' and period = '2026-10'").fetchone():
            pending = conn.execute(
                "select a.award_id, case a.approval_level when 'finance' then 'E0001' else e.manager_id end"
                " from plaudit.awards a join raw.employees e using (employee_id)"
                " where a.program = 'demo' and a.period = '2026-10' and a.status = 'pending' order by a.award_id"
            ).fetchall()
        else:
            pending = []
    for award_id, decider in pending:  # the people who would click "approve", one by one
        decide(url, award_id, decider, "approved", "demo: approved at month end")
    closed_now = False
    try:
        close(url, "demo", "2026-10", "E0001")
        closed_now = True
    except PlauditError:
        pass  # already closed by an earlier `make demo`
    x = export(url, "demo", "2026-10", "xlsx", out_dir / "payouts-2026-10.xlsx")
    with psycopg.connect(url) as conn:
        deferred = conn.execute("select count(*), coalesce(sum(amount_minor), 0) from plaudit.awards"
                                " where program = 'demo' and period = '2026-10' and status = 'deferred'").fetchone()
        by_scope = conn.execute(
            "select case when status_reason like 'budget exhausted: team %%' then 'the team''s budget'"
            " when status_reason like 'budget exhausted%%' then 'the program''s budget' else 'not decided' end, count(*)"
            " from plaudit.awards where program = 'demo' and period = '2026-10' and status = 'deferred'"
            " group by 1 order by 1").fetchall()
        (instant,) = conn.execute("select count(*) from plaudit.awards where program = 'demo' and period = '2026-10'"
                                  " and award_kind = 'instant' and status = 'approved'").fetchone()
    held = list_flags(url, "held")
    out.print("\n[bold]October, closed by finance[/bold]" + ("" if closed_now else " (earlier)"))
    out.print(f"  {len(pending)} pending award(s) decided by managers and finance; "
              f"{len(x.sections['by_employee'])} approved, {money(x.totals['awards_minor'], 'EUR')} in all", soft_wrap=True)
    out.print(f"  {instant} of them instant awards for customer nominations, paid the night each arrived",
              soft_wrap=True)
    out.print(f"  {deferred[0]} award(s) deferred, {money(deferred[1], 'EUR')} ("
              + ", ".join(f"{n} by {scope}" for scope, n in by_scope)
              + "): they are considered again in November", soft_wrap=True)
    for a in x.sections["co_funding_statement"]:
        paid = money(a["amount_minor"], a["currency"])
        if a["account_currency"] != a["currency"]:
            paid += f" = {money(a['account_amount_minor'], a['account_currency'])}"
        out.print(f"  co-funded by {a['account_name']}: {paid}"
                  f" ({a['awards']} award(s), {Decimal(a['co_funding_share']) * 100:.0f}% share)", soft_wrap=True)
    kinds: dict[str, int] = {}
    for f in held:
        kinds[f["flag_kind"]] = kinds.get(f["flag_kind"], 0) + 1
    out.print(f"  {len(held)} gaming flag(s) held: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in kinds.items()),
              soft_wrap=True)
    out.print(f"  payout tables: {x.path}", soft_wrap=True)


def main() -> None:
    import warnings

    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    try:
        app()
    except PlauditError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
