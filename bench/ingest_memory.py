"""Peak memory of `plaudit ingest` against file size (issue: ingest 1 GB under 300 MB RSS).

Writes a feedback CSV of each size (valid rows with 1 in 1,000 bad), ingests it
with the real CLI in a child process into a scratch database, and records the
child's peak RSS (getrusage) and throughput. Usage:

    .venv/bin/python bench/ingest_memory.py [SIZE_MB ...]    # default: 100 1024
"""

from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"


def write_csv(path: Path, size_mb: int) -> int:
    rng = random.Random(1)
    # quoted where they hold a comma, as a CSV writer would
    comments = ["", "", '"Great help, thank you!"', "Sorted in minutes.", "Waited too long.", '"Très bien, merci"']
    target = size_mb * 1024 * 1024
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("response_id,interaction_id,employee_id,feedback_kind,score,comment,channel,responded_at,customer_email\n")
        written = 0
        while written < target:
            buf = []
            for _ in range(10_000):
                rows += 1
                score = rng.randint(1, 5) if rows % 1000 else 9  # 1 in 1,000 out of scale
                line = (f"R{rows:010d},T{rows:010d},,csat,{score},{rng.choice(comments)},email,"
                        f"2026-{1 + rows % 10:02d}-{1 + rows % 28:02d}T{rows % 24:02d}:00:00Z,c{rows % 99991}@customers.example\n")
                buf.append(line)
            chunk = "".join(buf)
            f.write(chunk)
            written += len(chunk.encode())
    return rows


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1024]
    work = ROOT / ".plaudit" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for size in sizes:
        csv_path = work / f"feedback_{size}mb.csv"
        rows = write_csv(csv_path, size)
        env = os.environ | {"PLAUDIT_DB_NAME": f"bench_ingest_{size}", "PLAUDIT_HASH_KEY": "bench"}
        t0 = time.monotonic()
        # /usr/bin/time -f %M: the peak RSS (KiB) of this one process
        proc = subprocess.run(["/usr/bin/time", "-f", "PEAK_RSS_KB=%M", str(ROOT / ".venv" / "bin" / "plaudit"),
                               "ingest", "--kind", "feedback", "--file", str(csv_path), "--json"],
                              capture_output=True, text=True, env=env)
        seconds = time.monotonic() - t0
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        peak_kb = int(proc.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0])
        counts = json.loads(proc.stdout)["kinds"]["feedback"]
        results.append({
            "file_mb": round(csv_path.stat().st_size / 2**20), "rows": rows, "seconds": round(seconds, 1),
            "rows_per_second": round(rows / seconds), "peak_rss_mb": round(peak_kb / 1024),
            "loaded": counts["loaded"], "quarantined": counts["quarantined"],
        })
        print(results[-1], flush=True)
        csv_path.unlink()
        subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c",
                        "import psycopg; from plaudit import db; u = db.database_url(migrate=False);"
                        f"c = psycopg.connect(u.replace('/plaudit?', '/postgres?'), autocommit=True);"
                        f"c.execute('drop database if exists bench_ingest_{size}')"], check=True)
    record = {"bench": "ingest_memory", "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
              "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)},
              "results": results, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ingest_memory.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
