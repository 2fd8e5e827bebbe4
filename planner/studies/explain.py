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
HiGHS's columns and restored afterwards. Every re-solve is the full MIP (binaries free, the run's
time limit and MIP gap) started from the plan: the plan's integer values (site openings) go to
HiGHS as a partial MIP start, which HiGHS completes by an LP over the continuous variables, so a
re-solve starts from "the plan's sites, everything else re-optimised" and can only improve on it.

Accuracy: both the plan and a re-solve are optimal only to their MIP gap, so an objective
difference smaller than ``(gap_plan + gap_resolve) x |objective|`` may be the solver's noise; such
rows say so in ``note``.
"""

from __future__ import annotations

import math
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from multiprocessing import get_context

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs

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
DEFAULT_GAP = 1e-4
"""HiGHS's default relative MIP gap (a run without ``--mip-gap``)."""


class _StartHighs(Highs):
    """Pyomo's persistent HiGHS that hands HiGHS ``start`` = (columns, values), a partial MIP
    start, just before each run (after every change was pushed: HiGHS drops a start when the
    model changes)."""

    start = None

    def _solve(self):
        if self.start is not None:
            cols, values = self.start
            self._solver_model.setSolution(len(cols), cols, values)
        return super()._solve()


class ExplainResolver(Resolver):
    """A :class:`Resolver` that solves :class:`Task` s: changes, bounds and the plan as MIP start.

    ``plan_start``: the plan's integer variables as ``(component, index, value)`` (None: solve
    without a start, as for the plan itself)."""

    def __init__(self, base_raw: dict, options: dict | None = None, plan_start: list | None = None):
        super().__init__(base_raw, options)
        self.opt = _StartHighs()
        self.opt.config.auto_updates.set_value(_NO_AUTO_UPDATES)
        self.opt.update = _no_update
        self.plan_start = plan_start or []
        self.task: Task | None = None

    def run_task(self, task: Task) -> Outcome:
        self.task = task
        try:
            return self.solve_variant(task.changes)
        finally:
            self.task = None

    def _solve_live(self, info) -> None:
        task = self.task
        if task is None:
            return super()._solve_live(info)
        if getattr(self.opt, "_model", None) is not self.model:
            self.opt.set_instance(self.model)  # a new model: its columns exist before the bounds go in
        h, colmap, m = self.opt._solver_model, self.opt._pyomo_var_to_solver_var_map, self.model
        fixed = {}
        for comp, idx, lb, ub in task.bounds:
            fixed[colmap[id(getattr(m, comp)[idx])]] = (lb, ub)
        cols = np.array(sorted(fixed), dtype=np.int32)
        if len(cols):
            lp = h.getLp()
            saved = (np.asarray(lp.col_lower_)[cols], np.asarray(lp.col_upper_)[cols])
            h.changeColsBounds(len(cols), cols, np.array([fixed[c][0] for c in cols]), np.array([fixed[c][1] for c in cols]))
        values = {}
        for comp, idx, value in [*self.plan_start, *task.start]:
            component = getattr(m, comp, None)
            if component is not None and idx in component:
                values[colmap[id(component[idx])]] = float(value)
        for c, (lb, ub) in fixed.items():
            if c in values:
                values[c] = min(max(values[c], lb), ub)
        self.opt.start = (np.array(list(values), dtype=np.int32), np.array(list(values.values()), dtype=float)) if values else None
        try:
            super()._solve_live(info)
        finally:
            self.opt.start = None
            if len(cols) and self.opt._solver_model is h:
                h.changeColsBounds(len(cols), cols, *saved)


def plan_start(m) -> list[tuple]:
    """The integer variables of a solved model as ``(component, index, value)`` (rounded)."""
    return [
        (v.parent_component().local_name, v.index(), float(round(v.value or 0.0)))
        for v in m.component_data_objects(pyo.Var, descend_into=True)
        if v.is_integer()
    ]


# --- workers --------------------------------------------------------------------------------

_WORKER: ExplainResolver | None = None


def _init(base_raw: dict, options: dict, start: list) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _WORKER = ExplainResolver(base_raw, options, start)


def _run(task: Task) -> Outcome:
    return _WORKER.run_task(task)


def run_tasks(tasks: list[Task], base_raw: dict, options: dict, start: list, workers: int, inline: ExplainResolver | None = None) -> list[Outcome]:
    """Every task's outcome, in ``tasks`` order. ``workers`` processes (``spawn``), each one live
    model; with one worker, in this process (``inline``: a resolver whose model is the plan's).
    Structural tasks go last, so a worker rebuilds its model at most once."""
    order = sorted(range(len(tasks)), key=lambda i: (tasks[i].structural, i))
    out: list[Outcome | None] = [None] * len(tasks)
    if workers <= 1 or len(tasks) <= 1:
        resolver = inline or ExplainResolver(base_raw, options, start)
        for i in order:
            out[i] = resolver.run_task(tasks[i])
        return out
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_init, initargs=(base_raw, options, start))
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


def noise(ref: dict, outcome: Outcome, options: dict) -> float:
    """Objective units within which a difference may be the MIP gaps' noise."""
    gap = options.get("mip_gap") or DEFAULT_GAP
    reached = (ref.get("mip_gap") or 0.0) + (outcome.kpis.get("mip_gap") or 0.0)
    return max(2 * gap, reached) * abs(ref.get("objective") or 0.0)


def frame(tasks: list[Task], outcomes: list[Outcome], ref: dict, options: dict) -> pd.DataFrame:
    """One row per task: what was changed, the re-solve's status, the KPI differences, a note."""
    rows = []
    for task, out in zip(tasks, outcomes):
        row = {k: v for k, v in asdict(task).items() if k in HEAD}
        row["status"] = out.status
        ok = out.status in ("optimal", "time_limit_feasible", "limit_feasible") and out.kpis
        for col, key in KPI_COLUMNS.items():
            row[col] = float(out.kpis[key]) - float(ref[key]) if ok else math.nan
        note = "" if ok else out.message
        if ok and abs(row["objective"]) <= noise(ref, out, options):
            note = f"within the MIP gaps (+-{noise(ref, out, options):,.0f} objective units): may be the solver's noise"
        row["note"] = note
        rows.append(row)
    columns = HEAD + list(KPI_COLUMNS) + ["note"]
    return pd.DataFrame(rows, columns=columns)


def build_tasks(d, tables: dict, kpis: dict) -> tuple[list[Task], list[Task]]:
    """(sensitivities, explanations) of the plan whose tables and KPIs are given."""
    commit = max(1, min(int(kpis.get("commit_periods") or 1), d.horizon_T))
    sens = sensitivity_tasks(d, tables, commit, float(kpis.get("total_cost_eur") or 0.0))
    expl = explanation_tasks(d, tables["plan_quarter"], commit)
    return sens, expl


def explain_tables(d, base_raw: dict, tables: dict, ref: dict, start: list, options: dict, workers: int | None, inline=None) -> dict:
    """``{"sensitivities": DataFrame, "explanations": DataFrame}`` and the seconds they took."""
    t0 = time.perf_counter()
    sens, expl = build_tasks(d, tables, ref)
    n = max(1, workers or os.cpu_count() or 1)
    outcomes = run_tasks(sens + expl, base_raw, options, start, n, inline)
    return {
        "sensitivities": frame(sens, outcomes[: len(sens)], ref, options).rename(columns={"kind": "resource"}),
        "explanations": frame(expl, outcomes[len(sens) :], ref, options).rename(columns={"kind": "decision"}),
        "seconds": time.perf_counter() - t0,
        "tasks": len(sens) + len(expl),
        "task_seconds": [(t.group, t.kind, t.item, o.timings.get("total_seconds", 0.0)) for t, o in zip(sens + expl, outcomes)],
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
    out = explain_tables(plan.data, plain_instance(plan.data), plan.tables, plan.kpis, plan_start(plan.model), options, workers)
    plan.tables["sensitivities"], plan.tables["explanations"] = out["sensitivities"], out["explanations"]
    plan.timings["explain_seconds"] = round(out["seconds"], 3)
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
    for name in ("plan_quarter", "placement", "costs"):
        tables[name] = pd.read_csv(Path(folder) / f"{name}.csv", keep_default_na=False)
    return d, plain_instance(d), tables, run.kpis


def explain_run(folder, options: dict | None = None, workers: int | None = None) -> dict:
    """``planner explain RUN_DIR``: re-solves the run's plan (the reference and the MIP start),
    then every task; returns the two frames, the seconds, and ``warnings`` (the re-solved plan
    differs from the run's)."""
    options = dict(options or {})
    t0 = time.perf_counter()
    d, raw, tables, kpis = read_plan_folder(folder)
    resolver = ExplainResolver(raw, options)
    base = resolver.solve_variant([])
    if base.status not in ("optimal", "time_limit_feasible", "limit_feasible"):
        from planner.errors import SolveError

        raise SolveError(f"the run's plan could not be solved again: {base.status} ({base.message})", 4)
    ref = {**base.kpis, "commit_periods": kpis.get("commit_periods")}
    warnings = []
    if abs(ref["objective"] - kpis["objective"]) > noise(ref, base, options):
        warnings.append(
            f"the plan solved again has objective {ref['objective']:,.2f}, the run's {kpis['objective']:,.2f} "
            "(another version, a time limit or --polish-cost): the differences are against the plan solved again"
        )
    start = plan_start(resolver.model)
    resolver.plan_start = start
    base_seconds = time.perf_counter() - t0
    out = explain_tables(d, raw, tables, ref, start, options, workers, inline=resolver)
    out.update(warnings=warnings, base_seconds=base_seconds, seconds=time.perf_counter() - t0)
    return out


def write_into(folder, frames: dict, command: list | None = None) -> None:
    """Add the two tables and the report's section to the run folder ``folder``, atomically
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
    write_run_folder(folder, files, command)
