"""Solve stage: HiGHS through Pyomo's persistent interface, weighted or lexicographic.

Lexicographic mode solves four stages in order (unsheltered person-nights, crisis person-nights,
weighted overruns, cost). After each stage it adds ``stage_expr <= optimum * (1 + rel) + abs`` so
the next stage cannot worsen what came before; the tolerances absorb solver round-off (and, for
a MIP, its gap: the incumbent is what is held).

Limits: ``time_limit`` is the solver time of the whole solve (every stage together). A MIP stopped
at the limit with a plan returns that plan (status ``time_limit_feasible``, its MIP gap and a
warning); without one it raises :class:`~planner.errors.SolveError` with exit code 4. When the
limit runs out between lexicographic stages, the later stages keep the plan of the last finished
one (with a warning).

Infeasible: :class:`~planner.errors.InfeasibleError` (exit code 3); :func:`solve` then runs the
elastic diagnosis of :mod:`planner.solver.diagnose` and puts its finding into the message.

Determinism: HiGHS runs on one thread with a fixed random seed, so the same input gives the same
plan, byte for byte (timings go to ``Plan.timings`` / ``timings.json``, never into the KPIs).

Numerics: before each solver call the active objective is multiplied by a power of two that
centres its coefficients in the band HiGHS accepts without warning (:func:`objective_scale`); the
objective values reported are unscaled.
"""

from __future__ import annotations

import time

import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs

from planner.errors import InfeasibleError, InputError, LimitError, SolveError
from planner.instance.load import check_before_build
from planner.model import build_model
from planner.model.common import COST_UNIT
from planner.model.objective import STAGES
from planner.outputs.results import Plan
from planner.solver.highs import SolveInfo, run_highs
from planner.solver.marginal import marginal_values

LEX_REL_TOL = 1e-7
LEX_ABS_TOL = 1e-6


def polish_cost(opt, m, seconds: float, mip_gap, info: SolveInfo, solver_options: dict | None = None) -> None:
    """Minimise cost among the plans whose outcomes are as good as the weighted plan's.

    Cost only breaks ties in the weighted objective (``objective.cost_per_million_eur``), so a MIP
    stopped at its gap can carry a cost far above the cheapest plan with the same outcomes. With
    ``O = w_u * unsheltered + w_c * crisis + overruns`` (the weighted objective without its cost
    term) at its value ``O*`` in the plan found, this solves

        min total_cost   s.t.  O <= O* (1 + 1e-7) + 1e-6,   every constraint of the model

(total_cost of the horizon and its look-ahead tail; ``cost_polish`` reports the horizon's, as
``total_cost_eur`` does)

    for at most ``seconds`` and keeps the cheaper of the two plans (the weighted plan satisfies
    the hold, so the result is never worse). The plan's status and MIP gap stay those of the
    weighted solve; ``info.cost_polish`` says what the polish did.
    """
    outcomes = m.weighted_outcomes
    held, before = pyo.value(outcomes), pyo.value(m.total_cost)
    reported_before = pyo.value(m.horizon_cost)  # the cost kpis.json reports: the horizon's
    saved = [(v, v.value) for v in m.component_data_objects(pyo.Var, descend_into=True)]
    status, gap, warnings = info.status, info.mip_gap, list(info.warnings)
    sub = SolveInfo()
    m.weighted_objective.deactivate()
    m.polish_hold = pyo.Constraint(expr=outcomes <= held * (1 + LEX_REL_TOL) + LEX_ABS_TOL)
    m.polish_objective = pyo.Objective(expr=m.total_cost, sense=pyo.minimize)
    try:
        run_highs(opt, m, seconds, mip_gap, sub, solver_options)
        result = sub.status
    except SolveError as e:  # no plan within the seconds (or numerics): the weighted plan stays
        result = f"no cheaper plan found ({e})"
    finally:
        m.del_component(m.polish_objective)
        m.del_component(m.polish_hold)
        m.weighted_objective.activate()
        info.solve_seconds += sub.solve_seconds
    after = pyo.value(m.total_cost)
    if after > before + 1e-9:  # the polish's own incumbent is dearer: keep the weighted plan
        for v, value in saved:
            v.set_value(value, skip_validation=True)
        after, result = before, f"{result}; kept the weighted plan (cheaper)"
    reported_after = pyo.value(m.horizon_cost)
    info.status, info.mip_gap, info.warnings[:] = status, gap, warnings
    info.cost_polish = {
        "seconds_limit": seconds,
        "status": result,
        "cost_before_eur": round(reported_before * COST_UNIT, 2),
        "cost_after_eur": round(reported_after * COST_UNIT, 2),
        "cost_mip_gap": sub.mip_gap,
    }


def solve_model(
    m,
    mode: str = "weighted",
    time_limit: float | None = None,
    mip_gap: float | None = None,
    solver_options: dict | None = None,
    polish_seconds: float | None = None,
) -> SolveInfo:
    """Solve a built model in place (variables hold the plan afterwards).

    ``time_limit``: solver seconds for the whole solve (all lexicographic stages together);
    ``solver_options``: extra HiGHS options (e.g. ``mip_max_improving_sols``) for every call;
    ``polish_seconds`` (weighted only): then minimise cost with the outcomes held
    (:func:`polish_cost`), for at most these seconds.
    """
    info = SolveInfo()
    opt = Highs()

    def remaining():
        return None if time_limit is None else time_limit - info.solve_seconds

    if mode == "weighted":
        run_highs(opt, m, time_limit, mip_gap, info, solver_options)
        if polish_seconds:
            left = remaining()
            polish_cost(opt, m, polish_seconds if left is None else max(0.01, min(polish_seconds, left)), mip_gap, info, solver_options)
    elif mode == "lexicographic":
        m.weighted_objective.deactivate()
        m.lex_hold = pyo.ConstraintList()
        try:
            for i, stage in enumerate(STAGES):
                left = remaining()
                if i > 0 and left is not None and left < 0.01:
                    info.status = "time_limit_feasible"
                    info.warn(
                        f"time limit reached before the lexicographic stage '{stage}': the plan is that of "
                        f"stage '{STAGES[i - 1]}', later stages were not optimised"
                    )
                    break
                expr = m.stage_expr[stage]
                obj = pyo.Objective(expr=expr, sense=pyo.minimize)
                m.add_component(f"lex_objective_{stage}", obj)
                try:
                    run_highs(opt, m, left, mip_gap, info, solver_options)
                except LimitError:
                    if i == 0:
                        raise
                    # the variables still hold the previous stage's plan, which satisfies every row
                    info.status = "time_limit_feasible"
                    info.warn(
                        f"time limit reached in the lexicographic stage '{stage}' before it improved on the plan "
                        f"of stage '{STAGES[i - 1]}': later stages were not optimised"
                    )
                    break
                best = pyo.value(expr)
                info.stage_values[stage] = best
                obj.deactivate()
                m.lex_hold.add(expr <= best * (1 + LEX_REL_TOL) + LEX_ABS_TOL)
        finally:
            m.weighted_objective.activate()
            for stage in STAGES:
                if m.component(f"lex_objective_{stage}") is not None:
                    m.del_component(f"lex_objective_{stage}")
            m.del_component("lex_hold")
        for stage in STAGES:
            info.stage_values.setdefault(stage, pyo.value(m.stage_expr[stage]))
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
    solver_options: dict | None = None,
    polish_seconds: float | None = None,
):
    """Build and solve the plan of instance ``d``; returns a :class:`planner.outputs.results.Plan`.

    ``commit_periods``: how many first periods are the decisions to take now (plan_quarter.csv).
    An infeasible plan raises :class:`~planner.errors.InfeasibleError` whose message says which
    limits must give and by how much (:func:`planner.solver.diagnose.diagnose`; ``.diagnosis`` holds
    the details).
    """
    mode = objective or d.instance.objective.mode
    if polish_seconds and mode != "weighted":
        raise InputError("--polish-cost", "only with the weighted objective (the lexicographic one minimises cost in its last stage)")
    check_before_build(d)
    t0 = time.perf_counter()
    m = build_model(d)
    build_seconds = time.perf_counter() - t0
    try:
        info = solve_model(m, mode, time_limit, mip_gap, solver_options, polish_seconds)
    except InfeasibleError as e:
        from planner.solver.diagnose import diagnose

        try:
            diagnosis = diagnose(d, time_limit=time_limit)
        except LimitError:
            raise InfeasibleError(
                f"{e}; the diagnosis of why did not finish within --time-limit (run planner solve --diagnose "
                "without a limit)"
            ) from None
        raise InfeasibleError(diagnosis.message(fallback=str(e)), diagnosis=diagnosis) from None
    info.build_seconds = build_seconds
    return Plan.from_model(m, d, info, mode, commit_periods, marginal=marginal_values)
