"""The independent recount: a run's consequences from its decisions, one module per subsystem as in
:mod:`planner.model`, written apart from it (no Pyomo, no :mod:`planner.model`, :mod:`planner.solver`
or :mod:`planner.outputs`).

:func:`recount` runs the subsystems in the model's order, each from the decisions and what the
earlier ones recounted, then the two tables counted from the plan:

    cases -> staff -> placement -> reception -> costs -> chain, quarter

(cases runs :mod:`returns` first: the return flows feed its inflow, placement's arrivals and
reception's rejected in COA; staff needs the notices; placement the grants; reception the stocks and those waiting; costs
every subsystem's components; chain the cases, reception and penalties; quarter the decisions
and the locations). :mod:`common` holds the FIFO cohorts, the decisions and the violation list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.check.recount import cases, chain, costs, placement, quarter, reception, staff
from planner.check.recount.common import Decisions, Violations
from planner.check.recount.costs import COMPONENTS
from planner.instance.loading import InstanceData


@dataclass
class Recount:
    """Recounted tables (same shapes as the run's), KPIs, and the violations of the decisions."""

    tables: dict[str, pd.DataFrame]
    kpis: dict
    violations: list[str] = field(default_factory=list)


def recount(d: InstanceData, dec: Decisions) -> Recount:
    """Replay the decisions ``dec`` on instance ``d`` and recount every consequence."""
    viol = Violations()
    c = cases.recount(d, dec, viol)
    s = staff.recount(d, dec, c, viol)
    p = placement.recount(d, dec, c, viol)
    r = reception.recount(d, dec, c, p, viol)
    cost, cost_table = costs.recount(d, [c.cost, s.cost, p.cost, r.cost], viol)
    tables = {
        "ind_cases": c.table,
        "staff": s.table,
        "reception": r.table,
        "placement": p.table,
        "costs": cost_table,
        "chain": chain.recount(d, dec, c, r, cost),
        "plan_quarter": quarter.recount(d, dec, r.locations),
    }
    return Recount(tables, kpis(d, c, p, r, cost, tables), viol.items)


def kpis(d: InstanceData, c: cases.Cases, p: placement.Placement, r: reception.Reception, cost: dict, tables: dict) -> dict:
    """The KPIs of ``kpis.json`` the recount can give, from the recounted series and tables."""
    mu, K = d.grid.months_per_period, list(d.instance.case_types)
    nights = np.array(d.grid.nights)
    norm = d.instance.reception.occupancy_norm
    crisis = tables["reception"].crisis.to_numpy()
    by_component = {name: float(cost[name].sum()) for name in COMPONENTS}
    ind_t, plc_t = tables["ind_cases"], tables["placement"]
    overdue_by_type = {k: float(c.overdue[k].sum() * mu) for k in K}
    waiting_by_type = {k: float((c.persons[k] * c.stock[k]).sum() * mu) for k in K}
    return {
        "waiting_person_months": sum(waiting_by_type.values()),
        "waiting_person_months_by_type": waiting_by_type,
        "overdue_person_months": float(sum((c.persons[k] * c.overdue[k]).sum() * mu for k in K)),
        "overdue_case_months": sum(overdue_by_type.values()),
        "overdue_case_months_by_type": overdue_by_type,
        "end_stock_by_type": {k: float(c.stock[k][-1]) for k in K},
        "notices_of_default_total": float(sum(n.sum() for n in c.notices.values())),
        "crisis_person_nights": float((crisis * nights).sum()),
        "unsheltered_person_nights": float((r.unsheltered * nights).sum()),
        "permit_holder_months_over_norm": float(plc_t.overdue.sum() * mu) if len(plc_t) else 0.0,
        "peak_occupancy": float(r.occupancy.max()),
        "peak_places_needed": float(r.occupancy.max() / norm),
        "total_cost_eur": float(sum(by_component.values())),
        "cost_by_component": by_component,
        "hires_total": float(tables["staff"].hires.sum()),
        "outsourced_cases_total": float(ind_t.decided_outsourced.sum()),
        "accelerated_placements_total": float(p.accelerated_total),
        "decided_total": float(ind_t.decided_internal.sum() + ind_t.decided_outsourced.sum()),
        "housed_regular_total": float(plc_t.housed_regular.sum()) if len(plc_t) else 0.0,
        "locations_opened": len(r.locations.started),
        "locations_kept_open": len(r.locations.kept),
    }
