"""Two-stage stochastic planning: the plan of the first periods that does best across the
uncertainty, and what that is worth (``planner solve INSTANCE --scenarios N``).

Problems solved (``f_s`` the weighted objective of scenario ``s``, ``x`` the first stage of
:mod:`planner.model.stages`, ``y_s`` the rest; :mod:`planner.solver.extensive` for the model):

    RP  = min_x  sum_s p_s min_{y_s} f_s(x, y_s)  [+ W CVaR]           the stochastic plan
    EV  = min_{x,y} f_mean(x, y)                                       the mean-forecast plan, first stage x_EV
    EEV = sum_s p_s min_{y_s} f_s(x_EV, y_s)  [+ W CVaR]               the mean plan's first stage fixed, re-solved per scenario
    WS  = sum_s p_s min_{x_s, y_s} f_s(x_s, y_s)  [+ W CVaR]           wait and see: every scenario with perfect information

    VSS  = EEV - RP  >= 0    what planning for the range buys over planning for the middle
    EVPI = RP - WS   >= 0    what knowing the future would still buy

(both up to the MIP gaps). With a risk term the three share it, so they stay comparable.

Out of sample: ``M`` fresh scenarios drawn with another seed; on each, both first stages (the
stochastic one and the mean plan's) are fixed and the rest re-solved (each scenario by itself,
risk-neutral: ``min_y f_s(x, y)``). Reported: each plan's mean objective with a 95 % interval
``mean +- 1.96 sd / sqrt(M)`` and the paired difference (mean-plan minus stochastic) with its
interval; a first stage infeasible in a fresh scenario is counted and left out of the means.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from planner.errors import InfeasibleError, InputError
from planner.instance.load import check_before_build
from planner.instance.uncertainty import Scenario, mean_instance, sample_scenarios
from planner.model import build_model
from planner.model.stages import relax_recourse
from planner.outputs.quarter import default_commit_periods
from planner.outputs.results import Plan
from planner.solver.extensive import (
    ScenarioSolver,
    build_extensive,
    first_stage_of,
    fix_first_stage,
    fix_shared,
    mip_start,
    quiet_relaxed,
    risk_measure,
    scenario_objectives,
    shared_values,
    solve_extensive,
    solve_wait_and_see,
)
from planner.solver.highs import SolveInfo
from planner.solver.solve import solve_model


@dataclass
class Stochastic:
    """What :func:`run_stochastic` found: the scenarios, each scenario's plan under the shared first
    stage, the first stage, the reference problems' objectives and the out-of-sample check."""

    scenarios: list[Scenario]
    periods: int
    plans: list[Plan]
    keys: list
    first_stage: list[float]
    mean_first_stage: list[float]
    summary: dict
    per_scenario: dict = field(default_factory=dict)  # name -> {"rp": .., "eev": .., "ws": .., "risk": ..}
    out_of_sample: dict | None = None
    out_of_sample_rows: list = field(default_factory=list)
    highs_log: str = ""  # HiGHS's log of the extensive form's solve (highs_extensive.log)


def _ci(values) -> dict:
    """Mean and 95 % normal interval of ``values`` (n, mean, sd, low, high)."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "low": None, "high": None}
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else 0.0
    half = 1.96 * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "low": mean - half, "high": mean + half}


def solve_mean_plan(d, scenarios, periods: int, time_limit=None, mip_gap=None, integer_recourse: bool = False) -> tuple[float, list, list[float]]:
    """EV: the deterministic plan on the mean forecast (its recourse relaxed as the stochastic
    plan's unless ``integer_recourse``); returns ``(objective, keys, first stage)``."""
    mean = mean_instance(d, scenarios)
    check_before_build(mean)
    m = build_model(mean)
    if not integer_recourse:
        quiet_relaxed()
        relax_recourse(m, mean, periods)
    info = solve_model(m, "weighted", time_limit, mip_gap)
    keys, values = first_stage_of(m, mean, periods)
    return info.objective, keys, values


def _scenario_plans(ef, scenarios, info: SolveInfo, periods: int) -> list[Plan]:
    """Each scenario's tables and KPIs at the plan in ``ef`` (commit window = the first stage)."""
    plans = []
    for m, sc in zip(ef.blocks, scenarios):
        si = SolveInfo(status=info.status, mip_gap=info.mip_gap, warnings=list(info.warnings))
        si.objective = pyo.value(m.weighted_objective)
        plans.append(Plan.from_model(m, sc.data, si, "weighted", periods))
    return plans


def _reference(ef, values, time_limit, mip_gap, what: str, warnings: list) -> tuple[float, list[float]] | None:
    """EEV (``values``: the first stage to fix) or WS (``values`` None) on the joint model (with a
    risk term, which couples the scenarios); None if infeasible."""
    try:
        if values is None:
            info = solve_wait_and_see(ef, time_limit, mip_gap)
        else:
            fix_shared(ef, values)
            info = solve_extensive(ef, time_limit, mip_gap)
    except InfeasibleError as e:
        warnings.append(f"{what}: infeasible ({str(e).split(';')[0]})")
        return None
    finally:
        fix_shared(ef, None)
    return info.objective, scenario_objectives(ef)


def per_scenario(scenarios, periods, keys, values, what: str, warnings: list, plans: list | None = None, **solver) -> tuple[float, list[float]] | None:
    """EEV (``values``: the first stage to fix) or WS (``values`` None) without a risk term: each
    scenario solved alone on one live model (:class:`ScenarioSolver`); None if a scenario is
    infeasible (named in ``warnings``). ``plans``: a list that receives each scenario's whole plan
    (:func:`planner.solver.extensive.var_values`; the EEV plans are the extensive form's MIP start)."""
    ss = ScenarioSolver(periods, keys, values, keep=plans is not None, **solver)
    objs = []
    for sc in scenarios:
        got = ss.solve(sc)
        if got is None:
            warnings.append(f"{what}: infeasible in scenario {sc.name}")
            return None
        objs.append(got[0])
        if plans is not None:
            plans.append(ss.last_plan)
    return sum(sc.probability * o for sc, o in zip(scenarios, objs)), objs


EXTENSIVE_GAP = 1e-3
"""HiGHS's relative MIP gap for the extensive form when ``mip_gap`` is not given (the other solves
keep HiGHS's default 1e-4). On nl-2022 the VSS is several per cent of the objective, so a plan
within 0.1 % of the optimum changes none of the conclusions; at 10 scenarios HiGHS spent 494 s in
the root LP and 1,216 s more closing the last 0.1 % to 2.6e-5 (benchmarks/README.md). With the
MIP start RP <= EEV still holds (VSS >= 0); EVPI = RP - WS may overstate by up to this gap."""

RECOURSE_NOTE = {
    False: "relaxed: binaries decided after the first stage (later sites' start/serve) take values in [0, 1]; the first stage is integer",
    True: "integer: every binary decision stays binary",
}
"""What ``stochastic.json`` says of the recourse (module docstring of planner.solver.extensive)."""


def _first_summary(scenarios, seed, periods, keys, cvar_alpha, cvar_weight, integer_recourse, relaxed: int) -> dict:
    return {
        "scenarios": len(scenarios), "seed": seed, "first_stage_periods": periods, "first_stage_decisions": len(keys),
        "recourse": RECOURSE_NOTE[integer_recourse], "recourse_binaries_relaxed": relaxed, "cvar_alpha": cvar_alpha, "cvar_weight": cvar_weight,
    }


def _references(ef, scenarios, periods, x_ev, cvar: bool, warnings: list, solver: dict, eev=None):
    """``(EEV, WS)``: each ``(expected objective, per-scenario objectives)`` or None; ``eev``
    when already solved (scenario by scenario, before the extensive form: its MIP start)."""
    if cvar:
        lim, gap = solver["time_limit"], solver["mip_gap"]
        return (_reference(ef, x_ev, lim, gap, "the mean plan's first stage", warnings),
                _reference(ef, None, lim, gap, "wait and see", warnings))
    return (eev, per_scenario(scenarios, periods, ef.keys, None, "wait and see", warnings, **solver))


def run_stochastic(
    d,
    n: int = 5,
    seed: int = 0,
    periods: int | None = None,
    cvar_alpha: float | None = None,
    cvar_weight: float = 0.0,
    out_of_sample: int = 0,
    out_of_sample_seed: int | None = None,
    time_limit=None,
    mip_gap=None,
    scenarios: list[Scenario] | None = None,
    integer_recourse: bool = False,
    extensive_gap: float | None = None,
) -> Stochastic:
    """Solve the two-stage problem of instance ``d`` and its reference problems (module docstring).

    ``scenarios``: given scenarios instead of ``n`` drawn with ``seed``; ``periods``: the first
    stage (default: the commit periods, a quarter); ``out_of_sample``: ``M`` fresh scenarios drawn
    with ``out_of_sample_seed`` (default ``seed + 1``); ``integer_recourse``: keep the later
    periods' site binaries binary (default: relaxed, planner.solver.extensive). ``time_limit`` and
    ``mip_gap`` hold for each solve; ``extensive_gap`` for the extensive form alone (default
    ``mip_gap``, else :data:`EXTENSIVE_GAP`)."""
    periods = periods or default_commit_periods(d.grid.grain)
    if periods > d.horizon_T:
        raise InputError("--first-stage", f"expected at most the horizon's {d.horizon_T} periods, got {periods}")
    if cvar_weight and cvar_alpha is None:
        raise InputError("--cvar-weight", "needs --cvar ALPHA (the level, e.g. 0.9)")
    scenarios = scenarios or sample_scenarios(d, n, seed)
    solver = {"time_limit": time_limit, "mip_gap": mip_gap, "integer_recourse": integer_recourse}
    times, warnings = {}, []
    t0 = time.perf_counter()
    ev, mean_keys, x_ev = solve_mean_plan(d, scenarios, periods, **solver)
    times["mean_plan_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cvar = cvar_alpha is not None and cvar_weight > 0
    eev_plans: list = []  # the EEV re-solves' plans: the extensive form's MIP start (risk-neutral only)
    eev = None if cvar else per_scenario(scenarios, periods, mean_keys, x_ev, "the mean plan's first stage", warnings, eev_plans, **solver)
    times["eev_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ef = build_extensive(scenarios, periods, cvar_alpha, cvar_weight, integer_recourse)
    times["build_seconds"] = time.perf_counter() - t0
    ef_gap = extensive_gap or (EXTENSIVE_GAP if mip_gap is None else mip_gap)
    info = solve_extensive(ef, time_limit, ef_gap, mip_start(ef, x_ev, eev_plans) if eev else None)
    times["solve_seconds"] = info.solve_seconds
    rp, rp_s = info.objective, scenario_objectives(ef)
    risk = [pyo.value(risk_measure(m)) for m in ef.blocks]
    x_rp = shared_values(ef)
    plans = _scenario_plans(ef, scenarios, info, periods)
    if mean_keys != ef.keys:  # pragma: no cover - same sets in every scenario
        raise InputError("uncertainty", "the mean instance's first stage differs from the scenarios'")
    t0 = time.perf_counter()
    eev, ws = _references(ef, scenarios, periods, x_ev, cvar, warnings, solver, eev)
    times["reference_seconds"] = time.perf_counter() - t0
    summary = _first_summary(scenarios, seed, periods, ef.keys, cvar_alpha, cvar_weight, integer_recourse, ef.relaxed)
    summary.update({
        "solver_status": info.status,
        "mip_gap": info.mip_gap,
        "mip_rel_gap_requested": ef_gap,
        "integer_variables": ef.integers,
        "mip_start": info.stage_values.get("mip_start"),
        "expected_objective": rp,
        "cvar_person_nights": pyo.value(ef.cvar) if hasattr(ef, "cvar") else None,
        "mean_plan_objective": ev,
        "mean_plan_expected_objective": eev[0] if eev else None,
        "wait_and_see_objective": ws[0] if ws else None,
        "vss": (eev[0] - rp) if eev else None,
        "evpi": (rp - ws[0]) if ws else None,
        "warnings": warnings,
    })
    per = {
        sc.name: {"rp": rp_s[i], "eev": eev[1][i] if eev else None, "ws": ws[1][i] if ws else None, "risk": risk[i]}
        for i, sc in enumerate(scenarios)
    }
    result = Stochastic(scenarios, periods, plans, ef.keys, x_rp, x_ev, summary, per, highs_log=ef.highs_log)
    _out_of_sample(result, d, seed, out_of_sample, out_of_sample_seed, solver, times)
    return result


def _out_of_sample(result: Stochastic, d, seed: int, m: int, oos_seed, solver: dict, times: dict) -> None:
    """Run the out-of-sample check into ``result`` when ``m > 0``; set the timings."""
    if m:
        t0 = time.perf_counter()
        oos_seed = seed + 1 if oos_seed is None else oos_seed
        plans = {"stochastic": result.first_stage, "mean_plan": result.mean_first_stage}
        result.out_of_sample, result.out_of_sample_rows = evaluate_out_of_sample(d, result.periods, result.keys, plans, m, oos_seed, **solver)
        times["out_of_sample_seconds"] = time.perf_counter() - t0
    result.summary["timings"] = {k: round(v, 3) for k, v in times.items()}


def evaluate_out_of_sample(d, periods, keys, plans: dict, m: int, seed: int, time_limit=None, mip_gap=None, integer_recourse: bool = False) -> tuple[dict, list]:
    """Each first stage of ``plans`` (name -> values) on ``m`` fresh scenarios (module docstring),
    re-solved on one live model per first stage (:class:`ScenarioSolver`); returns the summary and
    one row per fresh scenario."""
    fresh = sample_scenarios(d, m, seed, prefix="o")
    solvers = {name: ScenarioSolver(periods, keys, values, integer_recourse, time_limit, mip_gap) for name, values in plans.items()}
    rows = []
    for sc in fresh:
        row = {"scenario": sc.name, **{f"factor:{p}": f for p, f in sc.factors.items()}}
        for name, ss in solvers.items():
            v = ss.solve(sc)
            row[f"objective_{name}"] = v[0] if v else None
            row[f"crisis_unsheltered_person_nights_{name}"] = v[1] if v else None
        rows.append(row)
    both = [r for r in rows if all(r[f"objective_{n}"] is not None for n in plans)]
    summary = {"scenarios": m, "seed": seed, "feasible_for_both": len(both), "rebuilt_models": sum(ss.rebuilds for ss in solvers.values())}
    for name in plans:
        feasible = [r[f"objective_{name}"] for r in rows if r[f"objective_{name}"] is not None]
        summary[name] = {**_ci(feasible), "infeasible": m - len(feasible)}
    summary["mean_plan_minus_stochastic"] = _ci([r["objective_mean_plan"] - r["objective_stochastic"] for r in both])
    return summary, rows


def _solve_fixed(sc: Scenario, periods: int, keys, values, time_limit=None, mip_gap=None, integer_recourse: bool = False):
    """Scenario ``sc`` with the first stage fixed at ``values``, solved alone (its own model, for
    the scenario's plan): ``(model, SolveInfo)``; raises InfeasibleError."""
    check_before_build(sc.data)
    m = build_model(sc.data)
    fix_first_stage(m, sc.data, periods, keys, values)
    if not integer_recourse:
        quiet_relaxed()
        relax_recourse(m, sc.data, periods, fixed_too=True)
    return m, solve_model(m, "weighted", time_limit, mip_gap)


def _fixed_plans(scenarios, periods, keys, first, solver) -> tuple[list[Plan], list[float], list[float], str]:
    """Each scenario solved alone with the first stage ``first`` fixed: its plans, objectives, risk
    measures and the worst solver status."""
    plans, objs, risks, status = [], [], [], "optimal"
    for sc in scenarios:
        m, info = _solve_fixed(sc, periods, keys, first, **solver)
        status = info.status if info.status != "optimal" else status
        plans.append(Plan.from_model(m, sc.data, info, "weighted", periods))
        objs.append(info.objective)
        risks.append(pyo.value(risk_measure(m)))
    return plans, objs, risks, status


def run_decomposed(d, first, n: int = 5, seed: int = 0, periods: int | None = None, out_of_sample: int = 0,
                   out_of_sample_seed: int | None = None, time_limit=None, mip_gap=None, integer_recourse: bool = False,
                   scenarios: list[Scenario] | None = None) -> Stochastic:
    """A first stage found elsewhere (progressive hedging: ``first``, in the order of
    :func:`planner.model.stages.first_stage`) evaluated scenario by scenario, with EV, EEV and WS
    solved the same way (no model holds every scenario; risk-neutral).

    As the extensive form's MIP start does there, the mean plan's first stage bounds the result:
    if ``first`` does worse in expectation (``E_s f_s(first) > EEV``: progressive hedging stopped
    early, or the rounding of its integer average), the stochastic plan is the mean plan's first
    stage, so RP <= EEV and VSS >= 0 hold by construction; ``first_stage_source`` in the summary
    says which was kept and both expectations. ``scenarios``: given scenarios instead of ``n``
    drawn with ``seed``."""
    periods = periods or default_commit_periods(d.grid.grain)
    scenarios = scenarios or sample_scenarios(d, n, seed)
    solver = {"time_limit": time_limit, "mip_gap": mip_gap, "integer_recourse": integer_recourse}
    times, warnings = {}, []
    t0 = time.perf_counter()
    ev, keys, x_ev = solve_mean_plan(d, scenarios, periods, **solver)
    times["mean_plan_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    plans, rp_s, risks, status = _fixed_plans(scenarios, periods, keys, first, solver)
    times["solve_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    eev = per_scenario(scenarios, periods, keys, x_ev, "the mean plan's first stage", warnings, **solver)
    ws = per_scenario(scenarios, periods, keys, None, "wait and see", warnings, **solver)
    times["reference_seconds"] = time.perf_counter() - t0
    rp_given = sum(sc.probability * o for sc, o in zip(scenarios, rp_s))
    source = {"kept": "given", "given_expected_objective": rp_given, "mean_plan_expected_objective": eev[0] if eev else None}
    if eev is not None and eev[0] < rp_given:
        warnings.append(f"the given first stage does worse in expectation ({rp_given:,.2f}) than the mean plan's ({eev[0]:,.2f}): "
                        "the mean plan's first stage is kept")
        first, source["kept"] = list(x_ev), "mean plan"
        plans, rp_s, risks, status = _fixed_plans(scenarios, periods, keys, first, solver)
    per = {sc.name: {"rp": rp_s[i], "eev": eev[1][i] if eev else None, "ws": ws[1][i] if ws else None,
                     "risk": risks[i]}
           for i, sc in enumerate(scenarios)}
    rp = sum(sc.probability * o for sc, o in zip(scenarios, rp_s))
    summary = _first_summary(scenarios, seed, periods, keys, None, 0.0, integer_recourse, 0)
    summary.update({
        "solver_status": status, "mip_gap": None, "expected_objective": rp, "cvar_person_nights": None, "mean_plan_objective": ev,
        "mean_plan_expected_objective": eev[0] if eev else None, "wait_and_see_objective": ws[0] if ws else None,
        "vss": None if eev is None else eev[0] - rp, "evpi": None if ws is None else rp - ws[0], "warnings": warnings,
        "first_stage_source": source,
    })
    result = Stochastic(scenarios, periods, plans, keys, list(first), x_ev, summary, per)
    _out_of_sample(result, d, seed, out_of_sample, out_of_sample_seed, solver, times)
    return result
