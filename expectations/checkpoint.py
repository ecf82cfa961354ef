"""Run the expectation suites on the marts as one GX checkpoint.

A failing expectation raises GateFailed naming the suite, the expectation, the
column and what was found; the flow then publishes nothing.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from expectations.suites import TABLES, build_suites
from plaudit import settings
from plaudit.errors import GateFailed

log = logging.getLogger(__name__)


@dataclass
class CheckpointResult:
    success: bool
    evaluated: int = 0
    failures: list[str] = field(default_factory=list)


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def run_checkpoint(url: str, parameters: dict[str, Any]) -> CheckpointResult:
    """Validate every suite; raise GateFailed if any expectation fails."""
    settings.quiet_third_parties()
    # GX's add_postgres rejects socket URLs; a ${VAR} template is substituted later.
    os.environ["PLAUDIT_GX_URL"] = _sqlalchemy_url(url)
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
    )

    # In memory, and no temporary Data Docs site (GX's ephemeral default leaks one per run into /tmp);
    # the run summary, not Data Docs, is where a failed expectation is reported.
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
        ),
    )
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    source = context.data_sources.add_or_update_postgres(
        name="plaudit", connection_string="${PLAUDIT_GX_URL}"
    )
    definitions = []
    for name, suite in build_suites().items():
        schema, table = TABLES[name]
        asset = source.add_table_asset(name=table, table_name=table, schema_name=schema)
        batch = asset.add_batch_definition_whole_table("whole table")
        suite = context.suites.add_or_update(suite)
        definitions.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )
        )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(name="nightly", validation_definitions=definitions, result_format="SUMMARY")
    )
    outcome = checkpoint.run(expectation_parameters=parameters)
    result = CheckpointResult(success=bool(outcome.success))
    for identifier, run in outcome.run_results.items():
        suite_name = run.suite_name
        for r in run.results:
            result.evaluated += 1
            if r.success:
                continue
            cfg = r.expectation_config
            kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "column")}
            found = r.result or {}
            evidence = (
                f"{found.get('unexpected_count')} unexpected, e.g. {found.get('partial_unexpected_list', [])[:5]}"
                if found.get("unexpected_count") is not None
                else f"observed {found.get('observed_value')!r}"
            )
            if r.exception_info and r.exception_info.get("raised_exception"):
                evidence = f"could not be evaluated: {r.exception_info.get('exception_message')}"
            result.failures.append(
                f"{suite_name}: {cfg.type} on {cfg.kwargs.get('column', '(table)')} {kwargs}: {evidence}"
            )
        log.debug("validated %s", identifier)
    if result.failures:
        detail = "\n  ".join(result.failures)
        raise GateFailed(
            f"expectations failed, nothing was published:\n  {detail}\n"
            "The marts are kept for inspection (schema marts). Fix the input or the program, then run the night again."
        )
    return result
