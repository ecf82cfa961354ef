"""The dbt build's full refresh under other PostgreSQL settings, alternately, on one bench
database, in one run: `python bench/server_settings.py .plaudit/bench-M ROUNDS ARM [ARM ...]`
(after `make bench SCALE=M`; the embedded server only). An ARM is `name:setting=value,...`,
written with ALTER SYSTEM (the server restarted when a setting needs it: pg_ctl restart); a
setting another arm names and this one does not is reset to the server's own value (Plaudit's
`plaudit.conf` in the data folder, else PostgreSQL's default), so `base:` is the server as
Plaudit starts it and `stock:shared_buffers=128MB` PostgreSQL's. Each run's per-model timings
are kept, and the models that moved most are printed. dbt parses once, before the first arm
(outside the times). The server is left at its own values.
What it measured is in bench/RESULTS.md ("The embedded server's settings")."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def configure(pgdata: Path, url: str, values: dict[str, str], names: list[str]) -> None:
    """ALTER SYSTEM: `values`, and every other of `names` back to its default; reload, and restart
    the server when a setting waits for one."""
    import psycopg
    from psycopg import sql

    from plaudit import db

    with psycopg.connect(url, autocommit=True) as conn:
        for n in names:
            if n in values:
                conn.execute(sql.SQL("alter system set {} = {}").format(sql.Identifier(n), sql.Literal(values[n])))
            else:
                conn.execute(sql.SQL("alter system reset {}").format(sql.Identifier(n)))
        conn.execute("select pg_reload_conf()")
        time.sleep(0.5)
        restart = conn.execute("select count(*) from pg_settings where pending_restart").fetchone()[0]
    if restart:
        db.pg_ctl(pgdata, "restart", timeout=60)


def temp_bytes(url: str) -> int:
    """What the database has written to temporary files (sorts and hashes past work_mem) so far."""
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("select temp_bytes from pg_stat_database where datname = current_database()").fetchone()[0]


def parse_arm(text: str) -> tuple[str, dict[str, str]]:
    name, _, rest = text.partition(":")
    pairs = dict(kv.split("=", 1) for kv in rest.split(",") if kv)
    return name, pairs


def main() -> None:
    home = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2])
    os.environ.update({"PLAUDIT_HOME": str(home), "PLAUDIT_DB_NAME": "bench", "DO_NOT_TRACK": "1"})
    from flows.transform import dbt
    from plaudit import db

    arms = [parse_arm(a) for a in sys.argv[3:]]
    names = sorted({n for _, values in arms for n in values})
    url = db.database_url(migrate=False)
    pgdata = home / "pgdata"
    import psycopg

    with psycopg.connect(url) as conn:
        night = conn.execute("select max(responded_at)::date + 1 from raw.feedback_responses").fetchone()[0]
    dbt.parse(url)
    figures: dict[str, list[float]] = {name: [] for name, _ in arms}
    nodes: dict[str, dict[str, list[float]]] = {name: {} for name, _ in arms}
    for _ in range(rounds):
        for name, values in arms:
            configure(pgdata, url, values, names)
            temp_before = temp_bytes(url)
            start = time.perf_counter()
            dbt.build(url, night=night.isoformat(), program="demo", full_refresh=True)
            seconds = time.perf_counter() - start
            temp = temp_bytes(url) - temp_before
            figures[name].append(seconds)
            results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())["results"]
            for r in results:
                nodes[name].setdefault(r["unique_id"].split(".", 2)[-1], []).append(r["execution_time"])
            print(f"{name} {values}: full refresh {seconds:.1f} s, temporary files {temp / 2**30:.1f} GB",
                  flush=True)
    configure(pgdata, url, {}, names)
    report(figures, nodes)


def report(figures: dict[str, list[float]], nodes: dict[str, dict[str, list[float]]]) -> None:
    """Each arm's times, its best and mean, its best against the first arm's, and the nodes (models
    and tests, by name: their times) that moved most from the first arm's (best of each)."""
    first = next(iter(figures))
    for name, values in figures.items():
        print(f"{name}: {', '.join(f'{v:.1f}' for v in values)} s; best {min(values):.1f} s, "
              f"mean {sum(values) / len(values):.1f} s ({min(values) / min(figures[first]):.2f}x {first}'s best)")
        if name != first:
            base, this = nodes[first], nodes[name]
            moved = sorted(set(this) | set(base), key=lambda n: -abs(min(this.get(n, [0])) - min(base.get(n, [0]))))[:8]
            print("  the nodes that moved most (best of each, s): " + ", ".join(
                f"{n} {min(base.get(n, [0])):.1f} -> {min(this.get(n, [0])):.1f}" for n in moved))


if __name__ == "__main__":
    main()
