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


def test_the_nightly_digest_and_close_reminder_are_scheduled():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    crons = {d["entrypoint"]: [(s["cron"], s["timezone"]) for s in d["schedules"]] for d in spec["deployments"]}
    assert crons["flows/nightly.py:nightly"] == [("0 2 * * *", "Europe/Paris")]
    assert crons["flows/digests.py:weekly_digest"] == [("0 7 * * 1", "Europe/Paris")]
    assert crons["flows/digests.py:monthly_close_reminder"] == [("0 8 1 * *", "Europe/Paris")]


def test_nightly_takes_night_program_and_dry_run():
    from flows.nightly import nightly

    assert {"night", "program", "dry_run"} <= set(nightly.parameters.properties)
