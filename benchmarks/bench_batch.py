"""Per-scenario cost of a what-if on nl-2022, three ways, and the speed-up of 2 workers over 1.

    python benchmarks/bench_batch.py [--rebuild-variants 8] [--skip-workers | --workers-only]

Measured in one run on one machine (the ratios are what matter; absolute times move with the
machine and its load, printed at the start and the end):

(a) rebuild and solve: validate, build the Pyomo model, hand it to a new HiGHS object, solve from
    scratch, extract the KPIs (``Resolver(persistent=False)``: what a batch costs without
    re-solving); the first ``--rebuild-variants`` variants of the LP batch;
(b) persistent re-solve: one live model and one HiGHS object (``planner.solver.persistent.Resolver``),
    the variant's parameters copied in, HiGHS restarting from the last basis, KPIs extracted;
    every variant after the first (the first builds the model: reported apart); also the re-solve
    part alone (parameters in + solve, without validation and KPI extraction);
(c) the floor: the same LP (written by the persistent HiGHS object after each re-solve, so exactly
    the LP of (b)) read from an MPS file by highspy in a fresh ``Highs`` and solved cold
    (presolve on, one thread); read and solve timed apart.

The LP comparisons use ``benchmarks/nl-2022-lp.yaml``: nl-2022's LP relaxation (binaries in
[0, 1], ``relax_integers: true``) with 24 sampled variants (inflow factor, hiring limit, spoor-4
hours), in the batch's dispatch order (a nearest-neighbour chain of the draws). The worker
speed-up runs the batch ``benchmarks/nl-2022-mip.yaml`` (nl-2022 as a MIP, 24 samples) end to end with
``planner.studies.batch.run_batch`` and ``--workers 1`` and ``2``: wall time (process start, each
worker's first build, export and summary included) and the steady rate (variants per second
after each worker's first result). For context it also times ``planner.solver.solve`` (the public API,
which also prices resources with a second LP solve) on the MIP for three variants. A machine check
before and after the worker runs times two CPU-bound processes against one: on a shared machine
that number, not 2.0, is the ceiling of the workers' speed-up.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import highspy

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from planner.solver.persistent import Resolver  # noqa: E402
from planner.studies.batch import base_instance, run_batch  # noqa: E402
from planner.studies.batchfile import dispatch_order, load_batch  # noqa: E402


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def mean(xs) -> float:
    return statistics.fmean(xs) if xs else float("nan")


def raw_highs(mps: Path) -> tuple[float, float, float]:
    """(read seconds, run seconds, objective) of a cold HiGHS solve of an MPS file."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    t0 = time.perf_counter()
    h.readModel(str(mps))
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, h.getInfo().objective_function_value


def lp_comparison(rebuild_variants: int) -> dict:
    batch, base_path, specs = load_batch(HERE / "nl-2022-lp.yaml")
    base = base_instance(base_path)
    options = {"relax_integers": batch.relax_integers}
    order = dispatch_order(specs)
    out = {"variants": len(order)}

    # (b) persistent, and the MPS of every re-solved LP for (c)
    resolver = Resolver(base, options)
    per, resolve, highs_obj = [], [], []
    mps_dir = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    for i, spec in enumerate(order):
        o = resolver.solve_variant(spec.changes)
        assert o.status == "optimal", (spec.name, o.status, o.message)
        t = o.timings
        if i == 0:
            out["first_variant_s"] = t["total_seconds"]
            continue
        assert not o.rebuilt, o.rebuild_reason
        per.append(t["total_seconds"])
        resolve.append(t["params_seconds"] + t["solve_seconds"])
        resolver.opt._solver_model.writeModel(str(mps_dir / f"v{i:03d}.mps"))
        highs_obj.append(resolver.opt._solver_model.getInfo().objective_function_value)
    out["persistent_s"] = mean(per)
    out["persistent_resolve_s"] = mean(resolve)
    out["cold_restarts"] = resolver.cold_restarts

    # (c) cold raw HiGHS on exactly those LPs
    reads, runs = [], []
    for i, mps in enumerate(sorted(mps_dir.glob("v*.mps"))):
        r, s, obj = raw_highs(mps)
        assert abs(obj - highs_obj[i]) <= 1e-6 * max(1.0, abs(obj)), (mps.name, obj, highs_obj[i])
        reads.append(r)
        runs.append(s)
        mps.unlink()
    mps_dir.rmdir()
    out["raw_read_s"], out["raw_run_s"] = mean(reads), mean(runs)

    # (a) rebuild and solve, first variants only (each ~1.5-2 s)
    fresh = Resolver(base, dict(options, persistent=False))
    rebuild = []
    for spec in order[1 : 1 + rebuild_variants]:
        o = fresh.solve_variant(spec.changes)
        assert o.status == "optimal", o.message
        rebuild.append(o.timings["total_seconds"])
    out["rebuild_s"] = mean(rebuild)
    out["rebuild_variants"] = len(rebuild)
    return out


def workers_comparison() -> dict:
    """Wall time of the whole batch, and the steady rate: variants per second between each
    run's first results (one per worker: process start and first build) and its last."""
    path = HERE / "nl-2022-mip.yaml"
    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        for n in (1, 2):
            t0 = time.perf_counter()
            report = run_batch(path, workers=n, out=Path(tmp) / f"w{n}", progress=False)
            out[f"wall_{n}_s"] = time.perf_counter() - t0
            out["scenarios"] = report.total
            assert report.statuses.get("optimal", 0) + report.statuses.get("time_limit_feasible", 0) == report.total, report.statuses
            with sqlite3.connect(Path(tmp) / f"w{n}" / "batch.sqlite") as c:
                done = sorted(t for (t,) in c.execute("SELECT finished_at FROM results"))
                out[f"solve_{n}_s"] = c.execute("SELECT avg(solve_s) FROM results").fetchone()[0]
            out[f"rate_{n}"] = (len(done) - n) / (done[-1] - done[n - 1])
    return out


def _burn(n: int) -> float:
    t0 = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - t0


def machine_parallelism(n: int = 20_000_000) -> float:
    """The speed-up two CPU-bound processes get on this machine right now (2.0 on two idle cores):
    the ceiling for the workers' speed-up measured next to it."""
    from multiprocessing import get_context

    one = _burn(n)
    with get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [1, 1])  # the workers have started (imports done) before the clock runs
        t0 = time.perf_counter()
        pool.map(_burn, [n, n])
        two = time.perf_counter() - t0
    return 2 * one / two


def api_per_variant(variants: int) -> float:
    """``planner.solver.solve`` per variant (the public API: also prices resources with a second LP)."""
    import planner
    from planner.instance.loading import validate_dict

    batch, base_path, specs = load_batch(HERE / "nl-2022-lp.yaml")
    resolver = Resolver(base_instance(base_path), {})
    times = []
    for spec in dispatch_order(specs)[1 : 1 + variants]:
        t0 = time.perf_counter()
        d = validate_dict(resolver.variant(spec.changes))
        planner.solve(d)
        times.append(time.perf_counter() - t0)
    return mean(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="planner batch: per-scenario cost and worker speed-up on nl-2022")
    p.add_argument("--rebuild-variants", type=int, default=8, help="variants solved the rebuild way (a)")
    p.add_argument("--skip-workers", action="store_true", help="only the per-scenario comparison")
    p.add_argument("--workers-only", action="store_true", help="only the worker speed-up (with the machine check)")
    args = p.parse_args(argv)
    print(f"bench_batch: {os.cpu_count()} cores, highspy {highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}; {load()}")
    if args.workers_only:
        return workers_report()
    lp = lp_comparison(args.rebuild_variants)
    a, b, c_run, c_all = lp["rebuild_s"], lp["persistent_s"], lp["raw_run_s"], lp["raw_read_s"] + lp["raw_run_s"]
    print(f"nl-2022 LP relaxation, {lp['variants']} sampled variants (benchmarks/nl-2022-lp.yaml), seconds per variant:")
    print(f"  (a) rebuild and solve ............ {a:7.3f}   (first {lp['rebuild_variants']} variants)")
    print(f"  (b) persistent re-solve .......... {b:7.3f}   (whole variant: validate, parameters, solve, KPIs; {lp['variants'] - 1} variants)")
    print(f"      of which parameters + solve .. {lp['persistent_resolve_s']:7.3f}")
    print(f"      first variant (builds) ....... {lp['first_variant_s']:7.3f}")
    print(f"      warm starts redone cold ...... {lp['cold_restarts']:7d}   (HiGHS ended without a status: planner.solver.highs.run_highs)")
    print(f"  (c) raw HiGHS, cold, from MPS .... {c_all:7.3f}   (read {lp['raw_read_s']:.3f} + solve {c_run:.3f})")
    print(f"  ratio (a)/(b) rebuild / persistent ............... {a / b:6.1f}x   (target >= 10x)")
    print(f"  ratio (b)/(c) persistent / raw solve ............. {b / c_run:6.2f}x   (target <= 1.0x)")
    print(f"  ratio (b)/(c) persistent / raw read + solve ...... {b / c_all:6.2f}x")
    print(f"  ratio re-solve part of (b) / raw solve ........... {lp['persistent_resolve_s'] / c_run:6.2f}x")
    api = api_per_variant(3)
    print(f"  for context: planner.solve per variant (MIP, prices resources too) {api:.3f} s = {api / b:.1f}x (b)")
    if not args.skip_workers:
        return workers_report()
    print(f"done; {load()}")
    return 0


def workers_report() -> int:
    ceiling = machine_parallelism()
    print(f"machine check: two CPU-bound processes run {ceiling:.2f}x as fast as one ({load()})")
    w = workers_comparison()
    print(f"nl-2022 MIP, {w['scenarios']} sampled variants (benchmarks/nl-2022-mip.yaml), run_batch:")
    print(f"  wall time: 1 worker {w['wall_1_s']:6.1f} s, 2 workers {w['wall_2_s']:6.1f} s: speed-up {w['wall_1_s'] / w['wall_2_s']:.2f}x   (target >= 1.7x)")
    print(f"  steady rate: 1 worker {w['rate_1']:.3f}/s, 2 workers {w['rate_2']:.3f}/s: speed-up {w['rate_2'] / w['rate_1']:.2f}x")
    print(f"  mean solve per variant: 1 worker {w['solve_1_s']:.2f} s, 2 workers {w['solve_2_s']:.2f} s (the same work; more means the cores were shared)")
    print(f"machine check again: {machine_parallelism():.2f}x; done; {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
