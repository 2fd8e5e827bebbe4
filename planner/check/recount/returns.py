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

With a court capacity (``appeal.court_capacity``, cases per period) ``A_k`` is a minimum: the
appeals lodged in tau join the courts' queue in ``tau + A_k`` (behind the ``start_queue``, which is
older than every one of them), and each period the courts take ``min(capacity[t], queue)`` from the
oldest cohort on (:class:`CourtQueue`); an appellant is pending from the lodging until the
decision, in the queue past the minimum from ``tau + A_k``. The run's own court decisions (chain.csv,
``appeals_decided_<k>``) are replayed on the same queue (:func:`check_courts`): more than the
capacity, more than the appeals past their minimum (decided before their turn), or fewer than
``min(capacity, queue)`` (capacity left idle while appeals wait) is a violation.

Granted persons of a type with ``arrival`` (lag M_k, COA share c_k) arrive in ``t + M_k``: ``c_k``
of them are linked as permit holders in COA, the rest go straight to family or housing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.check.recount.common import Cohorts, Violations, tol
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
    queue: np.ndarray = None  # persons past the appeal's minimum, not yet decided (types with a court capacity)
    court_decided: dict = None  # type -> cases decided by its courts per period (types with a court capacity)
    court_lodged: dict = None  # type -> cases lodged per period, from the first pre-horizon period on, and its offset


class CourtQueue:
    """The ready appeals of one type as FIFO cohorts (lodging period; the start queue first)."""

    def __init__(self, start: float):
        self.fifo = Cohorts()
        if start > 0:
            self.fifo.add(-10**9, start)

    def join(self, tau: int, amount: float) -> None:
        if amount > 0:
            self.fifo.add(tau, amount)

    def decide(self, amount: float) -> float:
        """Take ``amount`` oldest first; returns what was not there (decided before its turn)."""
        return self.fifo.take(amount)

    def total(self) -> float:
        return self.fifo.total()


def court_rule(d: InstanceData, k: str, lodged: np.ndarray, off: int) -> tuple[np.ndarray, np.ndarray]:
    """``(decided, queue)`` of type ``k`` (cases per period): the rule ``min(capacity, ready queue)``
    played on the cohorts; ``lodged`` from the first pre-horizon period on, period 0 at ``off``."""
    ct, T = d.instance.case_types[k], d.grid.T
    A, cap = d.appeal_periods(k), d.s(f"case_types.{k}.appeal.court_capacity")
    q = CourtQueue(ct.appeal.start_queue)
    decided, queue = np.zeros(T), np.zeros(T)
    for t in range(T):
        if 0 <= t - A + off:
            q.join(t - A, lodged[t - A + off])
        decided[t] = min(cap[t], q.total())
        q.decide(decided[t])
        queue[t] = q.total()
    return decided, queue


def check_courts(d: InstanceData, f: "Flows", run_decided: dict, viol: Violations) -> None:
    """The run's court decisions (``run_decided``: type -> cases per period, or None when the run
    has none) replayed on the queue of its own decisions: within the capacity, no appeal before its
    minimum duration, and no capacity idle while appeals past it wait (the rule)."""
    labels = d.grid.labels
    for k, (lodged, off) in (f.court_lodged or {}).items():
        got = run_decided.get(k)
        if got is None:
            viol.add(f"courts {k}: the run reports no court decisions (chain.csv courts appeals_decided_{k})")
            continue
        A, cap = d.appeal_periods(k), d.s(f"case_types.{k}.appeal.court_capacity")
        q = CourtQueue(d.instance.case_types[k].appeal.start_queue)
        for t, label in enumerate(labels):
            if 0 <= t - A + off:
                q.join(t - A, lodged[t - A + off])
            viol.check(got[t], cap[t], f"court decisions {k} {label} (court_capacity)")
            rule = min(cap[t], q.total())
            short = q.decide(got[t])
            if short > tol(got[t]):
                viol.add(f"court decisions {k} {label}: {got[t]:,.6g} decided but only {got[t] - short:,.6g} appeals past the minimum duration (decided before their turn)")
            elif got[t] < rule - tol(rule):
                viol.add(f"court decisions {k} {label}: {got[t]:,.6g} decided, the rule min(capacity, appeals waiting) gives {rule:,.6g}")


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
    f = Flows({k: z() for k in cts}, z(), z(), z(), z(), z(), z(), z(), z(), z(), z(), {}, {})
    for k, ct in cts.items():
        g, p = float(grant[k][0]), float(persons[k][0])
        hist, off = _history(d, k, decided[k])
        coa = ct.waits_in_coa
        court = ct.appeal is not None and ct.appeal.court_capacity is not None
        for i, dec in enumerate(hist):
            t = i - off  # the decision's period
            rej = (1 - g) * dec
            direct = rej
            if ct.appeal is not None:
                A, lodged = d.appeal_periods(k), ct.appeal.share_of_rejections * rej
                direct -= lodged
                _add_at(f.lodged, t, p * lodged)
                for pending in (f.pending, f.pending_coa) if coa else (f.pending,):
                    _add_window(pending, t, A, p * lodged)  # within the minimum duration (all of it without a court capacity)
                if not court:
                    _appeals_decided(f, k, t + A, lodged, p, coa, ct.appeal.annulled_share)
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
        if court:
            _courts(d, f, k, hist, off, g, p, coa)
    return f


def _appeals_decided(f: Flows, k: str, t: int, cases: float, p: float, coa: bool, n: float) -> None:
    """``cases`` appeals of ``k`` decided in ``t``: the annulled share back to the stock, the rest to the track."""
    _add_at(f.appeals_decided, t, p * cases)
    _add_at(f.annulled, t, p * n * cases)
    _add_at(f.returned[k], t, n * cases)
    if coa:
        _add_at(f.track, t, p * (1 - n) * cases)


def _courts(d: InstanceData, f: Flows, k: str, hist: np.ndarray, off: int, g: float, p: float, coa: bool) -> None:
    """Type ``k`` with a court capacity: the rule's decisions, and the queue pending past the minimum."""
    ap = d.instance.case_types[k].appeal
    lodged = ap.share_of_rejections * (1 - g) * hist
    decided, queue = court_rule(d, k, lodged, off)
    f.court_lodged[k], f.court_decided[k] = (lodged, off), decided
    for t in range(d.grid.T):
        _appeals_decided(f, k, t, decided[t], p, coa, ap.annulled_share)
    f.queue += p * queue
    f.pending += p * queue
    if coa:
        f.pending_coa += p * queue


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
