"""Permit-holder placement per region: linking by quota share, regular housing, accelerated
placement, FIFO overrun of the housing norm.

Sets: ``R`` regions. Variables (per ``r, t``): ``housed`` (regular housing), ``accelerated``
(one-off accelerated placement via intermediate housing), ``waiting`` (permit holders in COA at
the end of the period), ``ph_overdue`` (waiting longer than the norm). With ``s_r`` the quota
share and ``N`` the norm in periods:

    linked[r,t]      = s_r * (sum_{k: grants need housing, no arrival lag} persons_k * granted[k,t] + arrived_coa[t])
                       (arrived_coa: planner.model.returns)
    waiting[r,t]     = waiting[r,t-1] + linked[r,t] - housed[r,t] - accelerated[r,t]
                       (waiting[r,-1] = s_r * start_waiting)
    housed[r,t]     <= housing_supply[r,t]
    accelerated[r,t]<= accelerated_capacity[r,t]
    accelerated[r,t]<= ready_share * waiting[r,t-1]
    sum_{r,t} accelerated[r,t] <= accelerated_total
    ph_overdue[r,t] >= waiting[r,t] - sum_{(tau,w) in window(t, N)} w * linked[r,tau]
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo

from planner.model.common import (
    COST_UNIT,
    PLACEMENT_ROW_SCALE_MAX,
    clean,
    fifo_overdue,
    fifo_window,
    series_values,
    val,
)


def data(d, md) -> None:
    """Set ``R`` and the placement parameters (values only; see ``common.ModelData``)."""
    inst = d.instance
    R = md.set("R", inst.regions)
    shares = d.quota_shares()
    pl = inst.placement

    national_supply = d.s("placement.housing_supply")
    supply, accel_cap = {}, {}
    for r in R:
        own = d.series.get(f"regions.{r}.housing_supply")
        for t in range(d.grid.T):
            supply[r, t] = own[t] if own is not None else national_supply[t] * shares[r]
        accel_cap.update(series_values(d, f"regions.{r}.accelerated_capacity", r))
    md.param("place_quota_share", ("R",), shares)
    md.param("place_housing_supply", ("R", "T"), supply)
    md.param("place_accelerated_capacity", ("R", "T"), accel_cap)
    md.param("place_accelerated_total", (), pl.accelerated_total)
    md.param("place_accelerated_eur", (), pl.accelerated_eur_per_person)
    md.param("place_ready_share", (), pl.accelerated_ready_share)
    md.param("place_start_waiting", (), sum(d.placement_start_cohorts()))
    before = dict(enumerate(d.placement_pre_arrivals()))
    md.set("place_pre_arrival_index", before)
    md.param("place_pre_arrival", ("place_pre_arrival_index",), before)


def define(m, d, md) -> None:
    """Variables, constraints and expressions (the sets and parameters of :func:`data` exist)."""
    inst = d.instance
    R = md.sets["R"]
    T = range(d.grid.T)
    shares = md.params["place_quota_share"][1]
    before = md.params["place_pre_arrival"][1]

    m.housed = pyo.Var(m.R, m.T, within=pyo.NonNegativeReals, doc="permit holders housed regularly")
    m.accelerated = pyo.Var(m.R, m.T, within=pyo.NonNegativeReals, doc="permit holders placed via accelerated placement")
    m.waiting = pyo.Var(m.R, m.T, within=pyo.NonNegativeReals, doc="permit holders in COA waiting for housing")
    m.ph_overdue = pyo.Var(m.R, m.T, within=pyo.NonNegativeReals, doc="permit holders waiting past the norm")

    housing_types = [k for k, ct in inst.case_types.items() if ct.grants_need_housing and ct.arrival is None]

    def new_permit_holders(t):
        # granted persons of types with an arrival lag join later, a share of them in COA (planner.model.returns)
        return sum(m.case_persons[k] * m.case_granted(k, t) for k in housing_types) + m.ret_arrived_coa[t]

    m.place_new_permit_holders = pyo.Expression(m.T, rule=lambda m, t: new_permit_holders(t))
    m.linked = pyo.Expression(m.R, m.T, rule=lambda m, r, t: m.place_quota_share[r] * m.place_new_permit_holders[t])

    def start_waiting(r):
        return m.place_quota_share[r] * m.place_start_waiting

    # row scale (numerics only, see common.PLACEMENT_ROW_SCALE_MAX): a constant, so a what-if that
    # changes the quota shares leaves every row exact (a row times any positive number is the same row)
    row_scale = {r: 1.0 / max(shares[r], 1.0 / PLACEMENT_ROW_SCALE_MAX) for r in R}

    def balance_rule(m, r, t):
        prev = m.waiting[r, t - 1] if t > 0 else start_waiting(r)
        k = row_scale[r]
        return k * m.waiting[r, t] == k * (prev + m.linked[r, t] - m.housed[r, t] - m.accelerated[r, t])

    m.place_balance = pyo.Constraint(m.R, m.T, rule=balance_rule)
    m.place_housing_limit = pyo.Constraint(
        m.R, m.T, rule=lambda m, r, t: m.housed[r, t] <= m.place_housing_supply[r, t]
    )
    m.place_accelerated_limit = pyo.Constraint(
        m.R, m.T, rule=lambda m, r, t: m.accelerated[r, t] <= m.place_accelerated_capacity[r, t]
    )

    def ready_rule(m, r, t):
        prev = m.waiting[r, t - 1] if t > 0 else start_waiting(r)
        return m.accelerated[r, t] <= m.place_ready_share * prev

    m.place_accelerated_ready = pyo.Constraint(m.R, m.T, rule=ready_rule)
    m.place_accelerated_national = pyo.Constraint(
        expr=sum(m.accelerated[r, t] for r in R for t in T) <= m.place_accelerated_total
    )

    norm = d.placement_norm_periods()

    def arrivals(r, tau):
        if tau >= 0:
            return m.linked[r, tau]
        a = -1 - tau
        return m.place_quota_share[r] * m.place_pre_arrival[a] if a < len(before) else 0.0

    def fifo_rule(m, r, t):
        young = sum(w * arrivals(r, tau) for tau, w in fifo_window(t, norm))
        k = row_scale[r]
        return k * m.ph_overdue[r, t] >= k * (m.waiting[r, t] - young)

    m.place_overdue_fifo = pyo.Constraint(m.R, m.T, rule=fifo_rule)

    m.cost_parts["accelerated_placement"] = {
        t: m.place_accelerated_eur * sum(m.accelerated[r, t] for r in R) / COST_UNIT for t in T
    }


def new_permit_holders(m, d) -> list[float]:
    """National new permit holders per period (evaluated once; linked[r,t] is a share of it)."""
    return [val(m.place_new_permit_holders[t]) for t in range(d.grid.T)]


def overdue_exact(m, d, r: str, national: list[float] | None = None) -> list[float]:
    """Permit holders past the norm, recounted from the solution by the FIFO rule."""
    share = val(m.place_quota_share[r])
    national = new_permit_holders(m, d) if national is None else national
    return fifo_overdue(
        [val(m.waiting[r, t]) for t in range(d.grid.T)],
        [share * n for n in national],
        [share * a for a in d.placement_pre_arrivals()],
        d.placement_norm_periods(),
    )


def table(m, d) -> pd.DataFrame:
    """placement: period, region, linked, housed_regular, accelerated, waiting, overdue (persons)."""
    rows = []
    national = new_permit_holders(m, d)
    for r in m.R:
        share = val(m.place_quota_share[r])
        overdue = overdue_exact(m, d, r, national)
        for t, label in enumerate(d.grid.labels):
            rows.append(
                {
                    "period": label,
                    "region": r,
                    "linked": clean(share * national[t]),
                    "housed_regular": clean(val(m.housed[r, t])),
                    "accelerated": clean(val(m.accelerated[r, t])),
                    "waiting": clean(val(m.waiting[r, t])),
                    "overdue": clean(overdue[t]),
                }
            )
    return pd.DataFrame(rows)
