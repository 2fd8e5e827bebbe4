"""Marginal values: what one more unit of a scarce resource is worth, from the LP duals.

For an LP the duals of the optimum are read directly. For a MIP (location decisions) every
integer variable is fixed at its optimal value and the remaining LP is solved again: its duals
price the resources *given* the chosen locations (the file says which basis it used).

The LP is solved in the HiGHS object that solved the plan (:func:`live_duals`), not handed to
HiGHS a second time: its integer columns get bounds at their (rounded) values and lose their
integrality, its costs become those of the weighted objective (unscaled), rows of constraints the
model no longer holds (lexicographic holds, the cost polish's hold; always the last rows) are
taken out, the time limit is lifted, and the solver state is cleared so that HiGHS solves this LP
exactly as a new HiGHS object given the same LP would (same duals, bit for bit: a warm start
from the MIP's solution can end at another optimal basis of a degenerate LP, i.e. other duals).
Everything is put back afterwards. Without such an object (or one whose columns do not cover the
objective) the LP goes to a new HiGHS object (:func:`fresh_duals`, the former way).

With ``dual = d objective / d rhs`` (HiGHS's sign: negative when more of the resource lowers a
minimised objective), the value of one more unit is ``-dual x (rhs change per unit)``:

* one more productive FTE in pool p, period t: the production row ``work - hours <= 0``
  gains ``hours_per_fte[p]`` hours: ``-dual x hours_per_fte``;
* one more reception place in period t: the capacity row gains ``norm`` persons;
* one more housing slot in region r, period t: the housing row ``housed <= supply`` gains 1;
* one more euro of budget (horizon or year): the budget row gains 1 EUR in its row's units.

Values are in objective units and, where the objective has a cost weight, in EUR: the objective
units divided by the weight of one EUR (what the plan would be willing to pay for the unit).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs
from pyomo.repn import generate_standard_repn

from planner.model.common import COST_UNIT, clean
from planner.solver.highs import interruptible

COLUMNS = ["resource", "item", "period", "value_objective", "value_eur", "unit", "basis"]


def marginal_values(m, d, opt=None) -> pd.DataFrame:
    """A table of marginal values for the solved model ``m`` (the model is left as it was).

    ``opt``: the Pyomo persistent HiGHS object that solved ``m`` (``SolveInfo.solver``); its HiGHS
    model is re-solved in place (:func:`live_duals`). Without it, a new HiGHS object solves the LP
    (:func:`fresh_duals`); both give the same values."""
    ints = [v for v in m.component_data_objects(pyo.Var, active=True) if (v.is_binary() or v.is_integer()) and not v.fixed]
    basis = "LP duals with integer decisions fixed at the MIP optimum" if ints else "LP duals"
    duals = live_duals(opt, m, ints) if opt is not None else None
    if duals is None:
        duals = fresh_duals(m, ints)
    if isinstance(duals, str):
        return pd.DataFrame(
            [{"resource": "none", "item": "", "period": "", "value_objective": float("nan"), "value_eur": float("nan"), "unit": "", "basis": f"no duals: the LP ended with {duals}"}],
            columns=COLUMNS,
        )
    return _table(m, d, duals, basis)


def _table(m, d, duals: dict, basis: str) -> pd.DataFrame:
    """The rows of marginal_values.csv from ``duals`` (constraint -> dual; a missing one is 0)."""
    w_eur = pyo.value(m.w_cost) / COST_UNIT  # objective units per EUR
    labels = d.grid.labels
    rows = []

    def add(resource, item, period, per_unit, unit):
        value = clean(per_unit)
        rows.append(
            {
                "resource": resource,
                "item": item,
                "period": period,
                "value_objective": value,
                "value_eur": clean(value / w_eur) if w_eur > 0 else float("nan"),
                "unit": unit,
                "basis": basis,
            }
        )

    for (p, t), con in m.staff_production.items():
        add("productive_fte", p, labels[t], -duals.get(con, 0.0) * pyo.value(m.staff_hours_per_fte[p]) * _sign(con), "per FTE in the period")
    for t, con in m.rec_capacity.items():
        add("reception_place", "", labels[t], -duals.get(con, 0.0) * pyo.value(m.rec_norm) * _sign(con), "per place in the period")
    for (r, t), con in m.place_housing_limit.items():
        add("housing_slot", r, labels[t], -duals.get(con, 0.0) * _sign(con), "per permit holder housed in the period")
    if hasattr(m, "budget_total_limit"):
        con = m.budget_total_limit
        add("budget_eur", "horizon", "", -duals.get(con, 0.0) * _rhs_per_eur(con, m.budget_total), "per EUR")
    for yr, con in m.budget_year_limit.items():
        add("budget_eur", str(yr), "", -duals.get(con, 0.0) * _rhs_per_eur(con, m.budget_year[yr]), "per EUR")
    return pd.DataFrame(rows, columns=COLUMNS)


# --- the LP on a new HiGHS object (the former way; the fallback) ------------------------------


def fresh_duals(m, ints) -> dict | str:
    """Duals of the LP with ``ints`` fixed at their rounded values, handed to a new HiGHS object:
    constraint -> dual, or the name of the termination when the LP did not end optimal."""
    saved = [(v, v.value, v.domain) for v in ints]
    for v in ints:  # HiGHS returns no duals for a MIP: make it an LP with the decisions fixed
        v.domain = pyo.Reals
        v.fix(round(v.value or 0.0))
    try:
        opt = Highs()
        with interruptible(lambda: getattr(opt, "_solver_model", None)):  # Ctrl-C stops it
            res = opt.solve(
                m,
                load_solutions=False,
                raise_exception_on_nonoptimal_result=False,
                threads=1,
                solver_options={"output_flag": False, "log_to_console": False},
            )
        if res.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
            return res.termination_condition.name
        return res.solution_loader.get_duals()  # the plan's variable values stay as they were
    finally:
        for v, value, domain in saved:
            v.unfix()
            v.domain = domain
            v.set_value(value, skip_validation=True)  # HiGHS's 0.9999999 stays as it was


# --- the LP in the HiGHS object that solved the plan ------------------------------------------


def weighted_costs(opt, m) -> np.ndarray | None:
    """The column costs of ``m.weighted_objective`` (unscaled) in ``opt``'s HiGHS model, computed
    as Pyomo's interface computes them; None when a variable of the objective has no column."""
    h = opt._solver_model
    lp_cost = np.asarray(h.getLp().col_cost_, dtype=float)
    pushed = getattr(opt, "_objective", None)
    if pushed is m.weighted_objective:
        return lp_cost
    scaled = getattr(opt, "_planner_scaled", None)  # (scaled objective, original, scale): run_highs
    if scaled is not None and pushed is scaled[0] and scaled[1] is m.weighted_objective:
        return lp_cost / scaled[2]  # a power of two: exact
    cols = opt._pyomo_var_to_solver_var_map
    costs = np.zeros(h.getNumCol())
    repn = generate_standard_repn(m.weighted_objective.expr, quadratic=True, compute_values=False)
    for coef, v in zip(repn.linear_coefs, repn.linear_vars):
        if id(v) not in cols:
            return None
        costs[cols[id(v)]] = pyo.value(coef)
    return costs


def _stale_rows(opt, m) -> list[int] | None:
    """Rows of constraints ``m`` no longer holds as active ones (they must be the last rows; None
    when they are not, or when an active constraint has no row)."""
    rows = opt._pyomo_con_to_solver_con_map
    active = {id(c) for c in m.component_data_objects(pyo.Constraint, active=True)}
    stale = sorted(r for c, r in rows.items() if id(c) not in active)
    n = opt._solver_model.getNumRow()
    if stale != list(range(n - len(stale), n)) or len(rows) - len(stale) != len(active):
        return None
    return stale


def live_duals(opt, m, ints) -> dict | str | None:
    """Duals of the LP with ``ints`` fixed, solved in ``opt``'s own HiGHS model (module docstring):
    constraint -> dual, the termination's name when the LP did not end optimal, or None when the
    HiGHS model cannot be used (then :func:`fresh_duals`)."""
    h = getattr(opt, "_solver_model", None)
    cols = getattr(opt, "_pyomo_var_to_solver_var_map", None)
    if h is None or cols is None or any(id(v) not in cols for v in ints):
        return None
    costs, stale = weighted_costs(opt, m), _stale_rows(opt, m)
    if costs is None or stale is None:
        return None
    state = _LiveState(opt)
    try:
        try:
            state.change(costs, stale, ints)
        except RuntimeError:  # HiGHS refused a change: the LP goes to a new HiGHS object
            return None
        with interruptible(lambda: h):  # Ctrl-C stops it
            h.run()
        import highspy

        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal or not h.getSolution().dual_valid:
            return _termination_name(h)
        row_dual = h.getSolution().row_dual
        return {c: row_dual[r] for c, r in opt._pyomo_con_to_solver_con_map.items() if r < len(row_dual)}
    finally:
        state.restore()


def _termination_name(h) -> str:
    """The name Pyomo's interface gives HiGHS's model status (as :func:`fresh_duals` reports it)."""
    import highspy

    status = h.getModelStatus()
    names = {
        highspy.HighsModelStatus.kInfeasible: TerminationCondition.provenInfeasible,
        highspy.HighsModelStatus.kUnbounded: TerminationCondition.unbounded,
        highspy.HighsModelStatus.kUnboundedOrInfeasible: TerminationCondition.infeasibleOrUnbounded,
        highspy.HighsModelStatus.kTimeLimit: TerminationCondition.maxTimeLimit,
        highspy.HighsModelStatus.kIterationLimit: TerminationCondition.iterationLimit,
        highspy.HighsModelStatus.kSolveError: TerminationCondition.error,
    }
    return names.get(status, TerminationCondition.unknown).name


def fixed_rows(opt, ints, lp) -> dict[int, tuple]:
    """Row -> (lower, upper, {column: coefficient}) of every row of the column-wise ``lp`` where a
    variable of ``ints`` (which must be fixed) has a nonzero value, as Pyomo's interface hands the
    row over when they are fixed: their terms go into the row's bounds (``value(lower - constant)``),
    the other coefficients are ``value(coef)``; the same arithmetic, so the same bits, as
    :func:`fresh_duals`'s LP. A row whose fixed variables are all 0 keeps its bounds and other
    coefficients (adding 0 changes no bit)."""
    import highspy

    cols = opt._pyomo_var_to_solver_var_map
    start, index = lp.a_matrix_.start_, lp.a_matrix_.index_
    rows = set()
    for v in ints:
        if v.value:
            c = cols[id(v)]
            rows.update(index[start[c] : start[c + 1]])
    out = {}
    for r in sorted(rows):
        con = opt._solver_con_to_pyomo_con_map[r]
        repn = generate_standard_repn(con.body, quadratic=False, compute_values=False)
        coefs = {cols[id(v)]: pyo.value(coef) for coef, v in zip(repn.linear_coefs, repn.linear_vars)}
        lower = pyo.value(con.lower - repn.constant) if con.has_lb() else -highspy.kHighsInf
        upper = pyo.value(con.upper - repn.constant) if con.has_ub() else highspy.kHighsInf
        out[r] = (lower, upper, coefs)
    return out


class _LiveState:
    """What :func:`live_duals` changes in a HiGHS model, and how to put it back.

    The LP is changed as a whole: HiGHS's model is read (``getLp``), changed in numpy arrays and
    passed back (``passModel``), and the saved model passed back afterwards: one copy each way in
    C++ instead of an API call per changed coefficient."""

    OPTIONS = {"time_limit": math.inf, "simplex_strategy": 1, "presolve": "choose", "solver": "choose"}
    """Options a new HiGHS object would have (an earlier call may have set them)."""

    def __init__(self, opt):
        self.opt, self.h = opt, opt._solver_model
        self.options: dict = {}
        self.lp = None

    def _h(self, name: str, *args):
        """``h.name(*args)``; an error status raises (then :func:`live_duals` falls back)."""
        res = getattr(self.h, name)(*args)
        _ok(res[0] if isinstance(res, tuple) else res, name)
        return res

    def change(self, costs, stale: list[int], ints) -> None:
        h = self.h
        for k, v in self.OPTIONS.items():
            self.options[k] = h.getOptionValue(k)[1]
            self._h("setOptionValue", k, v)
        h.ensureColwise()
        self.lp = h.getLp()  # a copy: what restore() passes back
        lp = h.getLp()
        cols = self.opt._pyomo_var_to_solver_var_map
        a = lp.a_matrix_
        start, index, value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_)
        keep = np.ones(len(index), dtype=bool)
        if len(stale):  # the last rows
            keep &= index < stale[0]
            lp.row_lower_, lp.row_upper_ = lp.row_lower_[: stale[0]], lp.row_upper_[: stale[0]]
            lp.num_row_ = stale[0]
        costs = np.array(costs, dtype=float)
        if ints:
            rows = self._fix(lp, costs, ints, cols, keep, start)
            value = _set_coefficients(start, index, value, rows)
        counts = np.add.reduceat(keep, start[:-1]) if len(start) > 1 else np.zeros(0, dtype=int)
        counts[start[:-1] == start[1:]] = 0  # reduceat of an empty column gives the next entry
        a.start_ = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        a.index_, a.value_ = index[keep], value[keep]
        lp.a_matrix_ = a
        lp.col_cost_ = costs
        self._h("passModel", lp)

    def _fix(self, lp, costs, ints, cols, keep, start) -> dict:
        """Integer columns at their rounded values, continuous, no cost and no matrix entries (their
        terms in the row bounds: :func:`fixed_rows`), as Pyomo hands a fixed variable over."""
        int_cols = np.asarray([cols[id(v)] for v in ints], dtype=np.int64)
        fixed = np.asarray([float(round(v.value or 0.0)) for v in ints])
        saved = [(v, v.value) for v in ints]
        try:
            for v, x in zip(ints, fixed):
                v.fix(x)
            rows = fixed_rows(self.opt, ints, lp)
        finally:
            for v, x in saved:
                v.unfix()
                v.set_value(x, skip_validation=True)  # HiGHS's 0.9999999 stays as it was
        lower, upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
        lower[int_cols], upper[int_cols] = fixed, fixed
        lp.col_lower_, lp.col_upper_ = lower, upper
        kinds = list(lp.integrality_)
        if kinds:
            import highspy

            for c in int_cols.tolist():
                kinds[c] = highspy.HighsVarType.kContinuous
            lp.integrality_ = [] if all(k == highspy.HighsVarType.kContinuous for k in kinds) else kinds
        costs[int_cols] = 0.0
        for c in int_cols.tolist():
            keep[start[c] : start[c + 1]] = False
        row_lower, row_upper = np.array(lp.row_lower_), np.array(lp.row_upper_)
        for r, (lo, up, _) in rows.items():
            row_lower[r], row_upper[r] = lo, up
        lp.row_lower_, lp.row_upper_ = row_lower, row_upper
        return rows

    def restore(self) -> None:
        if self.lp is not None:
            self._h("passModel", self.lp)
        for k, v in self.options.items():
            self._h("setOptionValue", k, v)


def _set_coefficients(start, index, value, rows: dict) -> np.ndarray:
    """``value`` with the coefficients of ``rows`` (row -> (lower, upper, {column: coefficient}))
    written into the column-wise entries (a coefficient without an entry must be 0: no entry)."""
    value = value.copy()
    if not rows:
        return value
    col_of = np.repeat(np.arange(len(start) - 1), np.diff(start))
    where = {(int(r), int(c)): k for k, (r, c) in enumerate(zip(index, col_of)) if r in rows}
    for r, (_, _, coefs) in rows.items():
        for c, v in coefs.items():
            k = where.get((r, c))
            if k is not None:
                value[k] = v
            elif v != 0:
                raise RuntimeError(f"row {r} has no entry in column {c}")
    return value


def _ok(status, what: str) -> None:
    import highspy

    if status == highspy.HighsStatus.kError:
        raise RuntimeError(f"HiGHS {what} failed")


def _sign(con) -> float:
    """+1 for a row 'body <= upper', -1 for 'lower <= body' (the rhs of a >= row moves the other way)."""
    return 1.0 if con.has_ub() and not con.has_lb() else (-1.0 if con.has_lb() and not con.has_ub() else 1.0)


def _rhs_per_eur(con, budget_param) -> float:
    """Budget rows are in million EUR, possibly times a row scale: rhs units per EUR."""
    budget = pyo.value(budget_param)
    scale = pyo.value(con.upper) / budget if budget else 1.0
    return scale / COST_UNIT
