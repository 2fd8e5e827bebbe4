"""One HiGHS call: the solver options, the objective's scaling, the status rules.

Every solve of the project goes through :func:`run_highs` (weighted, lexicographic stages, the cost
polish, the status quo, the diagnosis, batches' persistent re-solves): it scales the active
objective by a power of two (:func:`objective_scale`), calls HiGHS on one thread with a fixed
seed, loads the plan and turns HiGHS's termination into the project's outcomes (a plan, a plan
at a limit with a warning, :class:`~planner.errors.InfeasibleError`,
:class:`~planner.errors.LimitError`, ``KeyboardInterrupt``).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs
from pyomo.repn import generate_standard_repn

from planner.errors import InfeasibleError, LimitError, SolveError

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
    stage_seconds: dict = field(default_factory=dict)  # lexicographic: solver seconds per stage (timings.json)
    solver: object = field(default=None, repr=False, compare=False)  # the HiGHS interface that solved the plan
    handover_seconds: float = 0.0  # of solve_seconds: Pyomo handing the model (and its changes) to HiGHS
    highs_seconds: float = 0.0  # of solve_seconds: HiGHS's run()

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


_WHILE_SOLVING: list = []


def while_solving(job) -> None:
    """Run ``job()`` in a background thread once HiGHS starts its next run in a
    :class:`PlannerHighs` (after Pyomo's hand-over, which holds the interpreter): HiGHS's
    ``run()`` releases the GIL, so Python work that does not need the plan (the CLI imports
    matplotlib and openpyxl for the files it writes) costs no wall time on a second core. A job's
    exception is ignored (what it prepared is then done where it is needed)."""
    _WHILE_SOLVING.append(job)


def _start_background_jobs() -> None:
    jobs, _WHILE_SOLVING[:] = list(_WHILE_SOLVING), []

    def run():
        for job in jobs:
            try:
                job()
            except Exception:  # noqa: BLE001 - only a head start (module docstring of while_solving)
                pass

    if jobs:
        threading.Thread(target=run, name="planner-while-solving", daemon=True).start()


class PlannerHighs(Highs):
    """Pyomo's persistent HiGHS interface that starts the jobs of :func:`while_solving` when HiGHS
    starts running."""

    def _solve(self):
        _start_background_jobs()
        return super()._solve()


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
    """HiGHS ended with model status unknown or not set (not optimal, infeasible, a limit, an
    error or Ctrl-C). 'Not set' was seen on a warm-started re-solve of nl-2022's LP relaxation
    (highspy 1.16, tests/test_batch.py::test_persistent_equals_fresh_on_nl2022_variants)."""
    return _model_status_in(opt, "kUnknown", "kNotset")


def _in_highs_callback(frame) -> bool:
    """The Python code running is a highspy callback, called from inside HiGHS's solve (where an
    exception would not stop HiGHS)."""
    while frame is not None:
        if frame.f_code.co_name == "__internal_callback" and "highspy" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


@contextmanager
def interruptible(highs_of):
    """Ctrl-C during the block stops HiGHS and then raises ``KeyboardInterrupt``.

    HiGHS runs in C++ and never returns to Python's default SIGINT handling (Ctrl-C used to be
    ignored until the time limit). Inside the block a SIGINT that arrives while HiGHS is solving
    (Python runs only in highspy's callbacks then) calls ``cancelSolve()`` on
    the highspy object ``highs_of()`` (None: not created yet); highspy's interrupt callbacks
    (simplex, IPM, MIP; ``HandleUserInterrupt``, which Pyomo's Highs turns on) then stop the
    solve within a fraction of a second; one that arrives in Python code (Pyomo passing the model
    to HiGHS) raises ``KeyboardInterrupt`` at once. After the block ``KeyboardInterrupt`` is raised (whatever
    the solve returned). Only in the main thread (elsewhere the block runs as is); the previous
    handler is restored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hits = []

    def on_sigint(signum, frame):
        hits.append(signum)
        if not _in_highs_callback(frame):  # Python code (Pyomo passing the model): stop right here
            raise KeyboardInterrupt
        h = highs_of()
        if h is not None:
            try:
                h.HandleUserInterrupt = True  # a no-op when already on
                h.cancelSolve()
            except Exception:  # noqa: BLE001 - a highspy without cancelSolve: the solve runs on
                pass

    def quiet(record) -> bool:  # Pyomo warns about HiGHS's interrupt status: it is ours
        return not (hits and "kInterrupt" in record.getMessage())

    previous = signal.signal(signal.SIGINT, on_sigint)
    pyomo_log = logging.getLogger(Highs.__module__)
    pyomo_log.addFilter(quiet)
    try:
        yield
    except BaseException:
        if hits:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
        pyomo_log.removeFilter(quiet)
    if hits:
        raise KeyboardInterrupt


def _call(opt: Highs, m, limit, mip_gap, solver_options):
    """``opt.solve`` with the project's options; Ctrl-C stops it (:func:`interruptible`)."""
    with interruptible(lambda: getattr(opt, "_solver_model", None)):
        return opt.solve(
            m,
            load_solutions=False,
            raise_exception_on_nonoptimal_result=False,
            time_limit=limit,
            rel_gap=mip_gap,
            threads=1,
            solver_options={**HIGHS_OPTIONS, **(solver_options or {})},
        )


def _scale_objective(opt, m, info: SolveInfo):
    """(scaled objective, original) when the active objective is replaced by a copy times
    :func:`objective_scale` (the caller deletes the copy and activates the original), else
    (None, None)."""
    objectives = list(m.component_data_objects(pyo.Objective, active=True))
    scale = objective_scale(objectives[0].expr) if len(objectives) == 1 else 1.0
    info.objective_scale = scale
    if scale == 1.0:
        return None, None
    original = objectives[0]
    original.deactivate()
    scaled = pyo.Objective(expr=scale * original.expr, sense=original.sense)
    m.add_component("_planner_scaled_objective", scaled)
    opt._planner_scaled = (scaled, original, scale)  # what HiGHS's costs are (planner.solver.marginal)
    return scaled, original


def _add_timer(info: SolveInfo, res) -> None:
    """The hand-over's and HiGHS's seconds of one call (Pyomo's timer of the call) into ``info``."""
    timer = getattr(getattr(res, "timing_info", None), "timer", None)
    for name, attr in (("set_instance", "handover_seconds"), ("update", "handover_seconds"), ("optimize", "highs_seconds")):
        try:
            setattr(info, attr, getattr(info, attr) + timer.get_total_time(name))
        except Exception:  # noqa: BLE001 - a timer without this name: that part took no time
            pass


def run_highs(
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

    A persistent model (``planner.solver.persistent``) calls it with ``rescale=False`` (its active
    objective is scaled once, when built), ``is_mip`` known and ``load(res)`` a faster loader
    of the solution into the variables.
    """
    scaled, original = _scale_objective(opt, m, info) if rescale else (None, None)
    t0 = time.perf_counter()

    def call(limit, extra=None):
        res = _call(opt, m, limit, mip_gap, {**(solver_options or {}), **(extra or {})})
        _add_timer(info, res)
        return res

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
        if _model_status_in(opt, "kSolveError") or (restarted and _without_status(opt)):
            # The dual simplex can stop with "excessive dual values" or twice without a status where
            # unsheltered person-nights dominate the (scaled) objective (LP relaxations of nl-2022
            # without candidate sites); the primal simplex, from scratch, solves the same LP.
            opt._solver_model.clearSolver()
            left = None if time_limit is None else max(0.01, time_limit - (time.perf_counter() - t0))
            res = call(left, {"simplex_strategy": 4})
            info.warn("HiGHS's dual simplex stopped without a plan (excessive dual values or no status); solved again with the primal simplex")
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
