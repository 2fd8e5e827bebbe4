"""The batch file: a base instance and the variants to solve (explicit scenarios, a grid, samples).

A batch file is YAML (``yaml.safe_load`` semantics via :mod:`planner.instance.yamlio`) validated by the
pydantic models below (``extra="forbid"``: a typo is an error)::

    base: nl-2022.yaml                  # the instance, relative to this file
    seed: 20220701                      # needed with samples: the same seed gives the same draws
    relax_integers: false               # true: solve the LP relaxation (binaries in [0, 1])
    polish_cost: 15                     # optional: minimise each variant's cost for 15 s, outcomes held
    scenarios:                          # explicit variants, each a list of changes
      - name: more-hires
        changes:
          - {path: staff_pools.asylum.max_hires, op: set, value: 40}
          - "case_types.spoor4.inflow*=1.2"            # --set style: =, *= (scale), += (add)
    grid:                               # the product of value lists (last path varies fastest)
      "case_types.spoor4.hours_per_case*": [0.9, 1.0, 1.1]     # PATH* scales, PATH+ adds
      staff_pools.asylum.max_hires: [10, 25, 40]               # PATH sets
    samples: 200                        # draws from the distributions below
    distributions:
      - name: inflow_factor
        lognormal: {mu: 0.0285, sigma: 0.4956}
        apply: ["case_types.spoor4.inflow*"]
    packages: [none, letter]            # every variant above once per package (a product)

Every change goes through :func:`planner.instance.overrides.apply_change`, so a batch can change exactly
what ``planner solve --set`` can; a package (or a single measure) is put in force after the
changes, as ``planner solve --set ... --package P`` does. It travels with the variant as a change
of the pseudo-path :data:`PACKAGE_PATH` (``planner.solver.persistent.Resolver.variant`` applies it).
:func:`expand` turns the file into a list of :class:`ScenarioSpec` (one per variant, in a fixed
order with fixed ids), after :func:`check_size` has counted them from the axis sizes (at most
:data:`MAX_VARIANTS`). Before the first solve, :func:`check_variants` applies every variant to the
base instance and runs every check a solve runs before building (no model is built; about 5 ms a
variant on nl-2022), so ``planner batch`` and ``--list`` stop on the first bad variant with a
one-line error naming the batch file and the field (``scenarios.3.changes.0``) instead of
storing it as ``bad_input``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from planner.errors import InputError
from planner.instance.load import check_before_build
from planner.instance.loading import validate_dict, validate_mapping
from planner.instance.measures import PACKAGE_PATH, apply_changes, package_measures
from planner.instance.overrides import parse_assignment
from planner.instance.schema import Strict
from planner.instance.uncertainty import quantile_value
from planner.instance.yamlio import load_yaml

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.+=-]*$"

MAX_VARIANTS = 100_000
"""The most variants a batch may have (scenarios + grid points + samples, times the packages),
checked from the counts and the axis sizes before anything is expanded: each variant is held in
memory (about a kilobyte) and solved (seconds for nl-2022), so a larger batch is a mistake or
wants splitting."""

FULL_CHECK_MAX = 20_000
"""Up to this many variants, :func:`check_variants` applies and validates every one before the
first solve (about 6 ms a variant on nl-2022); beyond, every variant that brings a change value not
seen before, up to this many, and the path, operation and value type of every change."""


class ChangeItem(Strict):
    """One change: ``{path, op, value, from_period}`` (op: set, scale or add)."""

    path: str = Field(min_length=1, description="Dotted path into the instance, e.g. case_types.spoor4.hours_per_case.")
    op: Literal["set", "scale", "add"] = "set"
    value: Any = Field(description="The new value (set), the factor (scale) or the amount (add).")
    from_period: str | None = Field(None, description="Apply to a series from this period on (earlier periods keep their value).")


class Scenario(Strict):
    name: str = Field(pattern=NAME, description="Unique name of the scenario (letters, digits, _ . + = -).")
    description: str = ""
    changes: list[ChangeItem | str] = Field(default_factory=list, description="Changes in order; a string is PATH=VALUE, PATH*=FACTOR or PATH+=AMOUNT.")
    package: str | None = Field(None, min_length=1, description="A package of the base instance's measures (or one measure, or none) put in force after the changes.")


class GridAxis(Strict):
    path: str = Field(min_length=1)
    op: Literal["set", "scale", "add"] = "set"
    values: list[Any] = Field(min_length=1)
    from_period: str | None = None


class Target(Strict):
    """Where a draw goes: the drawn number is the value of this change."""

    path: str = Field(min_length=1)
    op: Literal["set", "scale", "add"] = "scale"
    from_period: str | None = None


Finite = Annotated[float, Field(allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class LogNormal(Strict):
    """exp(N(mu, sigma^2)): mu and sigma of the logarithm."""

    mu: Finite
    sigma: Annotated[float, Field(ge=0)]


class Normal(Strict):
    mean: Finite
    sd: Annotated[float, Field(ge=0)]


class Uniform(Strict):
    low: Finite
    high: Finite


class Triangular(Strict):
    low: Finite
    mode: Finite
    high: Finite


class Quantiles(Strict):
    """An empirical distribution from a forecast's quantiles: ``probabilities`` (increasing, in
    [0, 1]) and the ``values`` at them (non-decreasing). A draw is ``u ~ U(0, 1)`` mapped through
    the piecewise-linear quantile function; below the first probability it is the first value,
    above the last the last (a forecast band of p10 / p50 / p90 says nothing of the tails beyond:
    give p0 and p100 to widen them)."""

    probabilities: list[Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]] = Field(min_length=2)
    values: list[Finite] = Field(min_length=2)


class Choice(Strict):
    values: list[Any] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0)]] | None = None


KINDS = ("lognormal", "normal", "uniform", "triangular", "quantiles", "choice")


class Distribution(Strict):
    """A random variable drawn once per sample and applied as the value of its ``apply`` changes.

    Give exactly one of ``lognormal``, ``normal``, ``uniform``, ``triangular``, ``quantiles``,
    ``choice``.
    """

    name: str = Field(pattern=NAME)
    description: str = Field("", description="Where the distribution comes from (keep the source next to the numbers).")
    lognormal: LogNormal | None = None
    normal: Normal | None = None
    uniform: Uniform | None = None
    triangular: Triangular | None = None
    quantiles: Quantiles | None = None
    choice: Choice | None = None
    apply: list[Target | str] = Field(min_length=1, description="Changes that take the draw as value; a string is PATH (set), PATH* (scale) or PATH+ (add).")

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of {', '.join(KINDS)} (got {', '.join(kinds) or 'none'})")
        if self.uniform is not None and self.uniform.high < self.uniform.low:
            raise ValueError("uniform: high must be >= low")
        if self.triangular is not None and not self.triangular.low <= self.triangular.mode <= self.triangular.high:
            raise ValueError("triangular: expected low <= mode <= high")
        if self.quantiles is not None:
            q = self.quantiles
            if len(q.probabilities) != len(q.values):
                raise ValueError("quantiles: one value per probability")
            if any(b <= a for a, b in zip(q.probabilities, q.probabilities[1:])):
                raise ValueError("quantiles: the probabilities must increase")
            if any(b < a for a, b in zip(q.values, q.values[1:])):
                raise ValueError("quantiles: the values must not decrease (a quantile function never does)")
        if self.choice is not None and self.choice.weights is not None:
            if len(self.choice.weights) != len(self.choice.values):
                raise ValueError("choice: one weight per value")
            if sum(self.choice.weights) <= 0:
                raise ValueError("choice: the weights must add up to more than 0")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)


class Batch(Strict):
    """A batch of what-ifs on one base instance."""

    base: str = Field(min_length=1, description="The base instance file, relative to the batch file.")
    name: str | None = Field(None, pattern=NAME, description="Default: the batch file's name without .yaml.")
    description: str = ""
    seed: int | None = Field(None, ge=0, description="Seed of the random draws (required with samples).")
    objective: Literal["weighted", "lexicographic"] | None = Field(None, description="Default: the instance's objective.mode.")
    time_limit: Positive | None = Field(None, description="Seconds per solver call.")
    mip_gap: Annotated[float, Field(ge=0)] | None = Field(None, description="Relative MIP gap at which to stop (0: prove optimality).")
    relax_integers: bool = Field(False, description="Solve the LP relaxation: binaries in [0, 1], integer hires continuous.")
    polish_cost: Positive | None = Field(
        None,
        description="Seconds to minimise each variant's cost with its outcomes held, as planner solve --polish-cost "
        "(cost only breaks ties in the weighted objective); each variant is then built and solved anew.",
    )
    scenarios: list[Scenario] = Field(default_factory=list)
    grid: dict[str, list[Any]] | list[GridAxis] | None = Field(
        None, description="The product of value lists: {PATH: [...]} (PATH* scales, PATH+ adds) or a list of {path, op, values, from_period}."
    )
    samples: int = Field(0, ge=0, le=MAX_VARIANTS, description="Number of random variants drawn from the distributions.")
    distributions: list[Distribution] = Field(default_factory=list)
    packages: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None,
        min_length=1,
        description="Solve every variant once per package (a product), to compare measure packages across the same "
        "scenarios; 'none' is the instance without a package. Default: the base instance as it is.",
    )

    @model_validator(mode="after")
    def _consistent(self):
        if not self.scenarios and not self.grid and not self.samples:
            raise ValueError("a batch needs scenarios, a grid or samples")
        if self.samples and not self.distributions:
            raise ValueError("samples need distributions to draw from")
        if self.distributions and not self.samples:
            raise ValueError("distributions are drawn only with samples: N")
        if self.samples and self.seed is None:
            raise ValueError("samples need a seed, so that the batch draws the same values every time")
        names = [d.name for d in self.distributions]
        if len(set(names)) != len(names):
            raise ValueError("distribution names must be unique")
        if self.packages is not None:
            if len(set(self.packages)) != len(self.packages):
                raise ValueError("packages must be unique")
            if any(sc.package is not None for sc in self.scenarios):
                raise ValueError("give the scenarios' own package or the batch's packages, not both")
        return self


@dataclass
class ScenarioSpec:
    """One variant: id (position in the batch), name, group, changes (dicts), its grid point or
    draws, and its package (``None``: the base instance's measures as they are)."""

    id: int
    name: str
    group: str  # scenario | grid | sample
    changes: list[dict]
    point: dict = field(default_factory=dict)
    coords: tuple = ()  # grid points: the index of the value on each axis
    package: str | None = None

    def overrides(self) -> list[dict]:
        """The changes as stored: path, op, value (+ from_period)."""
        return [{k: v for k, v in ch.items() if k != "field" and v is not None} for ch in self.changes]


_SUFFIX = {"*": "scale", "+": "add"}
_SUFFIX_OF = {"set": "", "scale": "*", "add": "+"}


def _path_op(text: str) -> tuple[str, str]:
    """``PATH*`` -> (PATH, scale), ``PATH+`` -> (PATH, add), ``PATH`` -> (PATH, set)."""
    text = text.strip()
    if text and text[-1] in _SUFFIX:
        return text[:-1].strip(), _SUFFIX[text[-1]]
    return text, "set"


def _check_path(path: str, field: str) -> None:
    if not path or any(not part for part in path.split(".")):
        raise InputError(field, f"expected a dotted path like case_types.spoor4.inflow, got '{path}'")


def _change(item, field: str) -> dict:
    if isinstance(item, str):
        path, op, value = parse_assignment(item, field)
        _check_path(path, field)
        return {"path": path, "op": op, "value": value, "from_period": None, "field": field}
    _check_path(item.path, f"{field}.path")
    if item.value is None:
        raise InputError(f"{field}.value", "required field is missing")
    return {"path": item.path, "op": item.op, "value": item.value, "from_period": item.from_period, "field": field}


def _package_change(package: str, field: str) -> dict:
    return {"path": PACKAGE_PATH, "op": "set", "value": package, "from_period": None, "field": field}


def _grid_axes(grid) -> list[GridAxis]:
    if isinstance(grid, list):
        return grid
    axes = []
    for key, values in grid.items():
        path, op = _path_op(key)
        if not values:
            raise InputError(f"grid.{key}", "expected at least one value")
        axes.append(GridAxis(path=path, op=op, values=values))
    return axes


def _draw(dist: Distribution, rng: np.random.Generator, n: int) -> list:
    if dist.lognormal is not None:
        return rng.lognormal(dist.lognormal.mu, dist.lognormal.sigma, n).tolist()
    if dist.normal is not None:
        return rng.normal(dist.normal.mean, dist.normal.sd, n).tolist()
    if dist.uniform is not None:
        return rng.uniform(dist.uniform.low, dist.uniform.high, n).tolist()
    if dist.triangular is not None:
        t = dist.triangular
        if t.low == t.high:
            return [float(t.low)] * n
        return rng.triangular(t.low, t.mode, t.high, n).tolist()
    if dist.quantiles is not None:
        q = dist.quantiles
        return quantile_value(q.probabilities, q.values, rng.uniform(0.0, 1.0, n)).tolist()
    c = dist.choice
    p = None if c.weights is None else np.asarray(c.weights, dtype=float) / sum(c.weights)
    picks = rng.choice(len(c.values), size=n, p=p)
    return [c.values[i] for i in picks]


def check_size(batch: Batch) -> int:
    """The number of variants, from the counts and axis sizes (nothing expanded); more than
    :data:`MAX_VARIANTS` is an :class:`InputError` naming the part that makes it so large."""
    sizes = [len(ax.values) for ax in _grid_axes(batch.grid)] if batch.grid else []
    parts = {"scenarios": len(batch.scenarios), "grid": math.prod(sizes) if sizes else 0, "samples": batch.samples}
    per_package = sum(parts.values())
    total = per_package * len(batch.packages or [None])
    if total > MAX_VARIANTS:
        field = max(parts, key=parts.get)
        what = {
            "scenarios": f"{parts['scenarios']:,} scenarios",
            "grid": f"{parts['grid']:,} grid points ({' x '.join(str(n) for n in sizes)} values)",
            "samples": f"{parts['samples']:,} samples",
        }[field]
        times = f" times {len(batch.packages)} packages" if batch.packages and len(batch.packages) > 1 else ""
        raise InputError(
            field,
            f"the batch has {total:,} variants ({what}{times}); expected at most {MAX_VARIANTS:,}: "
            "split it into several batches or use fewer values",
        )
    return total


def expand(batch: Batch) -> list[ScenarioSpec]:
    """Every variant of the batch, in order: explicit scenarios, grid points, samples.

    Grid points are the product of the axes' values (the last axis varies fastest); samples draw
    each distribution's ``samples`` values at once from ``numpy.random.default_rng(seed)``, in
    the order the distributions are listed, so adding a distribution at the end leaves the draws
    of the others unchanged.
    """
    check_size(batch)
    out: list[ScenarioSpec] = []
    for i, sc in enumerate(batch.scenarios):
        changes = [_change(ch, f"scenarios.{i}.changes.{j}") for j, ch in enumerate(sc.changes)]
        if sc.package is not None:
            changes.append(_package_change(sc.package, f"scenarios.{i}.package"))
        out.append(ScenarioSpec(len(out), sc.name, "scenario", changes, package=sc.package))
    if batch.grid:
        axes = _grid_axes(batch.grid)
        for a, axis in enumerate(axes):
            _check_path(axis.path, f"grid.{a}.path")
        labels = [ax.path + _SUFFIX_OF[ax.op] for ax in axes]
        for g, coords in enumerate(itertools.product(*(range(len(ax.values)) for ax in axes))):
            combo = [ax.values[i] for ax, i in zip(axes, coords)]
            changes = [
                {"path": ax.path, "op": ax.op, "value": v, "from_period": ax.from_period, "field": f"grid.{label}"}
                for ax, v, label in zip(axes, combo, labels)
            ]
            out.append(ScenarioSpec(len(out), f"grid-{g:04d}", "grid", changes, dict(zip(labels, combo)), coords))
    if batch.samples:
        rng = np.random.default_rng(batch.seed)
        draws = {dist.name: _draw(dist, rng, batch.samples) for dist in batch.distributions}
        for s in range(batch.samples):
            changes, point = [], {}
            for dist in batch.distributions:
                value = draws[dist.name][s]
                point[dist.name] = value
                for j, target in enumerate(dist.apply):
                    field = f"distributions.{dist.name}.apply.{j}"
                    if isinstance(target, str):
                        path, op = _path_op(target)
                        from_period = None
                    else:
                        path, op, from_period = target.path, target.op, target.from_period
                    _check_path(path, field)
                    changes.append({"path": path, "op": op, "value": value, "from_period": from_period, "field": field})
            out.append(ScenarioSpec(len(out), f"sample-{s:04d}", "sample", changes, point))
    for s in out:
        for ch in s.changes:
            if ch["path"] == PACKAGE_PATH:
                if ch["op"] != "set" or not isinstance(ch["value"], str) or not ch["value"]:
                    raise InputError(ch["field"], f"a package is set by its name (package=letter), got {ch['op']} {ch['value']!r}")
                s.package = ch["value"]
    if batch.packages and any(s.package is not None for s in out):
        raise InputError("packages", "the variants set a package themselves (a grid axis or draw of 'package'); give one or the other")
    if batch.packages:
        out = [
            ScenarioSpec(
                p * len(out) + s.id,
                f"{s.name}@{package}",
                s.group,
                s.changes + [_package_change(package, f"packages.{p}")],
                s.point,
                s.coords,
                package,
            )
            for p, package in enumerate(batch.packages)
            for s in out
        ]
    names = [s.name for s in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError("scenarios", f"scenario names must be unique; repeated: {', '.join(dupes[:5])}")
    return out


NEAREST_NEIGHBOUR_MAX = 20_000
"""Up to this many samples are chained by nearest neighbour (quadratic time); more are sorted."""


def dispatch_order(specs: list[ScenarioSpec]) -> list[ScenarioSpec]:
    """The order in which variants go to the workers: each close to the one before.

    A persistent re-solve starts from the previous variant's basis, so it needs fewer simplex
    iterations when the previous variant was similar. Explicit scenarios keep their order; grid
    points go in a serpentine (the inner axes turn back at their ends, so neighbours differ in one
    value of one axis); samples are chained by nearest neighbour in their draws (each draw by its
    rank among the samples; a choice by the position of its value), starting at the smallest
    first draw. With packages, each package's variants in turn, in that order. Ids, names and
    results do not depend on this order.
    """
    packages = list(dict.fromkeys(s.package for s in specs))
    if len(packages) > 1:
        return [s for p in packages for s in dispatch_order([s for s in specs if s.package == p])]
    scenarios = [s for s in specs if s.group == "scenario"]
    grid = {s.coords: s for s in specs if s.group == "grid"}
    samples = [s for s in specs if s.group == "sample"]
    ordered = list(scenarios)
    if grid:
        sizes = [max(c[i] for c in grid) + 1 for i in range(len(next(iter(grid))))]
        ordered += [grid[c] for c in _serpentine(sizes)]
    return ordered + [samples[i] for i in _chain(samples)]


def _serpentine(sizes: list[int]):
    if not sizes:
        yield ()
        return
    inner = list(_serpentine(sizes[1:]))
    for i in range(sizes[0]):
        for rest in inner if i % 2 == 0 else reversed(inner):
            yield (i, *rest)


def _chain(samples: list[ScenarioSpec]) -> list[int]:
    if len(samples) < 3:
        return list(range(len(samples)))
    columns = []
    for name in samples[0].point:
        values = [s.point[name] for s in samples]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            columns.append(np.asarray(values, dtype=float))
        else:
            codes = {repr(v): i for i, v in enumerate(dict.fromkeys(repr(v) for v in values))}
            columns.append(np.asarray([codes[repr(v)] for v in values], dtype=float))
    # ranks, not values: a long-tailed draw (lognormal) would otherwise squeeze its bulk together
    x = np.column_stack([np.argsort(np.argsort(c, kind="stable"), kind="stable") for c in columns]) / len(samples)
    if len(samples) > NEAREST_NEIGHBOUR_MAX:
        return list(np.lexsort(x.T[::-1]))
    left = np.ones(len(samples), dtype=bool)
    order = [int(np.argmin(x[:, 0]))]
    left[order[0]] = False
    for _ in range(len(samples) - 1):
        candidates = np.flatnonzero(left)
        j = int(candidates[np.argmin(((x[candidates] - x[order[-1]]) ** 2).sum(axis=1))])
        order.append(j)
        left[j] = False
    return order


def load_batch(path) -> tuple[Batch, Path, list[ScenarioSpec]]:
    """Read, validate and expand a batch file: (batch, base instance path, variants).

    Errors are one-line :class:`InputError` naming the batch file and the field.
    """
    path = Path(path)
    raw = load_yaml(path, "batch file")
    try:
        batch = validate_mapping(Batch, raw)
        base = path.parent / batch.base
        if not base.is_file():
            what = "not found" if not base.exists() else "not a file"
            raise InputError("base", f"file '{batch.base}' {what} (relative to the batch file)")
        return batch, base, expand(batch)
    except InputError as e:
        raise e.with_file(str(path)) from None


def check_packages(specs: list[ScenarioSpec], base) -> None:
    """Every package a variant puts in force exists in the base instance (``base``: its
    InstanceData); else the one-line error names the batch field that asks for it."""

    seen = set()
    for s in specs:
        for ch in s.changes:
            if ch["path"] == PACKAGE_PATH and ch["value"] not in seen:
                try:
                    package_measures(base, ch["value"])
                except InputError as e:
                    raise InputError(ch["field"], e.message) from None
                seen.add(ch["value"])


def _variant_field(s: ScenarioSpec) -> str:
    """The batch field a variant comes from: ``scenarios.3``, ``grid`` or ``samples``."""
    for ch in s.changes:
        if ch["field"].startswith("scenarios."):
            return ".".join(ch["field"].split(".")[:2])
    return {"scenario": "scenarios", "grid": "grid", "sample": "samples"}[s.group]


def _blame(s: ScenarioSpec, e: InputError) -> InputError:
    """``e`` (raised while applying or validating variant ``s``) as an error of the batch file:
    named by the change that asks for it (the change of the field the instance check names, or
    the change itself), with the variant's name."""
    fields = [ch["field"] for ch in s.changes]
    if any(e.field == f or e.field.startswith(f + ".") for f in fields):
        return InputError(e.field, f"{e.message} (variant '{s.name}')")
    for ch in reversed(s.changes):  # the last change of that instance field made it so
        path = ch["path"]
        if e.field and (e.field == path or e.field.startswith(path + ".") or e.field.startswith(path + " ") or path.startswith(e.field + ".")):
            return InputError(ch["field"], f"variant '{s.name}' gives {e.field}: {e.message}")
    where = f"{e.field}: " if e.field else ""
    return InputError(_variant_field(s), f"variant '{s.name}' gives an instance that is refused: {where}{e.message}")


def check_variant(s: ScenarioSpec, base_raw: dict) -> None:
    """Apply variant ``s`` to the base instance and run every check a solve runs before it
    builds a model (validation, series, references, magnitudes); no model is built."""
    try:
        check_before_build(validate_dict(apply_changes(base_raw, s.changes)))
    except InputError as e:
        raise _blame(s, e) from None


def check_variants(specs: list[ScenarioSpec], base_raw: dict, base=None) -> int:
    """Check every variant before the first solve, so that ``planner batch`` and ``--list`` stop on
    the first bad one (exit 2, naming the batch field) instead of storing it as ``bad_input``.

    ``base`` (the base instance validated) gets the checks a solve runs first. Then, in variant
    order: each change's path, operation and value type on the base instance (one check per
    distinct path, operation, period and type), and each variant applied and validated in full
    (every one up to :data:`FULL_CHECK_MAX` variants; beyond, those that bring a value not seen in
    a variant checked before, at most that many). Returns the number of variants checked in full.
    """
    if base is not None:
        check_before_build(base)
    full = len(specs) <= FULL_CHECK_MAX
    shapes, values, checked = set(), set(), 0
    for s in specs:
        for ch in s.changes:
            shape = (ch["path"], ch["op"], ch.get("from_period"), type(ch["value"]).__name__)
            if shape not in shapes:
                shapes.add(shape)
                try:
                    apply_changes(base_raw, [ch])
                except InputError as e:
                    raise _blame(s, e) from None
        keys = {(ch["path"], ch["op"], ch.get("from_period"), repr(ch["value"])) for ch in s.changes}
        if full or (not keys <= values and checked < FULL_CHECK_MAX):
            check_variant(s, base_raw)
            checked += 1
            values |= keys
    return checked


def batch_key(base_raw: dict, specs: list[ScenarioSpec], options: dict) -> str:
    """A fingerprint of what a batch computes: base instance, variants, solver options."""
    text = json.dumps(
        {"base": base_raw, "scenarios": [(s.id, s.name, s.overrides()) for s in specs], "options": options},
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(text.encode()).hexdigest()
