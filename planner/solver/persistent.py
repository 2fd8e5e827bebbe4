"""Re-solving one built model for many variants of an instance (the engine of ``planner batch``).

A :class:`Resolver` holds ONE live Pyomo model and ONE persistent HiGHS object
(``pyomo.contrib.solver.solvers.highs.Highs``). For each variant it

1. validates the changed instance (:func:`planner.instance.loading.validate_dict`);
2. computes the variant's sets and parameter values with :func:`planner.model.model_data`: each
   model module's ``data`` step, plain Python, no Pyomo component built;
3. compares a structural signature (:func:`signature`) with the live model's. If equal, it copies
   every changed parameter value into the live model, pushes exactly the coefficients, bounds and
   costs that depend on those parameters into HiGHS, and re-solves: HiGHS restarts from its last
   basis. If different, it builds the variant's model and hands it to the same HiGHS object
   (``rebuilt: true``, with the reason).

What is structural is decided by :mod:`planner.instance.structure` (the same rule decides which measures
``--choose-measures`` can choose).
``tests/test_batch.py`` checks persistent re-solves against fresh builds on random variants.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs
from pyomo.core.expr.visitor import identify_mutable_parameters

from planner.errors import InputError, SolveError
from planner.instance.loading import validate_dict
from planner.instance.load import check_before_build
from planner.instance.measures import apply_changes
from planner.instance.structure import signature, signature_difference
from planner.model import build_model, model_data
from planner.model.objective import STAGES
from planner.solver.highs import SolveInfo, objective_scale, run_highs
from planner.solver.linearvalues import LinearExpressionValues
from planner.solver.solve import solve_model


def _mutable_params(m):
    for p in m.component_objects(pyo.Param, descend_into=True):
        if p.mutable:
            yield p


# --- the persistent solver ------------------------------------------------------------------


def relax_integers(m) -> None:
    """Binary -> [0, 1], integer -> continuous: the LP relaxation, in place."""
    for v in m.component_data_objects(pyo.Var, descend_into=True):
        if v.is_binary():
            v.domain = pyo.UnitInterval
        elif v.is_integer():
            lb, ub = v.bounds
            v.domain = pyo.Reals
            v.setlb(lb)
            v.setub(ub)


# Re-solves push exactly the values that changed (see Resolver._push); Pyomo's own scan of the
# whole model on every solve is switched off.
_NO_AUTO_UPDATES = {
    "check_for_new_or_removed_constraints": False,
    "check_for_new_or_removed_vars": False,
    "check_for_new_or_removed_params": False,
    "check_for_new_objective": False,
    "update_constraints": False,
    "update_vars": False,
    "update_parameters": False,
    "update_named_expressions": False,
    "update_objective": False,
}


def _helpers_by_param(opt: Highs) -> dict[int, list]:
    """id(ParamData) -> the persistent interface's helpers whose value depends on it.

    The helpers (mutable coefficients, row bounds, column bounds, costs, objective offset) are
    created by ``Highs.set_instance``; each knows how to push its own value into HiGHS.
    """
    deps = defaultdict(list)

    def note(helper, *exprs):
        seen = set()
        for e in exprs:
            if e is None or not hasattr(e, "is_expression_type"):
                continue
            for p in identify_mutable_parameters(e):
                if id(p) not in seen:
                    seen.add(id(p))
                    deps[id(p)].append(helper)

    for helpers in opt._mutable_helpers.values():
        for h in helpers:
            if hasattr(h, "expr"):
                note(h, h.expr)
            else:
                note(h, h.lower_expr, h.upper_expr)
    for _v, h in opt._mutable_bounds.values():
        note(h, h.lower_expr, h.upper_expr)
    obj = opt._mutable_objective
    for h in obj.linear_coefs:
        note(h, h.expr)
    note(obj.constant, obj.constant.expr)
    return deps


def _no_update(timer=None) -> None:
    return None


class NearBoundFilter(logging.Filter):
    """Drops Pyomo's W1001 warning for a solution value of a variable in ``domain`` (``Binary``,
    ``UnitInterval``) within ``tol`` of 0 or 1: for a MIP HiGHS's integrality tolerance
    (``0.9999999999999978``; in a batch it would print for every variant), for a relaxed binary
    a round-off outside [0, 1] (``-2.4e-15``)."""

    def __init__(self, domain: str, tol: float):
        super().__init__()
        self.domain, self.tol = domain, tol

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if f"not in domain {self.domain}" not in text:
            return True
        try:
            value = float(text.split("`")[1])
        except (IndexError, ValueError):
            return True
        return min(abs(value), abs(value - 1)) > self.tol


def quiet_near_bounds(domain: str, tol: float) -> None:
    """Install a :class:`NearBoundFilter` for ``domain`` on Pyomo's log (once)."""
    log = logging.getLogger("pyomo.core")
    if not any(isinstance(f, NearBoundFilter) and f.domain == domain for f in log.filters):
        log.addFilter(NearBoundFilter(domain, tol))


def _quiet_near_binaries() -> None:
    quiet_near_bounds("Binary", 1e-5)


@contextmanager
def frozen_expressions(m):
    """Named expressions hold their current value while the block runs.

    The report tables read many named expressions (costs, occupancy, linked permit holders),
    several of them more than once and nested in each other; evaluating each once, in declaration
    order, and reading the number afterwards makes extraction about a third faster. The
    expressions are restored however the block ends. Only for a solved model whose variables do
    not change inside the block.
    """
    saved = []
    try:
        for e in m.component_data_objects(pyo.Expression, descend_into=True):
            saved.append((e, e.expr))
            e.set_value(pyo.value(e.expr, exception=False))
        yield m
    finally:
        for e, expr in reversed(saved):
            e.set_value(expr)


@dataclass
class Outcome:
    """One variant's result: status, message, KPIs, per-period series, timings."""

    status: str
    message: str = ""
    kpis: dict = field(default_factory=dict)
    series: list = field(default_factory=list)  # (series, key, period_index, period, value)
    rebuilt: bool = False
    rebuild_reason: str = ""
    timings: dict = field(default_factory=dict)


SERIES_FROM_TABLES = {
    # series name -> (table, column, key column or None)
    "occupancy": ("reception", "occupancy", None),
    "places_open": ("reception", "places_open", None),
    "places_needed": ("reception", "places_needed", None),
    "crisis": ("reception", "crisis", None),
    "unsheltered": ("reception", "unsheltered", None),
    "stock": ("ind_cases", "stock", "case_type"),
    "overdue": ("ind_cases", "overdue", "case_type"),
    "permit_holders_waiting": ("placement", "waiting", None),
}
"""Per-period series stored for every scenario (keyed ones per case type; placement summed over
regions)."""


def plan_series(tables: dict) -> list[tuple]:
    """(series, key, t, period, value) rows of :data:`SERIES_FROM_TABLES` from a plan's tables."""
    rows = []
    for name, (table, column, key) in SERIES_FROM_TABLES.items():
        frame = tables[table]
        if key is None:
            values = frame.groupby("period", sort=False)[column].sum()
            rows.extend((name, "", i, p, float(v)) for i, (p, v) in enumerate(values.items()))
        else:
            for k, g in frame.groupby(key, sort=False):
                rows.extend((name, str(k), i, p, float(v)) for i, (p, v) in enumerate(zip(g.period, g[column])))
    return rows


class Resolver:
    """One worker's live model and persistent HiGHS object.

    ``base_raw`` is the base instance as plain data (CSV series already written out, so a remote
    worker needs no files); ``options``: ``objective`` (None: the instance's mode), ``time_limit``,
    ``mip_gap``, ``relax_integers``, ``persistent`` (False: build and solve every variant from
    scratch, the reference the tests and benchmarks compare with).
    """

    def __init__(self, base_raw: dict, options: dict | None = None):
        self.base_raw = base_raw
        self.options = dict(options or {})
        self.opt = Highs()
        self.opt.config.auto_updates.set_value(_NO_AUTO_UPDATES)
        # Changes reach HiGHS through Resolver._push; the interface's own update() (called on every
        # re-solve of the same model) would only scan the model and rebuild its index maps.
        self.opt.update = _no_update
        _quiet_near_binaries()
        self.model = None
        self.scale = 1.0
        self.is_mip = False
        self.sig = None
        self.deps: dict[int, list] | None = None
        self.columns: list | None = None
        self.linear: LinearExpressionValues | None = None
        self.live_params: list = []  # [(ParamData of the live model, path key)]
        self.rebuilds = 0
        self.cold_restarts = 0
        self.reset_reason: str | None = None

    # -- variants ----------------------------------------------------------------------------

    def variant(self, changes: list[dict]) -> dict:
        """The base instance with ``changes`` (dicts: path, op, value, from_period, field); a
        change of :data:`~planner.instance.measures.PACKAGE_PATH` puts that package in force after the
        other changes (as ``planner solve --set ... --package``)."""
        return apply_changes(self.base_raw, changes)

    # -- the live model ------------------------------------------------------------------------

    def _install(self, m, sig) -> None:
        """Make ``m`` the live model; the next solve hands it to the HiGHS object (set_instance)."""
        if self.options.get("relax_integers"):
            relax_integers(m)
        # The weighted objective times a power of two (numerics only, as planner.solver.solve does per
        # call): fixed for the life of this model, its coefficients follow the parameters.
        self.scale = objective_scale(m.weighted_objective.expr)
        m.weighted_objective.deactivate()
        m.batch_objective = pyo.Objective(expr=self.scale * m.weighted_objective.expr, sense=m.weighted_objective.sense)
        self.is_mip = any(v.is_integer() for v in m.component_data_objects(pyo.Var, descend_into=True))
        self.model, self.sig, self.deps, self.reset_reason = m, sig, None, None
        self.columns = None  # HiGHS column -> variable, after the first solve (_load_solution)
        self.linear = None  # the named expressions' linear forms, at the first extraction (_frozen)
        # per parameter: its ParamData in the live model with their index (None: scalar)
        self.live_params = {
            p.local_name: [(pd, idx if p.is_indexed() else None) for idx, pd in p.items()] for p in _mutable_params(m)
        }

    def _copy_params(self, md) -> list:
        """Copy the variant's parameter values into the live model; returns the changed ParamData.

        An index the variant's values do not name keeps the parameter's default (0), as in a
        build (``common.mparam``)."""
        changed = []
        for name, entries in self.live_params.items():
            values = md.params[name][1]
            for pd, idx in entries:
                v = values if idx is None else values.get(idx, 0.0)
                if pd.value != v:
                    pd.set_value(v)
                    changed.append(pd)
        return changed

    def _push(self, changed: list) -> None:
        """Push the coefficients, bounds and costs that depend on ``changed`` into HiGHS."""
        if self.deps is None or not changed:
            return
        done = set()
        for pd in changed:
            for h in self.deps.get(id(pd), ()):
                if id(h) not in done:
                    done.add(id(h))
                    h.update()

    def solve_variant(self, changes: list[dict]) -> Outcome:
        """Apply, validate, update or rebuild, solve, extract: never raises for a bad variant."""
        t_start = time.perf_counter()
        timings = {"validate_seconds": 0.0, "params_seconds": 0.0, "build_seconds": 0.0, "solve_seconds": 0.0, "extract_seconds": 0.0}
        try:
            raw = self.variant(changes)
            d = validate_dict(raw)
            check_before_build(d)  # as solve does (planner batch checks every variant before the first solve)
        except InputError as e:
            e.file = None
            return Outcome("bad_input", str(e), timings=_total(timings, t_start))
        timings["validate_seconds"] = time.perf_counter() - t_start
        mode = self.options.get("objective") or d.instance.objective.mode
        try:
            if not self.options.get("persistent", True) or mode != "weighted" or self.options.get("polish_seconds"):
                out = self._solve_fresh(d, mode, timings)
            else:
                out = self._solve_persistent(d, timings)
        except SolveError as e:
            status = "infeasible" if e.exit_code == 3 else "no_solution"
            return Outcome(status, str(e), timings=_total(timings, t_start))
        except Exception as e:  # a bug or a solver failure: recorded, the batch goes on
            return Outcome("error", f"{type(e).__name__}: {e}", timings=_total(timings, t_start))
        out.timings = _total(timings, t_start)
        return out

    def _solve_persistent(self, d, timings: dict) -> Outcome:
        t0 = time.perf_counter()
        md = model_data(d)
        sig = signature(d, md)
        if self.model is None:
            reason = self.reset_reason or "first variant of this worker"
        else:
            reason = signature_difference(self.sig, sig) or ""
        timings["params_seconds"] = time.perf_counter() - t0
        rebuilt = bool(reason) and (self.model is not None or self.reset_reason is not None)
        if reason:
            t0 = time.perf_counter()
            self._install(build_model(d, md), sig)
            self.rebuilds += rebuilt
            timings["build_seconds"] = time.perf_counter() - t0
        else:
            t0 = time.perf_counter()
            changed = self._copy_params(md)
            self._push(changed)
            if self.linear is not None:
                self.linear.parameters_changed(changed)
            timings["params_seconds"] += time.perf_counter() - t0
        m = self.model
        info = SolveInfo()
        info.build_seconds = timings["build_seconds"]
        info.objective_scale = self.scale
        t0 = time.perf_counter()
        try:
            self._solve_live(info)
        except SolveError:
            raise
        except BaseException as e:  # the HiGHS object's state is unknown: the next variant builds anew
            self.model, self.reset_reason = None, f"the worker's model was dropped after an error ({type(e).__name__})"
            raise
        finally:
            if self.deps is None and self.model is not None:  # set_instance ran in this solve: index the helpers
                self.deps = _helpers_by_param(self.opt)
        timings["solve_seconds"] = time.perf_counter() - t0
        out = self._extract(m, d, info, "weighted", timings, objective_values=True)
        out.rebuilt, out.rebuild_reason = rebuilt, reason if rebuilt else ""
        return out

    def _solve_live(self, info: SolveInfo) -> None:
        """Solve the live model with the worker's HiGHS object (``planner.solver.highs.run_highs``: its
        objective is already scaled, see :meth:`_install`; a warm start that ends without a
        status is solved again from scratch there, counted in ``cold_restarts``)."""
        try:
            run_highs(
                self.opt,
                self.model,
                self.options.get("time_limit"),
                self.options.get("mip_gap"),
                info,
                rescale=False,
                is_mip=self.is_mip,
                load=self._load_solution,
            )
        finally:
            self.cold_restarts += info.cold_restarts

    def _load_solution(self, res) -> None:
        """The solution into the live model's variables: HiGHS's column values, read through a
        column -> variable list made once per model (Pyomo's loader builds a map per call)."""
        try:
            values = self.opt._sol.col_value
            if self.columns is None:
                var_map = self.opt._pyomo_var_to_solver_var_map
                self.columns = [(self.opt._vars[vid][0], col) for vid, col in var_map.items()]
        except AttributeError:  # another Pyomo version's internals: its own loader
            res.solution_loader.load_vars()
            return
        for v, col in self.columns:
            v.set_value(values[col], skip_validation=True)

    def _frozen(self, m):
        """Named expressions as numbers for the extraction: from the column values through their
        linear forms (:mod:`planner.solver.linearvalues`, made once per model) when the solution was
        loaded by :meth:`_load_solution`; else evaluated by Pyomo."""
        if self.columns is None or m is not self.model:
            return frozen_expressions(m)
        if self.linear is None:
            self.linear = LinearExpressionValues(m, {id(v): col for v, col in self.columns})
        return self.linear.frozen(self.opt._sol.col_value)

    def _solve_fresh(self, d, mode: str, timings: dict) -> Outcome:
        """Build and solve from scratch (lexicographic mode, a cost polish, or ``persistent: false``).

        The cost polish (``polish_seconds``, :func:`planner.solver.solve.polish_cost`) adds a hold row and
        swaps the objective; on the persistent model that would also swap the interface's
        objective helpers that parameter changes are pushed through, so a polished variant is
        built and solved as ``planner solve --polish-cost`` does (the polish's own seconds are
        most of its time)."""
        t0 = time.perf_counter()
        m = build_model(d)
        if self.options.get("relax_integers"):
            relax_integers(m)
        timings["build_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        polish = self.options.get("polish_seconds") if mode == "weighted" else None
        info = solve_model(m, mode, self.options.get("time_limit"), self.options.get("mip_gap"), polish_seconds=polish)
        info.build_seconds = timings["build_seconds"]
        timings["solve_seconds"] = time.perf_counter() - t0
        out = self._extract(m, d, info, mode, timings)
        out.rebuilt = True
        if mode != "weighted":
            out.rebuild_reason = "lexicographic objective: built and solved per scenario"
        elif polish:
            out.rebuild_reason = "cost polish: built and solved per scenario"
        else:
            out.rebuild_reason = "persistent re-solve switched off"
        return out

    def _extract(self, m, d, info, mode: str, timings: dict, objective_values: bool = False) -> Outcome:
        t0 = time.perf_counter()
        with self._frozen(m):
            if objective_values:  # as solve_model sets them (the stage sums are long: read frozen)
                info.objective = pyo.value(m.weighted_objective)
                info.stage_values = {s: pyo.value(m.stage_expr[s]) for s in STAGES}
            kpis, tables = plan_kpis(m, d, info, mode)
        out = Outcome(kpis["solver_status"], "; ".join(kpis.get("warnings") or []), kpis, plan_series(tables))
        timings["extract_seconds"] = time.perf_counter() - t0
        return out


def plan_kpis(m, d, info, mode: str) -> tuple[dict, dict]:
    """``Plan.from_model(m, d, info, mode).kpis`` and its tables, without the marginal values
    (which re-solve the model as an LP in a new HiGHS object: for nl-2022 more than a whole
    persistent re-solve; no KPI uses them) and the quarterly plan."""
    from planner.outputs.results import Plan

    plan = Plan.from_model(m, d, info, mode, quarter=False)
    return plan.kpis, plan.tables


def _total(timings: dict, t_start: float) -> dict:
    timings = dict(timings)
    timings["total_seconds"] = time.perf_counter() - t_start
    return timings
