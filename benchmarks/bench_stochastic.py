"""How the two-stage stochastic solve grows with the scenarios on nl-2022, and mpi-sppy against it.

    python benchmarks/bench_stochastic.py [--scenarios 1 5 10] [--sppy 10] [--processes 2]
                                          [--iterations K] [--reference RP | --reference-json FILE]
                                          [--integer-recourse] [--time-limit S] [--mip-gap G] [--mip-start]
                                          [--set PATH=VALUE ...]

For each scenario count N: the extensive form of N scenarios (seed 0, first stage a quarter,
recourse relaxed unless ``--integer-recourse``) built and solved by HiGHS; prints the build and
solve seconds (HiGHS's own ``run()`` and Pyomo's hand-over apart; from HiGHS's log the size after
presolve, the integer columns and the root LP's simplex iterations and seconds), the integer
variables (the shared first stage's), the status and MIP gap and the expected objective (RP). With
``--sppy N``: progressive hedging by mpi-sppy on ``--processes`` MPI processes for the same N
scenarios, its first stage evaluated scenario by scenario (:func:`run_decomposed`: no EV/EEV/WS
here, the PH seconds and the evaluation seconds apart), and its expected objective against the
extensive form's (relative difference). Needs ``pip install ".[stochastic]"`` for ``--sppy``.
``--time-limit`` bounds each HiGHS call (default none); ``--mip-gap`` is the extensive form's gap
(default HiGHS's 1e-4); ``--mip-start`` hands it the mean plan's first stage with each scenario's
EEV recourse as ``planner solve --scenarios`` does (the seconds to compute it reported apart); ``--logs DIR`` keeps HiGHS's logs; ``--set`` changes nl-2022 as ``planner
solve --set`` does (e.g. a shorter horizon); ``--reference-json`` takes the extensive form's RP
from a ``stochastic.json`` of ``planner solve --scenarios N`` (same seed 0 and first stage).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

from planner.errors import LimitError
from planner.instance.load import load_instance
from planner.instance.uncertainty import sample_scenarios
from planner.model.stages import first_stage
from planner.solver.extensive import build_extensive, mip_start, solve_extensive
from planner.studies.stochastic import per_scenario, solve_mean_plan

ROOT = Path(__file__).resolve().parent.parent
PERIODS = 3


def root_lp(log: str) -> dict:
    """From HiGHS's MIP log: the model after presolve, and the root LP (the first row of the MIP
    table with simplex iterations: its iterations and seconds)."""
    out = {}
    for line in log.splitlines():
        m = re.match(r"\s*(\d+) cols \((\d+) binary, (\d+) integer", line)
        if m:
            out["cols"], out["binaries"] = int(m[1]), int(m[2]) + int(m[3])
        m = re.match(r"\s*\S?\s+0\s+0\s+0\s+0\.00%.*\s(\d+)\s+(\d+(?:\.\d+)?)s$", line)
        if m and int(m[1]) > 0 and "root_iterations" not in out:
            out["root_iterations"], out["root_seconds"] = int(m[1]), float(m[2])
    return out


def mean_plan_start(d, scenarios, integer_recourse: bool):
    """As ``planner solve --scenarios`` does: the mean plan's first stage and each scenario's EEV
    re-solve with it fixed (their whole plans), to hand the extensive form as its MIP start."""
    _, keys, x_ev = solve_mean_plan(d, scenarios, PERIODS, integer_recourse=integer_recourse)
    plans: list = []
    per_scenario(scenarios, PERIODS, keys, x_ev, "the mean plan's first stage", [], plans, integer_recourse=integer_recourse)
    return x_ev, plans


def extensive(d, n: int, integer_recourse: bool, time_limit, logs=None, mip_gap=None, with_start=False) -> dict:
    """Build and solve the extensive form of ``n`` scenarios (``with_start``: from the mean plan's
    MIP start, whose seconds are reported apart); its figures."""
    scenarios = sample_scenarios(d, n, 0)
    t0 = time.perf_counter()
    x_ev, plans = mean_plan_start(d, scenarios, integer_recourse) if with_start else (None, None)
    start_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    ef = build_extensive(scenarios, PERIODS, integer_recourse=integer_recourse)
    build = time.perf_counter() - t0
    try:
        info = solve_extensive(ef, time_limit, mip_gap, mip_start(ef, x_ev, plans) if with_start else None)
    except LimitError as e:  # no plan within --time-limit (HiGHS still in the root LP, say)
        return {"n": n, "build": build, "stopped": str(e), "seconds": time.perf_counter() - t0 - build, "integers": ef.integers}
    if logs:
        Path(logs).mkdir(parents=True, exist_ok=True)
        (Path(logs) / f"extensive-{n}.log").write_text(ef.highs_log, encoding="utf-8")
    return {"n": n, "start": start_seconds, "accepted": (info.stage_values.get("mip_start") or {}).get("accepted"),
            "build": build, "solve": info.solve_seconds, "highs": info.highs_seconds, "handover": info.handover_seconds,
            "integers": ef.integers, "status": info.status, "gap": info.mip_gap, "rp": info.objective, **root_lp(ef.highs_log)}


def sppy(d, n: int, processes: int, integer_recourse: bool, iterations=None, overrides=None) -> dict:
    """Progressive hedging on ``processes`` processes, then its first stage per scenario (RP only:
    each scenario with that first stage fixed, re-solved on one live model as EEV is)."""
    from planner.model import build_model
    from planner.studies.sppy import run_ph

    t0 = time.perf_counter()
    ph = run_ph(d, n, 0, PERIODS, processes, iterations, overrides=overrides, integer_recourse=integer_recourse)
    ph_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    scenarios = sample_scenarios(d, n, 0)
    keys = [k for k, _ in first_stage(build_model(scenarios[0].data), scenarios[0].data, PERIODS)]
    warnings: list = []
    got = per_scenario(scenarios, PERIODS, keys, ph["first_stage"], "PH's first stage", warnings, integer_recourse=integer_recourse)
    return {"ph_wall": ph_wall, "ph_seconds": ph["seconds"], "iterations": ph["iterations"], "convergence": ph["convergence"],
            "evaluate": time.perf_counter() - t0, "rp": got[0] if got else float("nan"), "warnings": warnings}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", type=int, nargs="*", default=[1, 5, 10])
    ap.add_argument("--sppy", type=int, help="also mpi-sppy on this many scenarios (its extensive form among --scenarios or solved here)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--iterations", type=int, help="with --sppy: PH iteration limit (default mpi-sppy's 50 of planner.studies.sppy)")
    ap.add_argument("--reference", type=float, help="with --sppy: the extensive form's RP for --sppy N, known from an earlier run (skips its solve)")
    ap.add_argument("--reference-json", help="with --sppy: the extensive form's RP from this stochastic.json (read at the end)")
    ap.add_argument("--integer-recourse", action="store_true")
    ap.add_argument("--time-limit", type=float)
    ap.add_argument("--mip-gap", type=float, help="the extensive form's relative gap (default HiGHS's 1e-4)")
    ap.add_argument("--mip-start", action="store_true", help="hand the extensive form the mean plan's MIP start, as planner solve --scenarios does")
    ap.add_argument("--logs", help="write HiGHS's log of each extensive form here (extensive-N.log)")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="change nl-2022 as planner solve --set does")
    args = ap.parse_args()
    if args.reference_json:
        args.reference = float("nan")  # read when mpi-sppy has finished (the extensive form's run may still be going)
    d = load_instance(ROOT / "instances" / "nl-2022.yaml", overrides=args.set)
    print(f"load average {os.getloadavg()[0]:.2f}; recourse {'integer' if args.integer_recourse else 'relaxed'}; --set {args.set}", flush=True)
    found = {}
    todo = set(args.scenarios) | ({args.sppy} if args.sppy and args.reference is None else set())
    for n in sorted(todo):
        r = extensive(d, n, args.integer_recourse, args.time_limit, args.logs, args.mip_gap, args.mip_start)
        found[n] = r
        if "stopped" in r:
            print(f"extensive form {n:>3} scenarios: build {r['build']:6.1f} s, stopped after {r['seconds']:.1f} s without a plan: {r['stopped']}; "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
            continue
        start = f"mean plan's start {r['start']:.1f} s (accepted: {r['accepted']}), " if args.mip_start else ""
        print(f"extensive form {n:>3} scenarios: {start}build {r['build']:6.1f} s, solve {r['solve']:7.1f} s (HiGHS {r['highs']:7.1f} s, hand-over "
              f"{r['handover']:5.1f} s), {r['integers']} integer variables ({r.get('binaries', '?')} after presolve, {r.get('cols', '?')} columns), "
              f"root LP {r.get('root_iterations', '?')} iterations by {r.get('root_seconds', '?')} s, {r['status']} (gap {r['gap'] or 0:.1e}), "
              f"RP {r['rp']:,.2f}; load {os.getloadavg()[0]:.2f}", flush=True)
    if args.sppy:
        s = sppy(d, args.sppy, args.processes, args.integer_recourse, args.iterations, args.set)
        print(f"mpi-sppy {args.sppy} scenarios on {args.processes} processes: PH {s['ph_wall']:.1f} s wall ({s['iterations']} iterations, "
              f"convergence {s['convergence']:.1e}; PH's own {s['ph_seconds']:.1f} s), evaluating its first stage {s['evaluate']:.1f} s: "
              f"RP {s['rp']:,.2f}; load {os.getloadavg()[0]:.2f}", flush=True)
        if args.reference_json:
            path = Path(args.reference_json)
            args.reference = json.loads(path.read_text())["expected_objective"] if path.exists() else None
        ef = found.get(args.sppy) or {"rp": args.reference, "build": float("nan"), "solve": float("nan")}
        if ef["rp"] is None:
            print(f"no extensive form to compare with yet ({args.reference_json} missing)")
            return
        print(f"against the extensive form's RP {ef['rp']:,.2f}: {(s['rp'] - ef['rp']) / ef['rp']:+.4%}; extensive form "
              f"{ef['build'] + ef['solve']:.1f} s here (nan: from --reference)", flush=True)

if __name__ == "__main__":
    main()
