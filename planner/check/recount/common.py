"""Shared pieces of the recount: the decisions it replays, the FIFO cohorts, the violation list.

The cohort rule (cases and permit holders alike). A stock is a list of cohorts by arrival period
tau, oldest first; decisions (or placements) take the oldest first. Arrivals are spread over their
period, so at the end of t the young share of cohort tau (age ``t - tau``) is
``clip(D - (t - tau), 0, 1)`` with D the deadline in periods: cohorts younger than floor(D) are
young, the cohort of age n = floor(D) keeps f = D - n young (its later arrivals), older ones are
overdue. FIFO removes a cohort's earliest arrivals first, so what is left of a cohort is its
newest part::

    young[tau]   = min(left[tau], clip(D - (t - tau), 0, 1) * arrived[tau])
    overdue[t]   = sum_tau left[tau] - young[tau]

(a start cohort's ``arrived`` is what is left of it at the start, unless the instance says how
many arrived in its period, as in the model).

A violation exceeds its bound by more than ``1e-4 + 1e-6 x |bound|`` (tables carry 6 decimals).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from planner.instance.loading import InstanceData


@dataclass
class LocationRow:
    """One row of ``locations.csv`` as read: open periods (indices, None when empty) and, for a
    candidate, whether it is opened (None for an existing location)."""

    first: int | None
    last: int | None
    opened: bool | None = None


@dataclass
class Decisions:
    """What the recount replays from a run folder, one ``np.array(T)`` per id and column.

    ``locations`` holds the row of every location ``locations.csv`` lists (absent: no row);
    ``commit_periods`` is the run's window of decisions to take now (``plan_quarter.csv``).
    """

    dec_int: dict[str, np.ndarray]
    dec_out: dict[str, np.ndarray]
    hires: dict[str, np.ndarray]
    external: dict[str, np.ndarray]
    housed: dict[str, np.ndarray]
    accelerated: dict[str, np.ndarray]
    crisis: np.ndarray
    locations: dict[str, LocationRow]
    commit_periods: int
    retrain: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    courts: dict[str, np.ndarray | None] = field(default_factory=dict)
    """The run's court decisions (cases per period) of each type with a court capacity (None: absent
    from the run); not the plan's to choose, but replayed against the courts' rule."""

    @property
    def decided(self) -> dict[str, np.ndarray]:
        """Internal plus outsourced decisions per case type."""
        return {k: self.dec_int[k] + self.dec_out[k] for k in self.dec_int}


class Cohorts:
    """A FIFO stock as cohorts ``[arrival period, arrived, left]``, oldest first."""

    def __init__(self):
        self.items: list[list[float]] = []

    def add(self, tau: int, amount: float, arrived: float | None = None) -> None:
        """A cohort of ``amount`` cases left of ``arrived`` (default: all of it is left)."""
        self.items.append([tau, amount if arrived is None else max(arrived, amount), amount])

    def take(self, amount: float) -> float:
        """Remove ``amount`` oldest first; returns the part that was not there (shortfall)."""
        for c in self.items:
            if amount <= 0:
                break
            used = min(c[2], amount)
            c[2] -= used
            amount -= used
        self.items = [c for c in self.items if c[2] > 1e-12]
        return max(0.0, amount)

    def total(self) -> float:
        return sum(c[2] for c in self.items)

    def overdue(self, t: int, deadline: float) -> float:
        """Left over cases past ``deadline`` periods at the end of period ``t`` (see the module doc)."""
        out = 0.0
        for tau, arrived, left in self.items:
            young_share = min(1.0, max(0.0, deadline - (t - tau)))
            out += left - min(left, young_share * arrived)
        return out


def tol(bound: float) -> float:
    """How far a value may pass its bound before it is a violation."""
    return 1e-4 + 1e-6 * abs(bound)


@dataclass
class Violations:
    """The constraint violations of the replayed decisions, in the order they are found."""

    items: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.items.append(message)

    def check(self, value: float, bound: float, what: str) -> None:
        """A violation when ``value`` exceeds ``bound`` by more than :func:`tol`."""
        if value > bound + tol(bound):
            self.items.append(f"{what}: {value:,.6g} exceeds {bound:,.6g}")

    def negative(self, value: float) -> bool:
        return value < -tol(0)


def per_period(d: InstanceData, path: str) -> np.ndarray:
    """A number of the instance as one value per period: its resolved series when it is one (e.g.
    ``case_types.k.hours_per_case``, which a measure may change from a period on), else the
    scalar repeated."""
    if path in d.series:
        return np.array(d.s(path), dtype=float)
    node = d.instance
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return np.full(d.grid.T, float(node))
