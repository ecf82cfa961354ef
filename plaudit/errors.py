"""Errors a user can cause. Each says what was wrong and how to fix it."""

from __future__ import annotations


class PlauditError(Exception):
    """Base class: the CLI prints the message (no traceback) and exits 1."""

    exit_code = 1


class ConfigError(PlauditError):
    """A setting or environment variable is missing or malformed."""


class DatabaseError(PlauditError):
    """The database could not be started, reached or migrated."""


class ProgramError(PlauditError):
    """A program file is invalid. `problems` lists `file:line: field: message` strings."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        body = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{path} is not a valid program ({len(problems)} problem(s)):\n{body}\n"
            "Fix the lines above; `plaudit program validate FILE` re-checks without running anything."
        )


class IngestError(PlauditError):
    """A whole file cannot be ingested (not a row problem: rows go to quarantine)."""


class GateFailed(PlauditError):
    """A dbt test or expectation failed: nothing was published."""

    exit_code = 3


class RunLocked(PlauditError):
    """Another run for the same program and night holds the lock."""

    exit_code = 4


class ApprovalError(PlauditError):
    """An approval decision was refused."""
