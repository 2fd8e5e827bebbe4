"""Shared pieces of the model: time set, mutable parameters, the FIFO window, value reading.

Every number a what-if may change is a *mutable* Pyomo ``Param`` used symbolically in the
constraints (never ``value(param)`` inside a rule), so batches can re-solve the built model after
changing parameters. What changes the structure (horizon, sets, deadlines, lags, lead times,
which case types wait in COA) needs a rebuild.
"""

from __future__ import annotations

import math

import pyomo.environ as pyo

COST_UNIT = 1e6
"""Costs are modelled in million EUR (keeps budget rows and objective well scaled); tables say EUR."""

COST_ROW_SCALE = 100.0
"""Budget rows (horizon total, per year) are multiplied by this, i.e. written in units of
EUR 10,000: a EUR 144 penalty per overdue case-month is a coefficient 0.0144 (not 1.4e-4) and a
EUR 4.5 million opening 450, while a budget of EUR 10 billion is still a right-hand side of 1e6.
A row scale changes no solution (numerics only); slacks and duals of these rows are per EUR 10,000."""

PLACEMENT_ROW_SCALE_MAX = 100.0
"""Regional placement rows are divided by the region's quota share (at most x100, for shares below
1%), so a permit holder linked nationally has a coefficient near 1 in every region's rows instead
of share x grant share x FIFO weight (1.6e-4 on nl-2022). Numerics only."""


class ModelData:
    """The sets and mutable parameter values of one instance, computed without Pyomo.

    ``sets``: name -> ordered members (tuples for a set of dimension > 1); ``params``: name ->
    (names of the index sets, ``{index: value}``; or ``()`` and a number for a scalar). Each
    model module fills its part in ``data(d, md)``; :meth:`install` turns it into Pyomo ``Set``
    and mutable ``Param`` components before any variable is built. A persistent re-solve
    (:mod:`planner.solver.persistent`) computes it for a variant and copies the values into the live
    model, with no Pyomo construction at all.
    """

    def __init__(self):
        self.sets: dict[str, list] = {}
        self.dimen: dict[str, int] = {}
        self.params: dict[str, tuple[tuple[str, ...], dict | float]] = {}

    def set(self, name: str, members, dimen: int = 1) -> list:
        self.sets[name] = list(members)
        self.dimen[name] = dimen
        return self.sets[name]

    def param(self, name: str, index: tuple[str, ...], values) -> None:
        self.params[name] = (tuple(index), values if index else float(values))

    def install(self, m) -> None:
        """Add every set, then every parameter, to model ``m``."""
        for name, members in self.sets.items():
            m.add_component(name, pyo.Set(initialize=members, dimen=self.dimen[name], ordered=True))
        for name, (index, values) in self.params.items():
            mparam(m, name, *(m.component(s) for s in index), values=values)


def mparam(m, name: str, *index, values, default: float = 0.0):
    """Add a mutable Param ``name`` over ``index`` initialised from ``values`` (dict or scalar)."""
    if index:
        comp = pyo.Param(*index, initialize=values, mutable=True, default=default, within=pyo.Reals)
    else:
        comp = pyo.Param(initialize=values, mutable=True, within=pyo.Reals)
    m.add_component(name, comp)
    return comp


def series_values(d, path: str, key) -> dict:
    """``{(key, t): value}`` for one resolved series; ``key`` may be a tuple or a scalar id."""
    prefix = key if isinstance(key, tuple) else (key,)
    return {prefix + (t,): v for t, v in enumerate(d.s(path))}


def fifo_window(t: int, deadline: float) -> list[tuple[int, float]]:
    """Arrival periods still young at the end of period ``t``, with their weight.

    A cohort that arrived in period ``tau`` has age ``t - tau`` at the end of ``t``; it is young
    while the age is below the deadline ``D`` (in periods). With ``D = n + f`` (``n`` whole, ``0 <= f < 1``)
    the ``n`` newest cohorts ``t-n+1 .. t`` are young and the fraction ``f`` of cohort ``t-n``
    (its later arrivals). Under first-in first-out the stock holds the newest arrivals, so

        overdue[t] = max(0, stock[t] - sum_{(tau, w) in window} w * arrivals[tau]).
    """
    n = int(math.floor(deadline + 1e-9))
    f = deadline - n
    window = [(tau, 1.0) for tau in range(t - n + 1, t + 1)]
    if f > 1e-9:
        window.append((t - n, f))
    return window


def fifo_overdue(stocks: list[float], arrivals: list[float], before: list[float], deadline: float) -> list[float]:
    """Overdue counts of a FIFO stock, recounted from a solution (what a cohort simulation counts).

    ``arrivals[t]`` inside the horizon, ``before[a]`` what arrived ``a + 1`` periods before it;
    ``overdue[t] = max(0, stock[t] - sum_{(tau, w) in window(t, deadline)} w * arrivals[tau])``.
    """

    def arrived(tau: int) -> float:
        if tau >= 0:
            return arrivals[tau]
        a = -1 - tau
        return before[a] if a < len(before) else 0.0

    return [
        max(0.0, stock - sum(w * arrived(tau) for tau, w in fifo_window(t, deadline)))
        for t, stock in enumerate(stocks)
    ]


def val(x) -> float:
    """Value of a variable or expression after a solve (0 for an unused variable)."""
    v = pyo.value(x, exception=False)
    return 0.0 if v is None else float(v)


def clean(x: float) -> float:
    """Round values within 1e-9 of zero to zero (determinism of written tables)."""
    return 0.0 if abs(x) < 1e-9 else x
