"""IND cases per case type, recounted (the model's :mod:`planner.model.cases`, written again).

Per type k, FIFO cohorts by arrival period tau (the start stock is
:meth:`~planner.instance.loading.InstanceData.case_start_cohorts`: the cohort of age a arrived in
period ``-1 - a``). Each period the new cohort arrives, then the decisions take the oldest cases
first; overdue by the cohort rule of :mod:`planner.check.recount.common` with D the deadline in
periods::

    inflow[k,t]  = inflow series + share_k * sum_{s in sources_k} grant_s * decided[s, t - lag_k]
                   (pre_horizon_grants before the start) + returned[k,t] (annulled appeals and other
                   types' rejections, :mod:`planner.check.recount.returns`; new arrivals of t)
    stock[k,t]   = what the cohorts hold at the end of t
    overdue[k,t] = sum_tau left[tau] - min(left[tau], clip(D - (t - tau), 0, 1) * arrived[tau])
    notices[k,t] = notice_share_k * overdue[k,t]

Costs: ``outsourcing`` (eur_per_case x decided_outsourced), ``penalties`` (eur_per_notice x
notices, if they apply).

Violations: negative decisions, outsourced cases over the outsourcing capacity, a rise of
internal decisions falling by more than ``max_decision_decrease * mu^2`` from one period to the
next (from the second period on; in period 0 from ``decisions_before * mu`` when given), internal decisions over ``max_decision_increase * mu^2`` (from ``decisions_before * mu`` in
period 0 when given), decisions beyond the stock available; the run's court decisions against the
courts' rule (:func:`planner.check.recount.returns.check_courts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.check.recount import returns
from planner.check.recount.common import Cohorts, Decisions, Violations, per_period, tol
from planner.instance.loading import InstanceData


@dataclass
class Cases:
    """Recounted cases: per type an ``np.array(T)``; ``cost`` holds outsourcing and penalties."""

    grant: dict[str, np.ndarray]
    persons: dict[str, np.ndarray]
    inflow: dict[str, np.ndarray]
    stock: dict[str, np.ndarray]
    overdue: dict[str, np.ndarray]
    notices: dict[str, np.ndarray]
    cost: dict[str, np.ndarray]
    table: pd.DataFrame
    flows: returns.Flows


def check_decisions(d: InstanceData, dec: Decisions, viol: Violations) -> None:
    """Decisions not negative, outsourcing within capacity, internal decisions within the ramp."""
    cts, labels, T, mu = d.instance.case_types, d.grid.labels, d.grid.T, d.grid.months_per_period
    for k in cts:
        dec_int, dec_out = dec.dec_int[k], dec.dec_out[k]
        for t in range(T):
            if viol.negative(dec_int[t]) or viol.negative(dec_out[t]):
                viol.add(f"ind_cases {labels[t]} {k}: negative decisions")
            viol.check(dec_out[t], d.s(f"case_types.{k}.outsourcing_capacity")[t], f"outsourced cases {k} {labels[t]} (outsourcing capacity)")
        ramp = cts[k].max_decision_increase
        if ramp is not None:  # the monthly rate rises by at most ramp a month: ramp * mu^2 a period
            before = None if cts[k].decisions_before is None else cts[k].decisions_before * mu
            for t in range(T):
                previous = dec_int[t - 1] if t > 0 else before
                if previous is not None:
                    viol.check(dec_int[t] - previous, ramp * mu * mu, f"rise of internal decisions {k} {labels[t]} (max_decision_increase)")
        down = cts[k].max_decision_decrease
        if down is not None:  # the monthly rate falls by at most down a month (period 0: from decisions_before, when given)
            for t in range(0 if cts[k].decisions_before is not None else 1, T):
                previous = dec_int[t - 1] if t > 0 else cts[k].decisions_before * mu
                viol.check(previous - dec_int[t], down * mu * mu, f"fall of internal decisions {k} {labels[t]} (max_decision_decrease)")


def inflow_series(d: InstanceData, k: str, grant: dict, decided: dict) -> np.ndarray:
    """The inflow of type ``k`` with its follow-on from the grants of its source types."""
    ct = d.instance.case_types[k]
    series = np.array(d.s(f"case_types.{k}.inflow"), dtype=float)
    if ct.follow_on is not None:
        fo, lag = ct.follow_on, d.follow_on_lag(k)
        for t in range(d.grid.T):
            src = t - lag
            if src >= 0:
                series[t] += fo.share_of_grants * sum(grant[s][src] * decided[s][src] for s in fo.source_types)
            elif len(fo.pre_horizon_grants) + src >= 0:
                series[t] += fo.share_of_grants * fo.pre_horizon_grants[len(fo.pre_horizon_grants) + src]
    return series


def fifo_stock(d: InstanceData, k: str, inflow: np.ndarray, decided: np.ndarray, viol: Violations):
    """``(stock, overdue)`` of type ``k``: the cohorts played period by period, oldest first."""
    T, labels = d.grid.T, d.grid.labels
    fifo = Cohorts()
    start, arrived = d.case_start_cohorts(k), d.case_pre_arrivals(k)
    for age in reversed(range(len(start))):
        fifo.add(-1 - age, start[age], arrived[age] if age < len(arrived) else None)
    D = d.deadline_periods(k)
    stock, overdue = np.zeros(T), np.zeros(T)
    for t in range(T):
        fifo.add(t, inflow[t])
        short = fifo.take(decided[t])
        if short > tol(decided[t]):
            viol.add(f"decisions {k} {labels[t]}: {decided[t]:,.6g} decided but only {decided[t] - short:,.6g} cases in stock")
        stock[t] = fifo.total()
        overdue[t] = fifo.overdue(t, D)
    return stock, overdue


def recount(d: InstanceData, dec: Decisions, viol: Violations) -> Cases:
    """Inflow, stock, overdue and notices per case type; outsourcing and penalty costs."""
    cts, T, labels = d.instance.case_types, d.grid.T, d.grid.labels
    K = list(cts)
    check_decisions(d, dec, viol)
    decided = dec.decided
    grant = {k: per_period(d, f"case_types.{k}.grant_share") for k in K}
    persons = {k: per_period(d, f"case_types.{k}.persons_per_case") for k in K}
    flows = returns.flows(d, decided, grant, persons)
    returns.check_courts(d, flows, dec.courts, viol)
    inflow = {k: inflow_series(d, k, grant, decided) + flows.returned[k] for k in K}
    stock, overdue = {}, {}
    for k in K:
        stock[k], overdue[k] = fifo_stock(d, k, inflow[k], decided[k], viol)
    notices = {k: cts[k].penalties.notice_share_per_period * overdue[k] for k in K}
    cost = {"outsourcing": np.zeros(T), "penalties": np.zeros(T)}
    for k in K:
        pen = cts[k].penalties
        cost["outsourcing"] += per_period(d, f"case_types.{k}.outsourcing_eur_per_case") * dec.dec_out[k]
        if pen.applies:
            cost["penalties"] += pen.eur_per_notice * notices[k]
    table = pd.DataFrame(
        [
            {"period": labels[t], "case_type": k, "inflow": inflow[k][t], "inflow_returned": flows.returned[k][t], "decided_internal": dec.dec_int[k][t],
             "decided_outsourced": dec.dec_out[k][t], "stock": stock[k][t], "overdue": overdue[k][t],
             "notices_of_default": notices[k][t]}
            for k in K
            for t in range(T)
        ]
    )
    return Cases(grant, persons, inflow, stock, overdue, notices, cost, table, flows)
