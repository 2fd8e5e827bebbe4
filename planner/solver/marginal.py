"""Marginal values: what one more unit of a scarce resource is worth, from the LP duals.

For an LP the duals of the optimum are read directly. For a MIP (location decisions) every
integer variable is fixed at its optimal value and the remaining LP is solved again: its duals
price the resources *given* the chosen locations (the file says which basis it used).

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

import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from planner.model.common import COST_UNIT, clean
from planner.solver.highs import interruptible

COLUMNS = ["resource", "item", "period", "value_objective", "value_eur", "unit", "basis"]


def marginal_values(m, d) -> pd.DataFrame:
    """A table of marginal values for the solved model ``m`` (the model is left as it was)."""
    ints = [v for v in m.component_data_objects(pyo.Var, active=True) if (v.is_binary() or v.is_integer()) and not v.fixed]
    saved = [(v, v.value, v.domain) for v in ints]
    for v in ints:  # HiGHS returns no duals for a MIP: make it an LP with the decisions fixed
        v.domain = pyo.Reals
        v.fix(round(v.value or 0.0))
    basis = "LP duals with integer decisions fixed at the MIP optimum" if ints else "LP duals"
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
            return pd.DataFrame(
                [{"resource": "none", "item": "", "period": "", "value_objective": float("nan"), "value_eur": float("nan"), "unit": "", "basis": f"no duals: the LP ended with {res.termination_condition.name}"}],
                columns=COLUMNS,
            )
        duals = res.solution_loader.get_duals()  # the plan's variable values stay as they were
    finally:
        for v, value, domain in saved:
            v.unfix()
            v.domain = domain
            v.set_value(value, skip_validation=True)  # HiGHS's 0.9999999 stays as it was

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


def _sign(con) -> float:
    """+1 for a row 'body <= upper', -1 for 'lower <= body' (the rhs of a >= row moves the other way)."""
    return 1.0 if con.has_ub() and not con.has_lb() else (-1.0 if con.has_lb() and not con.has_ub() else 1.0)


def _rhs_per_eur(con, budget_param) -> float:
    """Budget rows are in million EUR, possibly times a row scale: rhs units per EUR."""
    budget = pyo.value(budget_param)
    scale = pyo.value(con.upper) / budget if budget else 1.0
    return scale / COST_UNIT
