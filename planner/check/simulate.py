"""Status quo: decisions follow fixed rules from the instance, through the model's own accounting.

The same model is built as for ``solve``; the decisions are then fixed or bounded by rules, and
the remaining freedom is resolved by stages that mimic how the chain works without a plan:

* staff: hires = ``planned_hires`` (0 where none), external staff = ``external_fte_max``;
* no outsourcing, no existing location kept open past its planned close (the letter names the
  forced closures as a cause of the shortage, L750-L754), no accelerated placement (these are
  measures, not the status quo);
* production at planned capacity, oldest first: ``dec_int[k,t] <= planned_production[k,t]``
  (no cap where the instance gives none), as much as staff hours and the stock allow, earlier
  periods first (stage 1: maximise ``sum_t (T - t) * dec_int[k,t]``);
* housing at the municipal pace: as many permit holders housed as supply and waiting allow,
  earlier first (stage 2);
* reception reacts (:func:`react`, plain Python, after stage 2 has fixed the occupancy
  ``occ[t]``): month by month, ``tau = 0 .. T-1``, COA looks at today's occupancy and at the places
  that will be open when a site decided today could first be used, ``s = tau + lead_l``: the
  existing locations open as planned in ``s`` plus the sites already decided that serve in ``s``.
  While ``occ[tau] > norm * places[s]`` it decides to open the next candidate ``l`` of a type in
  ``reception.status_quo_location_types``, cheapest per place first (opening cost plus running
  cost over the minimum term, per place), then in instance order, skipping a candidate whose
  places would break a pace limit (``max_new_places``, national or its region's) in ``s``. An
  opened site serves from ``s`` to the end of the model (no closing rule). No type listed: no
  new location. Growth within the lead time is what the site cannot catch;
* reception then fills crisis shelter with whom the places cannot take, up to its capacity, and
  counts the rest as unsheltered (stage 3: minimise ``1000 * unsheltered + crisis``); crisis
  shelter is priced in the cost as in a plan (``crisis_shelter``).

Every stage also carries a tiny weight on the overdue variables, so notices (which cost IND
hours and penalties) are counted at their FIFO value.

The courts (types with ``appeal.court_capacity``) follow the model's rule, ``decided = min(capacity,
ready appeals)`` oldest first (:mod:`planner.model.returns`): every stage carries ``COURTS = 1e-3`` per
case-period in the courts' queue, ten times the overdue weight, which is all a delay could save
there (the annulled share back in the stock a period later: at most its overdue bound; production
itself only gains from cases returned earlier), so the production stage decides the courts by the
rule, and its court decisions are fixed with the production. The weight is small against a
decision's ``T - t``: the status quo's production does not slow down for a full court. Each stage fixes what it decided before
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
COURTS = 1e-3  # weight of a case-period in the courts' queue: the courts decide by their rule (module doc)


def fix_status_quo_decisions(m, d, opened: dict[str, int] | None = None) -> None:
    """Fix the rules' decisions; ``opened``: candidate -> first period of use (:func:`react`),
    none when not given."""
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
    fix_sites(m, opened or {})
    for r in m.R:
        for t in T:
            m.accelerated[r, t].fix(0)
    planned = {k: d.series.get(f"case_types.{k}.planned_production") for k in m.K}
    m.sim_planned_production = pyo.Constraint(
        [(k, t) for k in m.K for t in T if planned[k] is not None],
        rule=lambda m, k, t: m.dec_int[k, t] <= planned[k][t],
    )


def fix_sites(m, opened: dict[str, int]) -> None:
    """Candidates: ``start[l,t] = 1`` in the first period of use ``opened[l]``, ``serve[l,t] = 1`` from
    then on; 0 for every other candidate and period."""
    for l, t in m.L_new_T:
        m.start[l, t].fix(1 if opened.get(l) == t else 0)
        m.serve[l, t].fix(1 if l in opened and t >= opened[l] else 0)


def cost_per_place(d, l: str) -> float:
    """What opening candidate ``l`` commits per place: opening cost + running cost over its minimum term."""
    lt = d.instance.location_types[d.instance.locations[l].type]
    return lt.opening_eur_per_place + lt.eur_per_place_year * lt.min_open_months / 12


def pace_limits(d) -> tuple[list[float], dict[str, list[float]]]:
    """The national and regional limits on places first used per period (inf where none)."""
    inst, T = d.instance, d.grid.T
    national = d.s("reception.max_new_places") if inst.reception.max_new_places is not None else [float("inf")] * T
    regional = {
        r: d.s(f"regions.{r}.max_new_places") if reg.max_new_places is not None else [float("inf")] * T for r, reg in inst.regions.items()
    }
    return list(national), regional


def react(d, occupancy: list[float], already: dict[str, int] | None = None) -> dict[str, int]:
    """The status quo's sites: candidate -> first period of use, by the rule of the module docstring.

    ``occupancy``: persons per period, fixed by the production and housing stages; ``already``:
    sites whose first use is decided before the reaction (a start's carried sites), counted as
    open from then on and returned with the rest."""
    inst, T = d.instance, d.grid.T
    locs, norm = inst.locations, inst.reception.occupancy_norm
    allowed = set(inst.reception.status_quo_location_types)
    places = [sum(loc.places for l, loc in locs.items() if loc.status == "existing" and t <= d.existing_last_period(l)) for t in range(T)]
    order = [l for l, loc in locs.items() if loc.status == "candidate" and loc.type in allowed]
    order.sort(key=lambda l: cost_per_place(d, l))  # stable: instance order among equals
    national, regional = pace_limits(d)
    used = [0.0] * T
    used_region = {r: [0.0] * T for r in inst.regions}
    opened: dict[str, int] = {}
    for l, s in (already or {}).items():
        opened[l] = s
        for t in range(s, T):
            places[t] += locs[l].places
    for tau in range(T):
        for l in order:
            s, loc = tau + d.location_first_period(l), locs[l]
            if l in opened or s >= T or occupancy[tau] <= norm * places[s] + 1e-6:
                continue
            if used[s] + loc.places > national[s] + 1e-6 or used_region[loc.region][s] + loc.places > regional[loc.region][s] + 1e-6:
                continue
            opened[l] = s
            used[s] += loc.places
            used_region[loc.region][s] += loc.places
            for t in range(s, T):
                places[t] += loc.places
    return opened


def simulate_model(m, d, opened: dict[str, int] | None = None, prepare=None) -> SolveInfo:
    """Run the stages on model ``m``; ``opened`` (a dict, if given) receives the sites :func:`react`
    opens; ``prepare(m)`` runs after the rules' decisions are fixed (a start from a state fixes the
    sites it carries, :mod:`planner.instance.state`; the reaction counts them as opened and keeps
    them open to the end, as every site the status quo opens)."""
    info = SolveInfo()
    T = d.grid.T
    opened = {} if opened is None else opened
    fix_status_quo_decisions(m, d)
    if prepare is not None:
        prepare(m)
    m.weighted_objective.deactivate()
    tight = TIGHT * (sum(m.overdue[k, t] for k in m.K for t in m.T) + sum(m.ph_overdue[r, t] for r in m.R for t in m.T))
    tight = tight + COURTS * sum(m.court_queue[k, t] for k in m.K_court for t in m.T)
    stages = [
        ("production", [m.dec_int, m.court_dec], -sum((T - t) * m.dec_int[k, t] for k in m.K for t in m.T)),
        ("housing", [m.housed], -sum((T - t) * m.housed[r, t] for r in m.R for t in m.T)),
        ("reception", [], 1000 * sum(m.unsheltered[t] for t in m.T) + sum(m.crisis[r, t] for r in m.R for t in m.T)),
    ]
    opt = Highs()
    for name, fix_after, expr in stages:
        if name == "reception":  # occupancy is fixed now: the status quo reacts to it
            carried = {l: t for (l, t), v in m.start.items() if v.fixed and (v.value or 0) > 0.5}
            opened.update(react(d, [pyo.value(m.occupancy[t]) for t in m.T], carried))
            fix_sites(m, opened)
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
    opened: dict[str, int] = {}
    try:
        info = simulate_model(m, d, opened, prepare)
    except InfeasibleError as e:  # say what must give, as solve does: the diagnosis with the rules' decisions fixed
        from planner.solver.diagnose import diagnose

        def rules(model):
            fix_status_quo_decisions(model, d, opened)
            if prepare is not None:
                prepare(model)

        diagnosis = diagnose(d, prepare=rules)
        raise InfeasibleError(diagnosis.message(fallback=str(e)), diagnosis=diagnosis) from None
    info.build_seconds = build
    return Plan.from_model(m, d, info, "simulate", commit_periods)
