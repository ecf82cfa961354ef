"""Run the dbt project in-process, reusing the parsed manifest within a process."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plaudit import db, settings
from plaudit.errors import GateFailed, PlauditError

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

_manifest_cache: dict[str, Any] = {}


@dataclass
class BuildResult:
    models: int = 0
    tests_passed: int = 0
    unit_tests_passed: int = 0
    failures: list[str] = field(default_factory=list)
    manifest_hash: str | None = None


def _prepare(url: str, target_dir: str = "target") -> list[str]:
    s = settings.load()
    os.environ.update(db.dbt_env(url))
    target = s.home / "dbt" / target_dir
    logs = s.home / "dbt" / "logs"
    target.mkdir(parents=True, exist_ok=True)
    return [
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR),
        "--target-path", str(target),
        "--log-path", str(logs),
        "--log-level-file", s.dbt_log_level,
    ]


def _cache_key(url: str) -> str:
    # The manifest records the database name, so it is reused only for the same database.
    return json.dumps(db.dbt_env(url), sort_keys=True)


def parse(url: str) -> Any:
    """Parse once per process and database; later builds reuse the manifest."""
    key = _cache_key(url)
    if key not in _manifest_cache:
        settings.quiet_third_parties()
        from dbt.cli.main import dbtRunner

        res = dbtRunner().invoke(["parse", "--quiet", *_prepare(url)])
        if not res.success:
            raise PlauditError(f"dbt could not parse {PROJECT_DIR}: {res.exception}")
        _manifest_cache[key] = res.result
    return _manifest_cache[key]


def build(
    url: str, *, night: str, program: str, select: str | None = None, full_refresh: bool = False,
    unit_tests: bool = False, command: str = "build", target: str = "target",
    on_failure: str = "nothing was published",
) -> BuildResult:
    """`dbt build` (models and data tests). A failure raises GateFailed naming it, and `on_failure`.

    Incremental models recompute only what changed; `full_refresh` rebuilds them from scratch.
    dbt unit tests check the SQL, not the night's data: nights leave them out (they would cost
    about 8 s each); `make test` runs them (`command="test", select="test_type:unit"`).
    dbt writes its run results and compiled SQL into `target` (a folder of PLAUDIT_HOME/dbt):
    another folder keeps the night's build's where a later invocation would replace them."""
    manifest = parse(url)
    args = [command, "--quiet", "--no-use-colors", *_prepare(url, target), "--vars",
            json.dumps({"night": night, "program": program})]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    if not unit_tests and command == "build":
        args += ["--exclude-resource-type", "unit_test"]
    from dbt.cli.main import dbtRunner

    res = dbtRunner(manifest=manifest).invoke(args)
    out = BuildResult()
    manifest_file = settings.load().home / "dbt" / "target" / "manifest.json"
    if manifest_file.exists():
        import hashlib

        out.manifest_hash = hashlib.sha256(manifest_file.read_bytes()).hexdigest()[:12]
    if res.result is None:
        raise PlauditError(f"dbt {command} did not run: {res.exception}")
    if select and not any(r.node.resource_type != "operation" for r in res.result.results):
        # dbt only warns, and succeeds having done nothing (a misspelt name, a tag no model has any more)
        raise PlauditError(f"dbt {command} --select {select!r} matched nothing in {PROJECT_DIR}: check the "
                           f"names and tags it selects (`dbt ls --select {select}` lists what it matches).")
    for r in res.result.results:
        node = r.node
        status = str(r.status).lower().split(".")[-1]
        if status in ("error", "fail"):
            what = f"{node.resource_type} {node.name}"
            msg = " ".join(line.strip() for line in (r.message or status).strip().splitlines()[:6])
            out.failures.append(f"{what}: {msg}")
        elif node.resource_type == "model":
            out.models += 1
        elif node.resource_type == "unit_test":
            out.unit_tests_passed += 1
        elif node.resource_type == "test":
            out.tests_passed += 1
    if out.failures or not res.success:
        detail = "\n  ".join(out.failures) or str(res.exception)
        raise GateFailed(
            f"dbt {command} failed, {on_failure}:\n  {detail}\n"
            f"Inspect the models in the database (schemas staging, intermediate, marts) and the log in "
            f"{settings.load().home / 'dbt' / 'logs'}."
        )
    return out


def run_isolated(url: str, *, night: str, program: str, schema_prefix: str, select: str) -> None:
    """`dbt run` of `select` into schemas prefixed with `schema_prefix` (e.g. diff_ab12_marts),
    leaving the nightly schemas untouched. Parses afresh (the prefix changes every node's
    schema) into its own target folder, so the nightly manifest and partial-parse state stay."""
    settings.quiet_third_parties()
    from dbt.cli.main import dbtRunner

    res = dbtRunner().invoke([
        "run", "--quiet", "--no-use-colors", *_prepare(url, "isolated-target"), "--select", select,
        "--vars", json.dumps({"night": night, "program": program, "schema_prefix": schema_prefix}),
    ])
    if not res.success:
        failures = [
            f"{r.node.name}: {(r.message or '').strip().splitlines()[0] if r.message else r.status}"
            for r in (res.result.results if res.result else []) if str(r.status).lower().endswith("error")
        ]
        raise PlauditError(f"dbt run failed: {'; '.join(failures) or res.exception}")


def docs_generate(url: str) -> Path:
    """`dbt docs generate`: the catalog of every model and column; returns the target folder."""
    parse(url)
    from dbt.cli.main import dbtRunner

    res = dbtRunner(manifest=_manifest_cache[_cache_key(url)]).invoke(["docs", "generate", "--quiet", *_prepare(url)])
    if not res.success:
        raise PlauditError(f"dbt docs generate failed: {res.exception}")
    return settings.load().home / "dbt" / "target"
