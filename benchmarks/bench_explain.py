"""How long ``planner explain`` takes on nl-2022 against one solve.

    python benchmarks/bench_explain.py [--workers N] [--out DIR]

Solves instances/nl-2022.yaml into DIR (default /tmp/bench-explain), then runs ``planner explain``
on it (the plan solved again as reference and MIP start, then every sensitivity and withheld
decision on N workers) and prints the wall-clock seconds of both, their ratio and the re-solve
seconds per kind of row (sum, mean, max).
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections import defaultdict
from pathlib import Path

import planner
from planner.studies.explain import explain_run, write_into

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="/tmp/bench-explain")
    args = ap.parse_args()
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    plan = planner.solve(planner.load_instance(ROOT / "instances" / "nl-2022.yaml"))
    plan.write(out)
    solve_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = explain_run(out, {}, args.workers)
    write_into(out, res)
    explain_seconds = time.perf_counter() - t0
    print(f"solve (build, solve, marginal values, write): {solve_seconds:,.1f} s")
    print(f"explain --workers {args.workers}: {explain_seconds:,.1f} s = {explain_seconds / solve_seconds:,.1f} x one solve "
          f"({res['tasks']} re-solves; the plan solved again first: {res['base_seconds']:,.1f} s)")
    per = defaultdict(list)
    for group, kind, _item, seconds in res["task_seconds"]:
        per[(group, kind)].append(seconds)
    for (group, kind), secs in per.items():
        print(f"  {group:<11} {kind:<17} {len(secs):>3} re-solves: {sum(secs):7.1f} s, mean {sum(secs) / len(secs):5.1f}, max {max(secs):5.1f}")


if __name__ == "__main__":
    main()
