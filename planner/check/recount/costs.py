"""Costs and budget, recounted (the model's :mod:`planner.model.objective`, written again).

Each subsystem recounts its own cost components (EUR per period): ``outsourcing`` and
``penalties`` (cases), ``staff_internal``, ``staff_external``, ``hiring`` and ``retraining``
(staff), ``accelerated_placement`` (placement), ``locations_running``, ``locations_opening``,
``locations_keep_open``, ``locations_commitment`` and ``crisis_shelter`` (reception). This module adds ``measures`` (the
measures in force: one-off in their start period, then per period) and checks the budget::

    total_cost                <= budget_total        (the horizon's, if the instance sets one)
    sum_{t in year} cost[c,t] <= budget_year         (per calendar year it names)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.check.recount.common import Violations
from planner.instance.loading import InstanceData

COMPONENTS = (
    "outsourcing",
    "penalties",
    "staff_internal",
    "staff_external",
    "hiring",
    "retraining",
    "accelerated_placement",
    "locations_running",
    "locations_opening",
    "locations_keep_open",
    "locations_commitment",
    "crisis_shelter",
    "measures",
)
"""The cost components, in the order of ``costs.csv``."""


def measure_costs(d: InstanceData) -> np.ndarray:
    """EUR per period of the measures in force: one-off in the start period, then every period."""
    inst, grid = d.instance, d.grid
    cost = np.zeros(grid.T)
    for name in getattr(inst, "in_force", []):
        measure = inst.measures[name]
        start = getattr(measure, "start", None)
        first = grid.index(start) if start else 0
        cost[first] += measure.eur_one_off
        cost[first:] += measure.eur_per_period
    return cost


def check_budget(d: InstanceData, cost: dict[str, np.ndarray], viol: Violations) -> None:
    """The total and the yearly costs within the budget."""
    inst, grid = d.instance, d.grid
    total_by_period = sum(cost.values(), np.zeros(grid.T))
    if inst.budget.total_eur is not None:
        viol.check(total_by_period.sum(), inst.budget.total_eur, "total cost (budget.total_eur)")
    for year, cap in inst.budget.by_year_eur.items():
        spent = sum(total_by_period[t] for t in range(grid.T) if grid.years[t] == year)
        viol.check(spent, cap, f"cost in {year} (budget.by_year_eur)")


def recount(d: InstanceData, parts: list[dict[str, np.ndarray]], viol: Violations) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Every component per period (``parts``: the subsystems' components, plus the measures), checked
    against the budget; returns ``(cost, costs table)``."""
    found = {c: v for part in parts for c, v in part.items()}
    found["measures"] = measure_costs(d)
    cost = {c: found[c] for c in COMPONENTS}
    check_budget(d, cost, viol)
    labels = d.grid.labels
    table = pd.DataFrame([{"period": labels[t], "component": c, "eur": cost[c][t]} for c in COMPONENTS for t in range(d.grid.T)])
    return cost, table
