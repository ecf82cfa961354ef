"""Recognition rendering of this checkout against another commit's, alternately in one process.

    python bench/rendering.py HOME [--against COMMIT] [--rounds N] [--seconds S]

HOME is a bench folder whose database a `make bench` run left (`.plaudit/bench-S`, its server
started by the command if it is not running). The messages are its awards' recognition emails
(up to 5,000, as the bench renders them), each in English and in French. The other commit's
`flows/publish/emails.py` is read with `git show` and loaded beside this one, so both render the
same rows with the same templates and libraries; the rounds alternate, and the outputs of both
are compared first (a speed-up that changes a message is not one).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _module_at(commit: str, current: types.ModuleType) -> types.ModuleType:
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:flows/publish/emails.py"],
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(f"emails_{commit}")
    module.__file__ = current.__file__  # the same templates folder
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, current.__file__, "exec"), module.__dict__)  # noqa: S102 - a commit of this repository
    return module


def _renderer(module: types.ModuleType) -> Callable[[dict[str, Any]], tuple[str, str, str]]:
    if hasattr(module, "RecognitionRenderer"):
        return module.RecognitionRenderer().render
    env = module.environment(None)  # before the renderer: one environment, translations installed per message
    return lambda row: module.render_recognition(env, row)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("home", type=Path)
    ap.add_argument("--against", default="HEAD~1", help="the commit to compare with (default HEAD~1)")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=3.0, help="per round and checkout")
    args = ap.parse_args()
    os.environ.update({"PLAUDIT_HOME": str(args.home.resolve()), "PLAUDIT_DB_NAME": "bench", "DO_NOT_TRACK": "1"})
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import psycopg
    from psycopg.rows import dict_row
    from run import award_messages, rendered_for

    from flows.publish import emails
    from plaudit import db

    with psycopg.connect(db.database_url(migrate=False), row_factory=dict_row) as conn:
        rows = award_messages(conn)
    if not rows:
        sys.exit(f"no awards in {args.home}'s database: run `make bench` first")
    rows += [{**row, "locale": "fr"} for row in rows]
    arms = {"this checkout": _renderer(emails), args.against: _renderer(_module_at(args.against, emails))}
    (name_a, a), (name_b, b) = arms.items()
    differing = sum(a(row) != b(row) for row in rows)
    print(f"{len(rows)} messages (English and French); outputs that differ: {differing}", flush=True)
    rates: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(args.rounds):
        for name in (name_b, name_a):
            rates[name].append(rendered_for(arms[name], rows, args.seconds)[1])
        print("  ".join(f"{n}: {r[-1]:,.0f}/s" for n, r in rates.items()), flush=True)
    best = max(rates[name_a]) / max(rates[name_b])
    mean = sum(rates[name_a]) / sum(rates[name_b])
    print(f"emails/s, best of {args.rounds}: {name_b} {max(rates[name_b]):,.0f}, {name_a} {max(rates[name_a]):,.0f}"
          f" ({best:.2f}x best, {mean:.2f}x mean)")


if __name__ == "__main__":
    main()
