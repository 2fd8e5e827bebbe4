"""Return flows, recounted (the model's :mod:`planner.model.returns`, written again as pipelines).

Every rejected case is followed through the chain as a dated cohort: ``rej[k,t] = (1 - g_k)
decided[k,t]`` (before the start: ``pre_horizon_decided``), in cases, persons ``p_k`` per case.

* an appeal share ``a_k`` is lodged in t, pending (in COA if k waits there) during periods
  ``t .. t+A_k-1`` and decided in ``t + A_k``; of it ``n_k`` returns to the IND stock of k as
  new arrivals, the rest joins the departure track in that period;
* a share ``f_kj`` waits (in COA if k waits there) during ``t .. t+L_kj-1`` and enters the stock
  of j in ``t + L_kj`` (as ``p_k / p_j`` cases of j per case of k);
* the rest joins the departure track in t (types that wait in COA).

The departure track: of the persons reaching it, the stay share ``s`` stays in COA, the rest leaves
at once. A stayer is in the lag during ``t .. t+L-1`` and ready from ``t + L``; the ready stock
loses ``dep`` of itself each period (start: ``start_awaiting_departure``, ready; stayers who entered
before the start: ``start_departure_track``)::

    ready[t]     = (1 - dep) ready[t-1] + s track[t - L]
    awaiting[t]  = ready[t] + s sum_{tau = t-L+1..t} track[tau] + appellants and senders in COA
    departures   = dep ready[t-1]

Granted persons of a type with ``arrival`` (lag M_k, COA share c_k) arrive in ``t + M_k``: ``c_k``
of them are linked as permit holders in COA, the rest go straight to family or housing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.instance.loading import InstanceData


@dataclass
class Flows:
    """Per type (cases): ``returned``; national (persons): the rest, one ``np.array(T)`` each."""

    returned: dict[str, np.ndarray]
    lodged: np.ndarray
    pending: np.ndarray
    appeals_decided: np.ndarray
    annulled: np.ndarray
    pending_coa: np.ndarray
    in_lag_coa: np.ndarray
    track: np.ndarray
    arrived_coa: np.ndarray
    arrived_direct: np.ndarray


def _history(d: InstanceData, k: str, decided: np.ndarray) -> tuple[np.ndarray, int]:
    """Decisions of ``k`` from the first pre-horizon period on, and the offset of period 0."""
    before = np.array(d.instance.case_types[k].pre_horizon_decided, dtype=float)
    return np.concatenate((before, decided)), len(before)


def _add_window(out: np.ndarray, t0: int, length: int, amount: float) -> None:
    """Add ``amount`` to the periods ``t0 .. t0+length-1`` of the horizon."""
    for t in range(max(0, t0), min(len(out), t0 + length)):
        out[t] += amount


def _add_at(out: np.ndarray, t: int, amount: float) -> None:
    if 0 <= t < len(out):
        out[t] += amount


def flows(d: InstanceData, decided: dict, grant: dict, persons: dict) -> Flows:
    """Every return flow, cohort by cohort of rejected (and granted) cases."""
    cts, T = d.instance.case_types, d.grid.T
    z = lambda: np.zeros(T)  # noqa: E731
    f = Flows({k: z() for k in cts}, z(), z(), z(), z(), z(), z(), z(), z(), z())
    for k, ct in cts.items():
        g, p = float(grant[k][0]), float(persons[k][0])
        hist, off = _history(d, k, decided[k])
        coa = ct.waits_in_coa
        for i, dec in enumerate(hist):
            t = i - off  # the decision's period
            rej = (1 - g) * dec
            direct = rej
            if ct.appeal is not None:
                A, lodged = d.appeal_periods(k), ct.appeal.share_of_rejections * rej
                direct -= lodged
                _add_at(f.lodged, t, p * lodged)
                _add_window(f.pending, t, A, p * lodged)
                if coa:
                    _add_window(f.pending_coa, t, A, p * lodged)
                _add_at(f.appeals_decided, t + A, p * lodged)
                _add_at(f.annulled, t + A, p * ct.appeal.annulled_share * lodged)
                _add_at(f.returned[k], t + A, ct.appeal.annulled_share * lodged)
                if coa:
                    _add_at(f.track, t + A, p * (1 - ct.appeal.annulled_share) * lodged)
            for j, flow in ct.rejections_to.items():
                L, sent = d.rejections_to_lag(k, j), flow.share_of_rejections * rej
                direct -= sent
                if coa:
                    _add_window(f.in_lag_coa, t, L, p * sent)
                _add_at(f.returned[j], t + L, sent * p / float(persons[j][0]))
            if coa and t >= 0:
                f.track[t] += p * direct
            if ct.arrival is not None:
                M, c = d.arrival_lag(k), ct.arrival.coa_share
                _add_at(f.arrived_coa, t + M, c * p * g * dec)
                _add_at(f.arrived_direct, t + M, (1 - c) * p * g * dec)
    return f


def awaiting(d: InstanceData, f: Flows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(awaiting, ready, in_departure_lag)``: rejected persons in COA, those of them past the
    departure lag, and those within it."""
    rec, T = d.instance.reception, d.grid.T
    s, L = rec.rejected_stay_share, d.departure_lag()
    dep = d.per_period_rate(rec.departure_rate_per_month)
    pre = list(rec.start_departure_track)  # stayers who entered before the start (a state's start)
    enter = lambda t: s * f.track[t] if t >= 0 else (pre[len(pre) + t] if len(pre) + t >= 0 else 0.0)  # noqa: E731
    in_lag = np.zeros(T)
    for t in range(-len(pre), T):
        _add_window(in_lag, t, L, enter(t))
    ready, prev = np.zeros(T), rec.start_awaiting_departure
    for t in range(T):
        ready[t] = prev = (1 - dep) * prev + enter(t - L)
    return ready + in_lag + f.pending_coa + f.in_lag_coa, ready, in_lag
