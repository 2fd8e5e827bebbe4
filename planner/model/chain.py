"""Consequences for the chain partners: DT&V, Nidos, the courts, COA, municipalities and the IND's notices.

No decisions and no constraints: these are counted from the plan (and reported in ``chain.csv``)
with the instance's ``chain`` rates and the return flows of :mod:`planner.model.returns` (persons):

    rejected[t]      = sum_k (1 - g_k) * persons_k * decided[k,t]             (all case types)
    track[t]         = enter[t] + left[t]: persons reaching the departure track (returns)
    left[t]          = (1 - stay) * track[t]                                  (leave COA at once)
    departures[t]    = dep * ready[t-1]                                       (DT&V, from COA, past the lag)
    caseload[t]      = ready[t] + in the departure lag                        (DT&V, rejected in COA)
    appeals[t]       = sum_{k with appeal} persons_k lodged[k,t]
                       + appeal_share * sum_{k without appeal} (1 - g_k) persons_k decided[k,t]   (courts)
    appeals_pending, appeals_decided, appeals_annulled: sums of returns' pending, app_dec, annulled
    appeals_queue    = persons past the appeal's minimum duration, not yet decided   (types with a
                       court capacity only; with appeals_decided_<k> per such type)
    in_appeal_in_coa[t] = appellants of types that wait in COA                (COA)
    awaiting_other_type[t] = rejected persons in COA within a rejections_to lag   (COA)
    returned_to_ind[t]  = sum_k persons_k returned[k,t]                       (IND: annulled + sent on)
    arrivals_coa / arrivals_direct = arrived_coa / arrived_direct            (COA / municipalities)
    bntb[t]          = bntb_share * sum_k notices[k,t]                        (courts)
    new_wards[t]     = amv_share * sum_{k waits in COA} persons_k * inflow[k,t]
    wards[t]         = (1 - exit) * wards[t-1] + new_wards[t]                 (Nidos)
    penalty_eur[t]   = the penalties cost component (the average paid per notice)
    penalty_at_max_eur[t] = sum_{k penalties apply, max given} max_k * notices[k,t]   (an upper bound)
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

    def rejected_of(k, t):
        return (1 - val(m.case_grant_share[k])) * val(m.case_persons[k]) * (val(m.dec_int[k, t]) + val(m.dec_out[k, t]))

    rejected = [sum(rejected_of(k, t) for k in m.K) for t in T]
    notices = [sum(val(m.case_notices[k, t]) for k in m.K) for t in T]
    dep = val(m.rec_departure)
    ready = [val(m.ret_ready[t]) for t in T]
    prev = [val(m.rec_start_awaiting)] + ready[:-1]
    exit_rate = d.per_period_rate(ch.nidos_exit_rate_per_month)
    new_wards = [
        ch.nidos_share_of_inflow * sum(val(m.case_persons[k]) * val(m.case_inflow_total[k, t]) for k in m.K if cts[k].waits_in_coa)
        for t in T
    ]
    wards, w = [], ch.nidos_start_wards
    for t in T:
        w = (1 - exit_rate) * w + new_wards[t]
        wards.append(w)
    stay = val(m.rec_stay_share)
    no_appeal = [k for k in m.K if cts[k].appeal is None]
    at_max = [k for k in m.K if cts[k].penalties.max_eur_per_notice is not None]

    def ex(e):
        return [val(e[t]) for t in T]

    out = {
        ("IND", "notices_of_default"): notices,
        ("IND", "penalty_eur"): [val(m.cost["penalties", t]) * COST_UNIT for t in T],
        ("IND", "returned_to_ind"): [sum(val(m.case_persons[k]) * val(m.case_returned[k, t]) for k in m.K) for t in T],
        ("DT&V", "new_rejections"): rejected,
        ("DT&V", "to_departure_track"): ex(m.ret_track_all),
        ("DT&V", "left_at_once"): [(1 - stay) * x for x in ex(m.ret_track_all)],
        ("DT&V", "departures"): [dep * a for a in prev],
        ("DT&V", "caseload"): [r + x for r, x in zip(ready, ex(m.ret_track_lag))],
        ("COA", "in_appeal"): ex(m.ret_pending_coa),
        ("COA", "awaiting_other_type"): ex(m.ret_in_lag_coa),
        ("COA", "arrivals_after_grant"): ex(m.ret_arrived_coa),
        ("municipalities", "arrivals_after_grant_direct"): ex(m.ret_arrived_direct),
        ("Nidos", "new_wards"): new_wards,
        ("Nidos", "wards"): wards,
        ("courts", "appeals"): [
            val(m.ret_appeals_lodged[t]) + ch.appeal_share_of_rejections * sum(rejected_of(k, t) for k in no_appeal) for t in T
        ],
        ("courts", "appeals_pending"): ex(m.ret_appeals_pending),
        ("courts", "appeals_decided"): ex(m.ret_appeals_decided),
        ("courts", "appeals_annulled"): ex(m.ret_appeals_annulled),
        ("courts", "bntb_appeals"): [ch.bntb_share_of_notices * n for n in notices],
    }
    if len(m.K_court):  # a court capacity: the queue past the minimum and each such type's decisions (persons)
        out[("courts", "appeals_queue")] = ex(m.ret_appeals_queue)
        for k in m.K_court:
            out[("courts", f"appeals_decided_{k}")] = [val(m.case_persons[k]) * val(m.court_dec[k, t]) for t in T]
    if at_max:
        out[("IND", "penalty_at_max_eur")] = [
            sum(val(m.case_penalty_on[k]) * cts[k].penalties.max_eur_per_notice * val(m.case_notices[k, t]) for k in at_max) for t in T
        ]
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
