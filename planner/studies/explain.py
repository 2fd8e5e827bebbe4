"""``planner explain``: what one more of each resource buys, and why each decision of the quarter.

Every row is the difference between a re-solve and the plan, in the KPIs' own units
(:data:`KPI_COLUMNS`; ``cost_eur`` is the horizon's cost, ``objective`` the weighted objective of
horizon and look-ahead), never converted through the objective's cost weight:

    sensitivity[r]  = KPI(plan re-solved with resource r increased) - KPI(plan)
    explanation[x]  = KPI(plan re-solved with decision x withheld)  - KPI(plan)

so a sensitivity's negative ``overdue_person_months`` is what the resource saves, and an
explanation's positive number is what the decision saves (what the plan would lose without it).
The tasks are :mod:`planner.studies.explaintasks`.

Re-solves (:class:`ExplainResolver`, a :class:`planner.solver.persistent.Resolver`): one live model
per worker process; a task's instance changes are pushed into it as parameter values (the places
sensitivity adds a site: that model is rebuilt, and such tasks run last), its bounds are set on
HiGHS's columns and restored afterwards.

Accuracy, tied to what each row measures instead of one relative MIP gap for all: the difference
``objective`` of a row is that of a feasible plan of the re-solve, and ``objective_bound`` is a
proven lower bound on the best difference (the LP relaxation's, or the MIP's); a re-solve stops
once ``objective - objective_bound`` is at most :data:`ACCURACY` (5 %) of the smaller of the two
in size, or at most the plan's own MIP gap (``--mip-gap``, default 0.01 %, times the plan's
objective), below which no difference is measurable. How the plan is found (an LP; for a
withheld site, the plan with a substitute site in its place, every integer variable fixed, an LP;
else a MIP over the binaries on which the LP and the plan disagree, the plan as a complete start;
the full MIP only if that is not accurate enough) changes how fast, not what is claimed: the bound
is the unrestricted re-solve's, the row's plan a feasible plan of the re-solve. Rows that do not
reach the accuracy (a time limit) say so in ``note`` with both numbers; rows within the plan's
own gap say "no measurable difference".
"""

from __future__ import annotations

import math
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from multiprocessing import get_context

import highspy
import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs

from planner.errors import SolveError
from planner.solver.highs import HIGHS_OPTIONS, run_highs
from planner.solver.persistent import _NO_AUTO_UPDATES, Outcome, Resolver, _no_update
from planner.studies.explaintasks import Task, explanation_tasks, sensitivity_tasks

KPI_COLUMNS = {  # column -> KPI of kpis.json
    "overdue_person_months": "overdue_person_months",
    "waiting_person_months": "waiting_person_months",
    "crisis_person_nights": "crisis_person_nights",
    "unsheltered_person_nights": "unsheltered_person_nights",
    "permit_holder_months_over_norm": "permit_holder_months_over_norm",
    "cost_eur": "total_cost_eur",
    "objective": "objective",
}
HEAD = ["kind", "item", "region", "periods", "amount", "unit", "what", "status"]
ACCURACY = 0.05
"""A re-solve stops once its objective difference is known to within this share of itself."""
DEFAULT_GAP = 1e-4
"""HiGHS's default relative MIP gap (a run without ``--mip-gap``): the plan's own accuracy, and the
floor of every row's (a difference smaller than the plan's own gap is no measurable difference)."""
_AGREE = 1e-6
NUMERIC = 1e-6
"""Objective units (a millionth of the unit) within which a bound and a plan are the same number."""


class _StartHighs(Highs):
    """Pyomo's persistent HiGHS that hands HiGHS ``start`` = (columns, values), a MIP start, just
    before each run (after every change was pushed: HiGHS drops a start when the model changes)."""

    start = None

    def _solve(self):
        if self.start is not None:
            cols, values = self.start
            self._solver_model.setSolution(len(cols), cols, values)
        return super()._solve()


def tolerance(low: float, high: float, floor: float) -> float:
    """Objective units to which a difference known to lie in [``low``, ``high``] must be known:
    :data:`ACCURACY` of the smaller end when both ends have the same sign, never below ``floor``."""
    same_sign = low * high > 0
    return max(ACCURACY * min(abs(low), abs(high)) if same_sign else 0.0, floor)


class ExplainResolver(Resolver):
    """A :class:`Resolver` that solves :class:`Task` s to a stated accuracy.

    ``plan_start``: the plan's integer variables as ``(component, index, value)`` (None: solve
    without a start, as for the plan itself); ``reference``: the plan's objective, which every
    row is compared with (None: every re-solve to the run's MIP gap alone). A task's re-solve
    (:meth:`_accurate`):

    1. the LP relaxation of the task: a lower bound ``LB`` on its objective (valid for the task
       itself, whatever follows); for a task that only narrows bounds (a withheld decision: a
       restriction of the plan's problem) at least ``plan_bound``, the plan's proven bound
       (:func:`plan_bound_of`);
    2. a withheld site's ``swaps`` (:func:`planner.studies.explaintasks.site_swaps`: the plan with
       a substitute site, an exchange with a site used later, or the site opened later), in
       order: every integer variable fixed at the swap's values, the LP that is left is a
       feasible plan of the task, objective ``U``; the first with ``U - LB`` within
       ``tolerance(LB - ref, U - ref)`` is the row, no MIP;
    3. else a MIP over the binaries on which the LP and the start (the best swap, or the plan's
       start with the task's bounds applied) disagree, the others held at the start's values,
       started from the start (complete: every integer variable), stopped by an absolute gap of
       ``tolerance`` (:func:`tolerance` with ``low = LB - reference``) or, sooner, at the first
       plan within ``tolerance`` of ``LB`` (HiGHS's ``objective_target``; ``explain_stop``
       says which): its plan is the row;
    4. if that plan is not within ``tolerance(LB - ref, plan - ref)`` of ``LB``, the full MIP from
       it, with the same absolute gap (its bound raises ``LB``).

    :attr:`last` holds the gap ``plan - LB`` (objective units), how many integer variables were
    free in step 3, how the row was settled (``explain_method``: ``swap``, ``restricted`` or
    ``full``) and the swap's substitute (``explain_swap``).
    """

    def __init__(self, base_raw: dict, options: dict | None = None, plan_start: list | None = None, reference: float | None = None,
                 plan_bound: float | None = None):
        super().__init__(base_raw, options)
        self.plan_bound = plan_bound  # a proven lower bound on the plan's optimum (plan_bound_of)
        self.opt = _StartHighs()
        self.opt.config.auto_updates.set_value(_NO_AUTO_UPDATES)
        self.opt.update = _no_update
        self.plan_start = plan_start or []
        self.reference = reference
        self.task: Task | None = None
        self.last: dict = {}
        # (HiGHS object, basis) of the LP relaxation solved on it before any row's bounds: every
        # row's LP starts from it, so which LP optimum a row lands on (the binaries its restricted
        # MIP frees) does not depend on the rows solved before it on the same worker
        self.base_basis = None

    def floor(self) -> float:
        return (self.options.get("mip_gap") or DEFAULT_GAP) * abs(self.reference or 0.0)

    def run_task(self, task: Task) -> Outcome:
        self.task, self.last = task, {}
        try:
            out = self.solve_variant(task.changes)
        finally:
            self.task = None
        if out.kpis and self.last:
            out.kpis.update(self.last)
            out.timings.update(lp_seconds=self.last.get("lp_seconds", 0.0))
        return out

    def _solve_live(self, info) -> None:
        task = self.task
        if task is None:
            return super()._solve_live(info)
        if getattr(self.opt, "_model", None) is not self.model:
            self.opt.set_instance(self.model)  # a new model: its columns exist before the bounds go in
        h, colmap, m = self.opt._solver_model, self.opt._pyomo_var_to_solver_var_map, self.model
        fixed = {colmap[id(getattr(m, comp)[idx])]: (lb, ub) for comp, idx, lb, ub in task.bounds}
        if self.reference is not None and self.is_mip and (self.base_basis is None or self.base_basis[0] is not h):
            self._relaxation(h)
        saved = _set_bounds(h, fixed)
        restricts = not task.changes and _narrows(saved, fixed)  # a restriction of the plan's problem
        values = _columns(m, colmap, [*self.plan_start, *task.start])
        swaps = [(name, {**values, **_columns(m, colmap, overrides)}) for name, overrides in task.swaps]
        for c, (lb, ub) in fixed.items():
            for start in [values, *(trial for _, trial in swaps)]:
                if c in start:
                    start[c] = min(max(start[c], lb), ub)
        try:
            if self.reference is None or not self.is_mip:
                self.opt.start = _as_start(values)
                super()._solve_live(info)
            else:
                self._accurate(h, info, values, swaps, restricts)
        finally:
            self.opt.start = None
            if self.opt._solver_model is h:
                _restore(h, saved)
                h.setOptionValue("mip_abs_gap", 1e-6)
                h.setOptionValue("objective_target", -highspy.kHighsInf)
                h.setOptionValue("mip_rel_gap", self.options.get("mip_gap") or DEFAULT_GAP)

    def _relaxation(self, h) -> tuple[float | None, np.ndarray | None]:
        """(objective, column values) of the LP relaxation in HiGHS's (scaled) units, or (None,
        None) if HiGHS did not solve it to optimality."""
        t0 = time.perf_counter()
        # the options of every solver call (a new model's first run comes before any through Pyomo,
        # and HiGHS's scheduler keeps the thread count of the first run)
        for key, value in {**HIGHS_OPTIONS, "threads": 1, "solve_relaxation": True}.items():
            h.setOptionValue(key, value)
        h.setOptionValue("time_limit", float(self.options.get("time_limit") or highspy.kHighsInf))
        try:
            first = self.base_basis is None or self.base_basis[0] is not h
            if not first:
                h.setBasis(self.base_basis[1])
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None, None
            if first:
                self.base_basis = (h, h.getBasis())
            return h.getInfo().objective_function_value, np.asarray(h.getSolution().col_value)
        finally:
            h.setOptionValue("solve_relaxation", False)
            self.last["lp_seconds"] = time.perf_counter() - t0

    def _accurate(self, h, info, values: dict, swaps: list, restricts: bool) -> None:
        """Steps 1-4 of the class's docstring (``restricts``: the task only narrows bounds)."""
        s, ref, floor = self.scale, self.reference, self.floor()
        lb, x = self._relaxation(h)
        low = -math.inf if lb is None else lb / s - ref
        if restricts and self.plan_bound is not None:  # withholding only restricts the plan's problem
            low = max(low, self.plan_bound - ref)

        def settled(high: float) -> bool:
            return high - low <= tolerance(low, high, floor) + NUMERIC

        best = None  # (high, substitute, start values) of the best swap
        for name, trial in swaps:
            high = self._fixed(h, info, trial)
            if high is None:
                continue
            if best is None or high < best[0]:
                best = (high, name, trial)
            if settled(high):  # its plan is the one loaded: the row
                self.last.update(explain_gap=max(0.0, high - low), explain_free=0, explain_integers=len(values),
                                 explain_method="swap", explain_swap=name)
                return
        start = best[2] if best else values
        gap = max(ACCURACY * abs(low) / (1 + ACCURACY), floor) if math.isfinite(low) else floor
        options = {"mip_abs_gap": max(gap, NUMERIC) * s, "mip_rel_gap": 0.0}
        if math.isfinite(low):  # stop at the first plan that settles the row against the bound known
            options["objective_target"] = (ref + low + max(floor, ACCURACY * low)) * s
        agree = {}
        if x is not None:
            agree = {c: (v, v) for c, v in start.items() if abs(x[c] - v) <= _AGREE}
        saved = _set_bounds(h, agree)
        self.opt.start = _as_start(start)
        try:
            at_target = self._run(info, options)
            high = h.getInfo().objective_function_value / s - ref
        finally:
            _restore(h, saved)
        full = not settled(high)
        if full:  # the full MIP from the plan found
            col_value = self.opt._sol.col_value
            self.opt.start = (np.arange(len(col_value), dtype=np.int32), np.asarray(col_value, dtype=float))
            at_target = self._run(info, options)
            high = h.getInfo().objective_function_value / s - ref
            low = max(low, h.getInfo().mip_dual_bound / s - ref)
        self.last.update(explain_gap=max(0.0, high - low), explain_free=len(start) - len(agree), explain_integers=len(values),
                         explain_method="full" if full else "restricted", explain_swap="", explain_stop="target" if at_target else "gap")

    def _fixed(self, h, info, trial: dict) -> float | None:
        """The objective difference of the plan with every integer variable at ``trial``'s value
        (an LP, warm-started from HiGHS's last basis), its plan loaded; None if that is infeasible."""
        saved = _set_bounds(h, {c: (v, v) for c, v in trial.items()})
        self.opt.start = None
        try:
            self._run(info, {"solve_relaxation": True})
            return h.getInfo().objective_function_value / self.scale - self.reference
        except SolveError:
            return None
        finally:
            _restore(h, saved)
            h.setOptionValue("solve_relaxation", False)

    def _run(self, info, options: dict) -> bool:
        """One HiGHS call on the live model; whether it stopped at ``options``' objective target."""
        before = (info.status, info.mip_gap, list(info.warnings))
        try:
            run_highs(self.opt, self.model, self.options.get("time_limit"), None, info, options, rescale=False, is_mip=True, load=self._load_solution)
        finally:
            self.cold_restarts += info.cold_restarts
            info.cold_restarts = 0
        at_target = self.opt._solver_model.getModelStatus() == highspy.HighsModelStatus.kObjectiveTarget
        if at_target:  # stopped at _accurate's target: a plan that settles the row, all it asked
            status, gap, warnings = before
            info.status = status if status in ("time_limit_feasible", "limit_feasible") else "optimal"
            info.mip_gap, info.warnings[:] = gap, warnings
        return at_target


def _columns(m, colmap, triples) -> dict:
    """``{HiGHS column: value}`` of ``(component, index, value)`` triples, those the model has."""
    out = {}
    for comp, idx, value in triples:
        component = getattr(m, comp, None)
        if component is not None and idx in component:
            out[colmap[id(component[idx])]] = float(value)
    return out


def _as_start(values: dict):
    return (np.array(list(values), dtype=np.int32), np.array(list(values.values()), dtype=float)) if values else None


def _set_bounds(h, bounds: dict):
    """Set column bounds ``{column: (lb, ub)}``; returns what :func:`_restore` needs."""
    cols = np.array(sorted(bounds), dtype=np.int32)
    if not len(cols):
        return None
    lp = h.getLp()
    saved = (cols, np.asarray(lp.col_lower_)[cols], np.asarray(lp.col_upper_)[cols])
    h.changeColsBounds(len(cols), cols, np.array([bounds[c][0] for c in cols], dtype=float), np.array([bounds[c][1] for c in cols], dtype=float))
    return saved


def _narrows(saved, bounds: dict) -> bool:
    """Whether every new bound ``{column: (lb, ub)}`` lies within the column's bounds as they were
    (``saved`` by :func:`_set_bounds`): the task's problem is then a restriction of the plan's."""
    if saved is None:
        return True
    cols, lo, up = saved
    return all(lo[i] <= bounds[c][0] and bounds[c][1] <= up[i] for i, c in enumerate(cols.tolist()))


def plan_bound_of(kpis: dict) -> float | None:
    """A proven lower bound on the optimum of the plan's problem from its objective ``z`` and the
    MIP gap HiGHS proved, ``|z - bound| / |z|``: ``z - (gap + 1e-9) |z| - 1e-6`` (kpis.json rounds
    the gap to 1e-9 and the objective to 1e-6); None if unknown, or if ``--polish-cost`` changed
    the plan after the gap was proved. Every withheld decision only restricts that problem, so its
    optimum is at least this bound (a row's ``objective_bound``)."""
    z, gap = kpis.get("objective"), kpis.get("mip_gap")
    if z is None or gap is None or "cost_polish" in kpis or not math.isfinite(float(gap)):
        return None
    return float(z) - (float(gap) + 1e-9) * abs(float(z)) - NUMERIC


def _restore(h, saved) -> None:
    if saved is not None:
        cols, lo, up = saved
        h.changeColsBounds(len(cols), cols, lo, up)


def plan_start(m) -> list[tuple]:
    """The integer variables of a solved model as ``(component, index, value)`` (rounded)."""
    return [
        (v.parent_component().local_name, v.index(), float(round(v.value or 0.0)))
        for v in m.component_data_objects(pyo.Var, descend_into=True)
        if v.is_integer()
    ]


# --- workers --------------------------------------------------------------------------------

_WORKER: ExplainResolver | None = None


def _init(base_raw: dict, options: dict, start: list, reference: float | None, plan_bound: float | None) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _WORKER = ExplainResolver(base_raw, options, start, reference, plan_bound)


def _run(task: Task) -> Outcome:
    return _WORKER.run_task(task)


def run_tasks(tasks: list[Task], base_raw: dict, options: dict, start: list, workers: int, inline: ExplainResolver | None = None, reference: float | None = None,
              plan_bound: float | None = None) -> list[Outcome]:
    """Every task's outcome, in ``tasks`` order. ``workers`` processes (``spawn``), each one live
    model; with one worker, in this process (``inline``: a resolver whose model is the plan's).
    Structural tasks go last, so a worker rebuilds its model at most once. A task with ``skip``
    is not re-solved (its outcome: status ``at_limit``, the reason as message)."""
    out: list[Outcome | None] = [Outcome("at_limit", t.skip) if t.skip else None for t in tasks]
    order = sorted((i for i in range(len(tasks)) if not tasks[i].skip), key=lambda i: (tasks[i].structural, i))
    if workers <= 1 or len(order) <= 1:
        resolver = inline or ExplainResolver(base_raw, options, start, reference, plan_bound)
        resolver.reference, resolver.plan_bound = reference, plan_bound
        for i in order:
            out[i] = resolver.run_task(tasks[i])
        return out
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_init, initargs=(base_raw, options, start, reference, plan_bound))
    cancel = True
    try:
        futures = {pool.submit(_run, tasks[i]): i for i in order}
        for fut in as_completed(futures):
            try:
                out[futures[fut]] = fut.result()
            except Exception as e:  # noqa: BLE001 - a failed re-solve is a row with its status
                out[futures[fut]] = Outcome("error", f"{type(e).__name__}: {e}")
        cancel = False
    finally:
        if cancel:  # Ctrl-C: stop the re-solves under way (workers ignore SIGINT)
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
        pool.shutdown(wait=not cancel, cancel_futures=True)
    return out


# --- rows -----------------------------------------------------------------------------------

SOLVED = ("optimal", "time_limit_feasible", "limit_feasible")


def floor_of(ref: dict, options: dict) -> float:
    """Objective units below which a difference is no measurable difference: the plan's own MIP
    gap (the run's ``--mip-gap``, default 0.01 %) times its objective."""
    return (options.get("mip_gap") or DEFAULT_GAP) * abs(ref.get("objective") or 0.0)


def note_of(row: dict, kpis: dict, floor: float) -> str:
    """The row's note on its accuracy ('' when the objective difference is known to
    :data:`ACCURACY` of itself and is more than the floor)."""
    low, high = row["objective_bound"], row["objective"]
    if high - low > tolerance(low, high, floor) + NUMERIC:
        return f"not known to {ACCURACY:.0%}: the objective difference lies between {low:,.1f} and {high:,.1f} (solver stopped at a limit)"
    if abs(low) <= floor and abs(high) <= floor:
        size = f"{floor:,.0f}" if floor >= 10 else f"{floor:.2g}"
        return f"no measurable difference: within +-{size} objective units, the plan's own MIP gap"
    return ""


def frame(tasks: list[Task], outcomes: list[Outcome], ref: dict, options: dict) -> pd.DataFrame:
    """One row per task: what was changed, the re-solve's status, the KPI differences, the
    objective's lower bound, a note."""
    rows, floor = [], floor_of(ref, options)
    for task, out in zip(tasks, outcomes):
        row = {k: v for k, v in asdict(task).items() if k in HEAD}
        row["status"] = out.status
        ok = out.status in SOLVED and bool(out.kpis)
        for col, key in KPI_COLUMNS.items():
            row[col] = float(out.kpis[key]) - float(ref[key]) if ok else math.nan
        if ok:  # an LP (no binaries) is solved exactly: its bound is its objective
            row["objective_bound"] = row["objective"] - float(out.kpis.get("explain_gap", 0.0))
            row["note"] = note_of(row, out.kpis, floor)
        else:
            row["objective_bound"], row["note"] = math.nan, out.message
        rows.append(row)
    columns = HEAD + list(KPI_COLUMNS) + ["objective_bound", "note"]
    return pd.DataFrame(rows, columns=columns)


def build_tasks(d, tables: dict, kpis: dict, start: list | None = None) -> tuple[list[Task], list[Task]]:
    """(sensitivities, explanations) of the plan whose tables and KPIs are given; ``start``: its
    integer variables (:func:`plan_start`), from which withheld sites get their swaps."""
    commit = max(1, min(int(kpis.get("commit_periods") or 1), d.horizon_T))
    sens = sensitivity_tasks(d, tables, commit, float(kpis.get("total_cost_eur") or 0.0))
    plan = {(comp, idx): value for comp, idx, value in start or []}
    expl = explanation_tasks(d, tables["plan_quarter"], commit, plan)
    return sens, expl


def explain_tables(d, base_raw: dict, tables: dict, ref: dict, start: list, options: dict, workers: int | None, inline=None,
                   plan_bound: float | None = None) -> dict:
    """``{"sensitivities": DataFrame, "explanations": DataFrame}``, the seconds they took, and per
    task ``task_seconds``: (group, kind, item, seconds, status, how it was settled: ``swap``,
    ``restricted``, ``full`` or '' for an LP or a row not re-solved, the swap's substitute)."""
    t0 = time.perf_counter()
    sens, expl = build_tasks(d, tables, ref, start)
    n = max(1, workers or os.cpu_count() or 1)
    outcomes = run_tasks(sens + expl, base_raw, options, start, n, inline, float(ref["objective"]), plan_bound)
    return {
        "sensitivities": frame(sens, outcomes[: len(sens)], ref, options).rename(columns={"kind": "resource"}),
        "explanations": frame(expl, outcomes[len(sens) :], ref, options).rename(columns={"kind": "decision"}),
        "seconds": time.perf_counter() - t0,
        "tasks": sum(1 for t in sens + expl if not t.skip),
        "task_seconds": [(t.group, t.kind, t.item, o.timings.get("total_seconds", 0.0), o.status, o.kpis.get("explain_method", ""), o.kpis.get("explain_swap", ""))
                         for t, o in zip(sens + expl, outcomes)],
    }


# --- entry points ---------------------------------------------------------------------------


def plain_instance(d) -> dict:
    """The validated instance as plain data, every series written out per period (as the run
    folder's ``instance.resolved.yaml``): what the workers re-solve."""
    raw = d.instance.model_dump()
    for path, values in d.series.items():
        node = raw
        *parents, leaf = path.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = list(values)
    return raw


def explain_plan(plan, options: dict | None = None, workers: int | None = None) -> dict:
    """``planner solve --explain``: adds ``sensitivities`` and ``explanations`` to ``plan.tables``
    (its model holds the solved plan: the MIP start); returns the timings."""
    options = dict(options or {})
    out = explain_tables(plan.data, plain_instance(plan.data), plan.tables, plan.kpis, plan_start(plan.model), options, workers,
                         plan_bound=plan_bound_of(plan.kpis))
    plan.tables["sensitivities"], plan.tables["explanations"] = out["sensitivities"], out["explanations"]
    plan.timings["explain_seconds"] = round(out["seconds"], 3)
    return out


def folder_start(d, locations: pd.DataFrame) -> list[tuple]:
    """The run's site decisions within the horizon, from its ``locations.csv``, as a partial MIP
    start ``(component, index, value)``: candidates' ``start`` and ``serve`` in the horizon's
    periods (the look-ahead's are not written), existing sites' ``keep``."""
    labels, T = list(d.grid.labels), d.horizon_T
    out = []
    for row in locations.itertuples(index=False):
        name = str(row.location)
        loc = d.instance.locations.get(name)
        if loc is None:
            continue
        if loc.status == "existing":
            out.append(("keep", name, 1.0 if str(row.kept_open) == "True" else 0.0))
            continue
        opened = str(row.opened) == "True" and str(row.open_from) in labels
        t0 = labels.index(str(row.open_from)) if opened else T
        t1 = labels.index(str(row.open_until)) if opened and str(row.open_until) in labels else T - 1
        for t in range(d.location_first_period(name), T):
            out += [("start", (name, t), float(t == t0)), ("serve", (name, t), float(t0 <= t <= t1))]
    return out


def read_plan_folder(folder):
    """(instance data, plain instance, tables, kpis) of a run folder written by ``planner solve``;
    :class:`~planner.errors.InputError` for anything else."""
    from pathlib import Path

    from planner.check.evaluate import read_run
    from planner.errors import InputError

    run = read_run(folder)  # checks the files, the KPIs and the tables' columns
    mode = run.kpis.get("objective_mode")
    if mode != "weighted":
        what = "a status quo simulation" if mode == "simulate" else f"a run of the {mode} objective"
        raise InputError("RUN_DIR", f"{folder}: is {what}; explain re-solves plans of the weighted objective (planner solve)", file=None)
    from planner.check.evaluate import _year_keys
    from planner.instance.loading import validate_dict
    from planner.instance.yamlio import load_yaml

    path = Path(folder) / "instance.resolved.yaml"
    raw = load_yaml(path, "resolved instance")
    _year_keys(raw)
    d = validate_dict(raw, path)
    tables = {}
    for name in ("plan_quarter", "placement", "costs", "locations"):
        path = Path(folder) / f"{name}.csv"
        tables[name] = pd.read_csv(path, keep_default_na=False) if path.exists() or name != "locations" else pd.DataFrame(columns=["location"])
    return d, plain_instance(d), tables, run.kpis


def explain_run(folder, options: dict | None = None, workers: int | None = None) -> dict:
    """``planner explain RUN_DIR``: re-solves the run's plan (the reference and the MIP start),
    then every task; returns the two frames, the seconds, and ``warnings`` (the re-solved plan
    differs from the run's)."""
    options = dict(options or {})
    t0 = time.perf_counter()
    d, raw, tables, kpis = read_plan_folder(folder)
    # the plan solved again, to the plan's own gap against its objective: the run's site decisions
    # within the horizon as a start, the look-ahead's found again
    resolver = ExplainResolver(raw, options, folder_start(d, tables["locations"]), float(kpis["objective"]))
    base = resolver.run_task(Task("base", "", "", "", "", 0.0, "", ""))
    if base.status not in SOLVED:
        from planner.errors import SolveError

        raise SolveError(f"the run's plan could not be solved again: {base.status} ({base.message})", 4)
    ref = {**base.kpis, "commit_periods": kpis.get("commit_periods")}
    warnings = []
    if abs(ref["objective"] - kpis["objective"]) > 2 * floor_of(ref, options):  # both within the gap
        warnings.append(
            f"the plan solved again has objective {ref['objective']:,.2f}, the run's {kpis['objective']:,.2f} "
            "(another version, a time limit or --polish-cost): the differences are against the plan solved again"
        )
    start = plan_start(resolver.model)
    resolver.plan_start = start
    # the run's proven bound holds for the plan solved again only if that is the same problem: a
    # plan found below it, or an objective that moved, says it is not
    bound = plan_bound_of(kpis)
    if bound is not None and (warnings or ref["objective"] < bound):
        bound = None
    base_seconds = time.perf_counter() - t0
    out = explain_tables(d, raw, tables, ref, start, options, workers, inline=resolver, plan_bound=bound)
    out.update(warnings=warnings, base_seconds=base_seconds, seconds=time.perf_counter() - t0)
    return out


def write_into(folder, frames: dict, command: list | None = None) -> None:
    """Add the two tables, the report's section and the workbook's two sheets (when the folder has
    report.html and plan.xlsx) to the run folder ``folder``, atomically
    (:func:`planner.outputs.runfolder.write_run_folder`: the folder is rewritten whole, every
    other file as it was)."""
    from pathlib import Path

    from planner.outputs import explainreport
    from planner.outputs.results import csv_text
    from planner.outputs.runfolder import check_target, write_run_folder

    folder = Path(folder)
    check_target(folder, "run", option="RUN_DIR", must_exist=True)  # only the tool's own run folders
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    files["sensitivities.csv"] = csv_text(frames["sensitivities"])
    files["explanations.csv"] = csv_text(frames["explanations"])
    if "report.html" in files:
        page = files["report.html"].decode("utf-8")
        files["report.html"] = explainreport.insert(page, frames)
    if "plan.xlsx" in files:
        files["plan.xlsx"] = workbook(files["plan.xlsx"], frames)
    write_run_folder(folder, files, command)


SHEETS = ("sensitivities", "explanations")


def workbook(data: bytes, tables: dict) -> bytes:
    """``data`` (a plan.xlsx) with a sheet per table of :data:`SHEETS`, formatted as the
    workbook's other sheets (an earlier one replaced)."""
    import io

    from openpyxl import load_workbook

    from planner.outputs.report import _as_written, _format_sheet, _normalise_zip

    book = load_workbook(io.BytesIO(data))
    for name in SHEETS:
        if name in book.sheetnames:
            del book[name]
    for name in SHEETS:
        frame = _as_written(tables[name])
        ws = book.create_sheet(name)
        ws.append([str(c) for c in frame.columns])
        for row in frame.itertuples(index=False):
            ws.append([None if isinstance(v, float) and math.isnan(v) else v for v in row])
        _format_sheet(ws, frame)
    buf = io.BytesIO()
    book.save(buf)
    return _normalise_zip(buf.getvalue())
