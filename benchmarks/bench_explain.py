"""How long ``planner explain`` takes on nl-2022 against one solve.

    python benchmarks/bench_explain.py [--workers N] [--out DIR]

Solves instances/nl-2022.yaml into DIR (default /tmp/bench-explain), then runs ``planner explain``
on it (the plan solved again as reference and MIP start, then every sensitivity and withheld
decision on N workers, each to the accuracy rule of planner.studies.explain) and prints the
wall-clock seconds of both, their ratio, the CPU seconds of both (user + system: this process
for the solve; this process and the workers, once they have exited, for explain) and their ratio,
which a shared machine disturbs less than the wall clock, the load average before and after, and
the re-solve seconds per kind of row (sum, mean, max; rows not re-solved, status at_limit, are
counted apart) with how each row was settled (``swap``: a substitute site's plan, no MIP;
``restricted``: the MIP over the binaries the LP and the plan disagree on; ``full``: the full MIP
after it).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from collections import defaultdict
from pathlib import Path

import planner
from planner.studies.explain import explain_run, write_into

ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have exited."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="/tmp/bench-explain")
    args = ap.parse_args()
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    load_before = os.getloadavg()
    t0, c0 = time.perf_counter(), cpu_seconds()
    plan = planner.solve(planner.load_instance(ROOT / "instances" / "nl-2022.yaml"))
    plan.write(out)
    solve_seconds, solve_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    t0, c0 = time.perf_counter(), cpu_seconds()
    res = explain_run(out, {}, args.workers)
    write_into(out, res)
    explain_seconds, explain_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    load_after = os.getloadavg()
    print(f"solve (build, solve, marginal values, write): {solve_seconds:,.1f} s")
    print(f"explain --workers {args.workers}: {explain_seconds:,.1f} s = {explain_seconds / solve_seconds:,.1f} x one solve "
          f"({res['tasks']} re-solves; the plan solved again first: {res['base_seconds']:,.1f} s)")
    print(f"CPU seconds: solve {solve_cpu:,.1f}, explain {explain_cpu:,.1f} = {explain_cpu / solve_cpu:,.1f} x one solve")
    print(f"load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; after: {', '.join(f'{x:.2f}' for x in load_after)}")
    per, skipped, how = defaultdict(list), defaultdict(int), defaultdict(lambda: defaultdict(int))
    for group, kind, _item, seconds, status, method, _swap in res["task_seconds"]:
        if status == "at_limit":
            skipped[(group, kind)] += 1
            continue
        per[(group, kind)].append(seconds)
        how[(group, kind)][method or "lp"] += 1
    for (group, kind), secs in per.items():
        settled = ", ".join(f"{m} {n}" for m, n in sorted(how[(group, kind)].items()))
        print(f"  {group:<11} {kind:<17} {len(secs):>3} re-solves: {sum(secs):7.1f} s, mean {sum(secs) / len(secs):5.1f}, max {max(secs):5.1f}; {settled}")
    for (group, kind), n in skipped.items():
        print(f"  {group:<11} {kind:<17} {n:>3} rows at_limit, not re-solved")
    print("withheld sites not settled by a swap:")
    for group, kind, item, seconds, status, method, _swap in res["task_seconds"]:
        if kind in ("open_location", "keep_open") and method != "swap":
            print(f"  {kind:<17} {item:<24} {seconds:6.1f} s, {method or status}")


if __name__ == "__main__":
    main()
