import importlib
from pathlib import Path

import yaml
from prefect.flows import Flow

ROOT = Path(__file__).resolve().parents[1]


def test_every_deployment_entrypoint_imports_as_a_flow_with_its_parameters():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert spec["deployments"], "prefect.yaml has no deployments"
    for d in spec["deployments"]:
        path, func = d["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, func)
        assert isinstance(flow, Flow), d["entrypoint"]
        params = set(flow.parameters.properties)
        assert set(d.get("parameters", {})) <= params, f"{d['name']}: unknown parameters"
        for s in d.get("schedules", []):
            assert s["cron"] and s["timezone"] and s["slug"]


def test_nightly_takes_night_program_and_dry_run():
    from flows.nightly import nightly

    assert {"night", "program", "dry_run"} <= set(nightly.parameters.properties)
