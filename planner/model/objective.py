"""Budget and objective.

Each subsystem registers its cost components in ``m.cost_parts[component][t]`` (million EUR);
the measures in force add their one-off and per-period costs as the component ``measures``.

    total_cost             = sum_{c,t} cost[c,t]             (horizon and look-ahead tail)
    sum_{c, t < H} cost    <= budget_total                    (the horizon's H periods, if the instance sets one)
    sum_{t in year} cost   <= budget_year                     (per calendar year it names)

Outcome measures (the KPIs the objective trades off), with ``n_t`` nights and ``mu`` months per
period:

    unsheltered_person_nights = sum_t n_t * unsheltered[t]
    crisis_person_nights      = sum_{r,t} n_t * crisis[r,t]
    overdue_case_months       = sum_{k,t} w_k * mu * overdue[k,t]       (w_k: per-type weight)
    ph_months_over_norm       = sum_{r,t} mu * ph_overdue[r,t]
    waiting_person_months     = sum_{k,t} v_k * mu * persons_k * stock[k,t]
                                (v_k: objective.waiting_person_month of where type k waits)
    court_queue               = sum_{k,t} W_k * court_queue[k,t]   (types with a court capacity:
                                appeals past the minimum duration, weight W_k of planner.model.returns)

Weighted: minimise  W_u U + W_c C + W_o O + W_p P + V + Q + W_cost * cost  (Q: court_queue).
Lexicographic (solve stage): U, then C, then W_o O + W_p P + V + Q, then cost, each stage holding the
previous optimum.

The sums run over the horizon and its look-ahead tail (``horizon.tail_periods``): what the plan
does in its last months is then weighed against the months after them. KPIs count the horizon.

Why waiting and not only overruns: with only months past the deadline in the objective, waiting
up to the deadline is free, so a plan decides every case just at its deadline; the waiting term
makes every month count, weighted by where people wait (a bed in COA, or abroad).
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo

from planner.model.common import COST_ROW_SCALE, COST_UNIT, clean, val

STAGES = ("unsheltered", "crisis", "overruns", "cost")


def data(d, md) -> None:
    """Set ``Y`` (budget years), measure costs, budgets and objective weights (values only)."""
    inst = d.instance
    obj = inst.objective
    md.param("measure_cost", ("T",), {t: c / COST_UNIT for t, c in enumerate(d.measure_costs())})
    if inst.budget.total_eur is not None:
        md.param("budget_total", (), inst.budget.total_eur / COST_UNIT)
    years = md.set("Y", sorted(inst.budget.by_year_eur))
    md.param("budget_year", ("Y",), {yr: inst.budget.by_year_eur[yr] / COST_UNIT for yr in years})
    md.param("w_unsheltered", (), obj.unsheltered_person_night)
    md.param("w_crisis", (), obj.crisis_person_night)
    md.param("w_overdue", (), obj.overdue_case_month)
    md.param("w_permit_holder", (), obj.permit_holder_month_over_norm)
    md.param("w_waiting", ("K",), {k: d.waiting_weight(k) for k in inst.case_types})
    md.param("w_cost", (), obj.cost_per_million_eur)


def define(m, d, md) -> None:
    """Cost components, budget rows, stage expressions and the weighted objective."""
    inst = d.instance
    T = range(d.grid.T)
    mu = d.grid.months_per_period

    m.cost_parts["measures"] = {t: m.measure_cost[t] for t in T}

    components = list(m.cost_parts)
    m.C = pyo.Set(initialize=components, ordered=True)
    m.cost = pyo.Expression(m.C, m.T, rule=lambda m, c, t: m.cost_parts[c][t])
    m.total_cost = pyo.Expression(expr=sum(m.cost[c, t] for c in components for t in T))

    # budget rows are written in units of EUR 10,000 (COST_ROW_SCALE; numerics only)
    H = d.horizon_T
    m.horizon_cost = pyo.Expression(expr=sum(m.cost[c, t] for c in components for t in T if t < H))
    if inst.budget.total_eur is not None:
        m.budget_total_limit = pyo.Constraint(expr=COST_ROW_SCALE * m.horizon_cost <= COST_ROW_SCALE * m.budget_total)
    m.budget_year_limit = pyo.Constraint(
        m.Y,
        rule=lambda m, yr: COST_ROW_SCALE * sum(m.cost[c, t] for c in components for t in T if d.grid.years[t] == yr)
        <= COST_ROW_SCALE * m.budget_year[yr],
    )

    m.unsheltered_person_nights = pyo.Expression(expr=sum(m.rec_nights[t] * m.unsheltered[t] for t in T))
    m.crisis_person_nights = pyo.Expression(expr=sum(m.rec_nights[t] * m.crisis[r, t] for r in m.R for t in T))
    m.weighted_overdue_case_months = pyo.Expression(
        expr=sum(m.case_overdue_weight[k] * mu * m.overdue[k, t] for k in m.K for t in T)
    )
    m.ph_months_over_norm = pyo.Expression(expr=sum(mu * m.ph_overdue[r, t] for r in m.R for t in T))
    m.weighted_waiting_person_months = pyo.Expression(
        expr=sum(m.w_waiting[k] * mu * m.case_persons[k] * m.stock[k, t] for k in m.K for t in T)
    )

    m.stage_expr = {
        "unsheltered": m.unsheltered_person_nights,
        "crisis": m.crisis_person_nights,
        "overruns": m.w_overdue * m.weighted_overdue_case_months
        + m.w_permit_holder * m.ph_months_over_norm
        + m.weighted_waiting_person_months
        + courts_term(m),
        "cost": m.total_cost,
    }
    # the weighted objective without its cost term (the outcomes; planner.solver.solve.polish_cost holds it)
    m.weighted_outcomes = m.w_unsheltered * m.unsheltered_person_nights + m.w_crisis * m.crisis_person_nights + m.stage_expr["overruns"]
    m.weighted_objective = pyo.Objective(expr=m.weighted_outcomes + m.w_cost * m.total_cost, sense=pyo.minimize)


def courts_term(m):
    """The courts' queue past the minimum duration, weighted (:mod:`planner.model.returns`; no term
    without a court capacity, so such a model is the one it was before)."""
    return m.ret_court_queue_weighted if len(m.K_court) else 0.0


def costs_table(m, d) -> pd.DataFrame:
    """costs: period, component, eur."""
    rows = [
        {"period": label, "component": c, "eur": clean(round(val(m.cost[c, t]) * COST_UNIT, 6))}
        for c in m.C
        for t, label in enumerate(d.grid.labels)
    ]
    return pd.DataFrame(rows)
