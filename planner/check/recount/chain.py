"""Consequences for the chain partners, recounted (the model's :mod:`planner.model.chain`, written
again from the recounted cases, reception and costs).

With the instance's ``chain`` rates, ``dep`` the per-period departure rate and ``exit`` the
per-period Nidos exit rate::

    rejected[t]      = sum_k (1 - g_k) * persons_k * decided[k,t]             (all case types)
    departures[t]    = dep * awaiting[t-1]                                    (DT&V, from COA; awaiting[-1] = start)
    caseload[t]      = awaiting[t]                                            (DT&V, rejected in COA)
    appeals[t]       = appeal_share * rejected[t]                             (courts)
    bntb[t]          = bntb_share * sum_k notices[k,t]                        (courts)
    new_wards[t]     = amv_share * sum_{k waits in COA} persons_k * inflow[k,t]
    wards[t]         = (1 - exit) * wards[t-1] + new_wards[t]                 (Nidos; wards[-1] = start wards)
    penalty_eur[t]   = the penalties cost component
    forecast_average = the instance's Nidos forecast, every period (when it gives one)

Table ``chain``: period, partner, measure, value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.check.recount.cases import Cases
from planner.check.recount.common import Decisions
from planner.check.recount.reception import Reception
from planner.instance.loading import InstanceData


def series(d: InstanceData, dec: Decisions, cases: Cases, reception: Reception, cost: dict) -> dict[tuple[str, str], np.ndarray]:
    """(partner, measure) -> one value per period."""
    inst, T = d.instance, d.grid.T
    ch, cts = inst.chain, inst.case_types
    decided = dec.decided
    rejected = sum(((1 - cases.grant[k]) * cases.persons[k] * decided[k] for k in cts), np.zeros(T))
    notices = sum(cases.notices.values(), np.zeros(T))
    awaiting = reception.awaiting
    before = np.concatenate(([inst.reception.start_awaiting_departure], awaiting[:-1]))
    new_wards = ch.nidos_share_of_inflow * sum((cases.persons[k] * cases.inflow[k] for k in cts if cts[k].waits_in_coa), np.zeros(T))
    exit_rate = d.per_period_rate(ch.nidos_exit_rate_per_month)
    wards, w = np.zeros(T), ch.nidos_start_wards
    for t in range(T):
        wards[t] = w = (1 - exit_rate) * w + new_wards[t]
    out = {
        ("IND", "notices_of_default"): notices,
        ("IND", "penalty_eur"): cost["penalties"],
        ("DT&V", "new_rejections"): rejected,
        ("DT&V", "departures"): d.per_period_rate(inst.reception.departure_rate_per_month) * before,
        ("DT&V", "caseload"): awaiting,
        ("Nidos", "new_wards"): new_wards,
        ("Nidos", "wards"): wards,
        ("courts", "appeals"): ch.appeal_share_of_rejections * rejected,
        ("courts", "bntb_appeals"): ch.bntb_share_of_notices * notices,
    }
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
