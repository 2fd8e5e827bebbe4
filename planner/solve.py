"""Solve stage: HiGHS through Pyomo's persistent interface, weighted or lexicographic.

Lexicographic mode solves four stages in order (unsheltered person-nights, crisis person-nights,
weighted overruns, cost). After each stage it adds ``stage_expr <= optimum * (1 + rel) + abs`` so
the next stage cannot worsen what came before; the tolerances absorb solver round-off (and, for
a MIP, its gap: the incumbent is what is held).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from .errors import SolveError
from .model import build_model
from .model.objective import STAGES

LEX_REL_TOL = 1e-7
LEX_ABS_TOL = 1e-6


@dataclass
class SolveInfo:
    status: str = "not solved"
    objective: float | None = None
    mip_gap: float | None = None
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    stage_values: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)


def _is_mip(m) -> bool:
    return any(v.is_integer() or v.is_binary() for v in m.component_data_objects(pyo.Var, active=True))


def _run(opt: Highs, m, time_limit, mip_gap, info: SolveInfo):
    t0 = time.perf_counter()
    res = opt.solve(
        m,
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        time_limit=time_limit,
        rel_gap=mip_gap,
        threads=1,
        solver_options={"output_flag": False, "log_to_console": False},
    )
    info.solve_seconds += time.perf_counter() - t0
    tc, ss = res.termination_condition, res.solution_status
    if tc in (TerminationCondition.provenInfeasible, TerminationCondition.locallyInfeasible):
        raise SolveError("the plan is infeasible: no decisions satisfy every constraint (check budget and capacities)", 3)
    if tc in (TerminationCondition.unbounded, TerminationCondition.infeasibleOrUnbounded):
        raise SolveError("the plan is infeasible or unbounded (check budget, capacities and weights)", 3)
    if ss not in (SolutionStatus.optimal, SolutionStatus.feasible):
        if tc == TerminationCondition.maxTimeLimit:
            raise SolveError("time limit reached before any feasible plan was found; raise --time-limit", 4)
        raise SolveError(f"HiGHS returned no plan (termination: {tc.name})", 4)
    res.solution_loader.load_vars()
    if tc == TerminationCondition.maxTimeLimit:
        info.warnings.append("time limit reached: the plan is the best found, not proven optimal (see mip_gap)")
        info.status = "time_limit_feasible"
    elif info.status != "time_limit_feasible":
        info.status = "optimal"
    inc, bound = res.incumbent_objective, res.objective_bound
    if inc is not None and bound is not None and _is_mip(m):
        gap = abs(inc - bound) / max(abs(inc), 1e-10)
        info.mip_gap = max(info.mip_gap or 0.0, 0.0 if gap < 1e-12 else gap)
    elif info.mip_gap is None:
        info.mip_gap = 0.0
    return res


def solve_model(m, mode: str = "weighted", time_limit: float | None = None, mip_gap: float | None = None) -> SolveInfo:
    """Solve a built model in place (variables hold the plan afterwards)."""
    info = SolveInfo()
    opt = Highs()
    if mode == "weighted":
        _run(opt, m, time_limit, mip_gap, info)
    elif mode == "lexicographic":
        m.weighted_objective.deactivate()
        m.lex_hold = pyo.ConstraintList()
        for stage in STAGES:
            expr = m.stage_expr[stage]
            obj = pyo.Objective(expr=expr, sense=pyo.minimize)
            m.add_component(f"lex_objective_{stage}", obj)
            _run(opt, m, time_limit, mip_gap, info)
            best = pyo.value(expr)
            info.stage_values[stage] = best
            obj.deactivate()
            m.lex_hold.add(expr <= best * (1 + LEX_REL_TOL) + LEX_ABS_TOL)
        m.weighted_objective.activate()
        for stage in STAGES:
            m.del_component(f"lex_objective_{stage}")
        m.del_component("lex_hold")
    else:
        raise ValueError(f"unknown objective mode {mode!r}")
    info.objective = pyo.value(m.weighted_objective)
    if not info.stage_values:
        info.stage_values = {s: pyo.value(m.stage_expr[s]) for s in STAGES}
    return info


def solve(
    d,
    objective: str | None = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    commit_periods: int | None = None,
):
    """Build and solve the plan of instance ``d``; returns a :class:`planner.results.Plan`.

    ``commit_periods``: how many first periods are the decisions to take now (plan_quarter.csv).
    """
    from .results import Plan

    mode = objective or d.instance.objective.mode
    t0 = time.perf_counter()
    m = build_model(d)
    build_seconds = time.perf_counter() - t0
    info = solve_model(m, mode, time_limit, mip_gap)
    info.build_seconds = build_seconds
    return Plan.from_model(m, d, info, mode, commit_periods)
