"""A plan's state as input: read and check ``state.json``, and turn a state into a start.

A *state* is where the chain stands at the start of period ``at`` (the end of the period before):
the stocks, pipelines and commitments the model would otherwise take from the instance's start.
Every run folder holds ``state.json`` with the state at the start of every period after the first
(:mod:`planner.outputs.statefile` writes it); a user may edit one or build it from the chain's own
figures. The file::

    {"format": "planner-state", "version": 1, "instance": NAME, "horizon_start": "2022-01",
     "grain": "month", "states": [ {"at": "2022-02", SECTION: {...}, ...}, ... ]}

One section per subsystem (:data:`SECTIONS`: its pydantic model and how it changes the instance);
a subsystem that adds a stock or a pipeline adds a section here and an extractor in
:mod:`planner.outputs.statefile`. Ages count periods: entry 0 of a ``*_by_age`` list is what
arrived in the period just before ``at``.

* ``cases.K``: ``stock_by_age`` (cases left), ``arrivals_by_age`` (cases that arrived, for the FIFO
  deadline window; the stock must be their newest part), ``decisions_per_month_before`` (the
  production ramp's anchor, up and down), ``grants_by_age`` (follow-on types: granted source cases),
  ``decided_by_age`` (cases decided, over the type's longest return-flow lag: appeals pending and
  decided, rejections on their way to another type, granted persons yet to arrive);
* ``staff.P``: ``productive_fte``, ``trainees_by_period`` (entry i: productive from period at+i),
  ``retraining_by_period`` (entry i: retrained FTE productive in this pool from at+i; paid, not coached),
  ``external_fte`` (the last period's, for information: external staff is a decision per period);
* ``reception``: ``awaiting_departure`` (rejected persons in COA past the departure lag: the ready
  stock; appellants and those awaiting another type follow from ``decided_by_age``),
  ``departure_track_by_age`` (stayers who entered the departure track, within its lag),
  ``extensions_used`` (extensions decided before ``at`` whose term has begun, against
  ``max_extensions``) and per location its ``status``: ``existing`` (``open_until`` (an extension
  running: its end), ``can_keep_open``, ``keep_open``: kept open past its close, its one-off cost
  still to pay), ``candidate`` (not decided), ``preparing`` (decided, ``first_use``), ``open`` (a new
  site in use since ``open_since``, ``min_open_until`` the end of its minimum term), ``closed``;
* ``placement``: ``waiting_by_age`` per region, ``linked_by_age`` (national, for the FIFO norm
  window), ``accelerated_used`` (against the one-off national cap);
* ``budget``: ``spent_eur`` and ``spent_by_year_eur`` since the horizon's start;
* ``measures``: ``in_force`` (their one-off costs are paid);
* ``chain``: ``nidos_wards``;
* ``courts.K`` (only types with ``appeal.court_capacity``; the section only then): ``queue``, the
  appeals past their minimum duration not yet decided (-> ``appeal.start_queue``). The appeals
  still within the minimum at ``at`` follow from the decisions before it (``pre_horizon_decided``).

The start (:func:`start_from`) is an instance transformation, so the model needs no change: the
horizon starts at ``at`` (``periods - offset``, same look-ahead tail), every series is sliced from
``at``, and

    start_stock = sum(stock_by_age),  pre_horizon_inflow = reversed(arrivals_by_age)
    pre_horizon_decided = reversed(decided_by_age)
    start_fte = productive_fte,       start_trainees = trainees_by_period
    start_retraining = retraining_by_period
    start_awaiting_departure = awaiting_departure,  start_departure_track = reversed(departure_track_by_age)
    max_extensions -= extensions_used
    start_waiting = sum_r sum(waiting_by_age[r]),  pre_horizon_linked = reversed(linked_by_age)
    budget.total_eur -= spent_eur;    by_year_eur[year] -= spent that year (earlier years dropped)
    accelerated_total -= accelerated_used;  pre_horizon_grants = reversed(grants_by_age)

Sites decided before ``at`` keep their terms: a site in preparation becomes a candidate of its own
type ``TYPE@SITE`` whose lead time is the periods to its first use, an open site one with no lead
time, no opening cost and the rest of its minimum term; their opening is a fixed decision of the
start (:attr:`Start.fixed`), as is a decided keep-open. An open carried site's places were first
used before ``at``: period 0's pace limits (``max_new_places``, national and its region's) grow by
them. Known approximation (warned): permit holders start in every region at its quota share of the
national waiting (the model has no regional start stock). A state without ``decided_by_age`` for a
type with return flows starts with none pending (warned).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from planner.errors import InputError
from planner.instance.loading import InstanceData, fifo_cohorts, pydantic_error, validate_dict
from planner.instance.timegrid import make_grid, valid_label

FORMAT = "planner-state"
VERSION = 1
TOL = 1e-6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


Amount = float
Ages = list[Amount]


class CaseState(_Strict):
    stock_by_age: Ages
    arrivals_by_age: Ages | None = None
    decisions_per_month_before: float | None = Field(None, ge=0)
    grants_by_age: Ages | None = None
    decided_by_age: Ages | None = None


class PoolState(_Strict):
    productive_fte: float = Field(ge=0)
    trainees_by_period: Ages = Field(default_factory=list)
    retraining_by_period: Ages = Field(default_factory=list)
    external_fte: float = Field(0.0, ge=0)


class LocationState(_Strict):
    status: Literal["existing", "candidate", "preparing", "open", "closed"]
    open_until: str | None = None
    can_keep_open: bool = True
    keep_open: bool = False
    first_use: str | None = None
    open_since: str | None = None
    min_open_until: str | None = None


class ReceptionState(_Strict):
    awaiting_departure: float = Field(ge=0)
    departure_track_by_age: Ages = Field(default_factory=list)
    extensions_used: float = Field(0.0, ge=0)
    locations: dict[str, LocationState] = Field(default_factory=dict)


class PlacementState(_Strict):
    waiting_by_age: dict[str, Ages]
    linked_by_age: Ages = Field(default_factory=list)
    accelerated_used: float = Field(0.0, ge=0)


class BudgetState(_Strict):
    spent_eur: float = Field(ge=0)
    spent_by_year_eur: dict[str, float] = Field(default_factory=dict)


class MeasuresState(_Strict):
    in_force: list[str] = Field(default_factory=list)


class ChainState(_Strict):
    nidos_wards: float = Field(0.0, ge=0)


class CourtState(_Strict):
    queue: float = Field(0.0, ge=0, description="Appeals (cases) past the minimum duration, not yet decided by the courts.")


@dataclass
class Start:
    """An instance that starts from a state: ``data`` (its horizon begins at ``at``), ``fixed``
    decisions (``(variable, index, value)``: sites decided before ``at``, decided keep-opens),
    ``carried_sites`` (site -> its own type, ``TYPE@SITE``), ``warnings``, ``offset`` (periods of
    the original horizon before ``at``)."""

    data: InstanceData
    at: str
    offset: int
    fixed: list = field(default_factory=list)
    carried_sites: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def fix(self, m) -> None:
        """Fix the start's decisions on a model built from :attr:`data`; a carried site's use
        after its first period stays free (the status quo's rules fix every candidate's to 0)."""
        for name, index, value in self.fixed:
            m.component(name)[index].fix(value)
            if name == "start":
                l, f = index
                for t in range(f, self.data.grid.T):
                    m.serve[l, t].unfix()


# --- reading ---------------------------------------------------------------------------------


def read_state_file(path) -> dict:
    """``state.json`` (a file, or a run folder holding one) as a dict; errors name the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "state.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("--start-from", "no state.json here (a run folder of planner 0.x with states, or a state file)", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError("", f"cannot read the state file ({e})", file=str(path)) from None
    except ValueError as e:
        raise InputError("", f"not JSON: {e}", file=str(path)) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise InputError("format", f"expected '{FORMAT}' (a state file written by planner)", file=str(path))
    if raw.get("version") != VERSION:
        raise InputError("version", f"expected {VERSION}, got {raw.get('version')!r}", file=str(path))
    if not isinstance(raw.get("states"), list) or not raw["states"]:
        raise InputError("states", "expected a list of states", file=str(path))
    raw["_file"] = str(path)
    return raw


def pick_state(raw: dict, at: str) -> tuple[dict, str]:
    """The state of ``raw`` at period ``at`` and its field prefix for errors."""
    for i, s in enumerate(raw["states"]):
        if isinstance(s, dict) and s.get("at") == at:
            return s, f"states.{i}"
    have = [s.get("at") for s in raw["states"] if isinstance(s, dict)]
    span = f"{have[0]}..{have[-1]}" if have else "none"
    raise InputError("--at", f"no state at {at}; the file has states at {span}", file=raw["_file"])


def parse_sections(state: dict, prefix: str) -> dict:
    """Each section of one state validated by its model (:data:`SECTIONS`); unknown ones are errors."""
    out = {}
    for name, value in state.items():
        if name == "at":
            continue
        if name not in SECTIONS:
            raise InputError(f"{prefix}.{name}", f"unknown section; expected one of {sorted(SECTIONS)}")
        model = SECTIONS[name][0]
        try:
            parsed = TypeAdapter(model).validate_python(value)
        except ValidationError as e:
            err = pydantic_error(e, value)
            raise InputError(f"{prefix}.{name}.{err.field}".rstrip("."), err.message) from None
        _check_numbers(value, f"{prefix}.{name}")
        out[name] = parsed
    missing = [s for s in SECTIONS if s not in out and s not in OPTIONAL]
    if missing:
        raise InputError(f"{prefix}.{missing[0]}", "required section is missing")
    return out


def _check_numbers(node, where: str) -> None:
    """Every number in a section is finite and >= 0 (ages, stocks, money)."""
    if isinstance(node, dict):
        for k, v in node.items():
            _check_numbers(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _check_numbers(v, f"{where}.{i}")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        if not math.isfinite(node) or node < 0:
            raise InputError(where, f"expected a finite number >= 0, got {node!r}")


# --- the start -------------------------------------------------------------------------------


def start_from(d: InstanceData, path, at: str) -> Start:
    """Instance ``d`` started at period ``at`` from the state in ``path`` (a run folder or a state
    file). Every error is an :class:`InputError` naming the state file (or the instance) and field."""
    raw = read_state_file(path)
    file = raw["_file"]
    try:
        if raw.get("horizon_start") != d.grid.labels[0] or raw.get("grain") != d.grid.grain:
            raise InputError(
                "horizon_start",
                f"the state is of a horizon starting {raw.get('horizon_start')} ({raw.get('grain')}); the instance starts "
                f"{d.grid.labels[0]} ({d.grid.grain})",
            )
        state, prefix = pick_state(raw, at)
        sections = parse_sections(state, prefix)
        return start_from_sections(d, sections, at, prefix)
    except InputError as e:
        raise e.with_file(file) from None


def start_from_sections(d: InstanceData, sections: dict, at: str, prefix: str = "state", tail: bool = False) -> Start:
    """The start of ``d`` at ``at`` from parsed sections (what :func:`start_from` and the rolling
    study use). ``tail``: ``at`` may also lie in the look-ahead tail (the periods left become the
    horizon, with no tail after them)."""
    if not valid_label(d.grid.grain, at):
        raise InputError("--at", f"expected a period like {d.grid.labels[0]}, got '{at}'")
    p = d.grid.index(at)
    last = d.grid.T if tail else d.horizon_T
    if p is None or p < 1 or p >= last:
        raise InputError("--at", f"expected a period after the horizon's first and inside it, {d.horizon_labels[1 if d.horizon_T > 1 else 0]}..{d.horizon_labels[-1]}, got {at}")
    raw = d.instance.model_dump()
    raw["horizon"]["start"] = at
    if p < d.horizon_T:
        raw["horizon"]["periods"] = d.horizon_T - p
    else:
        raw["horizon"].update(periods=d.grid.T - p, tail_periods=0)
    for path, values in d.series.items():
        _set(raw, path, [float(v) for v in values[p:]])
    start = Start(data=None, at=at, offset=p)
    for name, (_, apply) in SECTIONS.items():
        apply(raw, sections.get(name, OPTIONAL.get(name)), d, start, f"{prefix}.{name}")
    try:
        start.data = validate_dict(raw, d.source)
    except InputError as e:
        raise InputError(e.field, f"{e.message} (in the instance started from the state)") from None
    _check_fixed(start)
    return start


def _set(raw: dict, path: str, value) -> None:
    node = raw
    *parents, leaf = path.split(".")
    for part in parents:
        node = node[part]
    node[leaf] = value


def _check_fixed(start: Start) -> None:
    d = start.data
    for name, index, _ in start.fixed:
        if name == "start":
            l, t = index
            if t >= d.grid.T:
                raise InputError(f"reception.locations.{l}", "its first use lies past the model's last period")


def _same_keys(given: dict, expected, where: str, what: str) -> None:
    for k in given:
        if k not in expected:
            raise InputError(f"{where}.{k}", f"unknown {what}; expected one of {sorted(expected)}")
    for k in expected:
        if k not in given:
            raise InputError(f"{where}.{k}", f"missing: the state must give every {what} of the instance")


def _apply_cases(raw, sec: dict, d, start, where) -> None:
    cts = d.instance.case_types
    _same_keys(sec, cts, where, "case type")
    for k, s in sec.items():
        ct = raw["case_types"][k]
        stock = sum(s.stock_by_age)
        if s.arrivals_by_age is not None:
            fifo = fifo_cohorts(stock, list(reversed(s.arrivals_by_age)))
            if any(abs(a - b) > TOL * max(1.0, stock) for a, b in zip(fifo + [0.0] * len(s.stock_by_age), s.stock_by_age)):
                raise InputError(f"{where}.{k}.stock_by_age", "expected the newest part of arrivals_by_age (first in, first out): each age full before an older one has any")
            ct.update(start_stock=stock, pre_horizon_inflow=list(reversed(s.arrivals_by_age)), start_stock_by_age=None)
        else:
            ct.update(start_stock=0.0, pre_horizon_inflow=None, start_stock_by_age=list(s.stock_by_age))
        ramped = cts[k].max_decision_increase is not None or cts[k].max_decision_decrease is not None
        if ramped and s.decisions_per_month_before is not None:
            ct["decisions_before"] = s.decisions_per_month_before
        _apply_decided(ct, s, cts[k], f"{where}.{k}", start)
        if cts[k].follow_on is not None:
            if s.grants_by_age is None:
                raise InputError(f"{where}.{k}.grants_by_age", "required for a case type with follow_on (granted source cases by age)")
            ct["follow_on"]["pre_horizon_grants"] = list(reversed(s.grants_by_age))


def _apply_decided(ct: dict, s: CaseState, spec, where: str, start) -> None:
    """The decision history (``pre_horizon_decided``) the return flows of the first periods read."""
    if s.decided_by_age is not None:
        ct["pre_horizon_decided"] = list(reversed(s.decided_by_age))
        return
    ct["pre_horizon_decided"] = []
    if spec.appeal is not None or spec.rejections_to or spec.arrival is not None:
        start.warnings.append(
            f"{where}.decided_by_age: not given, so no appeal, rejection or arrival of a decision before the state returns "
            "(give the decisions per period before it, newest first)"
        )


def _apply_staff(raw, sec: dict, d, start, where) -> None:
    pools = d.instance.staff_pools
    _same_keys(sec, pools, where, "staff pool")
    for p, s in sec.items():
        raw["staff_pools"][p].update(start_fte=s.productive_fte, start_trainees=list(s.trainees_by_period), start_retraining=list(s.retraining_by_period))


def _label(d, offset: int) -> str:
    """The label ``offset`` periods from the original horizon's start (may lie past the grid)."""
    if 0 <= offset < d.grid.T:
        return d.grid.labels[offset]
    return make_grid(d.grid.grain, d.grid.labels[0], offset + 1).labels[-1]


def _offset_in(d, label: str, at_offset: int, field: str) -> int:
    """Periods from ``at`` to ``label``."""
    if not isinstance(label, str) or not valid_label(d.grid.grain, label):
        raise InputError(field, f"expected a period like {d.grid.labels[0]}, got {label!r}")
    return d.grid.offset(label) - at_offset


def _apply_reception(raw, sec: ReceptionState, d, start, where) -> None:
    rec = raw["reception"]
    rec["start_awaiting_departure"] = sec.awaiting_departure
    if len(sec.departure_track_by_age) > d.departure_lag():
        raise InputError(f"{where}.departure_track_by_age", f"expected at most {d.departure_lag()} entries (the departure lag in periods); older entries are ready (awaiting_departure)")
    rec["start_departure_track"] = list(reversed(sec.departure_track_by_age))
    if rec.get("max_extensions") is not None:
        if sec.extensions_used > rec["max_extensions"] + TOL:
            raise InputError(f"{where}.extensions_used", f"more than the instance's reception.max_extensions ({rec['max_extensions']:g})")
        rec["max_extensions"] = max(0.0, rec["max_extensions"] - sec.extensions_used)
    _apply_locations(raw, sec, d, start, where)


def _apply_locations(raw, sec: ReceptionState, d, start, where) -> None:
    locs = d.instance.locations
    _same_keys(sec.locations, locs, f"{where}.locations", "location")
    p = start.offset
    ppm = d.grid.periods_per_month
    for l, s in sec.locations.items():
        field_ = f"{where}.locations.{l}"
        loc, node = locs[l], raw["locations"][l]
        if s.status in ("existing", "candidate") and (s.status == "existing") != (loc.status == "existing"):
            raise InputError(f"{field_}.status", f"the instance has this location as {loc.status}; expected '{loc.status}', 'preparing', 'open' or 'closed'")
        if s.status == "existing":
            node.update(open_until=s.open_until, can_keep_open=s.can_keep_open)
            if s.open_until is not None:
                _offset_in(d, s.open_until, p, f"{field_}.open_until")
            if s.keep_open:
                start.fixed.append(("keep", l, 1))
        elif s.status == "closed":
            del raw["locations"][l]
        elif s.status in ("preparing", "open"):
            lt = dict(raw["location_types"][loc.type])
            if s.status == "preparing":
                f = _offset_in(d, s.first_use, p, f"{field_}.first_use")
                if f < 0:
                    raise InputError(f"{field_}.first_use", f"expected {start.at} or later for a site in preparation, got {s.first_use}")
                lt["lead_months"] = f / ppm
            else:
                since = _offset_in(d, s.open_since, p, f"{field_}.open_since")
                end = _offset_in(d, s.min_open_until, p, f"{field_}.min_open_until")
                if since >= 0 or end < since:
                    raise InputError(f"{field_}", f"an open site needs open_since before {start.at} and min_open_until not before it")
                f = 0
                lt.update(lead_months=0.0, opening_eur_per_place=0.0, min_open_months=max(1, end + 1) / ppm)
                _pace_exempt(raw, loc)
            own = f"{loc.type}@{l}"
            raw["location_types"][own] = lt
            node.update(type=own, status="candidate", open_until=None)
            start.carried_sites[l] = own
            start.fixed.append(("start", (l, f), 1))


def _pace_exempt(raw, loc) -> None:
    """An open carried site's opening is fixed in period 0 of the start, but its places were first
    used before the state: period 0's pace limits (national, its region's) grow by its places."""
    for node in (raw["reception"], raw["regions"][loc.region]):
        if node.get("max_new_places") is not None:
            node["max_new_places"][0] += loc.places


def _apply_placement(raw, sec: PlacementState, d, start, where) -> None:
    _same_keys(sec.waiting_by_age, d.instance.regions, f"{where}.waiting_by_age", "region")
    total = sum(sum(v) for v in sec.waiting_by_age.values())
    shares = d.quota_shares()
    off = max(abs(sum(v) - shares[r] * total) for r, v in sec.waiting_by_age.items())
    if off > 1.0:
        start.warnings.append(
            f"{where}.waiting_by_age: permit holders start in every region at its quota share of the {total:,.0f} waiting "
            f"(the state's regions differ from that by up to {off:,.0f} persons; the model has no regional start stock)"
        )
    pl = raw["placement"]
    pl.update(start_waiting=total, pre_horizon_linked=list(reversed(sec.linked_by_age)), start_waiting_by_age=None)
    if total > TOL and not sec.linked_by_age:
        pl.update(start_waiting=0.0, pre_horizon_linked=None, start_waiting_by_age=[total])
    if sec.accelerated_used > pl["accelerated_total"] + TOL:
        raise InputError(f"{where}.accelerated_used", f"more than the instance's placement.accelerated_total ({pl['accelerated_total']:,.0f})")
    pl["accelerated_total"] = max(0.0, pl["accelerated_total"] - sec.accelerated_used)


def _apply_budget(raw, sec: BudgetState, d, start, where) -> None:
    b = raw["budget"]
    if start.offset >= d.horizon_T:
        b["total_eur"] = None  # the horizon's budget does not cover the look-ahead tail
    if b.get("total_eur") is not None:
        if sec.spent_eur > b["total_eur"] * (1 + 1e-9) + 1.0:
            raise InputError(f"{where}.spent_eur", f"EUR {sec.spent_eur:,.0f} spent is more than the instance's budget.total_eur (EUR {b['total_eur']:,.0f})")
        b["total_eur"] = max(0.0, b["total_eur"] - sec.spent_eur)
    year = d.grid.years[start.offset]
    by_year = {}
    for y, cap in b.get("by_year_eur", {}).items():
        if y < year:
            continue
        spent = sec.spent_by_year_eur.get(str(y), 0.0) if y == year else 0.0
        if spent > cap * (1 + 1e-9) + 1.0:
            raise InputError(f"{where}.spent_by_year_eur.{y}", f"more than the instance's budget.by_year_eur.{y}")
        by_year[y] = max(0.0, cap - spent)
    b["by_year_eur"] = by_year


def _apply_measures(raw, sec: MeasuresState, d, start, where) -> None:
    inst = d.instance
    for name in sec.in_force:
        if name not in inst.in_force:
            raise InputError(f"{where}.in_force", f"measure '{name}' is in force in the state but not in the instance; load it with --package")
    p = start.offset
    for name, m in raw["measures"].items():
        begun = m.get("start") is None or d.grid.offset(m["start"]) < p
        if begun:
            m["start"] = None
            if name in sec.in_force:
                m["eur_one_off"] = 0.0  # paid before the state
        for ch in m["changes"]:
            if ch.get("from_period") is not None and d.grid.offset(ch["from_period"]) < p:
                ch["from_period"] = None


def _apply_chain(raw, sec: ChainState, d, start, where) -> None:
    raw["chain"]["nidos_start_wards"] = sec.nidos_wards


def _apply_courts(raw, sec: dict[str, CourtState], d, start, where) -> None:
    """The courts' queue past the minimum duration, per type with a court capacity (none: empty)."""
    court = [k for k, ct in d.instance.case_types.items() if ct.appeal is not None and ct.appeal.court_capacity is not None]
    for k in sec:
        if k not in court:
            raise InputError(f"{where}.{k}", f"not a case type with appeal.court_capacity; expected one of {court}")
    for k in court:
        if k not in sec:
            start.warnings.append(f"{where}.{k}: no courts' queue in the state; the courts start with none past the minimum")
        raw["case_types"][k]["appeal"]["start_queue"] = sec[k].queue if k in sec else 0.0


SECTIONS = {
    "cases": (dict[str, CaseState], _apply_cases),
    "staff": (dict[str, PoolState], _apply_staff),
    "reception": (ReceptionState, _apply_reception),
    "placement": (PlacementState, _apply_placement),
    "budget": (BudgetState, _apply_budget),
    "measures": (MeasuresState, _apply_measures),
    "chain": (ChainState, _apply_chain),
    "courts": (dict[str, CourtState], _apply_courts),
}
"""Section name -> (its model, ``apply(raw, section, d, start, field)`` changing the instance)."""

OPTIONAL = {"courts": {}}
"""Sections a state may leave out (written only when the instance has them), with their default."""
