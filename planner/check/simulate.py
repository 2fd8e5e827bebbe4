"""Status quo: decisions follow fixed rules from the instance, through the model's own accounting.

The same model is built as for ``solve``; the decisions are then fixed or bounded by rules, and
the remaining freedom is resolved by stages that mimic how the chain works without a plan:

* staff: hires = ``planned_hires`` (0 where none), external staff = ``external_fte_max``;
* no outsourcing, no new locations, no existing location kept open past its planned close, no
  accelerated placement (these are measures, not the status quo);
* production at planned capacity, oldest first: ``dec_int[k,t] <= planned_production[k,t]``
  (no cap where the instance gives none), as much as staff hours and the stock allow, earlier
  periods first (stage 1: maximise ``sum_t (T - t) * dec_int[k,t]``);
* housing at the municipal pace: as many permit holders housed as supply and waiting allow,
  earlier first (stage 2);
* reception: crisis shelter takes whom the places cannot, up to its capacity; the rest is
  unsheltered (stage 3: minimise ``1000 * unsheltered + crisis``).

Every stage also carries a tiny weight on the overdue variables, so notices (which cost IND
hours and penalties) are counted at their FIFO value. Each stage fixes what it decided before
the next one runs, so the result is the rule, not an optimum.

An infeasible status quo (a budget or a pool's hours that the rules' decisions cannot keep) raises
:class:`~planner.errors.InfeasibleError` with the diagnosis of :mod:`planner.solver.diagnose` run on
the model with the rules' decisions fixed: which limit must give and by how much, as ``solve`` says.
"""

from __future__ import annotations

import time

import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs

from planner.errors import InfeasibleError
from planner.instance.load import check_before_build
from planner.model import build_model
from planner.model.objective import STAGES
from planner.solver.highs import SolveInfo, run_highs

TIGHT = 1e-4  # weight keeping the overdue bounds tight in every stage


def fix_status_quo_decisions(m, d) -> None:
    inst = d.instance
    T = range(d.grid.T)
    for p, pool in inst.staff_pools.items():
        planned = d.series.get(f"staff_pools.{p}.planned_hires", [0.0] * d.grid.T)
        external = d.s(f"staff_pools.{p}.external_fte_max")
        for t in T:
            m.hires[p, t].fix(planned[t])
            m.external[p, t].fix(external[t])
    for k in m.K:
        for t in T:
            m.dec_out[k, t].fix(0)
    for l in m.L_old:
        m.keep[l].fix(0)
    for idx in m.L_new_T:
        m.start[idx].fix(0)
        m.serve[idx].fix(0)
    for r in m.R:
        for t in T:
            m.accelerated[r, t].fix(0)
    planned = {k: d.series.get(f"case_types.{k}.planned_production") for k in m.K}
    m.sim_planned_production = pyo.Constraint(
        [(k, t) for k in m.K for t in T if planned[k] is not None],
        rule=lambda m, k, t: m.dec_int[k, t] <= planned[k][t],
    )


def simulate_model(m, d, prepare=None) -> SolveInfo:
    """The status quo's stages on model ``m``; ``prepare(m)`` runs after the rules' decisions are
    fixed (a start from a state fixes the sites it carries, :mod:`planner.instance.state`)."""
    info = SolveInfo()
    T = d.grid.T
    fix_status_quo_decisions(m, d)
    if prepare is not None:
        prepare(m)
    m.weighted_objective.deactivate()
    tight = TIGHT * (sum(m.overdue[k, t] for k in m.K for t in m.T) + sum(m.ph_overdue[r, t] for r in m.R for t in m.T))
    stages = [
        ("production", [m.dec_int], -sum((T - t) * m.dec_int[k, t] for k in m.K for t in m.T)),
        ("housing", [m.housed], -sum((T - t) * m.housed[r, t] for r in m.R for t in m.T)),
        ("reception", [], 1000 * sum(m.unsheltered[t] for t in m.T) + sum(m.crisis[r, t] for r in m.R for t in m.T)),
    ]
    opt = Highs()
    for name, fix_after, expr in stages:
        obj = pyo.Objective(expr=expr + tight, sense=pyo.minimize)
        m.add_component(f"sim_objective_{name}", obj)
        run_highs(opt, m, None, None, info)
        obj.deactivate()
        for var in fix_after:
            for v in var.values():
                v.fix(max(0.0, v.value or 0.0))
    info.status = "simulated"
    info.objective = pyo.value(m.weighted_objective)
    info.stage_values = {s: pyo.value(m.stage_expr[s]) for s in STAGES}
    return info


def simulate(d, commit_periods: int | None = None, prepare=None):
    """The status quo of instance ``d`` as a :class:`planner.outputs.results.Plan` (objective mode
    'simulate'); ``prepare``: see :func:`simulate_model`."""
    from planner.outputs.results import Plan

    check_before_build(d)
    t0 = time.perf_counter()
    m = build_model(d)
    build = time.perf_counter() - t0
    try:
        info = simulate_model(m, d, prepare)
    except InfeasibleError as e:  # say what must give, as solve does: the diagnosis with the rules' decisions fixed
        from planner.solver.diagnose import diagnose

        def rules(model):
            fix_status_quo_decisions(model, d)
            if prepare is not None:
                prepare(model)

        diagnosis = diagnose(d, prepare=rules)
        raise InfeasibleError(diagnosis.message(fallback=str(e)), diagnosis=diagnosis) from None
    info.build_seconds = build
    return Plan.from_model(m, d, info, "simulate", commit_periods)
