"""`planner solve` from process start to exit against the raw HiGHS solve of the same model.

    python benchmarks/bench_solve.py [--instances nl,big] [--outputs csv,xlsx,html] [--time-limit S] [--mip-gap G]

For nl-2022 (``instances/nl-2022.yaml``) and a generated 36-month instance with about 400
locations (nl-2022 with every existing and candidate site split in four, each a quarter of the
places, and a horizon of 36 months; generated here from nl-2022 with ``yaml.safe_load``, never
shipped as a file), in one run:

* the whole command: ``python -m planner.cli solve INSTANCE --out TMP`` in a subprocess, wall
  time from process start to exit;
* each stage's time, from the run folder's ``timings.json``: load, build, solve (= the hand-over
  of the model to HiGHS + HiGHS's ``run()`` + the rest), marginal values, tables and KPIs, writing
  the files; what is left of the wall time is the interpreter's start, the imports and the exit;
* the raw HiGHS solve of the same model: the model built as the planner builds it, its objective
  scaled as :func:`planner.solver.highs.run_highs` scales it, handed to a Pyomo persistent HiGHS
  object as the planner does, written as MPS by that HiGHS object, read by a new ``highspy.Highs``
  in this process with the planner's options (one thread, random seed 0, quiet, and the
  ``--time-limit`` / ``--mip-gap`` given to the command) and timed around ``run()`` only.

Ratios: whole command / raw ``run()`` (targets: <= 2x on nl-2022, <= 1.2x on the generated
instance), and HiGHS inside the planner / raw (how much HiGHS itself varies between the two runs
of the same model). No timing is asserted; the figures go to benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

NL2022 = ROOT / "instances" / "nl-2022.yaml"
STAGES = ("load_seconds", "build_seconds", "solve_seconds", "marginal_seconds", "tables_seconds", "write_seconds")


def split_instance(raw: dict, parts: int = 4, periods: int = 36) -> dict:
    """nl-2022 with every location (existing and candidate) split into ``parts`` locations of
    ``1/parts`` of its places each, and a horizon of ``periods`` months (the series continue by the
    instance's ``extend`` rule)."""
    out = copy.deepcopy(raw)
    out["name"] = f"{raw['name']}-split{parts}-{periods}m"
    out["horizon"]["periods"] = periods
    locations = {}
    for name, loc in raw["locations"].items():
        for i in range(parts):
            piece = copy.deepcopy(loc)
            piece["places"] = loc["places"] / parts
            locations[f"{name}_{i + 1}"] = piece
    out["locations"] = locations
    return out


def run_command(instance: Path, out: Path, extra: list[str]) -> tuple[float, dict, str]:
    """(wall seconds from process start to exit, timings.json, the command's stdout)."""
    cmd = [sys.executable, "-m", "planner.cli", "solve", str(instance), "--out", str(out), *extra]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr}")
    return wall, json.loads((out / "timings.json").read_text()), r.stdout.strip()


def write_mps(instance: Path, mps: Path) -> float:
    """The model as the planner hands it to HiGHS, written by that HiGHS object as MPS; returns
    the objective's scale (:func:`planner.solver.highs.objective_scale`)."""
    import pyomo.environ as pyo
    from pyomo.contrib.solver.solvers.highs import Highs

    from planner.instance.load import check_before_build, load_instance
    from planner.model import build_model
    from planner.solver.highs import objective_scale

    d = load_instance(instance)
    check_before_build(d)
    m = build_model(d)
    (obj,) = list(m.component_data_objects(pyo.Objective, active=True))
    scale = objective_scale(obj.expr)
    if scale != 1.0:  # as run_highs does
        obj.deactivate()
        m.add_component("_planner_scaled_objective", pyo.Objective(expr=scale * obj.expr, sense=obj.sense))
    opt = Highs()
    opt.set_instance(m)
    opt._solver_model.writeModel(str(mps))
    return scale


def raw_highs(mps: Path, time_limit: float | None, mip_gap: float | None) -> dict:
    """A new highspy.Highs reads the MPS; only ``run()`` is timed."""
    import highspy

    from planner.solver.highs import HIGHS_OPTIONS

    h = highspy.Highs()
    for k, v in {**HIGHS_OPTIONS, "threads": 1}.items():
        h.setOptionValue(k, v)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if mip_gap is not None:
        h.setOptionValue("mip_rel_gap", float(mip_gap))
    t0 = time.perf_counter()
    h.readModel(str(mps))
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    info = h.getInfo()
    return {
        "read_s": t1 - t0,
        "run_s": t2 - t1,
        "objective": info.objective_function_value,
        "gap": info.mip_gap,
        "status": h.modelStatusToString(h.getModelStatus()),
    }


def bench(name: str, instance: Path, tmp: Path, args) -> dict:
    extra = []
    if args.time_limit is not None:
        extra += ["--time-limit", str(args.time_limit)]
    if args.mip_gap is not None:
        extra += ["--mip-gap", str(args.mip_gap)]
    if args.outputs:
        extra += ["--outputs", args.outputs]
    wall, timings, stdout = run_command(instance, tmp / f"{name}-run", extra)
    mps = tmp / f"{name}.mps"
    scale = write_mps(instance, mps)
    raw = raw_highs(mps, args.time_limit, args.mip_gap)
    kpis = json.loads((tmp / f"{name}-run" / "kpis.json").read_text())
    return {"name": name, "wall": wall, "timings": timings, "raw": raw, "scale": scale, "objective": kpis["objective"], "stdout": stdout}


def report(r: dict) -> None:
    t, raw = r["timings"], r["raw"]
    stages = {k: t.get(k, 0.0) for k in STAGES}
    rest = r["wall"] - sum(stages.values())
    say(f"\n{r['name']}: {r['stdout'][:90]}...")
    say(f"  whole command (process start to exit) .. {r['wall']:8.2f} s")
    say(f"    load ................................. {stages['load_seconds']:8.2f} s")
    say(f"    build ................................ {stages['build_seconds']:8.2f} s")
    solve, hand, highs = stages["solve_seconds"], t.get("handover_seconds", 0.0), t.get("highs_seconds", 0.0)
    say(f"    solve ................................ {solve:8.2f} s  = hand-over {hand:.2f} + HiGHS run {highs:.2f} + rest {solve - hand - highs:.2f}")
    say(f"    marginal values ...................... {stages['marginal_seconds']:8.2f} s")
    say(f"    tables and KPIs ...................... {stages['tables_seconds']:8.2f} s")
    say(f"    write (build the files' contents) .... {stages['write_seconds']:8.2f} s")
    say(f"    rest: interpreter, imports, exit ..... {rest:8.2f} s")
    say(f"  raw HiGHS run() of the MPS ............. {raw['run_s']:8.2f} s   (read {raw['read_s']:.2f} s; {raw['status']}; "
        f"objective {raw['objective'] / r['scale']:,.2f} unscaled, planner {r['objective']:,.2f})")
    say(f"  ratio whole command / raw run() ........ {r['wall'] / raw['run_s']:8.2f}x")
    say(f"  ratio HiGHS in planner / raw run() ..... {highs / raw['run_s']:8.2f}x")
    say(f"  overhead (whole - HiGHS in planner) .... {r['wall'] - highs:8.2f} s")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="planner solve, whole command, against the raw HiGHS solve of its MPS")
    p.add_argument("--instances", default="nl,big", help="nl (nl-2022) and/or big (generated 36 months, 420 locations)")
    p.add_argument("--outputs", help="passed to planner solve --outputs (default: all)")
    p.add_argument("--time-limit", type=float)
    p.add_argument("--mip-gap", type=float)
    args = p.parse_args(argv)
    say(f"bench_solve: {os.cpu_count()} cores; load average %.2f %.2f %.2f" % os.getloadavg())
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-solve-") as tmp:
        tmp = Path(tmp)
        for name in [n.strip() for n in args.instances.split(",") if n.strip()]:
            if name == "nl":
                instance = NL2022
            elif name == "big":
                instance = tmp / "nl-2022-split4-36m.yaml"
                instance.write_text(yaml.safe_dump(split_instance(yaml.safe_load(NL2022.read_text())), sort_keys=False))
            else:
                raise SystemExit(f"unknown instance {name!r}: nl or big")
            results.append(bench(name, instance, tmp, args))
            report(results[-1])
    say("\nsummary: " + "; ".join(f"{r['name']} {r['wall'] / r['raw']['run_s']:.2f}x ({r['wall']:.1f} s / {r['raw']['run_s']:.1f} s)" for r in results))
    say("done; load average %.2f %.2f %.2f" % os.getloadavg())
    return 0


def say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
