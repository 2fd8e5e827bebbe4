"""Build stage: one module per subsystem, each owning its sets, parameters, variables,
constraints and result table. ``build_model`` calls them in dependency order:

    cases -> staff -> placement -> reception -> objective

(staff needs the case types' hours; placement needs the grants; reception needs the stocks and
the permit holders waiting; the objective collects every module's cost components).
"""

from __future__ import annotations

import pyomo.environ as pyo

from . import cases, objective, placement, reception, staff

SUBSYSTEMS = (cases, staff, placement, reception, objective)


def build_model(d) -> pyo.ConcreteModel:
    """A Pyomo model of the instance ``d`` (:class:`planner.loading.InstanceData`)."""
    m = pyo.ConcreteModel(name=d.name)
    m.T = pyo.Set(initialize=range(d.grid.T), ordered=True)
    m.cost_parts = {}
    for module in SUBSYSTEMS:
        module.define(m, d)
    return m
