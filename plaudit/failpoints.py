"""Failpoints: kill the process on purpose at a named point, to prove crash recovery.

`PLAUDIT_FAILPOINT=NAME` makes the process exit at once when it reaches that
point: `os._exit`, no cleanup, no `finally`, no commit of an open transaction,
as if the machine lost power. `plaudit debug failpoints` lists them. The crash
matrix (tests/test_reliability.py) runs a night with each, then runs it again
without, and checks that the result equals a clean run's.
"""

from __future__ import annotations

import os
import sys

EXIT_CODE = 86  # what a process killed at a failpoint exits with

FAILPOINTS: dict[str, str] = {
    "after_ingest_commit": "a file's rows are committed to the raw tables, the next file not started",
    "after_dbt_build": "dbt built every model and passed its tests; expectations not run",
    "after_expectations": "the quality gate passed; nothing published",
    "mid_ledger_post": "inside the publish transaction: ledger entries inserted, awards not yet created",
    "after_outbox_queued": "the publish transaction committed (ledger, awards, outbox); no email sent",
    "after_smtp_accept": "the SMTP server accepted a message; the outbox does not yet say it was sent",
    "mid_export": "a payout export is half written (to its temporary file); the final file not in place",
}


def hit(name: str) -> None:
    """Exit immediately if PLAUDIT_FAILPOINT names this point."""
    assert name in FAILPOINTS, name
    if os.environ.get("PLAUDIT_FAILPOINT") == name:
        sys.stderr.write(f"failpoint {name}: exiting now\n")
        sys.stderr.flush()
        os._exit(EXIT_CODE)
