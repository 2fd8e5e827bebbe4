"""Load stage: YAML file -> validated :class:`Instance` -> resolved numbers (:class:`InstanceData`).

Everything that can be wrong with input is found here, before a model is built, and reported as
an :class:`~planner.errors.InputError` naming the file, the field path and what was expected.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from planner.errors import InputError
from planner.instance.schema import Instance
from planner.instance.timegrid import TimeGrid, make_grid, valid_label
from planner.instance.yamlio import load_yaml, read_text

MAX_CSV_BYTES = 20 * 1024 * 1024


def pydantic_error(err: ValidationError, raw) -> InputError:
    """The first pydantic error as one line: dotted field path and the expectation.

    pydantic's location mixes the user's keys with its own labels for union members and
    validators (``float``, ``list[float]``, ``function-after[...]``); walking the raw input keeps
    exactly the parts that are the user's keys or list positions.
    """
    first = err.errors()[0]
    parts, node = [], raw
    for part in first["loc"]:
        if isinstance(node, dict) and part in node:
            parts.append(str(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            parts.append(str(part))
            node = node[part]
        elif part == "[key]":
            continue
        elif isinstance(node, dict) and not isinstance(part, int) and first["type"] in ("missing", "extra_forbidden"):
            parts.append(str(part))  # a missing field is not in the input, an extra one is the user's typo
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field (not in the instance format; see `planner schema`)"
    elif "[key]" in first["loc"]:
        msg = f"invalid key: {msg}"
    got = first.get("input")
    if first["type"] not in ("missing", "extra_forbidden", "value_error") and not isinstance(got, (dict, list)):
        msg += f" (got {repr(got)[:60]})"
    return InputError(".".join(parts), msg)


@dataclass
class InstanceData:
    """A validated instance with every series resolved to one value per period."""

    instance: Instance
    grid: TimeGrid
    source: Path | None
    series: dict[str, list[float]] = field(default_factory=dict)

    def s(self, path: str) -> list[float]:
        return self.series[path]

    @property
    def horizon_T(self) -> int:
        """Periods reported (the horizon); ``grid.T`` adds the look-ahead tail that is solved too."""
        return self.instance.horizon.periods

    @property
    def horizon_labels(self) -> list[str]:
        return list(self.grid.labels[: self.horizon_T])

    @property
    def model_T(self) -> int:
        """Periods of the model: the horizon and its look-ahead tail (also after :meth:`horizon_only`)."""
        return self.instance.horizon.periods + self.instance.horizon.tail_periods

    def horizon_only(self) -> "InstanceData":
        """The same instance on the horizon's periods only (the grid and every series cut), for
        what looks at a run's reported periods (the recount); ``model_T`` still says how long the
        model ran."""
        H = self.horizon_T
        if self.grid.T == H:
            return self
        grid = make_grid(self.grid.grain, self.grid.labels[0], H)
        return InstanceData(self.instance, grid, self.source, {k: v[:H] for k, v in self.series.items()})

    def waiting_weight(self, k: str) -> float:
        """Objective weight of a person-month waiting for a first decision of case type ``k``."""
        ct = self.instance.case_types[k]
        where = ct.waits_where or ("coa" if ct.waits_in_coa else "abroad")
        return self.instance.objective.waiting_person_month.get(where, 0.0)

    @property
    def name(self) -> str:
        return self.instance.name

    # --- derived quantities, shared by the model, the simulation and the reports -----------

    def quota_shares(self) -> dict[str, float]:
        regions = self.instance.regions
        if all(r.quota_share is not None for r in regions.values()):
            return {r: regions[r].quota_share for r in regions}
        total = sum(r.population for r in regions.values())
        return {r: regions[r].population / total for r in regions}

    def case_start_cohorts(self, k: str) -> list[float]:
        """Start stock of case type k by age (index 0: received in the period before the start)."""
        ct = self.instance.case_types[k]
        if ct.start_stock_by_age is not None:
            return list(ct.start_stock_by_age)
        return fifo_cohorts(ct.start_stock, ct.pre_horizon_inflow or [])

    def case_pre_arrivals(self, k: str) -> list[float]:
        """Cases that ARRIVED per period before the start, by age (index 0: the period before).

        With ``pre_horizon_inflow`` these are the full arrivals (the start stock holds the newest
        of them, FIFO); with ``start_stock_by_age`` only what is left is known, so that is used.
        The FIFO window counts arrivals: a partly decided oldest cohort is young for the share
        ``min(left, f x arrived)``, which is what ``overdue >= stock - young arrivals`` gives.
        """
        ct = self.instance.case_types[k]
        if ct.start_stock_by_age is not None:
            return list(ct.start_stock_by_age)
        return list(reversed(ct.pre_horizon_inflow or []))

    def placement_pre_arrivals(self) -> list[float]:
        """National permit holders linked per period before the start, by age (see case_pre_arrivals)."""
        p = self.instance.placement
        if p.start_waiting_by_age is not None:
            return list(p.start_waiting_by_age)
        return list(reversed(p.pre_horizon_linked or []))

    def placement_start_cohorts(self) -> list[float]:
        """National permit holders waiting at the start, by age (split by quota share per region)."""
        p = self.instance.placement
        if p.start_waiting_by_age is not None:
            return list(p.start_waiting_by_age)
        return fifo_cohorts(p.start_waiting, p.pre_horizon_linked or [])

    def deadline_periods(self, k: str) -> float:
        return self.grid.months_to_periods(self.instance.case_types[k].deadline_months)

    def placement_norm_periods(self) -> float:
        return self.instance.placement.norm_weeks * 7 / 365.25 * 12 * self.grid.periods_per_month

    def training_periods(self, p: str) -> int:
        return self.grid.whole_periods(self.instance.staff_pools[p].training_months)

    def follow_on_lag(self, k: str) -> int:
        return self.grid.whole_periods(self.instance.case_types[k].follow_on.lag_months)

    def appeal_periods(self, k: str) -> int:
        """Periods from a rejection to the court's decision (at least one; checked on load)."""
        return self.grid.whole_periods(self.instance.case_types[k].appeal.months)

    def rejections_to_lag(self, k: str, j: str) -> int:
        """Periods from a rejection of ``k`` until it enters type ``j`` (at least one; checked on load)."""
        return self.grid.whole_periods(self.instance.case_types[k].rejections_to[j].lag_months)

    def arrival_lag(self, k: str) -> int:
        """Periods from a grant of ``k`` until the granted persons arrive."""
        return self.grid.whole_periods(self.instance.case_types[k].arrival.lag_months)

    def departure_lag(self) -> int:
        """Periods from entering the departure track until departures start."""
        return self.grid.whole_periods(self.instance.reception.departure_lag_months)

    def pre_decided(self, k: str, t: int) -> float:
        """Cases of type ``k`` decided in period ``t < 0`` (``pre_horizon_decided``; 0 before the list)."""
        before = self.instance.case_types[k].pre_horizon_decided
        j = len(before) + t
        return float(before[j]) if 0 <= j < len(before) else 0.0

    def location_first_period(self, loc: str) -> int:
        """First period a candidate can serve: decided in period 0 at the earliest."""
        lt = self.instance.location_types[self.instance.locations[loc].type]
        return self.grid.whole_periods(lt.lead_months)

    def location_min_open(self, loc: str) -> int:
        lt = self.instance.location_types[self.instance.locations[loc].type]
        return max(1, self.grid.whole_periods(lt.min_open_months))

    def existing_last_period(self, loc: str) -> int:
        """Last period (index) an existing location is open as planned; -1 if closed from the start."""
        until = self.instance.locations[loc].open_until
        if until is None:
            return self.grid.T - 1
        return max(-1, min(self.grid.T - 1, self.grid.offset(until)))

    def measure_costs(self) -> list[float]:
        """EUR per period of the measures in force: one-off in the start period, then per period."""
        out = [0.0] * self.grid.T
        for name in self.instance.in_force:
            m = self.instance.measures[name]
            start = self.grid.index(m.start) if m.start else 0
            out[start] += m.eur_one_off
            for t in range(start, self.grid.T):
                out[t] += m.eur_per_period
        return out

    def per_period_rate(self, monthly_share: float) -> float:
        """A monthly share (attrition, departure) as a share per period: 1 - (1 - r)^(months)."""
        return 1 - (1 - monthly_share) ** self.grid.months_per_period


def fifo_cohorts(stock: float, pre_inflow: list[float]) -> list[float]:
    """Age profile of a FIFO stock: it holds the newest arrivals.

    Walk back from the most recent pre-horizon period and take its inflow until the stock is
    filled; what is left over is older than every listed period (age = len(pre_inflow)).
    """
    cohorts, left = [], stock
    for amount in reversed(pre_inflow):
        take = min(amount, left)
        cohorts.append(take)
        left -= take
    if left > 1e-9:
        cohorts.append(left)
    return cohorts


# --- series --------------------------------------------------------------------------------


def resolve_series(value, path: str, grid: TimeGrid, base: Path | None, horizon: int | None = None, extend: str = "none") -> list[float]:
    """A series as one float per period of the grid (the horizon and its look-ahead tail).

    A list (or a CSV column) gives the horizon's ``horizon`` periods at least; the periods after
    it come from the list if it gives them, else from the ``extend`` rule (:func:`extend_values`).
    """
    T = grid.T
    horizon = T if horizon is None else horizon
    if isinstance(value, str):
        return extend_values(_csv_series(value, path, grid, base, horizon, extend), path, grid, horizon, extend)
    if isinstance(value, list):
        return extend_values([float(v) for v in value], path, grid, horizon, extend)
    return [float(value)] * T


def extend_values(values: list[float], path: str, grid: TimeGrid, horizon: int, extend: str) -> list[float]:
    """``values`` continued to ``grid.T`` periods (the horizon and its tail) by ``extend``.

    A list of ``grid.T`` values is taken as it is; ``none`` accepts nothing else.
    ``repeat_last_year``: ``x[t] = x[t - P]`` with P the periods of a year (12 months, 52 weeks),
    or of the whole list if it is shorter; ``hold_last``: ``x[t] = x[t - 1]``. A list longer than
    ``grid.T`` is an error.
    """
    T, n = grid.T, len(values)
    if n == T:
        return values
    if extend == "none" or n > T or n == 0:
        want = "one per period" if horizon == T else "one per period of the horizon and its tail"
        hint = "; or set horizon.extend" if extend == "none" and 0 < n < T else ""
        raise InputError(path, f"expected {T} values ({want}), got {n}{hint}")
    year = 12 if grid.grain == "month" else 52
    lag = min(year, n) if extend == "repeat_last_year" else 1
    out = list(values)
    while len(out) < T:
        out.append(out[-lag])
    return out


def _csv_series(ref: str, path: str, grid: TimeGrid, base: Path | None, horizon: int | None = None, extend: str = "none") -> list[float]:
    name, _, column = ref.partition(":")
    if base is None:
        raise InputError(path, f"a CSV series ('{ref}') needs an instance file to be relative to")
    folder = base.resolve()
    target = (folder / name).resolve()
    if not target.is_relative_to(folder):
        raise InputError(path, f"CSV file '{name}' leaves the instance's folder; expected a file next to the instance")
    try:
        text = read_text(target, "CSV file")
    except InputError as e:
        raise InputError(path, f"{e.message} ({name})") from None
    try:
        from io import StringIO

        frame = pd.read_csv(StringIO(text), dtype={"period": str})
    except (ValueError, pd.errors.ParserError) as e:
        raise InputError(path, f"cannot read CSV '{name}': {str(e).splitlines()[0]}") from None
    if "period" not in frame.columns:
        raise InputError(path, f"CSV '{name}' needs a 'period' column")
    values = [c for c in frame.columns if c != "period"]
    if not column:
        if len(values) != 1:
            raise InputError(path, f"CSV '{name}' has several value columns; name one as '{name}:column'")
        column = values[0]
    if column not in frame.columns:
        raise InputError(path, f"CSV '{name}' has no column '{column}'")
    periods = [str(p).strip() for p in frame["period"]]
    lengths = range(1, grid.T + 1) if extend != "none" else {grid.T if horizon is None else horizon, grid.T}
    if len(periods) not in lengths or periods != list(grid.labels[: len(periods)]):
        last = grid.labels[(grid.T if horizon is None else horizon) - 1]
        raise InputError(path, f"CSV '{name}' must list the horizon's periods {grid.labels[0]}..{last} in order, one per row")
    out = pd.to_numeric(frame[column], errors="coerce").astype(float).tolist()
    for label, v in zip(periods, out):
        if not math.isfinite(v) or v < 0:
            raise InputError(path, f"CSV '{name}' period {label}: expected a finite number >= 0")
    return out


def _series_fields(inst: Instance):
    """Every series field of the instance as (dotted path, value)."""
    for r, reg in inst.regions.items():
        if reg.housing_supply is not None:
            yield f"regions.{r}.housing_supply", reg.housing_supply
        yield f"regions.{r}.accelerated_capacity", reg.accelerated_capacity
        yield f"regions.{r}.crisis_capacity", reg.crisis_capacity
        if reg.max_new_places is not None:
            yield f"regions.{r}.max_new_places", reg.max_new_places
    for k, ct in inst.case_types.items():
        yield f"case_types.{k}.inflow", ct.inflow
        yield f"case_types.{k}.hours_per_case", ct.hours_per_case
        yield f"case_types.{k}.outsourcing_capacity", ct.outsourcing_capacity
        if ct.planned_production is not None:
            yield f"case_types.{k}.planned_production", ct.planned_production
        if ct.appeal is not None and ct.appeal.court_capacity is not None:
            yield f"case_types.{k}.appeal.court_capacity", ct.appeal.court_capacity
    for p, pool in inst.staff_pools.items():
        yield f"staff_pools.{p}.max_hires", pool.max_hires
        yield f"staff_pools.{p}.external_fte_max", pool.external_fte_max
        if pool.planned_hires is not None:
            yield f"staff_pools.{p}.planned_hires", pool.planned_hires
        for q, rt in pool.retrain_to.items():
            yield f"staff_pools.{p}.retrain_to.{q}.max_fte", rt.max_fte
    for g, s in inst.reception.other_groups.items():
        yield f"reception.other_groups.{g}", s
    if inst.reception.max_new_places is not None:
        yield "reception.max_new_places", inst.reception.max_new_places
    yield "placement.housing_supply", inst.placement.housing_supply


# --- cross-references ----------------------------------------------------------------------


def check_references(inst: Instance, grid: TimeGrid) -> None:
    """Checks that need more than one field: references, periods, mutually exclusive fields."""
    for p, pool in inst.staff_pools.items():
        for q in pool.retrain_to:
            if q not in inst.staff_pools or q == p:
                raise InputError(f"staff_pools.{p}.retrain_to.{q}", f"expected another staff pool, one of {sorted(set(inst.staff_pools) - {p})}")
    for k, ct in inst.case_types.items():
        if ct.pool not in inst.staff_pools:
            raise InputError(f"case_types.{k}.pool", f"unknown staff pool '{ct.pool}'; expected one of {sorted(inst.staff_pools)}")
        if ct.start_stock_by_age is not None and (ct.start_stock > 0 or ct.pre_horizon_inflow is not None):
            raise InputError(f"case_types.{k}.start_stock_by_age", "give either start_stock_by_age or start_stock (+ pre_horizon_inflow), not both")
        if ct.start_stock > 0 and ct.pre_horizon_inflow is None:
            raise InputError(
                f"case_types.{k}.pre_horizon_inflow",
                "required when start_stock > 0: the stock's age decides which cases are overdue (or give start_stock_by_age)",
            )
        if ct.follow_on is not None:
            for src in ct.follow_on.source_types:
                if src not in inst.case_types:
                    raise InputError(f"case_types.{k}.follow_on.source_types", f"unknown case type '{src}'; expected one of {sorted(inst.case_types)}")
    check_follow_on_cycles(inst, grid)
    check_return_flows(inst, grid)
    for loc_id, loc in inst.locations.items():
        if loc.region not in inst.regions:
            raise InputError(f"locations.{loc_id}.region", f"unknown region '{loc.region}'")
        if loc.type not in inst.location_types:
            raise InputError(f"locations.{loc_id}.type", f"unknown location type '{loc.type}'; expected one of {sorted(inst.location_types)}")
        if loc.open_until is not None:
            if not valid_label(grid.grain, loc.open_until):
                raise InputError(f"locations.{loc_id}.open_until", f"expected a period like {grid.labels[0]}, got '{loc.open_until}'")
            if loc.status == "candidate":
                raise InputError(f"locations.{loc_id}.open_until", "only existing locations have a planned close")
    for i, lt in enumerate(inst.reception.status_quo_location_types):
        if lt not in inst.location_types:
            raise InputError(f"reception.status_quo_location_types.{i}", f"unknown location type '{lt}'; expected one of {sorted(inst.location_types)}")
    shares = [r.quota_share for r in inst.regions.values()]
    if any(s is not None for s in shares):
        if any(s is None for s in shares):
            raise InputError("regions", "give quota_share for every region or for none (default: population share)")
        if abs(sum(shares) - 1) > 1e-6:
            raise InputError("regions", f"quota shares must add up to 1, they add up to {sum(shares):.6f}")
    p = inst.placement
    if p.start_waiting_by_age is not None and (p.start_waiting > 0 or p.pre_horizon_linked is not None):
        raise InputError("placement.start_waiting_by_age", "give either start_waiting_by_age or start_waiting (+ pre_horizon_linked), not both")
    if p.start_waiting > 0 and p.pre_horizon_linked is None:
        raise InputError("placement.pre_horizon_linked", "required when start_waiting > 0: the waiting stock's age decides who is past the norm")
    for half in p.quota:
        if not re.match(r"^\d{4}-H[12]$", half):
            raise InputError(f"placement.quota.{half}", "expected a half year like 2022-H1 or 2022-H2")
    for year in inst.budget.by_year_eur:
        if year not in set(grid.years):
            raise InputError(f"budget.by_year_eur.{year}", f"year outside the horizon {grid.years[0]}..{grid.years[-1]}")
    for pkg, names in inst.packages.items():
        for m in names:
            if m not in inst.measures:
                raise InputError(f"packages.{pkg}", f"unknown measure '{m}'; expected one of {sorted(inst.measures)}")
    for name in inst.in_force:
        if name not in inst.measures:
            raise InputError("in_force", f"unknown measure '{name}'; expected one of {sorted(inst.measures)}")
    dumped = inst.model_dump() if inst.measures else {}
    for m_id, m in inst.measures.items():
        if m.start is not None and grid.index(m.start) is None:
            raise InputError(f"measures.{m_id}.start", f"expected a period of the horizon {grid.labels[0]}..{grid.labels[-1]}")
        for i, ch in enumerate(m.changes):
            node = dumped
            for depth, part in enumerate(ch.path.split(".")):
                if not isinstance(node, dict) or part not in node:
                    where = ".".join(ch.path.split(".")[:depth]) or "the instance"
                    raise InputError(f"measures.{m_id}.changes.{i}.path", f"unknown path '{ch.path}': no '{part}' under {where}")
                node = node[part]
            if ch.from_period is not None and grid.index(ch.from_period) is None:
                raise InputError(f"measures.{m_id}.changes.{i}.from_period", f"expected a period of the horizon {grid.labels[0]}..{grid.labels[-1]}")


def check_return_flows(inst: Instance, grid: TimeGrid) -> None:
    """Appeals, rejections sent to other types and arrivals after a grant: known targets, shares of
    the rejections that add up to at most 1, lags of at least one period where a case returns to
    a stock (a return in the period of its own decision would make the stock depend on itself)."""
    for k, ct in inst.case_types.items():
        where = f"case_types.{k}"
        total = 0.0
        if ct.appeal is not None:
            total += ct.appeal.share_of_rejections
            if grid.whole_periods(ct.appeal.months) < 1:
                raise InputError(f"{where}.appeal.months", f"expected at least one period ({1 / grid.periods_per_month:.3g} months), got {ct.appeal.months}")
            if ct.appeal.start_queue > 0 and ct.appeal.court_capacity is None:
                raise InputError(f"{where}.appeal.start_queue", "a queue at the start needs court_capacity (without it every appeal is decided after `months`)")
        for j, flow in ct.rejections_to.items():
            if j not in inst.case_types:
                raise InputError(f"{where}.rejections_to.{j}", f"unknown case type '{j}'; expected one of {sorted(inst.case_types)}")
            if grid.whole_periods(flow.lag_months) < 1:
                raise InputError(f"{where}.rejections_to.{j}.lag_months", f"expected at least one period ({1 / grid.periods_per_month:.3g} months), got {flow.lag_months}")
            total += flow.share_of_rejections
        if total > 1 + 1e-9:
            raise InputError(f"{where}.rejections_to", f"the appeal share and the shares sent to other types add up to {total:.6g}; expected at most 1 (shares of the same rejections)")
        if ct.arrival is not None and not ct.grants_need_housing:
            raise InputError(f"{where}.arrival", "an arrival after the grant needs grants_need_housing: true (arriving persons are permit holders)")
        pen = ct.penalties
        if pen.max_eur_per_notice is not None and pen.eur_per_notice > pen.max_eur_per_notice:
            raise InputError(f"{where}.penalties.eur_per_notice", f"the average paid per notice ({pen.eur_per_notice:g}) exceeds the legal maximum max_eur_per_notice ({pen.max_eur_per_notice:g})")


def check_follow_on_cycles(inst: Instance, grid: TimeGrid) -> None:
    """No case type's follow-on inflow may depend on itself in the same period: a cycle of
    follow-on links (a self-loop included) whose lags all round to 0 periods."""
    same_period = {
        k: [s for s in ct.follow_on.source_types if s in inst.case_types]
        for k, ct in inst.case_types.items()
        if ct.follow_on is not None and grid.whole_periods(ct.follow_on.lag_months) == 0
    }
    state: dict[str, str] = {}

    def visit(k, path):
        state[k] = "open"
        for src in same_period.get(k, ()):
            if state.get(src) == "open":
                cycle = path[path.index(src):] + [src]
                first = cycle[0]
                links = " <- ".join(cycle) if len(cycle) > 2 else f"'{first}' follows on itself"
                raise InputError(
                    f"case_types.{first}.follow_on.lag_months",
                    f"follow-on cycle with a lag of 0 periods ({links}): the inflow would depend on itself in the same "
                    "period; expected lag_months of at least one period on a link of the cycle",
                )
            if src not in state:
                visit(src, path + [src])
        state[k] = "done"

    for k in same_period:
        if k not in state:
            visit(k, [k])


# --- entry points --------------------------------------------------------------------------


def validate_mapping(model, raw):
    """``model.model_validate(raw)`` for a YAML document that must be a mapping (an instance, a
    batch file); errors as one-line :class:`InputError` naming the field."""
    if not isinstance(raw, dict):
        raise InputError("", f"expected a YAML mapping at the top level, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise pydantic_error(e, raw) from None


def validate_dict(raw, source: Path | None = None) -> InstanceData:
    """Validate an already parsed instance (a dict); errors carry the file when known."""
    file = str(source) if source else "<instance>"
    try:
        inst = validate_mapping(Instance, raw)
        h = inst.horizon
        if not valid_label(h.grain, h.start):
            example = "2022-01" if h.grain == "month" else "2022-W01"
            raise InputError("horizon.start", f"expected a {h.grain} label like {example}, got '{h.start}'")
        grid = make_grid(h.grain, h.start, h.periods + h.tail_periods)
        check_references(inst, grid)
        base = source.parent if source else None
        series = {path: resolve_series(v, path, grid, base, h.periods, h.extend) for path, v in _series_fields(inst)}
        for k in inst.case_types:
            if min(series[f"case_types.{k}.hours_per_case"]) <= 0:
                raise InputError(f"case_types.{k}.hours_per_case", "expected hours > 0 in every period")
        return InstanceData(inst, grid, source, series)
    except InputError as e:
        raise e.with_file(file) from None


def load_raw(path) -> dict:
    """The instance file as plain data (safe YAML), not yet validated."""
    return load_yaml(Path(path), "instance")
