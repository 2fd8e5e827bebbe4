"""Stage 2, the model (build): one module per subsystem, each owning its sets, parameters, variables,
constraints and result table. Every module has two steps:

* ``data(d, md)``: its sets and mutable parameter values, in plain Python
  (:class:`~planner.model.common.ModelData`); :func:`model_data` runs them all;
* ``define(m, d, md)``: its variables, constraints and expressions, on a model that already holds
  every set and parameter.

``build_model`` runs them in dependency order:

    cases -> returns -> staff -> placement -> reception -> objective

(returns' flows feed the case stocks' inflow, built inside ``cases`` from the parameters of
``returns.data``, and the permit holders and the rejected in COA; staff needs the case types' hours; placement needs the grants; reception needs the stocks and
the permit holders waiting; the objective collects every module's cost components).

A persistent re-solve (:mod:`planner.solver.persistent`) runs only :func:`model_data` for a variant: if
its sets equal the live model's, the new parameter values are copied in and nothing is built.
That is sound because ``define`` follows one rule: every number a what-if may change enters a
constraint as a mutable parameter, and which components and terms exist depends only on the sets
and on the structural fields of the instance (``planner.instance.structure.PARAM_FIELDS`` lists the rest).

May import :mod:`planner.errors` and :mod:`planner.instance` only.
"""

from __future__ import annotations

import pyomo.environ as pyo

from planner.model import cases, objective, placement, reception, returns, staff
from planner.model.common import ModelData

SUBSYSTEMS = (cases, returns, staff, placement, reception, objective)


def model_data(d) -> ModelData:
    """The sets and parameter values of instance ``d`` (no Pyomo)."""
    md = ModelData()
    md.set("T", range(d.grid.T))
    for module in SUBSYSTEMS:
        module.data(d, md)
    return md


def build_model(d, md: ModelData | None = None) -> pyo.ConcreteModel:
    """A Pyomo model of the instance ``d`` (:class:`planner.instance.loading.InstanceData`); ``md``: its
    :func:`model_data` if already computed."""
    md = md or model_data(d)
    m = pyo.ConcreteModel(name=d.name)
    md.install(m)
    m.cost_parts = {}
    for module in SUBSYSTEMS:
        module.define(m, d, md)
    return m
