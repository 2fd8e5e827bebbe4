"""Build and solve the generated scale instance; compare with a raw HiGHS solve of the same LP.

    python benchmarks/bench_build.py [--periods 260] [--regions 25] [--candidates 16]

Generates the instance of ``make_scale_instance.py`` (5 years of weeks, 25 regions, 400 candidate
locations: about 224,000 variables) in a temporary folder and measures, in one run:

* load (read, validate, resolve series) and build (``planner.model.build_model``);
* solve the planner's way (``planner.solver.highs.run_highs``, the weighted path of ``solve_model``: the model
  handed to a new Pyomo persistent HiGHS object, then HiGHS), with the hand-over and HiGHS's own
  time apart; the LP relaxation, because the MIP (about 186,000 binaries) does not finish in a
  benchmark's time;
* KPI extraction (``planner.solver.persistent.plan_kpis``);
* the floor: the same LP, written by that HiGHS object as MPS, read and solved cold by highspy in
  a fresh process (one thread);
* peak memory of the planner process (``ru_maxrss``) and of the raw HiGHS process (``VmHWM``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import pyomo.environ as pyo  # noqa: E402
from make_scale_instance import write  # noqa: E402
from pyomo.contrib.solver.solvers.highs import Highs  # noqa: E402

from planner.instance.load import load_instance  # noqa: E402
from planner.model import build_model  # noqa: E402
from planner.solver.highs import SolveInfo, run_highs  # noqa: E402
from planner.solver.persistent import plan_kpis, relax_integers  # noqa: E402

# peak memory of the raw process: VmHWM (reset by exec), not ru_maxrss (Linux carries the forking
# parent's high-water mark over into the child)
RAW = r"""
import json, sys, time, highspy

def vm_hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")

h = highspy.Highs()
h.setOptionValue("output_flag", False); h.setOptionValue("threads", 1); h.setOptionValue("random_seed", 0)
t0 = time.perf_counter(); h.readModel(sys.argv[1]); t1 = time.perf_counter(); h.run(); t2 = time.perf_counter()
print("RESULT " + json.dumps({"read_s": t1 - t0, "run_s": t2 - t1, "objective": h.getInfo().objective_function_value,
                  "status": h.modelStatusToString(h.getModelStatus()), "maxrss_mb": vm_hwm_mb()}), flush=True)
"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="build and solve the scale instance against raw HiGHS")
    p.add_argument("--periods", type=int, default=260)
    p.add_argument("--regions", type=int, default=25)
    p.add_argument("--candidates", type=int, default=16)
    args = p.parse_args(argv)
    say(f"bench_build: {os.cpu_count()} cores; load average %.2f %.2f %.2f" % os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        path = write(Path(tmp) / "scale.yaml", periods=args.periods, regions=args.regions, candidates=args.candidates)
        t0 = time.perf_counter()
        d = load_instance(path)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        m = build_model(d)
        t_build = time.perf_counter() - t0
        n_vars = sum(1 for _ in m.component_data_objects(pyo.Var))
        n_bin = sum(1 for v in m.component_data_objects(pyo.Var) if v.is_binary())
        n_cons = sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True))
        say(f"scale instance: {d.grid.T} {d.grid.grain} periods, {len(d.instance.regions)} regions, {len(d.instance.locations)} locations; "
            f"{n_vars:,} variables ({n_bin:,} binary, relaxed to [0, 1]), {n_cons:,} constraints")
        say(f"  load ...................... {t_load:8.2f} s")
        say(f"  build (Pyomo model) ....... {t_build:8.2f} s   peak memory {rss_mb():,.0f} MB")
        relax_integers(m)
        opt = Highs()
        info = SolveInfo()
        t0 = time.perf_counter()
        res = run_highs(opt, m, None, None, info)
        t_solve = time.perf_counter() - t0
        timer = res.timing_info.timer
        t_handover = timer.get_total_time("set_instance")
        t_highs = timer.get_total_time("optimize")
        objective = opt._solver_model.getInfo().objective_function_value
        say(f"  solve (planner) ........... {t_solve:8.2f} s   = hand-over to HiGHS {t_handover:.2f} s + HiGHS {t_highs:.2f} s + rest {t_solve - t_handover - t_highs:.2f} s ({info.status})")
        info.objective = pyo.value(m.weighted_objective)
        info.stage_values = {}
        t0 = time.perf_counter()
        plan_kpis(m, d, info, "weighted")
        say(f"  KPI extraction ............ {time.perf_counter() - t0:8.2f} s   peak memory {rss_mb():,.0f} MB")
        mps = Path(tmp) / "scale.mps"
        opt._solver_model.writeModel(str(mps))
        del m, opt, res
        child = subprocess.run([sys.executable, "-c", RAW, str(mps)], check=True, capture_output=True, text=True).stdout
        raw = json.loads(next(line for line in reversed(child.splitlines()) if line.startswith("RESULT "))[7:])
    assert abs(raw["objective"] - objective) <= 1e-6 * max(1.0, abs(objective)), (raw["objective"], objective)
    say(f"  raw HiGHS (MPS, cold) ..... {raw['run_s']:8.2f} s   (+ read {raw['read_s']:.2f} s; {raw['status']}; peak memory {raw['maxrss_mb']:,.0f} MB)")
    say(f"  ratio (build + solve) / raw HiGHS solve ...... {(t_build + t_solve) / raw['run_s']:6.2f}x   (target <= 2x)")
    say(f"  ratio (build + solve) / raw read + solve ..... {(t_build + t_solve) / (raw['run_s'] + raw['read_s']):6.2f}x")
    say(f"  ratio HiGHS inside planner / raw HiGHS solve .. {t_highs / raw['run_s']:6.2f}x")
    say("done; load average %.2f %.2f %.2f" % os.getloadavg())
    return 0


def say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
