"""nl-2022: the weighted solve against the lexicographic one, wall and CPU time, each stage's time.

    python benchmarks/bench_lexicographic.py [--repeat 2] [--last-gap G] [--plain SECONDS]

Each round solves nl-2022 with ``planner.solve`` (load excluded; build, solve and extraction
included, as ``planner solve`` minus writing the folder) weighted, then lexicographic, in the same
process, and prints wall time, CPU time of the process (HiGHS runs on one thread, so on a quiet
machine CPU ~ wall; on a shared one CPU is the steadier figure), the solver seconds per stage
(``timings.json``'s ``stage_seconds``: ``weighted_start`` and 0 for a stage held without a solve)
and the plans' cost and gap. The ratio lexicographic / weighted is of the medians over the rounds.

``--last-gap G``: the lexicographic run with ``--mip-gap G`` (the last stage's gap; the earlier
stages keep 1e-4). ``--plain SECONDS``: also the plain stage sequence (no weighted start, no
skipped stage, no MIP start; ``solve_lexicographic(warm=False)``) with that time limit, to show
where its time goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import pyomo.environ as pyo  # noqa: E402

import planner  # noqa: E402
from planner.instance.load import load_instance  # noqa: E402
from planner.model import build_model  # noqa: E402
from planner.model.common import COST_UNIT  # noqa: E402
from planner.solver.highs import SolveInfo  # noqa: E402
from planner.solver.solve import _StartedHighs, solve_lexicographic  # noqa: E402

NL = HERE.parent / "instances" / "nl-2022.yaml"


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def show(label: str, plan, wall: float, cpu: float) -> None:
    k, t = plan.kpis, plan.timings
    stages = ", ".join(f"{s} {v:.2f}" for s, v in t.get("stage_seconds", {}).items())
    print(
        f"  {label:<14} wall {wall:6.2f} s  cpu {cpu:6.2f} s  (build {t['build_seconds']:.2f}, solver {t['solve_seconds']:.2f})"
        f"  cost EUR {k['total_cost_eur'] / 1e6:,.1f} M  gap {k['mip_gap']:.4%}  {k['solver_status']}"
    )
    if stages:
        print(f"  {'':<14} stages: {stages}")


def plain(d, seconds: float) -> None:
    m = build_model(d)
    info = SolveInfo()
    _, wall, cpu = timed(lambda: solve_lexicographic(_StartedHighs(), m, seconds, None, info, warm=False))
    stages = ", ".join(f"{s} {v:.2f}" for s, v in info.stage_seconds.items())
    print(f"  {'plain stages':<14} wall {wall:6.2f} s  cpu {cpu:6.2f} s  status {info.status}  cost EUR {pyo.value(m.total_cost) * COST_UNIT / 1e6:,.1f} M")
    print(f"  {'':<14} stages: {stages}")
    for w in info.warnings:
        print(f"  {'':<14} warning: {w}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--last-gap", type=float, default=None)
    ap.add_argument("--plain", type=float, default=None, metavar="SECONDS")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}; cores: {os.cpu_count()}")
    d = load_instance(NL)
    walls = {"weighted": [], "lexicographic": []}
    cpus = {"weighted": [], "lexicographic": []}
    for r in range(args.repeat):
        print(f"round {r + 1}")
        for mode in ("weighted", "lexicographic"):
            gap = args.last_gap if mode == "lexicographic" else None
            plan, wall, cpu = timed(lambda: planner.solve(d, objective=mode, mip_gap=gap))
            walls[mode].append(wall)
            cpus[mode].append(cpu)
            show(mode, plan, wall, cpu)
    w = {k: statistics.median(v) for k, v in walls.items()}
    c = {k: statistics.median(v) for k, v in cpus.items()}
    print(
        f"median wall: weighted {w['weighted']:.2f} s, lexicographic {w['lexicographic']:.2f} s: "
        f"ratio {w['lexicographic'] / w['weighted']:.2f}x (target <= 3x)"
    )
    print(f"median cpu:  weighted {c['weighted']:.2f} s, lexicographic {c['lexicographic']:.2f} s: ratio {c['lexicographic'] / c['weighted']:.2f}x")
    if args.plain:
        plain(d, args.plain)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
