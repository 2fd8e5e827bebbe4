"""IND staff per pool, recounted (the model's :mod:`planner.model.staff`, written again).

Per pool p with training L periods, per-period attrition a, coaching c, hours h and h_ext a year,
y the year fraction of a period, start_trainees[i] becoming productive in period i::

    productive[t] = (1 - a) productive[t-1] + hires[t-L] + start_trainees[t]   (productive[-1] = start_fte)
    trainees[t]   = sum_{tau = t-L+1..t} hires[tau] + sum_{i > t} start_trainees[i]
    hours[t]      = y (h productive - c trainees + h_ext external)

Retraining (``retraining.csv``: FTE r[p,q,t] of pool p start retraining for pool q, productive
there after D_pq periods; paid as q's staff in between, no coaching)::

    productive[p,t] += sum_o r[o,p,t-D_op] - sum_q r[p,q,t]
    retraining[q,t]  = sum_o sum_{tau = t-D_oq+1..t} r[o,q,tau]

Costs: ``staff_internal`` (eur_fte y (productive + trainees + retraining)), ``staff_external``
(ext_eur y external), ``hiring`` (eur_per_hire hires), ``retraining`` (eur_per_fte_pq r).

Violations: productive hours not covering the work of the pool's case types (hours per case of
the period x internal decisions, outsourced cases' IND hours, the notices' hours if penalties
apply), hires over max_hires (or not whole when the pool says so), external FTE over its maximum,
negative hires or external FTE, retraining over its maximum or negative, productive FTE below 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.check.recount.cases import Cases
from planner.check.recount.common import Decisions, Violations, per_period
from planner.instance.loading import InstanceData


@dataclass
class Staff:
    """Recounted staff: the ``staff`` table and the staff cost components."""

    cost: dict[str, np.ndarray]
    table: pd.DataFrame


def work_hours(d: InstanceData, dec: Decisions, cases: Cases, p: str) -> np.ndarray:
    """IND hours the decisions and notices of pool ``p``'s case types take, per period."""
    cts = d.instance.case_types
    hours_per_case = {k: per_period(d, f"case_types.{k}.hours_per_case") for k in cts}
    out_hours = {k: per_period(d, f"case_types.{k}.outsourcing_ind_hours_per_case") for k in cts}
    return np.array([
        sum(
            hours_per_case[k][t] * dec.dec_int[k][t]
            + out_hours[k][t] * dec.dec_out[k][t]
            + (cts[k].penalties.ind_hours_per_notice * cases.notices[k][t] if cts[k].penalties.applies else 0.0)
            for k in cts
            if cts[k].pool == p
        )
        for t in range(d.grid.T)
    ])


def check_hires(d: InstanceData, p: str, t: int, hires: float, ext: float, viol: Violations) -> None:
    """Hires and external FTE of pool ``p`` in period ``t`` within their limits."""
    pool, label = d.instance.staff_pools[p], d.grid.labels[t]
    viol.check(hires, d.s(f"staff_pools.{p}.max_hires")[t], f"hires {p} {label} (max_hires)")
    viol.check(ext, d.s(f"staff_pools.{p}.external_fte_max")[t], f"external FTE {p} {label} (external_fte_max)")
    if viol.negative(hires) or viol.negative(ext):
        viol.add(f"staff {p} {label}: negative hires or external FTE")
    if pool.integer_hires and abs(hires - round(hires)) > 1e-6:
        viol.add(f"hires {p} {label}: {hires:g} is not a whole number (integer_hires)")


def retraining_flows(d: InstanceData, dec: Decisions, viol: Violations) -> tuple[dict, dict]:
    """``(moved, in_transit)`` per pool: FTE arriving minus leaving production, and retraining into it."""
    pools, T, labels = d.instance.staff_pools, d.grid.T, d.grid.labels
    moved = {p: np.zeros(T) for p in pools}
    transit = {p: np.zeros(T) for p in pools}
    for (p, q), r in dec.retrain.items():
        rule = pools[p].retrain_to.get(q)
        if rule is None:
            viol.add(f"retraining {p} -> {q}: not a retrain_to pair of the instance")
            continue
        D = d.grid.whole_periods(rule.months)
        cap = d.s(f"staff_pools.{p}.retrain_to.{q}.max_fte")
        for t in range(T):
            viol.check(r[t], cap[t], f"retraining {p} -> {q} {labels[t]} (max_fte)")
            if viol.negative(r[t]):
                viol.add(f"retraining {p} -> {q} {labels[t]}: negative")
            moved[p][t] -= r[t]
            if t + D < T:
                moved[q][t + D] += r[t]
            transit[q][t : t + D] += r[t]
    for q, pool in pools.items():  # retraining at the start (a state's start): productive in q from period i
        for i, x in enumerate(pool.start_retraining):
            transit[q][: min(i, T)] += x
            if i < T:
                moved[q][i] += x
    return moved, transit


def recount(d: InstanceData, dec: Decisions, cases: Cases, viol: Violations) -> Staff:
    """The pipeline of every pool, its hours against the work, its costs."""
    grid = d.grid
    T, labels, y = grid.T, grid.labels, grid.year_fraction
    cost = {c: np.zeros(T) for c in ("staff_internal", "staff_external", "hiring", "retraining")}
    moved, transit = retraining_flows(d, dec, viol)
    for (p, q), r in dec.retrain.items():
        if q in d.instance.staff_pools[p].retrain_to:
            cost["retraining"] += d.instance.staff_pools[p].retrain_to[q].eur_per_fte * r
    rows = []
    for p, pool in d.instance.staff_pools.items():
        hires, ext = dec.hires[p], dec.external[p]
        a, L = d.per_period_rate(pool.attrition_per_month), d.training_periods(p)
        h = pool.hours_per_fte_year * y
        h_ext = (pool.external_hours_per_fte_year or pool.hours_per_fte_year) * y
        coach = pool.coaching_hours_per_trainee_year * y
        start_tr = list(pool.start_trainees)
        work = work_hours(d, dec, cases, p)
        prev = pool.start_fte
        for t in range(T):
            grads = (hires[t - L] if t - L >= 0 else 0.0) + (start_tr[t] if t < len(start_tr) else 0.0)
            productive = (1 - a) * prev + grads + moved[p][t]
            trainees = (sum(hires[max(0, t - L + 1) : t + 1]) if L > 0 else 0.0) + sum(start_tr[t + 1 :])
            hours = h * productive - coach * trainees + h_ext * ext[t]
            prev = productive
            if productive < -1e-6:
                viol.add(f"productive FTE {p} {labels[t]}: {productive:,.6g} below 0 (more retrained out than there are)")
            viol.check(work[t], hours, f"IND hours of pool {p} {labels[t]} (decisions + notices vs productive hours)")
            check_hires(d, p, t, hires[t], ext[t], viol)
            cost["staff_internal"][t] += pool.eur_per_fte_year * y * (productive + trainees + transit[p][t])
            cost["staff_external"][t] += pool.external_eur_per_fte_year * y * ext[t]
            cost["hiring"][t] += pool.eur_per_hire * hires[t]
            rows.append(
                {"period": labels[t], "pool": p, "hires": hires[t], "trainees": trainees, "productive_fte": productive,
                 "external_fte": ext[t], "productive_hours": hours, "retraining": transit[p][t]}
            )
    return Staff(cost, pd.DataFrame(rows))
