"""Uncertainty as data: scenario instances drawn from an instance's ``uncertainty`` section.

Each entry ``i`` of ``uncertainty.series`` is one multiplier ``X_i`` on every series its ``path``
names (``*`` matches one name: ``case_types.*.inflow``), from ``from_period`` on (default: the
start; the look-ahead tail included). Its quantile function ``Q_i`` is piecewise linear through
``(p_j, v_j)`` (``range``: ``(0, min), (0.5, medium), (1, max)``), flat beyond the first and last
point. Series move together through one common factor (a one-factor Gaussian copula):

    Z_i = sqrt(rho_i) F + sqrt(1 - rho_i) E_i,   F, E_i ~ N(0, 1) independent
    X_i = Q_i(Phi(Z_i))

so ``corr(Z_i, Z_j) = sqrt(rho_i rho_j)`` (``rho`` for every pair when all take
``uncertainty.correlation``; a series' own ``correlation`` sets its ``rho_i``), each ``Z_i`` is
standard normal and each ``X_i`` has exactly the stated quantiles. A scenario is the ordinary
:class:`~planner.instance.loading.InstanceData` with its series multiplied; ``N`` scenarios drawn
with one seed are equally likely (``1/N``). The draws come from
``numpy.random.default_rng(seed)``: first ``F`` (``N`` values), then ``E`` (``N x n`` values, row
by row), so the same seed gives the same scenarios on every machine.

The mean-forecast instance (:func:`mean_instance`) has each series at its probability-weighted
mean over the scenarios: the deterministic problem a planner solves "for the middle".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from planner.errors import InputError
from planner.instance.loading import InstanceData
from planner.instance.timegrid import valid_label


@dataclass
class Scenario:
    """One scenario: its name, probability, instance and the multiplier of each uncertainty entry
    (keyed by the entry's path)."""

    name: str
    probability: float
    data: InstanceData
    factors: dict[str, float] = field(default_factory=dict)


def quantile_points(spec) -> tuple[list[float], list[float]]:
    """``(probabilities, values)`` of an entry's quantile function."""
    if spec.range is not None:
        r = spec.range
        return [0.0, 0.5, 1.0], [r.min, r.medium, r.max]
    return list(spec.quantiles.probabilities), list(spec.quantiles.values)


def quantile_value(probabilities, values, u) -> np.ndarray:
    """The piecewise-linear quantile function through ``(probabilities, values)`` at ``u`` in
    [0, 1]: linear between the points, the first value below the first probability, the last above
    the last (shared with the batch files' ``quantiles`` draws)."""
    return np.interp(u, probabilities, values)


def normal_cdf(z) -> np.ndarray:
    """Phi(z) = (1 + erf(z / sqrt 2)) / 2."""
    return np.array([0.5 * (1.0 + math.erf(x / math.sqrt(2.0))) for x in np.ravel(z)]).reshape(np.shape(z))


def matching_series(d: InstanceData, pattern: str) -> list[str]:
    """The series paths of ``d`` that ``pattern`` names (``*``: exactly one name, no dots)."""
    rx = re.compile("^" + ".".join("[^.]+" if part == "*" else re.escape(part) for part in pattern.split(".")) + "$")
    return [p for p in d.series if rx.match(p)]


def check_uncertainty(d: InstanceData) -> None:
    """The ``uncertainty`` section makes sense for ``d``: one of range / quantiles per entry,
    increasing probabilities, non-decreasing values, a path naming at least one series (each
    series named once), a ``from_period`` inside the horizon. One-line :class:`InputError`."""
    unc = d.instance.uncertainty
    if unc is None:
        raise InputError("uncertainty", "planner solve --scenarios needs an 'uncertainty' section in the instance (the uncertain series and their ranges)")
    seen: dict[str, int] = {}
    for i, spec in enumerate(unc.series):
        where = f"uncertainty.series.{i}"
        if (spec.range is None) == (spec.quantiles is None):
            raise InputError(where, "give exactly one of range (min, medium, max) or quantiles")
        probs, values = quantile_points(spec)
        if spec.quantiles is not None:
            if len(probs) != len(values):
                raise InputError(f"{where}.quantiles", "one value per probability")
            if any(b <= a for a, b in zip(probs, probs[1:])):
                raise InputError(f"{where}.quantiles.probabilities", "the probabilities must increase")
        if any(b < a for a, b in zip(values, values[1:])):
            what = "min <= medium <= max" if spec.range is not None else "values that do not decrease (a quantile function never does)"
            raise InputError(f"{where}.{'range' if spec.range is not None else 'quantiles.values'}", f"expected {what}")
        paths = matching_series(d, spec.path)
        if not paths:
            raise InputError(f"{where}.path", f"'{spec.path}' names no series of the instance (e.g. case_types.<type>.inflow, case_types.<type>.hours_per_case, placement.housing_supply)")
        for p in paths:
            if p in seen:
                raise InputError(f"{where}.path", f"series '{p}' is already uncertain in uncertainty.series.{seen[p]}; name each series once")
            seen[p] = i
        if spec.from_period is not None:
            if not valid_label(d.grid.grain, spec.from_period) or d.grid.index(spec.from_period) is None:
                raise InputError(f"{where}.from_period", f"expected a period of the horizon ({d.grid.labels[0]}..{d.grid.labels[-1]}), got '{spec.from_period}'")


def draw_factors(d: InstanceData, n: int, seed: int) -> np.ndarray:
    """``n x len(series)`` multipliers from the one-factor copula (module docstring)."""
    unc = d.instance.uncertainty
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(n)
    own = rng.standard_normal((n, len(unc.series)))
    rho = np.array([unc.correlation if s.correlation is None else s.correlation for s in unc.series])
    z = np.sqrt(rho) * common[:, None] + np.sqrt(1.0 - rho) * own
    u = normal_cdf(z)
    out = np.empty_like(u)
    for i, spec in enumerate(unc.series):
        probs, values = quantile_points(spec)
        out[:, i] = quantile_value(probs, values, u[:, i])
    return out


def scenario_instance(d: InstanceData, factors: dict[str, float]) -> InstanceData:
    """``d`` with every series of uncertainty entry ``path`` multiplied by ``factors[path]`` from
    the entry's ``from_period`` on (entries not in ``factors`` stay at 1)."""
    series = dict(d.series)
    for spec in d.instance.uncertainty.series:
        f = factors.get(spec.path, 1.0)
        start = 0 if spec.from_period is None else d.grid.index(spec.from_period)
        for p in matching_series(d, spec.path):
            series[p] = [v * f if t >= start else v for t, v in enumerate(series[p])]
    return replace(d, series=series)


def sample_scenarios(d: InstanceData, n: int, seed: int, prefix: str = "s") -> list[Scenario]:
    """``n`` equally likely scenarios of ``d`` drawn with ``seed`` (names ``s000``, ``s001`` ...)."""
    check_uncertainty(d)
    draws = draw_factors(d, n, seed)
    paths = [spec.path for spec in d.instance.uncertainty.series]
    out = []
    for s in range(n):
        factors = {p: float(x) for p, x in zip(paths, draws[s])}
        out.append(Scenario(f"{prefix}{s:03d}", 1.0 / n, scenario_instance(d, factors), factors))
    return out


def mean_instance(d: InstanceData, scenarios: list[Scenario]) -> InstanceData:
    """``d`` with every series at its probability-weighted mean over ``scenarios``."""
    total = sum(s.probability for s in scenarios)
    series = {
        p: [sum(s.probability * s.data.series[p][t] for s in scenarios) / total for t in range(len(v))]
        for p, v in d.series.items()
    }
    return replace(d, series=series)
