"""Return flows: the chain is a loop. Appeals, rejections sent to another case type, arrivals after
a grant, and the departure track through DT&V.

No decisions of its own: every flow is a linear expression of the IND decisions
(``decided[k,t] = dec_int + dec_out``; before the start ``pre_horizon_decided``), and of the courts'
decisions where a type has a court capacity (variables that follow a rule: below). In cases of
type k, with ``g_k`` the grant share, ``p_k`` persons per case, ``rej[k,t] = (1 - g_k) decided[k,t]``:

    lodged[k,t]     = a_k rej[k,t]                                    (appeals; a_k = appeal share)
    app_dec[k,t]    = lodged[k, t - A_k]                              (decided A_k periods later; with a court capacity: court_dec)
    pending[k,t]    = sum_{tau = t-A_k+1..t} lodged[k,tau]
    annulled[k,t]   = n_k app_dec[k,t]                                -> back to the stock of k
    sent[k,j,t]     = f_kj rej[k, t - L_kj]                           -> a case of type j
    in_lag[k,j,t]   = sum_{tau = t-L_kj+1..t} f_kj rej[k,tau]
    returned[j,t]   = annulled[j,t] + sum_k p_k sent[k,j,t] / p_j     (added to the inflow of j)

Returned cases enter their stock as new arrivals of period t: the FIFO deadline window counts them
as young (the legal term starts again with the new decision to make).

Court capacity (types in ``K_court``: ``appeal.court_capacity`` given; capacity ``cap[k,t]`` in
cases per period, queue at the start ``q0_k``). ``A_k`` is then the minimum duration: an appeal
lodged in tau is ready in ``tau + A_k`` and the courts decide the ready appeals oldest first, as
many as the capacity allows. The rule is ``app_dec[k,t] = min(cap[k,t], q[k,t-1] + lodged[k,t-A_k])``,
with ``q`` the ready appeals left undecided (the queue past the minimum). Its LP form (variables
``court_dec``, ``court_queue``)::

    court_dec[k,t]   <= cap[k,t]
    court_queue[k,t]  = court_queue[k,t-1] + lodged[k,t-A_k] - court_dec[k,t] >= 0    (court_queue[k,-1] = q0_k)
    app_dec[k,t]      = court_dec[k,t];   pending[k,t] = sum_{tau=t-A_k+1..t} lodged[k,tau] + court_queue[k,t]
    objective        += sum_t W_k court_queue[k,t]                               (stage "overruns")
    W_k = mu (p_k v_k + n_k (p_k v_k + W_o o_k + W_cost e_k s_k / mu) + 1e-3)

(``v_k`` the waiting weight, ``o_k`` the overdue weight, ``W_o`` objective.overdue_case_month, ``e_k
s_k`` the penalty per overdue case and period when penalties apply, ``W_cost`` per EUR.) Which
appeal of the queue is decided is no quantity of the model (a type's appeals are alike: the same
annulled share and persons), so FIFO within a type is the aggregate rule; the order and each
cohort's wait are replayed by the recount. A capacity per type, not one shared by the types: with
a shared one, FIFO across types splits a period's decisions between the types by the age of their
cohorts, which is no linear function of the plan (a type's court may be given a share of a
national capacity instead). Appellants in the queue stay where the type waits (in COA if it waits
there) and count in ``awaiting``.

The queue's weight is what makes the rule hold: the optimiser does not control the courts. Claim:
at an optimum, ``court_dec[k,t] = min(cap[k,t], ready[k,t])`` for every k, t, provided the notices of
k take no IND hours from a binding hours row and their EUR enter no binding budget row (true when
k's penalties do not apply). Proof: let (x, c, q) be optimal and t a period with ``c[t] < cap[t]`` and
``c[t] < ready[t]``, i.e. ``q[t] > 0``. Let t' be the first period after t with ``c[t'] > 0`` (t' = T if
none). Move eps > 0 of decisions from t' to t (only add it at t if t' = T), every other variable
kept: ``q`` falls by eps in ``t .. t'-1`` and is unchanged elsewhere (``q[u] >= q[t] > 0`` there, since
nothing is decided in between), so the point is feasible for eps small. The change in the
objective: the queue term falls by ``W_k eps (t' - t)``. The annulled ``n_k eps`` enter the stock of k in
t instead of t': with the IND's decisions unchanged its stock is ``n_k eps`` higher in ``t .. t'-1``
(waiting ``mu p_k v_k n_k eps`` a period) and its FIFO overdue bound rises by at most ``n_k eps`` in at
most ``t' - t`` periods (the arrival is older from ``t + D`` on: ``mu W_o o_k`` and the penalties a
period); the other ``(1 - n_k) eps`` reach the departure track earlier, and occupancy never rises (in
``t .. t'-1`` an appellant becomes at most one person in COA; later the earlier entrant has departed
at least as much), so reception's decisions stay feasible at the same cost. In all the objective
changes by at most ``-W_k eps (t'-t) + mu n_k (p_k v_k + W_o o_k + W_cost e_k s_k / mu) eps (t'-t)
= -mu (p_k v_k + 1e-3) eps (t'-t) < 0``: the point was not optimal. So no such t exists at an optimum.
(Where notices take IND hours from a binding row, a delay frees hours and the claim can fail; the
recount, :mod:`planner.check.recount.returns`, replays the rule and flags a run whose courts do not
follow it.) The premium ``n_k (...)`` over the appellants' own waiting also weighs on the IND's
decisions: a rejection decided into a full court costs ``W_k`` a month of queue, more than the
person's month waiting for the IND. Without a court capacity nothing of this exists: ``K_court`` is
empty and the model is the one of fixed durations.

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

from planner.model.common import COST_UNIT, series_values


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
    court_data(d, md)


def court_data(d, md) -> None:
    """Set ``K_court`` (types whose appeals wait for a court capacity) and its mutable parameters:
    the capacity per period, the queue at the start and the queue's objective weight (module doc)."""
    cts, mu = d.instance.case_types, d.grid.months_per_period
    court = md.set("K_court", [k for k in md.sets["K_appeal"] if cts[k].appeal.court_capacity is not None])
    cap = {}
    for k in court:
        cap.update(series_values(d, f"case_types.{k}.appeal.court_capacity", k))
    md.param("ret_court_capacity", ("K_court", "T"), cap)
    md.param("ret_court_start_queue", ("K_court",), {k: cts[k].appeal.start_queue for k in court})
    md.param("ret_court_weight", ("K_court",), {k: court_queue_weight(d, k) * mu for k in court})


COURT_MARGIN = 1e-3
"""Weight per case-month in the courts' queue on top of what the annulled share could save by
waiting there (module doc: the queue's weight must exceed that saving strictly)."""


def court_queue_weight(d, k: str) -> float:
    """Objective weight of one case of ``k`` a month in the courts' queue (past the minimum duration):
    the appellants' waiting, as a month waiting for the IND, plus what the annulled share would
    weigh back in the IND stock (waiting, months past the deadline, penalties), plus a margin."""
    inst, ct = d.instance, d.instance.case_types[k]
    p, w, n = ct.persons_per_case, d.waiting_weight(k), ct.appeal.annulled_share
    pen = ct.penalties
    penalty = pen.notice_share_per_period * pen.eur_per_notice * inst.objective.cost_per_million_eur / COST_UNIT if pen.applies else 0.0
    mu = d.grid.months_per_period
    in_stock = p * w + inst.objective.overdue_case_month * ct.overdue_weight + penalty / mu
    return p * w + n * in_stock + COURT_MARGIN


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


def appeals_decided_at(m, d, k, t):
    """Appeals of type ``k`` (cases) the courts decide in ``t``: ``court_dec`` where the type has a
    court capacity, else those lodged ``A_k`` periods before."""
    if k in m.K_court:
        return m.court_dec[k, t]
    return lodged_at(m, k, t - d.appeal_periods(k))


def define_courts(m, d) -> None:
    """The courts' queue (types in ``K_court``): ``court_dec[k,t] <= capacity[k,t]`` and
    ``court_queue[k,t] = court_queue[k,t-1] + lodged[k,t-A_k] - court_dec[k,t] >= 0``
    (``court_queue[k,-1]`` = the start queue); the queue's weighted case-months (module doc)."""
    m.court_dec = pyo.Var(m.K_court, m.T, within=pyo.NonNegativeReals, doc="appeals decided by the courts (cases)")
    m.court_queue = pyo.Var(m.K_court, m.T, within=pyo.NonNegativeReals, doc="appeals past the minimum duration, not yet decided (cases)")
    m.court_capacity_limit = pyo.Constraint(m.K_court, m.T, rule=lambda m, k, t: m.court_dec[k, t] <= m.ret_court_capacity[k, t])

    def balance(m, k, t):
        prev = m.court_queue[k, t - 1] if t > 0 else m.ret_court_start_queue[k]
        return m.court_queue[k, t] == prev + lodged_at(m, k, t - d.appeal_periods(k)) - m.court_dec[k, t]

    m.court_queue_balance = pyo.Constraint(m.K_court, m.T, rule=balance)
    m.ret_court_queue_weighted = pyo.Expression(
        expr=sum(m.ret_court_weight[k] * m.court_queue[k, t] for k in m.K_court for t in m.T),
        doc="weighted case-months in the courts' queue (in the objective's overruns stage)",
    )


def returned_inflow(m, d, j, t):
    """Cases returning to the stock of ``j`` in period ``t``: annulled appeals of ``j`` and the
    rejections other types send to ``j`` (persons converted to cases of ``j``)."""
    expr = 0.0
    cts = d.instance.case_types
    if cts[j].appeal is not None:
        expr = expr + m.ret_annulled_share[j] * appeals_decided_at(m, d, j, t)
    for k, ct in cts.items():
        if j in ct.rejections_to:
            sent = m.ret_sent_share[k, j] * rejected_at(m, k, t - d.rejections_to_lag(k, j))
            expr = expr + sent * m.case_persons[k] / m.case_persons[j]
    return expr


def define_returned(m, d) -> None:
    """``case_returned[k,t]``: cases returning to the stock of k in t (built by :mod:`planner.model.cases`
    for its inflow, before this module's :func:`define`); first the courts' queue it reads."""
    define_courts(m, d)
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
                x = appeals_decided_at(m, d, k, t)
            elif what == "annulled":
                x = m.ret_annulled_share[k] * appeals_decided_at(m, d, k, t)
            elif what == "queue":
                x = m.court_queue[k, t] if k in m.K_court else 0.0
            else:  # pending: within the minimum duration, and in the courts' queue
                x = sum(lodged_at(m, k, tau) for tau in range(t - A + 1, t + 1))
                if k in m.K_court:
                    x = x + m.court_queue[k, t]
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
    m.ret_appeals_queue = pyo.Expression(m.T, rule=lambda m, t: appeal_sum(t, False, "queue"))
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
                x = x + (1 - m.ret_annulled_share[k]) * appeals_decided_at(m, d, k, t)
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
