"""Permit-holder placement per region, recounted (the model's :mod:`planner.model.placement`,
written again).

Per region r with quota share s_r, FIFO cohorts of linked permit holders (start: ``s_r x``
:meth:`~planner.instance.loading.InstanceData.placement_start_cohorts`, arrived as
``s_r x`` :meth:`~planner.instance.loading.InstanceData.placement_pre_arrivals`); housed and
accelerated take the oldest first; overdue past the norm N periods by the cohort rule of
:mod:`planner.check.recount.common`::

    linked[r,t]  = s_r * (sum_{k: grants need housing, no arrival lag} persons_k * grant_k * decided[k,t]
                   + arrived in COA after the lag of a type with ``arrival``, :mod:`planner.check.recount.returns`)
    waiting[r,t] = what the cohorts hold after linked[r,t] arrived and housed + accelerated left
    overdue[r,t] = sum_tau left[tau] - min(left[tau], clip(N - (t - tau), 0, 1) * arrived[tau])

Costs: ``accelerated_placement`` (eur per person accelerated).

Violations: regular housing over the region's supply (its own series, else s_r x the national
supply), accelerated over the regional capacity or the ready share of those waiting at the end
of the period before, accelerated over the national total of the horizon, negative housing,
housing more than are waiting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.check.recount.cases import Cases
from planner.check.recount.common import Cohorts, Decisions, Violations, tol
from planner.instance.loading import InstanceData


@dataclass
class Placement:
    """Recounted placement: waiting summed over regions, accelerated over the horizon, the table."""

    waiting_total: np.ndarray
    accelerated_total: float
    cost: dict[str, np.ndarray]
    table: pd.DataFrame


def new_permit_holders(d: InstanceData, dec: Decisions, cases: Cases) -> np.ndarray:
    """Persons granted a permit who need housing, per period (all regions)."""
    cts, decided = d.instance.case_types, dec.decided
    at_grant = [k for k in cts if cts[k].grants_need_housing and cts[k].arrival is None]
    return sum((cases.persons[k] * cases.grant[k] * decided[k] for k in at_grant), np.zeros(d.grid.T)) + cases.flows.arrived_coa


def start_cohorts(d: InstanceData, share: float) -> Cohorts:
    """The region's share of those waiting at the start, by age."""
    start_waiting, linked_before = d.placement_start_cohorts(), d.placement_pre_arrivals()
    fifo = Cohorts()
    for age in reversed(range(len(start_waiting))):
        fifo.add(-1 - age, share * start_waiting[age], share * linked_before[age] if age < len(linked_before) else None)
    return fifo


def region_rows(d: InstanceData, r: str, dec: Decisions, new_ph: np.ndarray, viol: Violations) -> list[dict]:
    """The placement rows of region ``r``, one per period."""
    T, labels = d.grid.T, d.grid.labels
    pl = d.instance.placement
    s = d.quota_shares()[r]
    own = d.series.get(f"regions.{r}.housing_supply")
    supply = own if own is not None else [v * s for v in d.s("placement.housing_supply")]
    accel_cap = d.s(f"regions.{r}.accelerated_capacity")
    norm = d.placement_norm_periods()
    housed, accel = dec.housed[r], dec.accelerated[r]
    fifo = start_cohorts(d, s)
    prev = fifo.total()
    rows = []
    for t in range(T):
        linked = s * new_ph[t]
        viol.check(housed[t], supply[t], f"regular housing {r} {labels[t]} (housing supply)")
        viol.check(accel[t], accel_cap[t], f"accelerated placement {r} {labels[t]} (regional capacity)")
        viol.check(accel[t], pl.accelerated_ready_share * prev, f"accelerated placement {r} {labels[t]} (ready share of those waiting)")
        if viol.negative(housed[t]) or viol.negative(accel[t]):
            viol.add(f"placement {r} {labels[t]}: negative housing or accelerated placement")
        fifo.add(t, linked)
        out = housed[t] + accel[t]
        short = fifo.take(out)
        if short > tol(out):
            viol.add(f"placement {r} {labels[t]}: {out:,.6g} housed but only {out - short:,.6g} permit holders waiting")
        prev = fifo.total()
        rows.append(
            {"period": labels[t], "region": r, "linked": linked, "housed_regular": housed[t], "accelerated": accel[t],
             "waiting": prev, "overdue": fifo.overdue(t, norm)}
        )
    return rows


def recount(d: InstanceData, dec: Decisions, cases: Cases, viol: Violations) -> Placement:
    """Linked, housed, waiting and overdue per region; the accelerated placement cost."""
    T, pl = d.grid.T, d.instance.placement
    new_ph = new_permit_holders(d, dec, cases)
    rows, waiting_total, accelerated_total = [], np.zeros(T), 0.0
    cost = {"accelerated_placement": np.zeros(T)}
    for r in d.instance.regions:
        region = region_rows(d, r, dec, new_ph, viol)
        for t, row in enumerate(region):
            waiting_total[t] += row["waiting"]
            accelerated_total += row["accelerated"]
            cost["accelerated_placement"][t] += pl.accelerated_eur_per_person * row["accelerated"]
        rows += region
    viol.check(accelerated_total, pl.accelerated_total, "accelerated placements over the horizon (national total)")
    return Placement(waiting_total, accelerated_total, cost, pd.DataFrame(rows))
