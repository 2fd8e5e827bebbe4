"""Solve stage: HiGHS through Pyomo's persistent interface, weighted or lexicographic.

Lexicographic mode minimises the stages of :data:`planner.model.objective.STAGES` in order
(unsheltered person-nights, crisis person-nights, weighted overruns, cost); after each stage a hold
row ``stage_expr <= incumbent + slack`` keeps later stages from worsening it beyond the slack.
:func:`solve_lexicographic` says how (a weighted solve first, then each stage started from the plan
in hand, stages already at their lower bound held without a solve) and why the slack and the
per-stage MIP gaps are what they are.

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

import logging
import time

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs  # noqa: F401 - tests build the interface from here
from pyomo.repn import generate_standard_repn

from planner.errors import InfeasibleError, InputError, LimitError, SolveError
from planner.instance.load import check_before_build
from planner.model import build_model
from planner.model.common import COST_UNIT
from planner.model.objective import STAGES
from planner.outputs.results import Plan
from planner.solver.highs import PlannerHighs, SolveInfo, run_highs
from planner.solver.marginal import marginal_values

log = logging.getLogger("planner")
"""Progress lines (the CLI shows them on stderr unless --quiet)."""

LEX_REL_TOL = 1e-7
"""Least relative slack of a lexicographic hold row (round-off of a stage proven optimal); the
polish's hold uses it too."""
LEX_ABS_TOL = 1e-6
"""Absolute floor of a hold row, in the stage's own units (person-nights, weighted overrun units,
million EUR): what lets a stage whose optimum is 0 be held."""
LEX_STAGE_GAP = 1e-4
"""MIP gap of the weighted start and of every lexicographic stage but the last (HiGHS's default;
a smaller ``--mip-gap`` tightens it), and the most relative slack a hold row gets."""
LEX_LAST_STAGE_GAP = 2e-2
"""MIP gap of the last lexicographic stage (cost) when no ``--mip-gap`` is given. On nl-2022 the
cost stage's bound hardly moves from the root's: 2 % stops after HiGHS's first sub-MIP plan (1.05 %
proven, EUR 3,681.8 million) at under 3x the weighted solve; 1 % took 3x longer for 0.70 %, and
1e-4 does not finish in minutes (benchmarks/README.md)."""
LEX_AT_BOUND = 1e-9
"""A stage whose value at the plan in hand is within this of its lower bound is held, not solved."""


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


class _StartedHighs(PlannerHighs):
    """Pyomo's persistent HiGHS interface that, when ``mip_start`` is set, hands HiGHS the
    variables' current values as a MIP start just before each run (after Pyomo has pushed the
    model's changes: HiGHS drops a solution when the model changes)."""

    mip_start = False

    def _solve(self):
        if self.mip_start:
            try:
                h = self._solver_model
                n = h.getNumCol()
                values = np.zeros(n)
                for vid, col in self._pyomo_var_to_solver_var_map.items():
                    v = self._vars[vid][0]
                    values[col] = 0.0 if v.value is None else v.value
                h.setSolution(n, np.arange(n, dtype=np.int32), values)
            except Exception:  # noqa: BLE001 - only a speed-up; HiGHS then searches without a start
                pass
        return super()._solve()


def stage_lower_bound(expr) -> float | None:
    """The least value a linear ``expr`` can take within its variables' bounds (fixed variables at
    their value); ``None`` when a variable it needs is unbounded that way or ``expr`` is not linear.
    For a stage expression whose terms are all nonnegative (persons x nights, weighted overruns,
    costs) this is 0."""
    repn = generate_standard_repn(expr, compute_values=True, quadratic=False)
    if repn.nonlinear_expr is not None:
        return None
    low = float(repn.constant or 0.0)
    for coef, v in zip(repn.linear_coefs, repn.linear_vars):
        coef = float(coef)
        bound = v.lb if coef > 0 else v.ub
        if coef == 0:
            continue
        if bound is None:
            return None
        low += coef * bound
    return low


def at_lower_bound(expr) -> bool:
    """``expr`` is at :func:`stage_lower_bound` (within LEX_AT_BOUND) in the variables' values."""
    low = stage_lower_bound(expr)
    return low is not None and pyo.value(expr) <= low + LEX_AT_BOUND


def hold_rhs(value: float, gap: float | None) -> float:
    """The right-hand side of the hold row of a stage whose plan has ``value`` with MIP ``gap``:

        value + rel * |value| + LEX_ABS_TOL,   rel = min(max(gap, LEX_REL_TOL), LEX_STAGE_GAP)

    The incumbent is held, not the bound (a plan at the bound need not exist). The relative slack
    is the stage's own proven gap: the stage's optimum is only known to lie within it, so holding
    tighter would keep the accident of which incumbent HiGHS stopped at, not the optimum. It is
    never below LEX_REL_TOL (round-off of a stage proven optimal, gap 0) and never above
    LEX_STAGE_GAP (a stage stopped at a limit with a large gap does not let later stages worsen
    it by that much). LEX_ABS_TOL, in the stage's units, holds a stage at 0. So a later stage can
    worsen an earlier one by at most ``LEX_STAGE_GAP * |value| + LEX_ABS_TOL``, and by only
    ``LEX_REL_TOL * |value| + LEX_ABS_TOL`` when the earlier one was proven optimal.
    """
    rel = min(max(gap or 0.0, LEX_REL_TOL), LEX_STAGE_GAP)
    return value + rel * abs(value) + LEX_ABS_TOL


def stage_gaps(mip_gap: float | None, n: int) -> list[float]:
    """The MIP gap of each of ``n`` lexicographic stages: LEX_STAGE_GAP (or a smaller ``mip_gap``)
    for all but the last, ``mip_gap`` (default LEX_LAST_STAGE_GAP) for the last."""
    early = LEX_STAGE_GAP if mip_gap is None else min(mip_gap, LEX_STAGE_GAP)
    return [early] * (n - 1) + [LEX_LAST_STAGE_GAP if mip_gap is None else mip_gap]


def _run_gap(res) -> float:
    """The relative gap of one run_highs result (0 for an LP or when HiGHS reports no bound)."""
    inc, bound = getattr(res, "incumbent_objective", None), getattr(res, "objective_bound", None)
    if inc is None or bound is None:
        return 0.0
    return abs(inc - bound) / max(abs(inc), 1e-10)


def solve_lexicographic(
    opt, m, time_limit, mip_gap, info: SolveInfo, solver_options: dict | None = None, warm: bool = True
) -> None:
    """The stages of ``STAGES`` in order, each a MIP over ``m.stage_expr[stage]``; the plan is
    left in the variables, the model as it was.

    1. *Weighted start*: the weighted objective is solved first (gap LEX_STAGE_GAP). Its plan is a
       good plan for every stage, and it is what the first stage starts from. Its gap does not
       count in ``info.mip_gap`` (it is not a stage); a time limit reached in it does count.
    2. *Stages at their bound*: a stage whose value at the plan in hand equals the least value its
       expression can take (:func:`stage_lower_bound`: 0 for unsheltered and crisis
       person-nights) is optimal already: it is held (gap 0) without a solve.
    3. *Warm starts*: every other stage is solved from the plan in hand as a MIP start
       (:class:`_StartedHighs`); that plan satisfies every hold row so far, so HiGHS has an
       incumbent at once and the stage never ends worse than it.
    4. *Holds*: after a stage, ``stage_expr <= hold_rhs(value, gap)`` (see :func:`hold_rhs`).
    5. *Gaps*: :func:`stage_gaps`; the last stage (cost) at LEX_LAST_STAGE_GAP (2 %) unless
       ``--mip-gap`` says otherwise: on nl-2022 its bound moves slowly and a 0.01 % gap takes
       many minutes (benchmarks/README.md). The gap reached is reported (``mip_gap``: the
       largest of the stages').

    ``time_limit`` is shared by the weighted start and the stages; a stage that finds nothing
    better before it runs out leaves the plan in hand (with a warning). ``warm=False`` is the plain
    stage sequence (no weighted start, every stage solved, no MIP start; same gaps and holds): the
    reference of the tests and of benchmarks/bench_lexicographic.py.
    """
    names = list(STAGES)
    gaps = stage_gaps(mip_gap, len(names))
    left = lambda: None if time_limit is None else time_limit - info.solve_seconds  # noqa: E731
    held = "the weighted start"
    if warm:
        start = SolveInfo()
        try:
            run_highs(opt, m, time_limit, LEX_STAGE_GAP, start, solver_options)
        finally:
            info.solve_seconds += start.solve_seconds
            info.cold_restarts += start.cold_restarts
            info.stage_seconds["weighted_start"] = start.solve_seconds
        info.warnings.extend(start.warnings)
        info.status = start.status
    m.weighted_objective.deactivate()
    m.lex_hold = pyo.ConstraintList()
    opt.mip_start = warm and any(v.is_integer() for v in m.component_data_objects(pyo.Var, active=True))
    try:
        for i, (stage, gap) in enumerate(zip(names, gaps)):
            expr = m.stage_expr[stage]
            if warm and at_lower_bound(expr):
                info.stage_values[stage] = value = pyo.value(expr)
                info.stage_seconds[stage] = 0.0
                m.lex_hold.add(expr <= hold_rhs(value, 0.0))
                held = f"stage '{stage}'"
                continue
            if (warm or i > 0) and left() is not None and left() < 0.01:
                info.status = "time_limit_feasible"
                info.warn(
                    f"time limit reached before the lexicographic stage '{stage}': the plan is that of "
                    f"{held}, later stages were not optimised"
                )
                break
            obj = pyo.Objective(expr=expr, sense=pyo.minimize)
            m.add_component(f"lex_objective_{stage}", obj)
            before = info.solve_seconds
            try:
                res = run_highs(opt, m, left(), gap, info, solver_options)
            except LimitError:
                if not warm and i == 0:
                    raise
                # the variables still hold the plan in hand, which satisfies every row
                info.status = "time_limit_feasible"
                info.warn(
                    f"time limit reached in the lexicographic stage '{stage}' before it improved on the plan "
                    f"of {held}: later stages were not optimised"
                )
                break
            finally:
                info.stage_seconds[stage] = info.solve_seconds - before
            value = pyo.value(expr)
            info.stage_values[stage] = value
            log.info("lexicographic stage %d/%d '%s': %s in %.1f s", i + 1, len(names), stage, f"{value:,.2f}", info.stage_seconds[stage])
            obj.deactivate()
            m.lex_hold.add(expr <= hold_rhs(value, _run_gap(res)))
            held = f"stage '{stage}'"
    finally:
        opt.mip_start = False
        m.weighted_objective.activate()
        for stage in names:
            if m.component(f"lex_objective_{stage}") is not None:
                m.del_component(f"lex_objective_{stage}")
        m.del_component("lex_hold")
    for stage in names:
        info.stage_values.setdefault(stage, pyo.value(m.stage_expr[stage]))
    if info.mip_gap is None:
        info.mip_gap = 0.0


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
    opt = PlannerHighs()

    def remaining():
        return None if time_limit is None else time_limit - info.solve_seconds

    if mode == "weighted":
        run_highs(opt, m, time_limit, mip_gap, info, solver_options)
        if polish_seconds:
            left = remaining()
            polish_cost(opt, m, polish_seconds if left is None else max(0.01, min(polish_seconds, left)), mip_gap, info, solver_options)
    elif mode == "lexicographic":
        opt = _StartedHighs()
        solve_lexicographic(opt, m, time_limit, mip_gap, info, solver_options)
    else:
        raise ValueError(f"unknown objective mode {mode!r}")
    info.solver = opt
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
    marginal: bool = True,
):
    """Build and solve the plan of instance ``d``; returns a :class:`planner.outputs.results.Plan`.

    ``commit_periods``: how many first periods are the decisions to take now (plan_quarter.csv).
    ``marginal=False``: no marginal values (they go only to marginal_values.csv and plan.xlsx).
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
    values = (lambda m, d: marginal_values(m, d, info.solver)) if marginal else None
    return Plan.from_model(m, d, info, mode, commit_periods, marginal=values)
