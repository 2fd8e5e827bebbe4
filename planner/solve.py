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
elastic diagnosis of :mod:`planner.diagnose` and puts its finding into the message.

Determinism: HiGHS runs on one thread with a fixed random seed, so the same input gives the same
plan, byte for byte (timings go to ``Plan.timings`` / ``timings.json``, never into the KPIs).

Numerics: before each solver call the active objective is multiplied by a power of two that
centres its coefficients in the band HiGHS accepts without warning (:func:`objective_scale`); the
objective values reported are unscaled.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs
from pyomo.repn import generate_standard_repn

from .errors import InfeasibleError, InputError, LimitError, SolveError
from .model import build_model
from .model.common import COST_UNIT
from .model.objective import STAGES

LEX_REL_TOL = 1e-7
LEX_ABS_TOL = 1e-6

HIGHS_OPTIONS = {"output_flag": False, "log_to_console": False, "random_seed": 0}
"""Options of every solver call (plus ``threads=1``): quiet, and deterministic."""

OBJECTIVE_BAND = (1e-4, 1e6)
"""HiGHS 1.16 warns about objective coefficients ("costs") below 1e-4 or above 1e6."""

LIMIT_NAMES = {
    TerminationCondition.maxTimeLimit: "time limit",
    TerminationCondition.iterationLimit: "iteration/solution limit",
    TerminationCondition.objectiveLimit: "objective limit",
}


@dataclass
class SolveInfo:
    status: str = "not solved"
    objective: float | None = None
    mip_gap: float | None = None
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    stage_values: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    objective_scale: float = 1.0
    cold_restarts: int = 0  # solves repeated from scratch after a warm start ended without status
    cost_polish: dict | None = None  # what polish_cost did (planner solve --polish-cost)

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)


def objective_scale(expr) -> float:
    """A power of two that centres the objective's nonzero coefficients in :data:`OBJECTIVE_BAND`.

    1 when they already lie inside it. Multiplying an objective by a positive number changes no
    solution; a power of two changes no digit of any coefficient either. On nl-2022 the weighted
    objective runs from 8e-7 (EUR 800 of outsourcing x 0.001 per million EUR) to 1e3 (an
    unsheltered person-night): x256 gives 2e-4 .. 2.6e5.
    """
    repn = generate_standard_repn(expr, compute_values=True, quadratic=False)
    coefs = [abs(float(c)) for c in repn.linear_coefs if c]
    if not coefs:
        return 1.0
    lo, hi = min(coefs), max(coefs)
    small, large = OBJECTIVE_BAND
    if (lo >= small and hi <= large) or not math.isfinite(hi):
        return 1.0
    # geometric centres in log space (lo * hi may overflow); exponent clamped to a sane range
    shift = (math.log2(small) + math.log2(large)) / 2 - (math.log2(lo) + math.log2(hi)) / 2
    return 2.0 ** max(-60, min(60, round(shift)))


MAGNITUDE = (1e-9, 1e12)
"""Numbers a solve accepts: 0 or a magnitude in this range. Beyond it the model's coefficients
leave what double-precision simplex can resolve (HiGHS treats 1e20 as infinite), and a valid but
absurd instance would end in a solver failure instead of a message naming the field."""


def check_magnitudes(d) -> None:
    """Raise :class:`InputError` (exit 2) for the first number outside :data:`MAGNITUDE`."""

    small, large = MAGNITUDE
    file = str(d.source) if d.source else "<instance>"

    def bad(x) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and (abs(x) > large or 0 < abs(x) < small)

    def fail(path, x):
        raise InputError(
            path,
            f"{x!r} is too {'large' if abs(x) > large else 'small'} to solve reliably; expected 0 or a magnitude "
            f"between {small:g} and {large:g}",
            file=file,
        )

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}.{i}")
        elif bad(node):
            fail(path, node)

    walk(d.instance.model_dump(), "")
    for path, values in d.series.items():
        for label, x in zip(d.grid.labels, values):
            if bad(x):
                fail(f"{path} (period {label})", x)


def _is_mip(m) -> bool:
    return any(v.is_integer() or v.is_binary() for v in m.component_data_objects(pyo.Var, active=True))


def _model_status_in(opt, *names: str) -> bool:
    """HiGHS's model status of the last run is one of ``names`` (``HighsModelStatus`` members;
    a name this highspy lacks never matches). False when there is no HiGHS model to ask: the
    callers use it only as a hint."""
    try:
        import highspy

        status = opt._solver_model.getModelStatus()
        return any(status == getattr(highspy.HighsModelStatus, n, None) for n in names)
    except Exception:  # noqa: BLE001 - only a hint; without it the termination is reported as is
        return False


def _interrupted(opt) -> bool:
    """HiGHS stopped because of Ctrl-C (Pyomo reports that as an unknown termination)."""
    return _model_status_in(opt, "kInterrupt", "kHighsInterrupt")


def _without_status(opt) -> bool:
    """HiGHS ended with model status unknown or solve error (not optimal, infeasible, a limit or
    Ctrl-C)."""
    return _model_status_in(opt, "kUnknown", "kSolveError")


def _run(
    opt: Highs,
    m,
    time_limit,
    mip_gap,
    info: SolveInfo,
    solver_options: dict | None = None,
    *,
    rescale: bool = True,
    is_mip: bool | None = None,
    load=None,
):
    """One HiGHS call on the model's active objective (scaled by :func:`objective_scale`).

    Loads the plan into the variables; raises :class:`InfeasibleError` (exit 3) or
    :class:`SolveError` (exit 4: no plan within the limits); a plan found before a limit stopped
    the search sets ``info.status`` to ``time_limit_feasible`` (or ``limit_feasible``) and warns.

    A persistent model (``planner.persistent``) calls it with ``rescale=False`` (its active
    objective is scaled once, when built), ``is_mip`` known and ``load(res)`` a faster loader
    of the solution into the variables.
    """
    objectives = list(m.component_data_objects(pyo.Objective, active=True)) if rescale else []
    scale = objective_scale(objectives[0].expr) if len(objectives) == 1 else 1.0
    scaled = None
    if scale != 1.0:
        original = objectives[0]
        original.deactivate()
        scaled = pyo.Objective(expr=scale * original.expr, sense=original.sense)
        m.add_component("_planner_scaled_objective", scaled)
    if rescale:
        info.objective_scale = scale
    t0 = time.perf_counter()

    def call(limit):
        return opt.solve(
            m,
            load_solutions=False,
            raise_exception_on_nonoptimal_result=False,
            time_limit=limit,
            rel_gap=mip_gap,
            threads=1,
            solver_options={**HIGHS_OPTIONS, **(solver_options or {})},
        )

    restarted = False
    try:
        res = call(time_limit)
        if _without_status(opt):
            # HiGHS's simplex, restarted from the basis of the previous solve of this HiGHS object
            # (a batch's previous variant, a lexicographic stage), occasionally ends with status
            # unknown and no plan (highspy 1.16: 2 of 24 variants of benchmarks/nl-2022-lp.yaml
            # in one order); the same LP solves from scratch. Drop the basis and solve again.
            opt._solver_model.clearSolver()
            left = None if time_limit is None else max(0.01, time_limit - (time.perf_counter() - t0))
            res = call(left)
            restarted = True
            info.cold_restarts += 1
    finally:
        info.solve_seconds += time.perf_counter() - t0
        if scaled is not None:
            m.del_component(scaled)
            original.activate()
    if restarted:
        info.warn("the warm start from the previous solve's basis ended without a status; solved again from scratch")
    tc, ss = res.termination_condition, res.solution_status
    if tc in (TerminationCondition.provenInfeasible, TerminationCondition.locallyInfeasible, TerminationCondition.infeasibleOrUnbounded):
        raise InfeasibleError("the plan is infeasible: no decisions satisfy every constraint")
    if tc == TerminationCondition.unbounded:
        raise InfeasibleError("the plan is unbounded: the objective can improve without end (check the objective weights)")
    if tc in (TerminationCondition.interrupted, TerminationCondition.unknown) and _interrupted(opt):
        raise KeyboardInterrupt
    limit = LIMIT_NAMES.get(tc)
    if ss not in (SolutionStatus.optimal, SolutionStatus.feasible):
        if limit is not None:
            raise LimitError(
                f"no plan within the solver's {limit}: HiGHS stopped before it found any feasible plan; "
                "raise --time-limit or drop it"
            )
        raise SolveError(f"HiGHS returned no plan (termination: {tc.name})", 4)
    if load is None:
        res.solution_loader.load_vars()
    else:
        load(res)
    inc, bound = res.incumbent_objective, res.objective_bound
    gap = None
    if inc is not None and bound is not None and (_is_mip(m) if is_mip is None else is_mip):
        gap = abs(inc - bound) / max(abs(inc), 1e-10)
        gap = 0.0 if gap < 1e-12 else gap
        info.mip_gap = max(info.mip_gap or 0.0, gap)
    elif info.mip_gap is None:
        info.mip_gap = 0.0
    if tc != TerminationCondition.convergenceCriteriaSatisfied:
        what = limit or f"termination '{tc.name}'"
        info.status = "time_limit_feasible" if tc == TerminationCondition.maxTimeLimit else "limit_feasible"
        gap_text = f"MIP gap {gap:.2%}" if gap is not None else "gap unknown"
        info.warn(f"{what} reached: the plan is the best found, not proven optimal ({gap_text}; see mip_gap)")
    elif info.status not in ("time_limit_feasible", "limit_feasible"):
        info.status = "optimal"
    return res


def polish_cost(opt, m, seconds: float, mip_gap, info: SolveInfo, solver_options: dict | None = None) -> None:
    """Minimise cost among the plans whose outcomes are as good as the weighted plan's.

    Cost only breaks ties in the weighted objective (``objective.cost_per_million_eur``), so a MIP
    stopped at its gap can carry a cost far above the cheapest plan with the same outcomes. With
    ``O = w_u * unsheltered + w_c * crisis + overruns`` (the weighted objective without its cost
    term) at its value ``O*`` in the plan found, this solves

        min total_cost   s.t.  O <= O* (1 + 1e-7) + 1e-6,   every constraint of the model

    for at most ``seconds`` and keeps the cheaper of the two plans (the weighted plan satisfies
    the hold, so the result is never worse). The plan's status and MIP gap stay those of the
    weighted solve; ``info.cost_polish`` says what the polish did.
    """
    outcomes = m.weighted_outcomes
    held, before = pyo.value(outcomes), pyo.value(m.total_cost)
    saved = [(v, v.value) for v in m.component_data_objects(pyo.Var, descend_into=True)]
    status, gap, warnings = info.status, info.mip_gap, list(info.warnings)
    sub = SolveInfo()
    m.weighted_objective.deactivate()
    m.polish_hold = pyo.Constraint(expr=outcomes <= held * (1 + LEX_REL_TOL) + LEX_ABS_TOL)
    m.polish_objective = pyo.Objective(expr=m.total_cost, sense=pyo.minimize)
    try:
        _run(opt, m, seconds, mip_gap, sub, solver_options)
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
    info.status, info.mip_gap, info.warnings[:] = status, gap, warnings
    info.cost_polish = {
        "seconds_limit": seconds,
        "status": result,
        "cost_before_eur": round(before * COST_UNIT, 2),
        "cost_after_eur": round(after * COST_UNIT, 2),
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
        _run(opt, m, time_limit, mip_gap, info, solver_options)
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
                    _run(opt, m, left, mip_gap, info, solver_options)
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
    """Build and solve the plan of instance ``d``; returns a :class:`planner.results.Plan`.

    ``commit_periods``: how many first periods are the decisions to take now (plan_quarter.csv).
    An infeasible plan raises :class:`~planner.errors.InfeasibleError` whose message says which
    limits must give and by how much (:func:`planner.diagnose.diagnose`; ``.diagnosis`` holds
    the details).
    """
    from .results import Plan

    mode = objective or d.instance.objective.mode
    if polish_seconds and mode != "weighted":
        raise InputError("--polish-cost", "only with the weighted objective (the lexicographic one minimises cost in its last stage)")
    check_magnitudes(d)
    t0 = time.perf_counter()
    m = build_model(d)
    build_seconds = time.perf_counter() - t0
    try:
        info = solve_model(m, mode, time_limit, mip_gap, solver_options, polish_seconds)
    except InfeasibleError as e:
        from .diagnose import diagnose

        try:
            diagnosis = diagnose(d, time_limit=time_limit)
        except LimitError:
            raise InfeasibleError(
                f"{e}; the diagnosis of why did not finish within --time-limit (run planner solve --diagnose "
                "without a limit)"
            ) from None
        raise InfeasibleError(diagnosis.message(fallback=str(e)), diagnosis=diagnosis) from None
    info.build_seconds = build_seconds
    return Plan.from_model(m, d, info, mode, commit_periods)
