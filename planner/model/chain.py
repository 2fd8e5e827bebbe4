"""Consequences for the chain partners: DT&V, Nidos, the courts, and the IND's notices.

No decisions and no constraints: these are counted from the plan (and reported in ``chain.csv``)
with the instance's ``chain`` rates:

    rejected[t]      = sum_k (1 - g_k) * persons_k * decided[k,t]             (all case types)
    departures[t]    = dep * awaiting[t-1]                                    (DT&V, from COA)
    caseload[t]      = awaiting[t]                                            (DT&V, rejected in COA)
    appeals[t]       = appeal_share * rejected[t]                             (courts)
    bntb[t]          = bntb_share * sum_k notices[k,t]                        (courts)
    new_wards[t]     = amv_share * sum_{k waits in COA} persons_k * inflow[k,t]
    wards[t]         = (1 - exit) * wards[t-1] + new_wards[t]                 (Nidos)
    penalty_eur[t]   = the penalties cost component
"""

from __future__ import annotations

import pandas as pd

from planner.model.common import COST_UNIT, clean, val


def series(m, d) -> dict[tuple[str, str], list[float]]:
    """(partner, measure) -> one value per period."""
    inst = d.instance
    ch = inst.chain
    T = range(d.grid.T)
    cts = inst.case_types
    rejected = [
        sum((1 - val(m.case_grant_share[k])) * val(m.case_persons[k]) * (val(m.dec_int[k, t]) + val(m.dec_out[k, t])) for k in m.K)
        for t in T
    ]
    notices = [sum(val(m.case_notices[k, t]) for k in m.K) for t in T]
    dep = val(m.rec_departure)
    awaiting = [val(m.awaiting[t]) for t in T]
    prev = [val(m.rec_start_awaiting)] + awaiting[:-1]
    exit_rate = d.per_period_rate(ch.nidos_exit_rate_per_month)
    new_wards = [
        ch.nidos_share_of_inflow * sum(val(m.case_persons[k]) * val(m.case_inflow_total[k, t]) for k in m.K if cts[k].waits_in_coa)
        for t in T
    ]
    wards, w = [], ch.nidos_start_wards
    for t in T:
        w = (1 - exit_rate) * w + new_wards[t]
        wards.append(w)
    out = {
        ("IND", "notices_of_default"): notices,
        ("IND", "penalty_eur"): [val(m.cost["penalties", t]) * COST_UNIT for t in T],
        ("DT&V", "new_rejections"): rejected,
        ("DT&V", "departures"): [dep * a for a in prev],
        ("DT&V", "caseload"): awaiting,
        ("Nidos", "new_wards"): new_wards,
        ("Nidos", "wards"): wards,
        ("courts", "appeals"): [ch.appeal_share_of_rejections * r for r in rejected],
        ("courts", "bntb_appeals"): [ch.bntb_share_of_notices * n for n in notices],
    }
    if ch.nidos_forecast_average is not None:
        out[("Nidos", "forecast_average")] = [ch.nidos_forecast_average] * d.grid.T
    return out


def table(m, d) -> pd.DataFrame:
    """chain: period, partner, measure, value."""
    rows = [
        {"period": label, "partner": partner, "measure": measure, "value": clean(values[t])}
        for (partner, measure), values in series(m, d).items()
        for t, label in enumerate(d.grid.labels)
    ]
    return pd.DataFrame(rows, columns=["period", "partner", "measure", "value"])
