"""Every setting Plaudit reads, in one place.

All settings come from environment variables; nothing else is read implicitly.

| variable                | default                  | meaning |
|-------------------------|--------------------------|---------|
| PLAUDIT_HOME            | ./.plaudit               | local state: embedded PostgreSQL data, inbox, Prefect home, dbt target |
| PLAUDIT_DATABASE_URL    | (embedded server)        | a PostgreSQL URL; when set, the embedded server is never started |
| PLAUDIT_OUT_DIR         | ./out                    | where emails (.eml) and exports are written |
| PLAUDIT_SMTP_URL        | (unset: write .eml)      | smtp://user:pass@host:port, or smtp+starttls://...; when set, emails are sent |
| PLAUDIT_PROGRAMS_DIR    | ./programs               | where `--program NAME` looks for NAME.yml |
| PLAUDIT_INBOX_DIR       | $PLAUDIT_HOME/inbox      | files the nightly flow picks up by itself (one file per kind) |
| PLAUDIT_DB_NAME         | plaudit                  | database created on the embedded server |
| PLAUDIT_MAPPINGS_DIR    | ./mappings               | column mappings; inbox/<name>/ files are read with <name>.yml |
| PLAUDIT_HASH_KEY        | (generated, see below)   | secret for keyed hashes (HMAC-SHA256) of customer contact details and employee emails |
| PLAUDIT_SMTP_RATE_PER_MINUTE | 120                 | at most this many messages a minute go to the SMTP server |
| PLAUDIT_SMTP_RETRIES    | 4                        | attempts per message on temporary failures (4xx, timeouts, disconnects) |
| PLAUDIT_SMTP_BACKOFF_SECONDS | 2                   | first wait between attempts; doubles each time (at most 60 s) |
| PLAUDIT_SMTP_CA_FILE    | (system certificates)    | a PEM bundle to verify the SMTP server's certificate with (a private CA) |
| PLAUDIT_INGEST_WORKERS  | the machine's cores      | processes that load event files of different kinds at once (1: one file at a time) |
| PLAUDIT_INGEST_PARALLEL_MIN_BYTES | 33554432       | event files smaller than this in total load in one process |
| PLAUDIT_EMBEDDED_SHARED_BUFFERS_MB | an eighth of memory, 128 to 2048 | the embedded server's shared_buffers, read at its start (plaudit/db.py) |
| PLAUDIT_DBT_LOG_LEVEL   | debug                    | what dbt writes to $PLAUDIT_HOME/dbt/logs/dbt.log: debug (every SQL statement it ran), info (each model and test, warnings and errors; a build's Python about 0.85 the time), warn, error or none |
| PLAUDIT_REBUILD_TABLES  | false                    | true: dbt builds every table model each night, changed inputs or not (read by dbt_project/macros/materializations/table.sql; for raw tables written without statement triggers firing, such as by logical replication) |

When PLAUDIT_HASH_KEY is unset, a random key is created once in
$PLAUDIT_HOME/hash.key (mode 0600) and reused. Set the variable in production
and keep it: hashes made with another key do not match.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    out_dir: Path
    smtp_url: str | None
    programs_dir: Path
    inbox_dir: Path
    db_name: str
    mappings_dir: Path
    hash_key: str | None
    smtp_rate_per_minute: int
    smtp_retries: int
    smtp_backoff_seconds: float
    smtp_ca_file: Path | None = None
    ingest_workers: int = 1
    ingest_parallel_min_bytes: int = 32 * 2**20
    embedded_shared_buffers_mb: int = 128
    dbt_log_level: str = "debug"

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def emails_dir(self) -> Path:
        return self.out_dir / "emails"


def load() -> Settings:
    """Read the settings from the environment (call again after changing os.environ)."""
    cwd = Path.cwd()
    home = Path(os.environ.get("PLAUDIT_HOME") or cwd / ".plaudit").expanduser().resolve()
    return Settings(
        home=home,
        database_url=os.environ.get("PLAUDIT_DATABASE_URL") or None,
        out_dir=Path(os.environ.get("PLAUDIT_OUT_DIR") or cwd / "out").expanduser().resolve(),
        smtp_url=os.environ.get("PLAUDIT_SMTP_URL") or None,
        programs_dir=Path(os.environ.get("PLAUDIT_PROGRAMS_DIR") or cwd / "programs").resolve(),
        inbox_dir=Path(os.environ.get("PLAUDIT_INBOX_DIR") or home / "inbox").resolve(),
        db_name=os.environ.get("PLAUDIT_DB_NAME") or "plaudit",
        mappings_dir=Path(os.environ.get("PLAUDIT_MAPPINGS_DIR") or cwd / "mappings").resolve(),
        hash_key=os.environ.get("PLAUDIT_HASH_KEY") or None,
        smtp_rate_per_minute=_number("PLAUDIT_SMTP_RATE_PER_MINUTE", 120, int),
        smtp_retries=_number("PLAUDIT_SMTP_RETRIES", 4, int),
        smtp_backoff_seconds=_number("PLAUDIT_SMTP_BACKOFF_SECONDS", 2.0, float),
        smtp_ca_file=Path(os.environ["PLAUDIT_SMTP_CA_FILE"]).expanduser() if os.environ.get("PLAUDIT_SMTP_CA_FILE") else None,
        ingest_workers=_number("PLAUDIT_INGEST_WORKERS", os.cpu_count() or 1, int),
        ingest_parallel_min_bytes=_number("PLAUDIT_INGEST_PARALLEL_MIN_BYTES", 32 * 2**20, int),
        embedded_shared_buffers_mb=_number("PLAUDIT_EMBEDDED_SHARED_BUFFERS_MB", _default_shared_buffers_mb(), int, 16),
        dbt_log_level=_choice("PLAUDIT_DBT_LOG_LEVEL", DBT_LOG_LEVELS),
    )


# dbt's own levels for its file log, the first the default (docs/decisions.md, "dbt's file log")
DBT_LOG_LEVELS = ("debug", "info", "warn", "error", "none")


def _choice(name: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name) or ""
    value = raw.strip().lower() or choices[0]
    if value not in choices:
        from plaudit.errors import ConfigError

        raise ConfigError(f"{name}={raw!r} is not one of {', '.join(choices)}: set it to one of them "
                          f"(or unset it for {choices[0]})")
    return value


def _default_shared_buffers_mb() -> int:
    """An eighth of the machine's memory, at most 2 GB (PostgreSQL's own default is 128 MB)."""
    import psutil

    return max(128, min(2048, psutil.virtual_memory().total // 2**20 // 8))


def _number(name: str, default: Any, kind: type, minimum: float = 0) -> Any:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        from plaudit.errors import ConfigError

        raise ConfigError(f"{name}={raw!r} is not a number: set it to e.g. {default}") from None
    if value < minimum:
        from plaudit.errors import ConfigError

        raise ConfigError(f"{name}={raw!r} must not be negative" if minimum == 0
                          else f"{name}={raw!r} must be at least {minimum}")
    return value


def mask_secret_url(url: str) -> str:
    """A URL with its password (if any) replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def quiet_third_parties() -> None:
    """Offline and quiet defaults for Prefect, dbt and GX, set before they are imported."""
    s = load()
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_HOME", str(s.home / "prefect"))
    # Prefect creates its home without parents: on a fresh checkout .plaudit/ does not exist yet,
    # its temporary server cannot open its database, and the first run would time out.
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    # A first run creates Prefect's database before its temporary server answers: on a busy
    # 2-core machine that takes longer than Prefect's default 20 s, and the run would fail.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
