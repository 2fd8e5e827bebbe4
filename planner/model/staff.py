"""IND staff per pool: hiring pipeline with training delay, attrition, coaching, external hire,
and the production limit.

Sets: ``P`` staff pools. Variables (per ``p, t``): ``hires`` (FTE, integer if the pool says so),
``productive`` (internal productive FTE), ``external`` (hired-in FTE). With training ``L_p``
periods, monthly attrition turned into a per-period share ``a_p``, ``y`` the year fraction of a
period, ``start_tr[p,i]`` the start trainees that become productive in period ``i``:

    hires[p,t]      <= max_hires[p,t]
    productive[p,t]  = (1 - a_p) * productive[p,t-1] + hires[p,t-L_p] + start_tr[p,t]
                       (productive[p,-1] = start_fte_p; a hire of period t is productive from t + L_p)
    trainees[p,t]    = sum_{tau = t-L_p+1 .. t} hires[p,tau] + sum_{i > t} start_tr[p,i]
    external[p,t]   <= external_max[p,t]
    hours[p,t]       = y * (h_p * productive - c_p * trainees + h_ext_p * external)

Retraining (pairs ``(p, q)`` of ``retrain_to``, delay ``D_pq`` periods): ``retrain[p,q,t]``
productive FTE of pool p start retraining in t and are productive in q from ``t + D_pq``; in
between they produce nothing and are paid as q's staff (``retraining[q,t]``, no coaching; those
retraining at the start, ``start_retraining[q,i]``, arrive in i):

    productive[p,t] = ... - sum_q retrain[p,q,t] + sum_o retrain[o,p,t-D_op]
    retraining[q,t] = sum_o sum_{tau = t-D_oq+1 .. t} retrain[o,q,tau] + sum_{i > t} start_retraining[q,i]
    retrain[p,q,t] <= retrain_max[p,q,t];  cost: eur_per_fte_pq * retrain (one-off) + salaries
    sum_{k of pool p} (hours[k,t] * dec_int[k,t] + out_hours_k * dec_out[k,t]) + notice hours[p,t] <= hours[p,t]
                       (an outsourced case still takes out_hours_k IND hours: the final decision)
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo

from planner.model.common import COST_UNIT, clean, series_values, val


def data(d, md) -> None:
    """Set ``P`` and the staff parameters (values only; see ``common.ModelData``)."""
    pools = d.instance.staff_pools
    P = md.set("P", pools)
    y = d.grid.year_fraction

    max_hires, ext_max = {}, {}
    for p in P:
        max_hires.update(series_values(d, f"staff_pools.{p}.max_hires", p))
        ext_max.update(series_values(d, f"staff_pools.{p}.external_fte_max", p))
    md.param("staff_max_hires", ("P", "T"), max_hires)
    md.param("staff_external_max", ("P", "T"), ext_max)
    md.param("staff_start_fte", ("P",), {p: pools[p].start_fte for p in P})
    md.param("staff_attrition", ("P",), {p: d.per_period_rate(pools[p].attrition_per_month) for p in P})
    md.param("staff_hours_per_fte", ("P",), {p: pools[p].hours_per_fte_year * y for p in P})
    md.param(
        "staff_external_hours_per_fte",
        ("P",),
        {p: (pools[p].external_hours_per_fte_year or pools[p].hours_per_fte_year) * y for p in P},
    )
    md.param("staff_coaching_hours", ("P",), {p: pools[p].coaching_hours_per_trainee_year * y for p in P})
    md.param("staff_eur_per_fte", ("P",), {p: pools[p].eur_per_fte_year * y for p in P})
    md.param("staff_external_eur_per_fte", ("P",), {p: pools[p].external_eur_per_fte_year * y for p in P})
    md.param("staff_eur_per_hire", ("P",), {p: pools[p].eur_per_hire for p in P})
    start_tr = {(p, i): v for p in P for i, v in enumerate(pools[p].start_trainees)}
    md.set("staff_start_trainee_index", start_tr, dimen=2)
    md.param("staff_start_trainees", ("staff_start_trainee_index",), start_tr)
    start_re = {(p, i): v for p in P for i, v in enumerate(pools[p].start_retraining)}
    md.set("staff_start_retraining_index", start_re, dimen=2)
    md.param("staff_start_retraining", ("staff_start_retraining_index",), start_re)

    pairs = md.set("PQ", [(p, q) for p in P for q in pools[p].retrain_to], dimen=2)
    retrain_max = {}
    for p, q in pairs:
        retrain_max.update(series_values(d, f"staff_pools.{p}.retrain_to.{q}.max_fte", (p, q)))
    md.param("staff_retrain_max", ("PQ", "T"), retrain_max)
    md.param("staff_retrain_eur", ("PQ",), {(p, q): pools[p].retrain_to[q].eur_per_fte for p, q in pairs})


def define(m, d, md) -> None:
    """Variables, constraints and expressions (the sets and parameters of :func:`data` exist)."""
    inst = d.instance
    pools = inst.staff_pools
    P = md.sets["P"]
    T = range(d.grid.T)
    start_tr = md.params["staff_start_trainees"][1]

    def hires_domain(m, p, t):
        return pyo.NonNegativeIntegers if pools[p].integer_hires else pyo.NonNegativeReals

    m.hires = pyo.Var(m.P, m.T, within=hires_domain, doc="FTE hired (start training) in the period")
    m.productive = pyo.Var(m.P, m.T, within=pyo.NonNegativeReals, doc="internal productive FTE")
    m.external = pyo.Var(m.P, m.T, within=pyo.NonNegativeReals, doc="external FTE hired in")

    m.retrain = pyo.Var(m.PQ, m.T, within=pyo.NonNegativeReals, doc="productive FTE starting retraining for another pool")
    m.staff_retrain_limit = pyo.Constraint(
        m.PQ, m.T, rule=lambda m, p, q, t: m.retrain[p, q, t] <= m.staff_retrain_max[p, q, t]
    )
    pairs = md.sets["PQ"]
    delay = {(p, q): d.grid.whole_periods(pools[p].retrain_to[q].months) for p, q in pairs}

    def moved(p, t):
        """FTE leaving pool p's production in t, and arriving in it from retraining."""
        out = sum(m.retrain[a, b, t] for a, b in pairs if a == p)
        arrive = sum(m.retrain[a, b, t - delay[a, b]] for a, b in pairs if b == p and t - delay[a, b] >= 0)
        return arrive - out

    start_re = md.params["staff_start_retraining"][1]
    m.retraining = pyo.Expression(
        m.P,
        m.T,
        rule=lambda m, q, t: sum(
            m.retrain[a, b, tau] for a, b in pairs if b == q for tau in range(max(0, t - delay[a, b] + 1), t + 1)
        ) + sum(m.staff_start_retraining[p, i] for (p, i) in start_re if p == q and i > t),
    )
    m.staff_hire_limit = pyo.Constraint(m.P, m.T, rule=lambda m, p, t: m.hires[p, t] <= m.staff_max_hires[p, t])
    m.staff_external_limit = pyo.Constraint(
        m.P, m.T, rule=lambda m, p, t: m.external[p, t] <= m.staff_external_max[p, t]
    )

    def start_trainee(p, i):
        return m.staff_start_trainees[p, i] if (p, i) in start_tr else 0.0

    def pipeline_rule(m, p, t):
        prev = m.productive[p, t - 1] if t > 0 else m.staff_start_fte[p]
        src = t - d.training_periods(p)
        graduates = (m.hires[p, src] if src >= 0 else 0.0) + start_trainee(p, t)
        if (p, t) in start_re:
            graduates = graduates + m.staff_start_retraining[p, t]
        return m.productive[p, t] == (1 - m.staff_attrition[p]) * prev + graduates + moved(p, t)

    m.staff_pipeline = pyo.Constraint(m.P, m.T, rule=pipeline_rule)

    def trainees_rule(m, p, t):
        L = d.training_periods(p)
        new = sum(m.hires[p, tau] for tau in range(max(0, t - L + 1), t + 1)) if L > 0 else 0.0
        old = sum(m.staff_start_trainees[p, i] for (q, i) in start_tr if q == p and i > t)
        return new + old

    m.trainees = pyo.Expression(m.P, m.T, rule=trainees_rule)

    m.staff_hours = pyo.Expression(
        m.P,
        m.T,
        rule=lambda m, p, t: m.staff_hours_per_fte[p] * m.productive[p, t]
        - m.staff_coaching_hours[p] * m.trainees[p, t]
        + m.staff_external_hours_per_fte[p] * m.external[p, t],
    )

    cts = inst.case_types

    def production_rule(m, p, t):
        work = sum(
            m.case_hours[k, t] * m.dec_int[k, t] + m.case_outsourcing_ind_hours[k] * m.dec_out[k, t]
            for k in m.K
            if cts[k].pool == p
        )
        return work + m.case_notice_hours(p, t) <= m.staff_hours[p, t]

    m.staff_production = pyo.Constraint(m.P, m.T, rule=production_rule)

    m.cost_parts["staff_internal"] = {
        t: sum(m.staff_eur_per_fte[p] * (m.productive[p, t] + m.trainees[p, t] + m.retraining[p, t]) for p in P) / COST_UNIT
        for t in T
    }
    m.cost_parts["staff_external"] = {
        t: sum(m.staff_external_eur_per_fte[p] * m.external[p, t] for p in P) / COST_UNIT for t in T
    }
    m.cost_parts["hiring"] = {t: sum(m.staff_eur_per_hire[p] * m.hires[p, t] for p in P) / COST_UNIT for t in T}
    m.cost_parts["retraining"] = {
        t: sum(m.staff_retrain_eur[p, q] * m.retrain[p, q, t] for p, q in pairs) / COST_UNIT for t in T
    }


def table(m, d) -> pd.DataFrame:
    """staff: period, pool, hires, trainees, productive_fte, external_fte, productive_hours,
    retraining (FTE retraining into this pool, not yet productive)."""
    rows = []
    for p in m.P:
        for t, label in enumerate(d.grid.labels):
            rows.append(
                {
                    "period": label,
                    "pool": p,
                    "hires": clean(val(m.hires[p, t])),
                    "trainees": clean(val(m.trainees[p, t])),
                    "productive_fte": clean(val(m.productive[p, t])),
                    "external_fte": clean(val(m.external[p, t])),
                    "productive_hours": clean(val(m.staff_hours[p, t])),
                    "retraining": clean(val(m.retraining[p, t])),
                }
            )
    return pd.DataFrame(rows)


def retraining_table(m, d) -> pd.DataFrame:
    """retraining: period, from_pool, to_pool, fte (productive FTE starting retraining); a row per
    pair of ``retrain_to`` and period (no rows without retraining pairs)."""
    rows = [
        {"period": label, "from_pool": p, "to_pool": q, "fte": clean(val(m.retrain[p, q, t]))}
        for p, q in m.PQ
        for t, label in enumerate(d.grid.labels)
    ]
    return pd.DataFrame(rows, columns=["period", "from_pool", "to_pool", "fte"])
