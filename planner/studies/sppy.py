"""The two-stage problem by progressive hedging with mpi-sppy over MPI (``--engine mpi-sppy``).

Optional: ``pip install ".[stochastic]"`` (mpi-sppy, mpi4py and MPICH from pip). ``planner solve
INSTANCE --scenarios N --engine mpi-sppy --processes K`` runs

    mpiexec -n K python -m planner.studies.sppy INSTANCE --scenarios N --seed S --first-stage F --json OUT

in which every MPI process builds its share of the scenarios with :func:`scenario_creator`: the
ordinary model (:func:`planner.model.build_model`) on the scenario's instance
(:func:`planner.instance.uncertainty.sample_scenarios`, the same draws as the extensive form), its
first stage (:func:`planner.model.stages.first_stage`) as the root node's nonanticipative
variables. Progressive hedging (Rockafellar-Wets) then solves, per scenario and iteration ``k``,

    min_{x_s, y_s}  f_s(x_s, y_s) + w_s^k . x_s + rho/2 |x_s - xbar^k|^2

(the proximal term linearised, so HiGHS sees a MIP), with ``xbar^k = sum_s p_s x_s^k`` and
``w_s^{k+1} = w_s^k + rho (x_s^k - xbar^{k})``, until ``sum_s p_s |x_s - xbar|`` is below the
convergence threshold or the iteration limit. Rank 0 writes ``xbar`` (integer variables rounded)
as the first stage. The parent process then evaluates that first stage scenario by scenario (each
scenario's model with the first stage fixed, solved alone: no model holds every scenario) and
computes EV, EEV and WS the same way, so the folder is the one the extensive form writes. No risk
term (``--cvar``) with this engine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyomo.environ as pyo

from planner.errors import InputError, SolveError
from planner.instance.load import check_before_build, load_instance
from planner.instance.uncertainty import sample_scenarios
from planner.model import build_model
from planner.model.stages import first_stage, relax_recourse
from planner.outputs.quarter import default_commit_periods

PH_OPTIONS = {
    "solver_name": "appsi_highs",
    "PHIterLimit": 50,
    "defaultPHrho": 1.0,
    "convthresh": 1e-4,
    "asynchronousPH": False,
    "verbose": False,
    "display_timing": False,
    "display_progress": False,
    "linearize_proximal_terms": True,
    "proximal_linearization_tolerance": 1e-2,
    "iter0_solver_options": {"mip_rel_gap": 1e-4, "threads": 1},
    "iterk_solver_options": {"mip_rel_gap": 1e-4, "threads": 1},
}
"""mpi-sppy's PH options (HiGHS through Pyomo's appsi interface, one thread per process)."""


def scenario_creator(name: str, instance: str = "", overrides=None, package=None, n: int = 1, seed: int = 0, periods: int = 3,
                     integer_recourse: bool = False):
    """mpi-sppy's scenario creator: the ordinary model of scenario ``name`` (``s000`` ...) with its
    first stage as the root node's nonanticipative variables and probability ``1/n``; the recourse
    relaxed as in the extensive form unless ``integer_recourse``."""
    from mpisppy.utils import sputils

    d = load_instance(instance, overrides=overrides, package=package)
    sc = sample_scenarios(d, n, seed)[int(name[1:])]
    check_before_build(sc.data)
    m = build_model(sc.data)
    if not integer_recourse:
        relax_recourse(m, sc.data, periods)
    m.first_stage_cost = pyo.Expression(expr=0.0)  # reported by mpi-sppy only; PH needs no split of the objective
    sputils.attach_root_node(m, m.first_stage_cost, [v for _, v in first_stage(m, sc.data, periods)])
    m._mpisppy_probability = sc.probability
    return m


def cost_rho(m):
    """Cost-proportional rho (Watson and Woodruff 2011): each first-stage variable's rho is the
    absolute value of its coefficient in the scenario's objective (at least 1), so the penalty
    moves at the pace of what the decision costs; mpi-sppy's ``rho_setter``."""
    from pyomo.repn import generate_standard_repn

    repn = generate_standard_repn(m.weighted_objective.expr, compute_values=True, quadratic=False)
    coef = {id(v): abs(float(c)) for c, v in zip(repn.linear_coefs, repn.linear_vars)}
    return [(id(v), max(1.0, coef.get(id(v), 0.0))) for v in m._mpisppy_node_list[0].nonant_vardata_list]


def _clean(v, integer: bool) -> float:
    return float(round(v)) if integer else (0.0 if abs(v) < 1e-9 else float(v))


def main(argv=None) -> int:
    """The MPI program (module docstring); rank 0 writes ``--json``."""
    from mpisppy.opt.ph import PH
    from mpisppy.utils import sputils

    p = argparse.ArgumentParser(prog="python -m planner.studies.sppy")
    p.add_argument("instance")
    p.add_argument("--scenarios", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--first-stage", type=int, default=3)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--package")
    p.add_argument("--json", required=True)
    p.add_argument("--integer-recourse", action="store_true")
    p.add_argument("--iterations", type=int, default=PH_OPTIONS["PHIterLimit"])
    a = p.parse_args(argv)
    names = [f"s{i:03d}" for i in range(a.scenarios)]
    kwargs = {"instance": a.instance, "overrides": a.set, "package": a.package, "n": a.scenarios, "seed": a.seed, "periods": a.first_stage,
              "integer_recourse": a.integer_recourse}
    t0 = time.perf_counter()
    ph = PH({**PH_OPTIONS, "PHIterLimit": a.iterations}, names, scenario_creator, scenario_creator_kwargs=kwargs, rho_setter=cost_rho)
    conv, eobj, trivial_bound = ph.ph_main()
    s = next(iter(ph.local_scenarios.values()))
    xbar = [_clean(pyo.value(s._mpisppy_model.xbars[key]), var.is_integer() or var.is_binary()) for key, var in s._mpisppy_data.nonant_indices.items()]
    if ph.cylinder_rank == 0 and sputils.global_rank == 0:
        out = {"first_stage": xbar, "convergence": conv, "ph_expected_objective": eobj, "trivial_bound": trivial_bound,
               "iterations": ph._PHIter, "seconds": time.perf_counter() - t0}
        Path(a.json).write_text(json.dumps(out), encoding="utf-8")
    return 0


def mpiexec() -> str:
    """The ``mpiexec`` next to this Python (pip's MPICH) or on the PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if not found:
        raise InputError("--engine", "mpi-sppy needs MPI: pip install \".[stochastic]\" (mpi-sppy, mpi4py, mpich)")
    return found


def run_ph(d, n: int, seed: int, periods: int, processes: int, iterations: int | None = None, overrides=None, package=None,
           integer_recourse: bool = False) -> dict:
    """Run the MPI program on ``processes`` processes; its JSON result (first stage, PH figures)."""
    import importlib.util

    if importlib.util.find_spec("mpisppy") is None:
        raise InputError("--engine", "mpi-sppy is not installed: pip install \".[stochastic]\" (mpi-sppy, mpi4py, mpich)") from None
    if d.source is None:
        raise InputError("--engine", "mpi-sppy needs the instance as a file (each MPI process reads it)")
    with tempfile.TemporaryDirectory(prefix="planner-sppy-") as tmp:
        out = Path(tmp) / "ph.json"
        cmd = [mpiexec(), "-n", str(processes), sys.executable, "-m", "planner.studies.sppy", str(d.source),
               "--scenarios", str(n), "--seed", str(seed), "--first-stage", str(periods), "--json", str(out)]
        if iterations:
            cmd += ["--iterations", str(iterations)]
        if integer_recourse:
            cmd.append("--integer-recourse")
        for a in overrides or []:
            cmd += ["--set", a]
        if package:
            cmd += ["--package", package]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SolveError(f"mpi-sppy failed (exit {proc.returncode}): {tail[0]}", exit_code=4)
        return json.loads(out.read_text(encoding="utf-8"))


def run_sppy(d, processes: int = 2, n: int = 5, seed: int = 0, periods=None, cvar_alpha=None, cvar_weight=0.0, overrides=None, package=None, **kwargs):
    """``--engine mpi-sppy``: the first stage by PH, then evaluated as in
    :func:`planner.studies.stochastic.run_decomposed`."""
    from planner.studies.stochastic import run_decomposed

    if cvar_alpha is not None or cvar_weight:
        raise InputError("--cvar", "not with --engine mpi-sppy (the risk term couples the scenarios; use the extensive form)")
    periods = periods or default_commit_periods(d.grid.grain)
    t0 = time.perf_counter()
    ph = run_ph(d, n, seed, periods, processes, overrides=overrides, package=package, integer_recourse=kwargs.get("integer_recourse", False))
    result = run_decomposed(d, ph["first_stage"], n=n, seed=seed, periods=periods, **kwargs)
    result.summary["engine"] = {"name": "mpi-sppy", "processes": processes, **{k: ph[k] for k in ("convergence", "ph_expected_objective", "iterations")},
                                "ph_seconds": round(ph["seconds"], 3), "wall_seconds": round(time.perf_counter() - t0, 3)}
    return result


if __name__ == "__main__":
    sys.exit(main())
