"""Consequences for the chain partners, recounted (the model's :mod:`planner.model.chain`, written
again from the recounted cases, return flows, reception and costs).

With the instance's ``chain`` rates, ``dep`` the per-period departure rate, ``s`` the stay share and
``exit`` the per-period Nidos exit rate (persons; flows from :mod:`planner.check.recount.returns`)::

    rejected[t]      = sum_k (1 - g_k) * persons_k * decided[k,t]             (all case types)
    to_track[t]      = persons reaching the departure track;  left_at_once = (1 - s) to_track
    departures[t]    = dep * ready[t-1]                                       (DT&V; ready[-1] = start)
    caseload[t]      = ready[t] + in the departure lag                        (DT&V, rejected in COA)
    appeals[t]       = appeals lodged (types with an appeal)
                       + appeal_share * rejected of the types without one     (courts)
    appeals_pending / _decided / _annulled, in_appeal (COA), awaiting_other_type (COA)
    appeals_queue, appeals_decided_<k> (types with a court capacity: past the minimum, not yet
                       decided; each such type's court decisions by the rule)
    returned_to_ind[t] = persons entering a stock again (annulled, sent by another type)
    arrivals_after_grant (COA) / arrivals_after_grant_direct (municipalities)
    bntb[t]          = bntb_share * sum_k notices[k,t]                        (courts)
    new_wards[t]     = amv_share * sum_{k waits in COA} persons_k * inflow[k,t]
    wards[t]         = (1 - exit) * wards[t-1] + new_wards[t]                 (Nidos; wards[-1] = start wards)
    penalty_eur[t]   = the penalties cost component (average paid per notice)
    penalty_at_max_eur[t] = sum_{k penalties apply, max given} max_k * notices[k,t]
    forecast_average = the instance's Nidos forecast, every period (when it gives one)

Table ``chain``: period, partner, measure, value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.check.recount import returns
from planner.check.recount.cases import Cases
from planner.check.recount.common import Decisions
from planner.check.recount.reception import Reception
from planner.instance.loading import InstanceData


def series(d: InstanceData, dec: Decisions, cases: Cases, reception: Reception, cost: dict) -> dict[tuple[str, str], np.ndarray]:
    """(partner, measure) -> one value per period."""
    inst, T = d.instance, d.grid.T
    ch, cts = inst.chain, inst.case_types
    decided, f = dec.decided, cases.flows
    rejected_by = {k: (1 - cases.grant[k]) * cases.persons[k] * decided[k] for k in cts}
    rejected = sum(rejected_by.values(), np.zeros(T))
    notices = sum(cases.notices.values(), np.zeros(T))
    _, ready, in_lag = returns.awaiting(d, f)
    before = np.concatenate(([inst.reception.start_awaiting_departure], ready[:-1]))
    new_wards = ch.nidos_share_of_inflow * sum((cases.persons[k] * cases.inflow[k] for k in cts if cts[k].waits_in_coa), np.zeros(T))
    exit_rate = d.per_period_rate(ch.nidos_exit_rate_per_month)
    wards, w = np.zeros(T), ch.nidos_start_wards
    for t in range(T):
        wards[t] = w = (1 - exit_rate) * w + new_wards[t]
    stay = inst.reception.rejected_stay_share
    without_appeal = sum((rejected_by[k] for k in cts if cts[k].appeal is None), np.zeros(T))
    out = {
        ("IND", "notices_of_default"): notices,
        ("IND", "penalty_eur"): cost["penalties"],
        ("IND", "returned_to_ind"): sum((cases.persons[k] * f.returned[k] for k in cts), np.zeros(T)),
        ("DT&V", "new_rejections"): rejected,
        ("DT&V", "to_departure_track"): f.track,
        ("DT&V", "left_at_once"): (1 - stay) * f.track,
        ("DT&V", "departures"): d.per_period_rate(inst.reception.departure_rate_per_month) * before,
        ("DT&V", "caseload"): ready + in_lag,
        ("COA", "in_appeal"): f.pending_coa,
        ("COA", "awaiting_other_type"): f.in_lag_coa,
        ("COA", "arrivals_after_grant"): f.arrived_coa,
        ("municipalities", "arrivals_after_grant_direct"): f.arrived_direct,
        ("Nidos", "new_wards"): new_wards,
        ("Nidos", "wards"): wards,
        ("courts", "appeals"): f.lodged + ch.appeal_share_of_rejections * without_appeal,
        ("courts", "appeals_pending"): f.pending,
        ("courts", "appeals_decided"): f.appeals_decided,
        ("courts", "appeals_annulled"): f.annulled,
        ("courts", "bntb_appeals"): ch.bntb_share_of_notices * notices,
    }
    if f.court_decided:  # types with a court capacity: the queue past the minimum, each type's decisions (persons)
        out[("courts", "appeals_queue")] = f.queue
        for k, decided_k in f.court_decided.items():
            out[("courts", f"appeals_decided_{k}")] = cases.persons[k] * decided_k
    at_max = [k for k in cts if cts[k].penalties.max_eur_per_notice is not None]
    if at_max:
        out[("IND", "penalty_at_max_eur")] = sum(
            (cts[k].penalties.max_eur_per_notice * cases.notices[k] for k in at_max if cts[k].penalties.applies), np.zeros(T)
        )
    if ch.nidos_forecast_average is not None:
        out[("Nidos", "forecast_average")] = np.full(T, float(ch.nidos_forecast_average))
    return out


def recount(d: InstanceData, dec: Decisions, cases: Cases, reception: Reception, cost: dict) -> pd.DataFrame:
    """The ``chain`` table: period, partner, measure, value."""
    labels = d.grid.labels
    rows = [
        {"period": label, "partner": partner, "measure": measure, "value": float(values[t])}
        for (partner, measure), values in series(d, dec, cases, reception, cost).items()
        for t, label in enumerate(labels)
    ]
    return pd.DataFrame(rows, columns=["period", "partner", "measure", "value"])
