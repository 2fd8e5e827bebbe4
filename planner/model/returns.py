"""Return flows: the chain is a loop. Appeals, rejections sent to another case type, arrivals after
a grant, and the departure track through DT&V.

No decisions of its own: every flow is a linear expression of the IND decisions
(``decided[k,t] = dec_int + dec_out``; before the start ``pre_horizon_decided``). In cases of
type k, with ``g_k`` the grant share, ``p_k`` persons per case, ``rej[k,t] = (1 - g_k) decided[k,t]``:

    lodged[k,t]     = a_k rej[k,t]                                    (appeals; a_k = appeal share)
    app_dec[k,t]    = lodged[k, t - A_k]                              (decided A_k periods later)
    pending[k,t]    = sum_{tau = t-A_k+1..t} lodged[k,tau]
    annulled[k,t]   = n_k app_dec[k,t]                                -> back to the stock of k
    sent[k,j,t]     = f_kj rej[k, t - L_kj]                           -> a case of type j
    in_lag[k,j,t]   = sum_{tau = t-L_kj+1..t} f_kj rej[k,tau]
    returned[j,t]   = annulled[j,t] + sum_k p_k sent[k,j,t] / p_j     (added to the inflow of j)

Returned cases enter their stock as new arrivals of period t: the FIFO deadline window counts them
as young (the legal term starts again with the new decision to make).

Departure track (persons in COA, types that wait in COA only), with ``s`` the stay share, ``L``
the departure lag and ``dep`` the per-period departure rate:

    enter[t]        = s * sum_{k waits in COA} p_k ((1 - a_k - sum_j f_kj) rej[k,t] + (1 - n_k) app_dec[k,t])
    left[t]         = (1 - s)/s * enter[t]                            (leave at once, destination unknown)
    track[t]        = sum_{tau = t-L+1..t} enter[tau]                 (in COA, within the lag)
    ready[t]        = (1 - dep) ready[t-1] + enter[t - L]             (ready[-1] = start_awaiting_departure)
    enter[tau < 0]  = reception.start_departure_track (chronological; 0 before it: a state's start)
    departures[t]   = dep * ready[t-1]
    awaiting[t]     = ready[t] + track[t] + sum_{k waits in COA} p_k (pending[k,t] + sum_j in_lag[k,j,t])

``ready`` is a variable (``ret_ready``) with the recursion as its constraint; ``awaiting``
(reception: rejected persons in COA) is bound to the sum by :mod:`planner.model.reception`. With
no appeal, no rejections_to and ``L = 0`` it is the old ``awaiting[t] = (1 - dep) awaiting[t-1] +
s * sum p_k rej[k,t]``. (Writing ready as ``awaiting - (track + pending + in_lag)`` saves the
variable but puts every decision of the lag windows into each recursion row twice, once times
``1 - dep``: HiGHS then failed on some nl-2022 variants.)

Arrivals after a grant (types with ``arrival``, lag ``M_k`` and COA share ``c_k``):

    arrived_coa[t]    = sum_k c_k p_k g_k decided[k, t - M_k]         -> permit holders linked in COA
    arrived_direct[t] = sum_k (1 - c_k) p_k g_k decided[k, t - M_k]   (reported; to family or housing)

Types without ``arrival`` link their granted persons at the grant, as before.
"""

from __future__ import annotations

import pyomo.environ as pyo


def data(d, md) -> None:
    """Sets ``K_appeal``, ``K_sent`` (pairs k, j), ``K_arrival`` and their mutable shares; the
    pre-horizon decisions ``ret_pre_decided`` (index: type and period < 0)."""
    cts = d.instance.case_types
    K = list(cts)
    app = md.set("K_appeal", [k for k in K if cts[k].appeal is not None])
    md.param("ret_appeal_share", ("K_appeal",), {k: cts[k].appeal.share_of_rejections for k in app})
    md.param("ret_annulled_share", ("K_appeal",), {k: cts[k].appeal.annulled_share for k in app})
    pairs = md.set("K_sent", [(k, j) for k in K for j in cts[k].rejections_to], dimen=2)
    md.param("ret_sent_share", ("K_sent",), {(k, j): cts[k].rejections_to[j].share_of_rejections for k, j in pairs})
    arr = md.set("K_arrival", [k for k in K if cts[k].arrival is not None])
    md.param("ret_arrival_coa_share", ("K_arrival",), {k: cts[k].arrival.coa_share for k in arr})
    pre = {(k, t): d.pre_decided(k, t) for k in K for t in range(-len(cts[k].pre_horizon_decided), 0)}
    md.set("ret_pre_index", pre, dimen=2)
    md.param("ret_pre_decided", ("ret_pre_index",), pre)
    track = d.instance.reception.start_departure_track
    before = {t - len(track): v for t, v in enumerate(track)}
    md.set("ret_pre_track_index", before)
    md.param("ret_pre_track", ("ret_pre_track_index",), before)


def decided_at(m, k, t):
    """Cases of type ``k`` decided in period ``t`` (before the start: ``pre_horizon_decided``; 0 earlier)."""
    if t >= 0:
        return m.dec_int[k, t] + m.dec_out[k, t]
    return m.ret_pre_decided[k, t] if (k, t) in m.ret_pre_index else 0.0


def rejected_at(m, k, t):
    """Rejected cases of type ``k`` decided in period ``t`` (any t)."""
    return (1 - m.case_grant_share[k]) * decided_at(m, k, t)


def lodged_at(m, k, t):
    return m.ret_appeal_share[k] * rejected_at(m, k, t)


def returned_inflow(m, d, j, t):
    """Cases returning to the stock of ``j`` in period ``t``: annulled appeals of ``j`` and the
    rejections other types send to ``j`` (persons converted to cases of ``j``)."""
    expr = 0.0
    cts = d.instance.case_types
    if cts[j].appeal is not None:
        expr = expr + m.ret_annulled_share[j] * lodged_at(m, j, t - d.appeal_periods(j))
    for k, ct in cts.items():
        if j in ct.rejections_to:
            sent = m.ret_sent_share[k, j] * rejected_at(m, k, t - d.rejections_to_lag(k, j))
            expr = expr + sent * m.case_persons[k] / m.case_persons[j]
    return expr


def define_returned(m, d) -> None:
    """``case_returned[k,t]``: cases returning to the stock of k in t (built by :mod:`planner.model.cases`
    for its inflow, before this module's :func:`define`)."""
    m.case_returned = pyo.Expression(
        m.K, m.T, rule=lambda m, k, t: returned_inflow(m, d, k, t), doc="cases returning to the stock (annulled, sent by other types)"
    )


def define(m, d, md) -> None:
    """National expressions of the flows (persons), read by reception, placement and chain."""
    cts = d.instance.case_types
    coa = [k for k in cts if cts[k].waits_in_coa]
    app = list(md.sets["K_appeal"])
    pairs = list(md.sets["K_sent"])
    L = d.departure_lag()

    def appeal_sum(t, coa_only, what):
        out = 0.0
        for k in app:
            if coa_only and k not in coa:
                continue
            A = d.appeal_periods(k)
            if what == "lodged":
                x = lodged_at(m, k, t)
            elif what == "decided":
                x = lodged_at(m, k, t - A)
            elif what == "annulled":
                x = m.ret_annulled_share[k] * lodged_at(m, k, t - A)
            else:  # pending
                x = sum(lodged_at(m, k, tau) for tau in range(t - A + 1, t + 1))
            out = out + m.case_persons[k] * x
        return out

    def sent_sum(t, what):
        out = 0.0
        for k, j in pairs:
            lag = d.rejections_to_lag(k, j)
            if what == "sent":
                x = m.ret_sent_share[k, j] * rejected_at(m, k, t - lag)
            else:  # in the lag, in COA
                if k not in coa:
                    continue
                x = sum(m.ret_sent_share[k, j] * rejected_at(m, k, tau) for tau in range(t - lag + 1, t + 1))
            out = out + m.case_persons[k] * x
        return out

    m.ret_appeals_lodged = pyo.Expression(m.T, rule=lambda m, t: appeal_sum(t, False, "lodged"))
    m.ret_appeals_pending = pyo.Expression(m.T, rule=lambda m, t: appeal_sum(t, False, "pending"))
    m.ret_appeals_decided = pyo.Expression(m.T, rule=lambda m, t: appeal_sum(t, False, "decided"))
    m.ret_appeals_annulled = pyo.Expression(m.T, rule=lambda m, t: appeal_sum(t, False, "annulled"))
    m.ret_sent = pyo.Expression(m.T, rule=lambda m, t: sent_sum(t, "sent"))
    m.ret_in_lag_coa = pyo.Expression(m.T, rule=lambda m, t: sent_sum(t, "in_lag"))
    m.ret_pending_coa = pyo.Expression(m.T, rule=lambda m, t: appeal_sum(t, True, "pending"))

    def enter_rule(m, t):
        out = 0.0
        for k in coa:
            direct = 1.0
            if k in app:
                direct = direct - m.ret_appeal_share[k]
            for j in cts[k].rejections_to:
                direct = direct - m.ret_sent_share[k, j]
            x = direct * rejected_at(m, k, t)
            if k in app:
                x = x + (1 - m.ret_annulled_share[k]) * lodged_at(m, k, t - d.appeal_periods(k))
            out = out + m.case_persons[k] * x
        return out

    m.ret_track_all = pyo.Expression(m.T, rule=enter_rule, doc="persons reaching the departure track (before the stay share)")
    m.ret_track_enter = pyo.Expression(m.T, rule=lambda m, t: m.rec_stay_share * m.ret_track_all[t])
    m.ret_track_lag = pyo.Expression(m.T, rule=lambda m, t: sum(track_enter_at(m, tau) for tau in range(t - L + 1, t + 1)))
    m.ret_awaiting_other = pyo.Expression(
        m.T, rule=lambda m, t: m.ret_track_lag[t] + m.ret_pending_coa[t] + m.ret_in_lag_coa[t],
        doc="rejected persons in COA not (yet) ready to depart: departure lag, appeal, awaiting another procedure",
    )
    m.ret_departure_lag_periods = L
    define_ready(m)

    def arrived(t, coa_part):
        out = 0.0
        for k in md.sets["K_arrival"]:
            share = m.ret_arrival_coa_share[k] if coa_part else 1 - m.ret_arrival_coa_share[k]
            out = out + share * m.case_persons[k] * m.case_grant_share[k] * decided_at(m, k, t - d.arrival_lag(k))
        return out

    m.ret_arrived_coa = pyo.Expression(m.T, rule=lambda m, t: arrived(t, True))
    m.ret_arrived_direct = pyo.Expression(m.T, rule=lambda m, t: arrived(t, False))


def track_enter_at(m, t):
    """Stayers entering the departure track in period ``t`` (before the start:
    ``reception.start_departure_track``; 0 earlier)."""
    if t >= 0:
        return m.ret_track_enter[t]
    return m.ret_pre_track[t] if t in m.ret_pre_track_index else 0.0


def departure_ready(m, t):
    """Persons in COA on the departure track past the lag (``t = -1``: the start stock)."""
    return m.rec_start_awaiting if t < 0 else m.ret_ready[t]


def define_ready(m) -> None:
    """``ret_ready[t] = (1 - dep) ret_ready[t-1] + enter[t - L]``: a variable of its own, so the
    recursion's rows stay short (a row per period with three terms and the entries)."""
    L = m.ret_departure_lag_periods
    m.ret_ready = pyo.Var(m.T, within=pyo.NonNegativeReals, doc="rejected persons in COA past the departure lag")

    def rule(m, t):
        entering = track_enter_at(m, t - L)
        return m.ret_ready[t] == (1 - m.rec_departure) * departure_ready(m, t - 1) + entering

    m.ret_ready_balance = pyo.Constraint(m.T, rule=rule)


def awaiting_balance(m, t):
    """``awaiting[t] = ready[t] + in the departure lag + appellants + awaiting another type``
    (the constraint reception binds)."""
    return m.awaiting[t] == m.ret_ready[t] + m.ret_awaiting_other[t]
