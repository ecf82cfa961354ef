"""The documented deployment path, for real: `prefect server start` on 127.0.0.1,
`prefect --no-prompt deploy --all` from prefect.yaml, a process worker, and a
scheduled run of the nightly deployment that completes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
PREFECT = str(Path(os.sys.executable).parent / "prefect")


@pytest.mark.slow
def test_server_deploy_worker_and_a_scheduled_run_that_completes(e2e, tmp_path):
    url, _, _ = e2e
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ.copy() | {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PLAUDIT_PROJECT_DIR": str(ROOT),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "prefect server did not start in 90 s"
                time.sleep(0.5)

        def prefect(*args: str, timeout: int = 300) -> str:
            r = subprocess.run([PREFECT, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
            assert r.returncode == 0, f"prefect {' '.join(args)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
            return r.stdout

        prefect("work-pool", "create", "plaudit", "--type", "process")
        prefect("--no-prompt", "deploy", "--all")
        assert "nightly/nightly-demo" in prefect("deployment", "ls")
        prefect("deployment", "run", "nightly/nightly-demo", "--param", "night=2026-10-31", "--param", "program=e2e")
        prefect("worker", "start", "--pool", "plaudit", "--run-once", timeout=600)

        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/flow_runs/filter", data=b"{}",
                                     headers={"Content-Type": "application/json"}, method="POST")
        runs = json.load(urllib.request.urlopen(req, timeout=10))
        ran = [r for r in runs if r["parameters"].get("program") == "e2e"]
        assert [r["state_type"] for r in ran] == ["COMPLETED"]
        # the cron schedule in prefect.yaml has put the next nights in the calendar
        assert any(r["state_type"] == "SCHEDULED" for r in runs)
    finally:
        server.terminate()
        server.wait(timeout=30)
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from plaudit.ledger_entries").fetchone()[0] == 5
        assert conn.execute("select status from plaudit.runs").fetchall() == [("completed",)]
