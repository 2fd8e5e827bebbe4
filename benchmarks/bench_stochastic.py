"""How the two-stage stochastic solve grows with the scenarios on nl-2022, and mpi-sppy against it.

    python benchmarks/bench_stochastic.py [--scenarios 1 5 10] [--sppy 10] [--processes 2]
                                          [--iterations K] [--reference RP]
                                          [--integer-recourse] [--time-limit S]

For each scenario count N: the extensive form of N scenarios (seed 0, first stage a quarter,
recourse relaxed unless ``--integer-recourse``) built and solved by HiGHS; prints the build and
solve seconds, the binaries, the status and MIP gap and the expected objective (RP). With
``--sppy N``: progressive hedging by mpi-sppy on ``--processes`` MPI processes for the same N
scenarios, its first stage evaluated scenario by scenario (:func:`run_decomposed`: no EV/EEV/WS
here, the PH seconds and the evaluation seconds apart), and its expected objective against the
extensive form's (relative difference). Needs ``pip install ".[stochastic]"`` for ``--sppy``.
``--time-limit`` bounds each HiGHS call (default none).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pyomo.environ as pyo

from planner.instance.load import load_instance
from planner.instance.uncertainty import sample_scenarios
from planner.model.stages import first_stage
from planner.solver.extensive import build_extensive, solve_extensive

ROOT = Path(__file__).resolve().parent.parent
PERIODS = 3


def extensive(d, n: int, integer_recourse: bool, time_limit) -> dict:
    """Build and solve the extensive form of ``n`` scenarios; its figures."""
    scenarios = sample_scenarios(d, n, 0)
    t0 = time.perf_counter()
    ef = build_extensive(scenarios, PERIODS, integer_recourse=integer_recourse)
    build = time.perf_counter() - t0
    binaries = sum(1 for v in ef.component_data_objects(pyo.Var) if v.is_binary())
    info = solve_extensive(ef, time_limit)
    return {"n": n, "build": build, "solve": info.solve_seconds, "binaries": binaries, "status": info.status,
            "gap": info.mip_gap, "rp": info.objective}


def sppy(d, n: int, processes: int, integer_recourse: bool, iterations=None) -> dict:
    """Progressive hedging on ``processes`` processes, then its first stage per scenario (RP only)."""
    from planner.studies.sppy import run_ph
    from planner.studies.stochastic import _solve_fixed

    t0 = time.perf_counter()
    ph = run_ph(d, n, 0, PERIODS, processes, iterations, integer_recourse=integer_recourse)
    ph_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    scenarios = sample_scenarios(d, n, 0)
    keys = None
    rp = 0.0
    for sc in scenarios:
        if keys is None:
            from planner.model import build_model

            m0 = build_model(sc.data)
            keys = [k for k, _ in first_stage(m0, sc.data, PERIODS)]
        _, info = _solve_fixed(sc, PERIODS, keys, ph["first_stage"], integer_recourse=integer_recourse)
        rp += sc.probability * info.objective
    return {"ph_wall": ph_wall, "ph_seconds": ph["seconds"], "iterations": ph["iterations"], "convergence": ph["convergence"],
            "evaluate": time.perf_counter() - t0, "rp": rp}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", type=int, nargs="*", default=[1, 5, 10])
    ap.add_argument("--sppy", type=int, help="also mpi-sppy on this many scenarios (its extensive form among --scenarios or solved here)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--iterations", type=int, help="with --sppy: PH iteration limit (default mpi-sppy's 50 of planner.studies.sppy)")
    ap.add_argument("--reference", type=float, help="with --sppy: the extensive form's RP for --sppy N, known from an earlier run (skips its solve)")
    ap.add_argument("--integer-recourse", action="store_true")
    ap.add_argument("--time-limit", type=float)
    args = ap.parse_args()
    d = load_instance(ROOT / "instances" / "nl-2022.yaml")
    print(f"load average {os.getloadavg()[0]:.2f}; recourse {'integer' if args.integer_recourse else 'relaxed'}", flush=True)
    found = {}
    todo = set(args.scenarios) | ({args.sppy} if args.sppy and args.reference is None else set())
    for n in sorted(todo):
        r = extensive(d, n, args.integer_recourse, args.time_limit)
        found[n] = r
        print(f"extensive form {n:>3} scenarios: build {r['build']:6.1f} s, HiGHS {r['solve']:7.1f} s, {r['binaries']:>6} binaries, "
              f"{r['status']} (gap {r['gap'] or 0:.1e}), RP {r['rp']:,.2f}; load {os.getloadavg()[0]:.2f}", flush=True)
    if args.sppy:
        s = sppy(d, args.sppy, args.processes, args.integer_recourse, args.iterations)
        ef = found.get(args.sppy) or {"rp": args.reference, "build": float("nan"), "solve": float("nan")}
        print(f"mpi-sppy {args.sppy} scenarios on {args.processes} processes: PH {s['ph_wall']:.1f} s wall ({s['iterations']} iterations, "
              f"convergence {s['convergence']:.1e}), evaluating its first stage {s['evaluate']:.1f} s; RP {s['rp']:,.2f} against the "
              f"extensive form's {ef['rp']:,.2f} ({(s['rp'] - ef['rp']) / ef['rp']:+.3%}); extensive form {ef['build'] + ef['solve']:.1f} s; "
              f"load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
