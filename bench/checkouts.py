"""The dbt build's full refresh of other checkouts of Plaudit, alternately, on one bench database,
in one run: `python bench/checkouts.py .plaudit/bench-M ROUNDS NAME=CHECKOUT [NAME=CHECKOUT ...]`
(after `make bench SCALE=M`; each CHECKOUT a folder with Plaudit and its `.venv`, such as a
`git worktree` of the commit before a change). Each build runs in a process of its own, in its
checkout, with that checkout's dbt project; dbt parses its whole project before the time starts
(the checkouts share the bench's dbt folder, so no partial parse is kept). Each run's per-model timings are kept;
the models that moved most are printed, and how long both threads were busy and one alone.
What it measured is in bench/RESULTS.md ("The customers served's milestones apart")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from server_settings import report  # this folder is on the path

# run in the checkout: parse, then time one full refresh; print its seconds and its nodes' times
ONE_BUILD = """
import json, sys, time
from flows.transform import dbt
from plaudit import db, settings
url = db.database_url(migrate=False)
# (the other checkout's partial parse would be taken for this one's)
(settings.load().home / "dbt" / "target" / "partial_parse.msgpack").unlink(missing_ok=True)
import psycopg
with psycopg.connect(url) as conn:
    night = conn.execute("select max(responded_at)::date + 1 from raw.feedback_responses").fetchone()[0]
dbt.parse(url)
start = time.perf_counter()
dbt.build(url, night=night.isoformat(), program="demo", full_refresh=True)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def node_spans(home: Path) -> dict[str, tuple[datetime, datetime]]:
    """Each model's and test's (start, end) in the last build, from dbt's run results."""
    results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())["results"]
    spans = {}
    for r in results:
        steps = [t for t in r["timing"] if t.get("started_at") and t.get("completed_at")]
        if steps:
            spans[r["unique_id"].split(".", 2)[-1]] = (
                min(datetime.fromisoformat(t["started_at"].replace("Z", "+00:00")) for t in steps),
                max(datetime.fromisoformat(t["completed_at"].replace("Z", "+00:00")) for t in steps),
            )
    return spans


def busy(spans: dict[str, tuple[datetime, datetime]]) -> tuple[float, float]:
    """Seconds with two or more nodes running, and with exactly one."""
    edges = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()])
    both = one = 0.0
    running = 0
    for (t, step), (t_next, _) in zip(edges, edges[1:], strict=False):
        running += step
        width = (t_next - t).total_seconds()
        if running >= 2:
            both += width
        elif running == 1:
            one += width
    return both, one


def main() -> None:
    home = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2])
    arms = [(name, Path(path).resolve()) for name, path in (a.split("=", 1) for a in sys.argv[3:])]
    env = {**os.environ, "PLAUDIT_HOME": str(home), "PLAUDIT_DB_NAME": "bench", "DO_NOT_TRACK": "1"}
    figures: dict[str, list[float]] = {name: [] for name, _ in arms}
    nodes: dict[str, dict[str, list[float]]] = {name: {} for name, _ in arms}
    for _ in range(rounds):
        for name, checkout in arms:
            out = subprocess.run(
                [str(checkout / ".venv" / "bin" / "python"), "-c", ONE_BUILD], cwd=checkout,
                env={**env, "PYTHONPATH": str(checkout)}, capture_output=True, text=True,
            )
            if out.returncode:
                sys.exit(f"{name} ({checkout}) failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
            seconds = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
            figures[name].append(seconds)
            spans = node_spans(home)
            for node, (s, e) in spans.items():
                nodes[name].setdefault(node, []).append((e - s).total_seconds())
            both, one = busy(spans)
            print(f"{name}: full refresh {seconds:.1f} s (two nodes at once {both:.1f} s, one alone {one:.1f} s)",
                  flush=True)
    report(figures, nodes)


if __name__ == "__main__":
    main()
