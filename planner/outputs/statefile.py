"""``state.json``: the state of a solved plan at the start of every period after its first.

The format and what each section means are in :mod:`planner.instance.state` (which reads it back
and turns a state into a start). The state at ``at`` (period index ``p`` of the horizon) is the end
of period ``p - 1``: a solve or simulation that starts from it at ``at`` with the same decisions
reproduces the plan's periods ``at..``. One extractor per section (:data:`EXTRACTORS`); every
extractor reads the model's values once (:class:`Values`) and returns the section at ``p``.

With FIFO the stock holds the newest arrivals, so the stock's ages come from the history of
arrivals ``a`` (the instance's pre-horizon arrivals, then the plan's inflow):

    stock_by_age[p] = fifo_cohorts(stock[p-1], a[..p-1]),  arrivals_by_age = a[p-1], a[p-2], ...

Trainees: a hire of period tau is productive from tau + L, so at ``p`` entry ``tau + L - p`` of
``trainees_by_period``; a start trainee of entry i moves to entry i - p. Retraining of period tau
arrives at tau + D. A candidate site decided in tau - lead with first use tau is ``preparing``
while p <= tau and ``open`` (``min_open_until`` = tau + m - 1) while in use. Return flows: the
decisions of the last ``max(A_k, L_kj, M_k)`` periods (``decided_by_age``), the ready stock
``ret_ready[p-1]`` (``awaiting_departure``) and the last ``L`` entries of the departure track
(``departure_track_by_age``); the instance's own pre-horizon values head each history. An
extension running at ``p`` (kept, its close before ``p - 1``) is an existing site open until
``min(c + e, T - 1)`` that can no longer be kept, and counts in ``extensions_used``.
"""

from __future__ import annotations

import json

from planner.instance.loading import fifo_cohorts
from planner.instance.state import FORMAT, VERSION
from planner.instance.timegrid import make_grid
from planner.model.chain import series as chain_series
from planner.model.common import COST_UNIT, val
from planner.model.reception import extension_last


class Values:
    """The plan's values needed by the extractors, read once from the solved model."""

    def __init__(self, m, d):
        T = range(d.grid.T)
        self.m, self.d = m, d
        K, P, R = list(m.K), list(m.P), list(m.R)
        self.stock = {k: [val(m.stock[k, t]) for t in T] for k in K}
        self.inflow = {k: [val(m.case_inflow_total[k, t]) for t in T] for k in K}
        self.decided = {k: [val(m.dec_int[k, t]) + val(m.dec_out[k, t]) for t in T] for k in K}
        self.dec_int = {k: [val(m.dec_int[k, t]) for t in T] for k in K}
        self.granted = {k: [val(m.case_grant_share[k]) * self.decided[k][t] for t in T] for k in K}
        self.productive = {p: [val(m.productive[p, t]) for t in T] for p in P}
        self.hires = {p: [val(m.hires[p, t]) for t in T] for p in P}
        self.external = {p: [val(m.external[p, t]) for t in T] for p in P}
        self.retrain = {(p, q): [val(m.retrain[p, q, t]) for t in T] for p, q in m.PQ}
        self.awaiting = [val(m.awaiting[t]) for t in T]
        self.ready = [val(m.ret_ready[t]) for t in T]
        self.track_enter = [val(m.ret_track_enter[t]) for t in T]
        self.waiting = {r: [val(m.waiting[r, t]) for t in T] for r in R}
        self.new_ph = [val(m.place_new_permit_holders[t]) for t in T]
        self.accelerated = [sum(val(m.accelerated[r, t]) for r in R) for t in T]
        self.cost = [sum(val(m.cost[c, t]) for c in m.C) * COST_UNIT for t in T]
        self.keep = {l: val(m.keep[l]) > 0.5 for l in m.L_old}
        self.starts = {}
        self.serve = {}
        for l, t in m.L_new_T:
            if val(m.start[l, t]) > 0.5:
                self.starts.setdefault(l, t)
            self.serve[l, t] = val(m.serve[l, t]) > 0.5
        self.wards = chain_series(m, d)[("Nidos", "wards")]
        self.court_queue = {k: [val(m.court_queue[k, t]) for t in T] for k in m.K_court}


def label(d, offset: int) -> str:
    if 0 <= offset < d.grid.T:
        return d.grid.labels[offset]
    return make_grid(d.grid.grain, d.grid.labels[0], offset + 1).labels[-1]


def _cases(v: Values, p: int) -> dict:
    d, out = v.d, {}
    mu = d.grid.months_per_period
    for k, ct in d.instance.case_types.items():
        history = list(reversed(d.case_pre_arrivals(k))) + v.inflow[k][:p]
        sec = {
            "stock_by_age": fifo_cohorts(v.stock[k][p - 1], history),
            "arrivals_by_age": list(reversed(history)),
            "decisions_per_month_before": v.dec_int[k][p - 1] / mu,
        }
        lags = [d.appeal_periods(k)] if ct.appeal is not None else []
        lags += [d.rejections_to_lag(k, j) for j in ct.rejections_to] + ([d.arrival_lag(k)] if ct.arrival is not None else [])
        decided = list(ct.pre_horizon_decided) + v.decided[k][:p]
        sec["decided_by_age"] = list(reversed(decided))[: max(lags, default=0)]
        if ct.follow_on is not None:
            grants = list(ct.follow_on.pre_horizon_grants) + [sum(v.granted[s][t] for s in ct.follow_on.source_types) for t in range(p)]
            sec["grants_by_age"] = list(reversed(grants))
        out[k] = sec
    return out


def _staff(v: Values, p: int) -> dict:
    d, out = v.d, {}
    for q, pool in d.instance.staff_pools.items():
        L = d.training_periods(q)
        trainees = [0.0] * L
        for tau in range(max(0, p - L), p):
            trainees[tau + L - p] += v.hires[q][tau]
        for i, x in enumerate(pool.start_trainees):
            if i >= p:
                if i - p >= len(trainees):
                    trainees += [0.0] * (i - p + 1 - len(trainees))
                trainees[i - p] += x
        retraining = []
        for (a, b), series in v.retrain.items():
            if b != q:
                continue
            D = d.grid.whole_periods(d.instance.staff_pools[a].retrain_to[b].months)
            for tau in range(max(0, p - D), p):
                i = tau + D - p
                retraining += [0.0] * (i + 1 - len(retraining))
                retraining[i] += series[tau]
        for i, x in enumerate(pool.start_retraining):
            if i >= p:
                retraining += [0.0] * (i - p + 1 - len(retraining))
                retraining[i - p] += x
        out[q] = {"productive_fte": v.productive[q][p - 1], "trainees_by_period": trainees, "retraining_by_period": retraining, "external_fte": v.external[q][p - 1]}
    return out


def _location(v: Values, l: str, loc, p: int) -> dict:
    d = v.d
    if loc.status == "existing":
        last = d.existing_last_period(l)
        kept = v.keep.get(l, False)
        if kept and last + 1 < p:  # the extension runs: open until its end (the model's end: through)
            end = extension_last(d, l)
            return {"status": "existing", "open_until": None if end >= d.grid.T - 1 else label(d, end), "can_keep_open": False, "keep_open": False}
        if not kept and last + 1 < p:
            return {"status": "existing", "open_until": loc.open_until, "can_keep_open": False, "keep_open": False}
        return {"status": "existing", "open_until": loc.open_until, "can_keep_open": loc.can_keep_open, "keep_open": kept}
    first_use = v.starts.get(l)
    if first_use is None or first_use - d.location_first_period(l) >= p:
        return {"status": "candidate"}
    if first_use >= p:
        return {"status": "preparing", "first_use": label(d, first_use)}
    if v.serve.get((l, p - 1), False):
        return {"status": "open", "open_since": label(d, first_use), "min_open_until": label(d, first_use + d.location_min_open(l) - 1)}
    return {"status": "closed"}


def _reception(v: Values, p: int) -> dict:
    d = v.d
    locs = d.instance.locations
    track = list(d.instance.reception.start_departure_track) + v.track_enter[:p]
    used = sum(1 for l, kept in v.keep.items() if kept and d.existing_last_period(l) + 1 < p)
    return {
        "awaiting_departure": v.ready[p - 1],
        "departure_track_by_age": list(reversed(track))[: d.departure_lag()],
        "extensions_used": float(used),
        "locations": {l: _location(v, l, loc, p) for l, loc in locs.items()},
    }


def _placement(v: Values, p: int) -> dict:
    d = v.d
    shares = d.quota_shares()
    history = list(reversed(d.placement_pre_arrivals())) + v.new_ph[:p]
    return {
        "waiting_by_age": {r: fifo_cohorts(v.waiting[r][p - 1], [shares[r] * a for a in history]) for r in v.waiting},
        "linked_by_age": list(reversed(history)),
        "accelerated_used": sum(v.accelerated[:p]),
    }


def _budget(v: Values, p: int) -> dict:
    years: dict[str, float] = {}
    for t in range(p):
        y = str(v.d.grid.years[t])
        years[y] = years.get(y, 0.0) + v.cost[t]
    return {"spent_eur": sum(v.cost[:p]), "spent_by_year_eur": years}


def _measures(v: Values, p: int) -> dict:
    return {"in_force": list(v.d.instance.in_force)}


def _chain(v: Values, p: int) -> dict:
    return {"nidos_wards": v.wards[p - 1]}


def _courts(v: Values, p: int) -> dict | None:
    """Per type with a court capacity, its queue past the minimum; None (no section) without one."""
    return {k: {"queue": q[p - 1]} for k, q in v.court_queue.items()} or None


EXTRACTORS = {
    "cases": _cases,
    "staff": _staff,
    "reception": _reception,
    "placement": _placement,
    "budget": _budget,
    "measures": _measures,
    "chain": _chain,
    "courts": _courts,
}
"""Section name -> ``extract(values, p)``; the sections of :data:`planner.instance.state.SECTIONS`."""


def _tidy(x):
    if isinstance(x, dict):
        return {k: _tidy(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_tidy(v) for v in x]
    if isinstance(x, float):
        r = round(x, 9)
        return 0.0 if abs(r) < 1e-9 else r
    return x


def state_at(v: Values, p: int) -> dict:
    """The state at the start of period ``p`` (1 <= p <= the model's periods)."""
    sections = {name: fn(v, p) for name, fn in EXTRACTORS.items()}
    return _tidy({"at": label(v.d, p), **{name: sec for name, sec in sections.items() if sec is not None}})


def states(m, d, periods=None) -> dict:
    """The state file of a solved model: the state at every period ``1..H`` of the horizon (the
    last one is the start of the look-ahead tail, or the period after the horizon)."""
    v = Values(m, d)
    periods = range(1, d.horizon_T + 1) if periods is None else periods
    return {
        "format": FORMAT,
        "version": VERSION,
        "instance": d.name,
        "horizon_start": d.grid.labels[0],
        "grain": d.grid.grain,
        "states": [state_at(v, p) for p in periods if p <= d.grid.T and p >= 1],
    }


def state_json(plan) -> str | None:
    """``state.json`` of a plan (None when the plan keeps no model)."""
    if plan.model is None:
        return None
    return json.dumps(states(plan.model, plan.data), indent=1) + "\n"
