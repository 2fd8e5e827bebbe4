"""IND case stocks per case type: balance, outsourcing, follow-on inflow, FIFO deadline overruns,
notices of default and penalty payments.

Sets: ``K`` case types. Variables (per ``k, t``): ``dec_int`` internal decisions, ``dec_out``
outsourced decisions, ``stock`` (end of period), ``overdue`` (cases past the deadline).

    inflow_total[k,t] = inflow[k,t] + share_k * sum_{s in sources_k} grant_s * decided[s, t - lag_k]
                        + returned[k,t]                        (annulled appeals, rejections of other
                                                                types: planner.model.returns)
    stock[k,t]        = stock[k,t-1] + inflow_total[k,t] - dec_int[k,t] - dec_out[k,t]
    dec_out[k,t]     <= outsourcing_capacity[k,t]
    overdue[k,t]     >= stock[k,t] - sum_{(tau,w) in window(t, D_k)} w * arrivals[k,tau]
    notices[k,t]      = notice_share_k * overdue[k,t]           (cost and IND hours if penalties apply)
    dec_int[k,t] - dec_int[k,t-1] <= R_k * mu^2                (optional production ramp, k in K_ramp)
    dec_int[k,t-1] - dec_int[k,t] <= S_k * mu^2                (optional ramp down, k in K_ramp_down)

The ramp ``R_k`` (``max_decision_increase``) is in decisions per month per month; a period of
``mu`` months raises the monthly rate by at most ``R_k * mu``, i.e. the period's decisions by
``R_k * mu^2``. Period 0 is limited against ``decisions_before * mu`` when the instance gives it.
The ramp down ``S_k`` (``max_decision_decrease``) holds for ``t > 0`` and, when the instance gives
``decisions_before`` (a start from a plan's state does), in period 0 against it:
``decisions_before * mu - dec_int[k,0] <= S_k * mu^2``. Without the anchor zero production is
feasible in period 0; a plan that lets a type's stock run dry must have slowed it down in time, and
a start whose stock and inflow cannot feed the anchored production is infeasible (the diagnosis
names the ramp-down row).

``arrivals[k,tau]`` is ``inflow_total`` inside the horizon and, before it, what arrived in the
period of age ``-1 - tau`` (the pre-horizon inflow; the stock holds the newest arrivals, FIFO). The overdue variable carries a positive objective weight, so at the optimum
it equals the FIFO count; the reported figure is recomputed exactly from the solution anyway.
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo

from planner.model import returns
from planner.model.common import (
    COST_UNIT,
    clean,
    fifo_overdue,
    fifo_window,
    series_values,
    val,
)


def data(d, md) -> None:
    """Sets ``K``, ``K_follow`` and the case parameters (values only; see ``common.ModelData``)."""
    cts = d.instance.case_types
    K = md.set("K", cts)

    def per_period(field):
        values = {}
        for k in K:
            values.update(series_values(d, f"case_types.{k}.{field}", k))
        return values

    md.param("case_inflow", ("K", "T"), per_period("inflow"))
    md.param("case_outsourcing_capacity", ("K", "T"), per_period("outsourcing_capacity"))
    md.param("case_outsourcing_eur", ("K",), {k: cts[k].outsourcing_eur_per_case for k in K})
    md.param("case_hours", ("K", "T"), per_period("hours_per_case"))
    md.param("case_outsourcing_ind_hours", ("K",), {k: cts[k].outsourcing_ind_hours_per_case for k in K})
    md.param("case_persons", ("K",), {k: cts[k].persons_per_case for k in K})
    md.param("case_grant_share", ("K",), {k: cts[k].grant_share for k in K})
    md.param("case_overdue_weight", ("K",), {k: cts[k].overdue_weight for k in K})
    md.param("case_penalty_on", ("K",), {k: float(cts[k].penalties.applies) for k in K})
    md.param("case_notice_share", ("K",), {k: cts[k].penalties.notice_share_per_period for k in K})
    md.param("case_eur_per_notice", ("K",), {k: cts[k].penalties.eur_per_notice for k in K})
    md.param("case_hours_per_notice", ("K",), {k: cts[k].penalties.ind_hours_per_notice for k in K})

    md.param("case_start_stock", ("K",), {k: sum(d.case_start_cohorts(k)) for k in K})
    before = {(k, a): c for k in K for a, c in enumerate(d.case_pre_arrivals(k))}
    md.set("case_pre_arrival_index", before, dimen=2)
    md.param("case_pre_arrival", ("case_pre_arrival_index",), before)

    ramped = md.set("K_ramp", [k for k in K if cts[k].max_decision_increase is not None])
    md.param("case_ramp", ("K_ramp",), {k: cts[k].max_decision_increase for k in ramped})
    anchored = md.set("K_ramp_anchored", [k for k in ramped if cts[k].decisions_before is not None])
    md.param("case_decisions_before", ("K_ramp_anchored",), {k: cts[k].decisions_before for k in anchored})
    down = md.set("K_ramp_down", [k for k in K if cts[k].max_decision_decrease is not None])
    md.param("case_ramp_down", ("K_ramp_down",), {k: cts[k].max_decision_decrease for k in down})
    held = md.set("K_ramp_down_anchored", [k for k in down if cts[k].decisions_before is not None])
    md.param("case_decisions_before_down", ("K_ramp_down_anchored",), {k: cts[k].decisions_before for k in held})

    follow = md.set("K_follow", [k for k in K if cts[k].follow_on is not None])
    md.param("case_follow_share", ("K_follow",), {k: cts[k].follow_on.share_of_grants for k in follow})
    pre = {(k, j): g for k in follow for j, g in enumerate(cts[k].follow_on.pre_horizon_grants)}
    md.set("case_follow_pre_index", pre, dimen=2)
    md.param("case_follow_pre_grants", ("case_follow_pre_index",), pre)


def define(m, d, md) -> None:
    """Variables, constraints and expressions (the sets and parameters of :func:`data` exist)."""
    inst = d.instance
    K = md.sets["K"]
    T = range(d.grid.T)
    cts = inst.case_types
    follow = set(md.sets["K_follow"])
    pre_arrivals = md.params["case_pre_arrival"][1]

    m.dec_int = pyo.Var(m.K, m.T, within=pyo.NonNegativeReals, doc="internal decisions (cases)")
    m.dec_out = pyo.Var(m.K, m.T, within=pyo.NonNegativeReals, doc="outsourced decisions (cases)")
    m.stock = pyo.Var(m.K, m.T, within=pyo.NonNegativeReals, doc="cases waiting at the end of the period")
    m.overdue = pyo.Var(m.K, m.T, within=pyo.NonNegativeReals, doc="cases past the legal deadline")

    def decided(k, t):
        return m.dec_int[k, t] + m.dec_out[k, t]

    def granted(k, t):
        """Granted cases of type k decided in period t."""
        return m.case_grant_share[k] * decided(k, t)

    m.case_granted = granted

    def inflow_rule(m, k, t):
        expr = m.case_inflow[k, t]
        if k in follow:
            fo = cts[k].follow_on
            src_t = t - d.follow_on_lag(k)
            if src_t >= 0:
                expr = expr + m.case_follow_share[k] * sum(granted(s, src_t) for s in fo.source_types)
            else:
                j = len(fo.pre_horizon_grants) + src_t
                if j >= 0:
                    expr = expr + m.case_follow_share[k] * m.case_follow_pre_grants[k, j]
        return expr + m.case_returned[k, t]

    returns.define_returned(m, d)

    m.case_inflow_total = pyo.Expression(m.K, m.T, rule=inflow_rule)

    def balance_rule(m, k, t):
        prev = m.stock[k, t - 1] if t > 0 else m.case_start_stock[k]
        return m.stock[k, t] == prev + m.case_inflow_total[k, t] - m.dec_int[k, t] - m.dec_out[k, t]

    m.case_balance = pyo.Constraint(m.K, m.T, rule=balance_rule)

    _ramps(m, d, md)

    m.case_outsourcing_limit = pyo.Constraint(
        m.K, m.T, rule=lambda m, k, t: m.dec_out[k, t] <= m.case_outsourcing_capacity[k, t]
    )

    def arrivals(k, tau):
        if tau >= 0:
            return m.case_inflow_total[k, tau]
        a = -1 - tau
        return m.case_pre_arrival[k, a] if (k, a) in pre_arrivals else 0.0

    def fifo_rule(m, k, t):
        young = sum(w * arrivals(k, tau) for tau, w in fifo_window(t, d.deadline_periods(k)))
        return m.overdue[k, t] >= m.stock[k, t] - young

    m.case_overdue_fifo = pyo.Constraint(m.K, m.T, rule=fifo_rule)

    m.case_notices = pyo.Expression(m.K, m.T, rule=lambda m, k, t: m.case_notice_share[k] * m.overdue[k, t])

    def pool_hours_for_notices(p, t):
        return sum(
            m.case_penalty_on[k] * m.case_hours_per_notice[k] * m.case_notices[k, t] for k in K if cts[k].pool == p
        )

    m.case_notice_hours = pool_hours_for_notices

    m.cost_parts["outsourcing"] = {
        t: sum(m.case_outsourcing_eur[k] * m.dec_out[k, t] for k in K) / COST_UNIT for t in T
    }
    m.cost_parts["penalties"] = {
        t: sum(m.case_penalty_on[k] * m.case_eur_per_notice[k] * m.case_notices[k, t] for k in K) / COST_UNIT for t in T
    }


def _ramps(m, d, md) -> None:
    """The production ramp up (``K_ramp``) and down (``K_ramp_down``), anchored in period 0 at
    ``decisions_before`` where the instance gives it."""
    # production ramp: the monthly rate dec/mu rises by at most R a month, i.e. by R * mu per
    # period of mu months, so dec[t] - dec[t-1] <= R * mu^2 (a month grid: R)
    mu = d.grid.months_per_period
    anchored = set(md.sets["K_ramp_anchored"])

    def ramp_rule(m, k, t):
        if t > 0:
            return m.dec_int[k, t] - m.dec_int[k, t - 1] <= m.case_ramp[k] * mu * mu
        if k in anchored:
            return m.dec_int[k, 0] - m.case_decisions_before[k] * mu <= m.case_ramp[k] * mu * mu
        return pyo.Constraint.Skip

    m.case_ramp_limit = pyo.Constraint(m.K_ramp, m.T, rule=ramp_rule)
    held = set(md.sets["K_ramp_down_anchored"])

    def ramp_down_rule(m, k, t):
        if t > 0:
            return m.dec_int[k, t - 1] - m.dec_int[k, t] <= m.case_ramp_down[k] * mu * mu
        if k in held:
            return m.case_decisions_before_down[k] * mu - m.dec_int[k, 0] <= m.case_ramp_down[k] * mu * mu
        return pyo.Constraint.Skip

    m.case_ramp_down_limit = pyo.Constraint(m.K_ramp_down, m.T, rule=ramp_down_rule)


def overdue_exact(m, d, k: str) -> list[float]:
    """FIFO overdue counts recomputed from the solution (what a cohort simulation counts)."""
    T = range(d.grid.T)
    return fifo_overdue(
        [val(m.stock[k, t]) for t in T],
        [val(m.case_inflow_total[k, t]) for t in T],
        d.case_pre_arrivals(k),
        d.deadline_periods(k),
    )


def table(m, d) -> pd.DataFrame:
    """ind_cases: period, case_type, inflow (all of it), inflow_returned (of which annulled appeals and
    other types' rejections), decided_internal, decided_outsourced, stock, overdue (cases)."""
    rows = []
    for k in m.K:
        overdue = overdue_exact(m, d, k)
        for t, label in enumerate(d.grid.labels):
            rows.append(
                {
                    "period": label,
                    "case_type": k,
                    "inflow": clean(val(m.case_inflow_total[k, t])),
                    "inflow_returned": clean(val(m.case_returned[k, t])),
                    "decided_internal": clean(val(m.dec_int[k, t])),
                    "decided_outsourced": clean(val(m.dec_out[k, t])),
                    "stock": clean(val(m.stock[k, t])),
                    "overdue": clean(overdue[t]),
                    "notices_of_default": clean(val(m.case_notice_share[k]) * overdue[t]),
                }
            )
    return pd.DataFrame(rows)
