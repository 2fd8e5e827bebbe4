"""Evaluate stage: recount a run's consequences from its decisions, independently of the model.

``planner evaluate RUN_DIR`` reads a run folder (``planner solve`` writes one; ``planner
simulate`` writes the same format), takes only the *decisions* from it and recounts everything
else with a cohort simulation written apart from the optimisation model (this module imports
neither :mod:`planner.model` nor Pyomo), so no plan's figures rest on the optimiser's word alone.

Decisions replayed (read from the run folder):

* ``ind_cases.csv``: ``decided_internal`` and ``decided_outsourced`` per case type and period;
* ``staff.csv``: ``hires`` and ``external_fte`` per pool and period;
* ``locations.csv``: which locations are open when: ``open_from .. open_until`` of every opened
  candidate and of every existing location (an existing one open past its planned close is
  *kept open*); a location the table does not list counts as not opened (candidate) or open as
  planned (existing);
* ``placement.csv``: ``housed_regular`` and ``accelerated`` per region and period;
* ``reception.csv``: ``crisis`` per period.

Everything else is recounted (t = 0 .. T-1 periods, y the year fraction and mu the months of a
period, n_t the calendar nights of period t):

Cases, per type k, as FIFO cohorts by arrival period tau (the start stock is
:meth:`~planner.instance.loading.InstanceData.case_start_cohorts`: the cohort of age a arrived in period
``-1 - a``). Each period the new cohort arrives, then the decisions take the oldest cases first::

    inflow[k,t] = inflow series + share_k * sum_{s in sources_k} grant_s * decided[s, t - lag_k]
                  (pre_horizon_grants before the start)

Overdue at the end of t: arrivals are spread over their period, so at the end of t the young
share of cohort tau (age ``t - tau``) is ``clip(D - (t - tau), 0, 1)`` with D the deadline in
periods: cohorts younger than floor(D) are young, the cohort of age n = floor(D) keeps f = D - n
young (its later arrivals), older ones are overdue. FIFO removes a cohort's earliest arrivals
first, so what is left of a cohort is its newest part::

    young[tau]   = min(left[tau], clip(D - (t - tau), 0, 1) * arrived[tau])
    overdue[k,t] = sum_tau left[tau] - young[tau]
    notices[k,t] = notice_share_k * overdue[k,t];  penalties = eur_per_notice * notices (if they apply)

(the start cohorts' ``arrived`` is what is left of them at the start, as in the model).

Staff, per pool p (training L periods, per-period attrition a, coaching c, hours h, h_ext)::

    productive[t] = (1 - a) productive[t-1] + hires[t-L] + start_trainees[t]   (productive[-1] = start_fte)
    trainees[t]   = sum_{tau = t-L+1..t} hires[tau] + sum_{i > t} start_trainees[i]
    hours[t]      = y (h productive - c trainees + h_ext external)

Placement, per region r with quota share s_r, FIFO cohorts of linked permit holders (start:
``s_r x`` :meth:`~planner.instance.loading.InstanceData.placement_start_cohorts`), housed and accelerated
taken oldest first, overdue past the norm N periods by the same cohort rule as cases::

    linked[r,t] = s_r * sum_{k: grants need housing} persons_k * grant_k * decided[k,t]

Reception::

    awaiting[t]   = (1 - dep) awaiting[t-1] + stay * sum_{k waits in COA} (1 - grant_k) persons_k decided[k,t]
    occupancy[t]  = sum_{k waits in COA} persons_k stock[k,t] + sum_r waiting[r,t] + awaiting[t] + other groups
    places[t]     = places of the locations open in t;   places_needed = occupancy / norm
    unsheltered[t]= max(0, occupancy - norm * places - crisis)

Costs per component: ``staff_internal`` (eur_fte y (productive + trainees)), ``staff_external``
(ext_eur y external), ``hiring`` (eur_per_hire hires), ``outsourcing`` (eur_per_case
decided_outsourced), ``penalties``, ``locations_running`` (eur_place_year y places, every open
period), ``locations_opening`` (opening_eur x places in a candidate's first period of use),
``locations_keep_open`` (keep_open_eur x places in the first period past the planned close, the
horizon's first period for a location planned to close before the start),
``crisis_shelter`` (price x n_t x crisis; the run reports crisis summed over regions, so with
prices differing by region it is split cheapest region first within each region's capacity, as a
plan that minimises cost does), ``accelerated_placement`` (eur per person), ``measures`` (the
measures in force: one-off in their start period, then per period).

Feasibility of the decisions (listed as violations): decisions within the stock available,
housing plus accelerated within those waiting, productive hours covering the decisions'
hours (hours per case of the period; outsourced cases' IND hours included) and the notices' hours, hires within max_hires
(whole FTE when the pool says so), external FTE, outsourcing, accelerated (regional, national,
ready share), regular housing and crisis within their caps, candidate locations opened no earlier
than their lead time allows and open at least their minimum duration, existing locations kept
open only where allowed, budgets. A violation exceeds its bound by more than
``1e-4 + 1e-6 x |bound|`` (tables carry 6 decimals).

Agreement rule. A KPI agrees when ``|recount - run| <= 0.5 % x max(|run|, |recount|)``, or when
both values are at most a floor: 0.5 units for counts (cases, persons, person-nights, months,
FTE) and ``max(1, 1e-6 x total cost)`` EUR for money. The printed difference is
``100 x (recount - run) / max(|run|, |recount|)`` (0 when both are under the floor; recounted KPIs
are rounded to 6 decimals, as kpis.json is). The same rule is applied row by row to the
recounted columns of the tables. ``evaluate`` exits 0 when every KPI and table column agrees and
no decision violates a constraint, 1 otherwise, 2 for a bad run folder.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import InputError
from planner.instance.loading import InstanceData, validate_dict
from planner.instance.yamlio import load_yaml, read_text

REL_TOL = 0.005
"""KPIs (and table rows) agree within 0.5 % relative."""
COUNT_FLOOR = 0.5
"""Counts (cases, persons, person-nights, months, FTE) at most this large on both sides are equal."""
EUR_FLOOR_SHARE = 1e-6
"""Money at most this share of the total cost (and at least EUR 1) on both sides is equal."""

COMPONENTS = (
    "outsourcing",
    "penalties",
    "staff_internal",
    "staff_external",
    "hiring",
    "accelerated_placement",
    "locations_running",
    "locations_opening",
    "locations_keep_open",
    "crisis_shelter",
    "measures",
)

# columns each table must have: decisions (read) and figures (compared with the recount)
TABLES = {
    "ind_cases": (
        ("period", "case_type"),
        ("inflow", "decided_internal", "decided_outsourced", "stock", "overdue", "notices_of_default"),
    ),
    "staff": (("period", "pool"), ("hires", "trainees", "productive_fte", "external_fte", "productive_hours")),
    "reception": (
        ("period",),
        ("occupancy", "places_open", "places_needed", "crisis", "unsheltered", "asylum_process", "permit_holders", "awaiting_departure"),
    ),
    "placement": (("period", "region"), ("linked", "housed_regular", "accelerated", "waiting", "overdue")),
    "costs": (("period", "component"), ("eur",)),
    "locations": (("location",), ()),
}
DECISIONS = ("decided_internal", "decided_outsourced", "hires", "external_fte", "housed_regular", "accelerated", "crisis")
"""Columns replayed from the run (not compared row by row: they are the input of the recount)."""
LOCATION_COLUMNS = ("location", "region", "type", "places", "existing", "opened", "open_from", "open_until")

KPI_NAMES = (
    "overdue_case_months",
    "overdue_case_months_by_type",
    "end_stock_by_type",
    "notices_of_default_total",
    "crisis_person_nights",
    "unsheltered_person_nights",
    "permit_holder_months_over_norm",
    "peak_occupancy",
    "peak_places_needed",
    "total_cost_eur",
    "cost_by_component",
    "hires_total",
    "outsourced_cases_total",
    "accelerated_placements_total",
)
OPTIONAL_KPIS = ("decided_total", "housed_regular_total", "locations_opened", "locations_kept_open")
"""Compared when the run's kpis.json has them."""

EUR_KPIS = ("total_cost_eur", "cost_by_component")


# --- reading the run folder --------------------------------------------------------------------


@dataclass
class Run:
    """A run folder as read: the resolved instance, the KPIs and the tables (as text columns)."""

    folder: Path
    data: InstanceData
    kpis: dict
    tables: dict[str, pd.DataFrame]


def _err(path: Path, message: str) -> InputError:
    return InputError("", message, file=str(path))


def read_run(folder) -> Run:
    """Read a run folder; a missing or unreadable file or column raises :class:`InputError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise _err(folder, "run folder not found (expected a folder written by `planner solve --out`)")
    inst_path = folder / "instance.resolved.yaml"
    raw = load_yaml(inst_path, "resolved instance")
    _year_keys(raw)
    data = validate_dict(raw, inst_path)

    kpi_path = folder / "kpis.json"
    try:
        kpis = json.loads(read_text(kpi_path, "KPI file"))
    except json.JSONDecodeError as e:
        raise _err(kpi_path, f"not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if not isinstance(kpis, dict):
        raise _err(kpi_path, f"expected a JSON object, got {type(kpis).__name__}")
    for name in KPI_NAMES:
        if name not in kpis:
            raise _err(kpi_path, f"missing KPI '{name}'")
        value = kpis[name]
        if name.endswith(("_by_type", "_by_component")):
            if not isinstance(value, dict) or not all(_is_number(v) for v in value.values()):
                raise _err(kpi_path, f"KPI '{name}': expected an object of numbers")
        elif not _is_number(value):
            raise _err(kpi_path, f"KPI '{name}': expected a number, got {value!r:.40}")

    tables = {}
    for name, (keys, values) in TABLES.items():
        path = folder / f"{name}.csv"
        text = read_text(path, "table")
        try:
            frame = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
        except (ValueError, pd.errors.ParserError) as e:
            raise _err(path, f"cannot read CSV: {str(e).splitlines()[0]}") from None
        frame.columns = [str(c).strip() for c in frame.columns]
        needed = LOCATION_COLUMNS if name == "locations" else keys + values
        for col in needed:
            if col not in frame.columns:
                raise _err(path, f"missing column '{col}'")
        tables[name] = frame
    return Run(folder, data, kpis, tables)


def _year_keys(raw) -> None:
    """``budget.by_year_eur`` with its years as numbers again.

    The run folder's resolved instance is written from a JSON dump, which turns the integer years
    into strings ("2024"); the instance format wants integers.
    """
    budget = raw.get("budget") if isinstance(raw, dict) else None
    years = budget.get("by_year_eur") if isinstance(budget, dict) else None
    if isinstance(years, dict):
        budget["by_year_eur"] = {int(y) if isinstance(y, str) and y.isdigit() else y: v for y, v in years.items()}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _number(text: str, path: Path, col: str, row: int) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v):
        raise _err(path, f"column '{col}' row {row + 2}: expected a number, got {str(text)[:40]!r}")
    return v


def _by_key(run: Run, name: str, ids: list[str] | None, columns) -> dict:
    """A per-period table as ``{id: {column: np.array(T)}}`` (``id`` is None for reception).

    Every (id, period) must appear exactly once; an unknown id or period is an error.
    """
    frame, path = run.tables[name], run.folder / f"{name}.csv"
    labels = run.data.grid.labels
    pos = {p: i for i, p in enumerate(labels)}
    key = TABLES[name][0][1] if len(TABLES[name][0]) > 1 else None
    wanted = ids if key else [None]
    out = {i: {c: np.full(len(labels), np.nan) for c in columns} for i in wanted}
    for row, rec in enumerate(frame.to_dict("records")):
        period = str(rec["period"]).strip()
        ident = str(rec[key]).strip() if key else None
        if period not in pos:
            raise _err(path, f"row {row + 2}: period '{period}' is not a period of the run's horizon {labels[0]}..{labels[-1]}")
        if ident not in out:
            raise _err(path, f"row {row + 2}: unknown {key} '{ident}' (the instance has {', '.join(map(str, wanted))})")
        t = pos[period]
        for c in columns:
            if not math.isnan(out[ident][c][t]):
                raise _err(path, f"row {row + 2}: a second row for {key + ' ' + ident + ', ' if key else ''}period {period}")
            out[ident][c][t] = _number(rec[c], path, c, row)
    for ident, cols in out.items():
        missing = np.flatnonzero(np.isnan(next(iter(cols.values()))))
        if len(missing):
            who = f"{key} '{ident}', " if key else ""
            raise _err(path, f"no row for {who}period {labels[missing[0]]}")
    return out


# --- FIFO cohorts ------------------------------------------------------------------------------


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


def _per_period(d: InstanceData, path: str) -> np.ndarray:
    """A number of the instance as one value per period: its resolved series when it is one (e.g.
    ``case_types.k.hours_per_case``, which a measure may change from a period on), else the
    scalar repeated."""
    if path in d.series:
        return np.array(d.s(path), dtype=float)
    node = d.instance
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return np.full(d.grid.T, float(node))


def _tol(bound: float) -> float:
    return 1e-4 + 1e-6 * abs(bound)


# --- the recount -------------------------------------------------------------------------------


@dataclass
class Recount:
    """Recounted tables (same shapes as the run's), KPIs, and the violations of the decisions."""

    tables: dict[str, pd.DataFrame]
    kpis: dict
    violations: list[str] = field(default_factory=list)


def recount(run: Run) -> Recount:
    """Replay the run's decisions and recount every consequence (see the module docstring)."""
    d = run.data
    inst, grid = d.instance, d.grid
    T, labels, y, mu = grid.T, grid.labels, grid.year_fraction, grid.months_per_period
    nights = np.array(grid.nights)
    viol: list[str] = []
    K, P, R = list(inst.case_types), list(inst.staff_pools), list(inst.regions)
    cts, pools = inst.case_types, inst.staff_pools

    ind = _by_key(run, "ind_cases", K, ("decided_internal", "decided_outsourced"))
    stf = _by_key(run, "staff", P, ("hires", "external_fte"))
    plc = _by_key(run, "placement", R, ("housed_regular", "accelerated"))
    crisis = _by_key(run, "reception", None, ("crisis",))[None]["crisis"]
    dec_int = {k: ind[k]["decided_internal"] for k in K}
    dec_out = {k: ind[k]["decided_outsourced"] for k in K}
    decided = {k: dec_int[k] + dec_out[k] for k in K}

    def check(ok_value: float, bound: float, what: str) -> None:
        if ok_value > bound + _tol(bound):
            viol.append(f"{what}: {ok_value:,.6g} exceeds {bound:,.6g}")

    for k in K:
        for t in range(T):
            if dec_int[k][t] < -_tol(0) or dec_out[k][t] < -_tol(0):
                viol.append(f"ind_cases {labels[t]} {k}: negative decisions")
            check(dec_out[k][t], d.s(f"case_types.{k}.outsourcing_capacity")[t], f"outsourced cases {k} {labels[t]} (outsourcing capacity)")
        ramp = cts[k].max_decision_increase
        if ramp is not None:  # the monthly rate rises by at most ramp a month: ramp * mu^2 a period
            before = None if cts[k].decisions_before is None else cts[k].decisions_before * mu
            for t in range(T):
                previous = dec_int[k][t - 1] if t > 0 else before
                if previous is not None:
                    check(dec_int[k][t] - previous, ramp * mu * mu, f"rise of internal decisions {k} {labels[t]} (max_decision_increase)")

    # cases: inflow with follow-on, FIFO cohorts, overdue, notices
    grant = {k: _per_period(d, f"case_types.{k}.grant_share") for k in K}
    persons = {k: _per_period(d, f"case_types.{k}.persons_per_case") for k in K}
    inflow = {}
    for k in K:
        ct = cts[k]
        series = np.array(d.s(f"case_types.{k}.inflow"), dtype=float)
        if ct.follow_on is not None:
            fo, lag = ct.follow_on, d.follow_on_lag(k)
            for t in range(T):
                src = t - lag
                if src >= 0:
                    series[t] += fo.share_of_grants * sum(grant[s][src] * decided[s][src] for s in fo.source_types)
                elif len(fo.pre_horizon_grants) + src >= 0:
                    series[t] += fo.share_of_grants * fo.pre_horizon_grants[len(fo.pre_horizon_grants) + src]
        inflow[k] = series
    stock, overdue = {}, {}
    for k in K:
        fifo = Cohorts()
        start, arrived = d.case_start_cohorts(k), d.case_pre_arrivals(k)
        for age in reversed(range(len(start))):
            fifo.add(-1 - age, start[age], arrived[age] if age < len(arrived) else None)
        D = d.deadline_periods(k)
        stock[k], overdue[k] = np.zeros(T), np.zeros(T)
        for t in range(T):
            fifo.add(t, inflow[k][t])
            short = fifo.take(decided[k][t])
            if short > _tol(decided[k][t]):
                viol.append(f"decisions {k} {labels[t]}: {decided[k][t]:,.6g} decided but only {decided[k][t] - short:,.6g} cases in stock")
            stock[k][t] = fifo.total()
            overdue[k][t] = fifo.overdue(t, D)
    notices = {k: cts[k].penalties.notice_share_per_period * overdue[k] for k in K}
    cost = {c: np.zeros(T) for c in COMPONENTS}
    for k in K:
        pen = cts[k].penalties
        cost["outsourcing"] += _per_period(d, f"case_types.{k}.outsourcing_eur_per_case") * dec_out[k]
        if pen.applies:
            cost["penalties"] += pen.eur_per_notice * notices[k]

    # staff: pipeline, hours, production limit
    hours_per_case = {k: _per_period(d, f"case_types.{k}.hours_per_case") for k in K}
    out_hours = {k: _per_period(d, f"case_types.{k}.outsourcing_ind_hours_per_case") for k in K}
    staff_rows = []
    for p in P:
        pool = pools[p]
        hires, ext = stf[p]["hires"], stf[p]["external_fte"]
        a, L = d.per_period_rate(pool.attrition_per_month), d.training_periods(p)
        h = pool.hours_per_fte_year * y
        h_ext = (pool.external_hours_per_fte_year or pool.hours_per_fte_year) * y
        coach = pool.coaching_hours_per_trainee_year * y
        start_tr = list(pool.start_trainees)
        max_hires, ext_max = d.s(f"staff_pools.{p}.max_hires"), d.s(f"staff_pools.{p}.external_fte_max")
        prev = pool.start_fte
        for t in range(T):
            grads = (hires[t - L] if t - L >= 0 else 0.0) + (start_tr[t] if t < len(start_tr) else 0.0)
            productive = (1 - a) * prev + grads
            trainees = (sum(hires[max(0, t - L + 1) : t + 1]) if L > 0 else 0.0) + sum(start_tr[t + 1 :])
            hours = h * productive - coach * trainees + h_ext * ext[t]
            prev = productive
            work = sum(
                hours_per_case[k][t] * dec_int[k][t]
                + out_hours[k][t] * dec_out[k][t]
                + (cts[k].penalties.ind_hours_per_notice * notices[k][t] if cts[k].penalties.applies else 0.0)
                for k in K
                if cts[k].pool == p
            )
            check(work, hours, f"IND hours of pool {p} {labels[t]} (decisions + notices vs productive hours)")
            check(hires[t], max_hires[t], f"hires {p} {labels[t]} (max_hires)")
            check(ext[t], ext_max[t], f"external FTE {p} {labels[t]} (external_fte_max)")
            if hires[t] < -_tol(0) or ext[t] < -_tol(0):
                viol.append(f"staff {p} {labels[t]}: negative hires or external FTE")
            if pool.integer_hires and abs(hires[t] - round(hires[t])) > 1e-6:
                viol.append(f"hires {p} {labels[t]}: {hires[t]:g} is not a whole number (integer_hires)")
            cost["staff_internal"][t] += pool.eur_per_fte_year * y * (productive + trainees)
            cost["staff_external"][t] += pool.external_eur_per_fte_year * y * ext[t]
            cost["hiring"][t] += pool.eur_per_hire * hires[t]
            staff_rows.append(
                {"period": labels[t], "pool": p, "hires": hires[t], "trainees": trainees, "productive_fte": productive,
                 "external_fte": ext[t], "productive_hours": hours}
            )

    # placement: linked by quota share, FIFO waiting, norm overrun
    shares = d.quota_shares()
    pl = inst.placement
    national = d.s("placement.housing_supply")
    norm = d.placement_norm_periods()
    start_waiting, linked_before = d.placement_start_cohorts(), d.placement_pre_arrivals()
    new_ph = sum(
        (persons[k] * grant[k] * decided[k] for k in K if cts[k].grants_need_housing), np.zeros(T)
    )
    place_rows, waiting_total = [], np.zeros(T)
    accelerated_total = 0.0
    for r in R:
        s = shares[r]
        own = d.series.get(f"regions.{r}.housing_supply")
        supply = own if own is not None else [v * s for v in national]
        accel_cap = d.s(f"regions.{r}.accelerated_capacity")
        housed, accel = plc[r]["housed_regular"], plc[r]["accelerated"]
        fifo = Cohorts()
        for age in reversed(range(len(start_waiting))):
            fifo.add(-1 - age, s * start_waiting[age], s * linked_before[age] if age < len(linked_before) else None)
        prev = fifo.total()
        for t in range(T):
            linked = s * new_ph[t]
            check(housed[t], supply[t], f"regular housing {r} {labels[t]} (housing supply)")
            check(accel[t], accel_cap[t], f"accelerated placement {r} {labels[t]} (regional capacity)")
            check(accel[t], pl.accelerated_ready_share * prev, f"accelerated placement {r} {labels[t]} (ready share of those waiting)")
            if housed[t] < -_tol(0) or accel[t] < -_tol(0):
                viol.append(f"placement {r} {labels[t]}: negative housing or accelerated placement")
            fifo.add(t, linked)
            out = housed[t] + accel[t]
            short = fifo.take(out)
            if short > _tol(out):
                viol.append(f"placement {r} {labels[t]}: {out:,.6g} housed but only {out - short:,.6g} permit holders waiting")
            waiting = fifo.total()
            prev = waiting
            waiting_total[t] += waiting
            accelerated_total += accel[t]
            cost["accelerated_placement"][t] += pl.accelerated_eur_per_person * accel[t]
            place_rows.append(
                {"period": labels[t], "region": r, "linked": linked, "housed_regular": housed[t], "accelerated": accel[t],
                 "waiting": waiting, "overdue": fifo.overdue(t, norm)}
            )
    check(accelerated_total, pl.accelerated_total, "accelerated placements over the horizon (national total)")

    # reception: awaiting departure, occupancy, places, crisis, unsheltered
    rec = inst.reception
    dep = d.per_period_rate(rec.departure_rate_per_month)
    waits = [k for k in K if cts[k].waits_in_coa]
    awaiting, prev = np.zeros(T), rec.start_awaiting_departure
    for t in range(T):
        rejected = sum((1 - grant[k][t]) * persons[k][t] * decided[k][t] for k in waits)
        awaiting[t] = prev = (1 - dep) * prev + rec.rejected_stay_share * rejected
    asylum = sum((persons[k] * stock[k] for k in waits), np.zeros(T))
    others = {g: np.array(d.s(f"reception.other_groups.{g}")) for g in rec.other_groups}
    occupancy = asylum + waiting_total + awaiting + sum(others.values(), np.zeros(T))

    open_periods, kept, started = _locations(run, viol)
    places = np.zeros(T)
    for l, periods in open_periods.items():
        loc = inst.locations[l]
        lt = inst.location_types[loc.type]
        for t in periods:
            places[t] += loc.places
            cost["locations_running"][t] += lt.eur_per_place_year * y * loc.places
    for l, t in started.items():
        loc = inst.locations[l]
        cost["locations_opening"][t] += inst.location_types[loc.type].opening_eur_per_place * loc.places
    for l in kept:
        loc = inst.locations[l]
        t = max(0, d.existing_last_period(l) + 1)
        cost["locations_keep_open"][t] += inst.location_types[loc.type].keep_open_eur_per_place * loc.places

    caps = {r: d.s(f"regions.{r}.crisis_capacity") for r in R}
    price = {
        r: reg.crisis_eur_per_person_night if reg.crisis_eur_per_person_night is not None else rec.crisis_eur_per_person_night
        for r, reg in inst.regions.items()
    }
    cheapest_first = sorted(R, key=lambda r: price[r])
    for t in range(T):
        if crisis[t] < -_tol(0):
            viol.append(f"crisis {labels[t]}: negative")
        check(crisis[t], sum(caps[r][t] for r in R), f"crisis shelter {labels[t]} (crisis capacity of all regions)")
        left = crisis[t]
        for r in cheapest_first:
            use = min(left, caps[r][t])
            cost["crisis_shelter"][t] += price[r] * nights[t] * use
            left -= use
        if left > 0:
            cost["crisis_shelter"][t] += price[cheapest_first[-1]] * nights[t] * left
    unsheltered = np.maximum(0.0, occupancy - rec.occupancy_norm * places - crisis)

    # measures in force: one-off in their start period, then every period
    for name in getattr(inst, "in_force", []):
        measure = inst.measures[name]
        start = getattr(measure, "start", None)
        first = grid.index(start) if start else 0
        cost["measures"][first] += measure.eur_one_off
        cost["measures"][first:] += measure.eur_per_period

    # budget
    total_by_period = sum(cost.values(), np.zeros(T))
    if inst.budget.total_eur is not None:
        check(total_by_period.sum(), inst.budget.total_eur, "total cost (budget.total_eur)")
    for year, cap in inst.budget.by_year_eur.items():
        spent = sum(total_by_period[t] for t in range(T) if grid.years[t] == year)
        check(spent, cap, f"cost in {year} (budget.by_year_eur)")

    tables = {
        "ind_cases": pd.DataFrame(
            [
                {"period": labels[t], "case_type": k, "inflow": inflow[k][t], "decided_internal": dec_int[k][t],
                 "decided_outsourced": dec_out[k][t], "stock": stock[k][t], "overdue": overdue[k][t],
                 "notices_of_default": notices[k][t]}
                for k in K
                for t in range(T)
            ]
        ),
        "staff": pd.DataFrame(staff_rows),
        "reception": pd.DataFrame(
            {
                "period": labels,
                "occupancy": occupancy,
                "places_open": places,
                "places_needed": occupancy / rec.occupancy_norm,
                "crisis": crisis,
                "unsheltered": unsheltered,
                "asylum_process": asylum,
                "permit_holders": waiting_total,
                "awaiting_departure": awaiting,
                **others,
            }
        ),
        "placement": pd.DataFrame(place_rows),
        "costs": pd.DataFrame([{"period": labels[t], "component": c, "eur": cost[c][t]} for c in COMPONENTS for t in range(T)]),
    }
    by_component = {c: float(cost[c].sum()) for c in COMPONENTS}
    ind_t, plc_t = tables["ind_cases"], tables["placement"]
    overdue_by_type = {k: float(overdue[k].sum() * mu) for k in K}
    kpis = {
        "overdue_case_months": sum(overdue_by_type.values()),
        "overdue_case_months_by_type": overdue_by_type,
        "end_stock_by_type": {k: float(stock[k][-1]) for k in K},
        "notices_of_default_total": float(sum(n.sum() for n in notices.values())),
        "crisis_person_nights": float((crisis * nights).sum()),
        "unsheltered_person_nights": float((unsheltered * nights).sum()),
        "permit_holder_months_over_norm": float(plc_t.overdue.sum() * mu) if len(plc_t) else 0.0,
        "peak_occupancy": float(occupancy.max()),
        "peak_places_needed": float(occupancy.max() / rec.occupancy_norm),
        "total_cost_eur": float(sum(by_component.values())),
        "cost_by_component": by_component,
        "hires_total": float(tables["staff"].hires.sum()),
        "outsourced_cases_total": float(ind_t.decided_outsourced.sum()),
        "accelerated_placements_total": float(accelerated_total),
        "decided_total": float(ind_t.decided_internal.sum() + ind_t.decided_outsourced.sum()),
        "housed_regular_total": float(plc_t.housed_regular.sum()) if len(plc_t) else 0.0,
        "locations_opened": sum(1 for l in started),
        "locations_kept_open": len(kept),
    }
    return Recount(tables, kpis, viol)


def _locations(run: Run, viol: list[str]):
    """Open periods per location, the existing ones kept open, the candidates' first period of use."""
    d = run.data
    inst, grid = d.instance, d.grid
    T, labels = grid.T, grid.labels
    path = run.folder / "locations.csv"
    rows = {}
    for i, rec in enumerate(run.tables["locations"].to_dict("records")):
        l = str(rec["location"]).strip()
        if l not in inst.locations:
            raise _err(path, f"row {i + 2}: unknown location '{l}'")
        if l in rows:
            raise _err(path, f"row {i + 2}: a second row for location '{l}'")
        rows[l] = (i, rec)

    def period(i, rec, col) -> int | None:
        text = str(rec[col]).strip()
        if not text:
            return None
        t = grid.index(text)
        if t is None:
            raise _err(path, f"row {i + 2}: {col} '{text}' is not a period of the run's horizon {labels[0]}..{labels[-1]}")
        return t

    def flag(i, rec, col) -> bool:
        text = str(rec[col]).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no", ""):
            return False
        raise _err(path, f"row {i + 2}: column '{col}': expected True or False, got {text[:20]!r}")

    open_periods, kept, started = {}, [], {}
    for l, loc in inst.locations.items():
        planned = d.existing_last_period(l) if loc.status == "existing" else None
        if l not in rows:
            viol_note = f"locations.csv has no row for location '{l}': counted as "
            viol.append(viol_note + ("open as planned" if loc.status == "existing" else "not opened"))
            if loc.status == "existing" and planned >= 0:
                open_periods[l] = range(0, planned + 1)
            continue
        i, rec = rows[l]
        first, last = period(i, rec, "open_from"), period(i, rec, "open_until")
        if (first is None) != (last is None) or (first is not None and last < first):
            raise _err(path, f"row {i + 2}: location '{l}': open_from and open_until must both be periods (from <= until) or both empty")
        if loc.status == "existing":
            if last is None:
                if planned >= 0:
                    viol.append(f"location {l}: closed before its planned close {labels[planned]}")
                continue
            open_periods[l] = range(first, last + 1)
            if first != 0:
                viol.append(f"location {l}: an existing location is open from the start, not from {labels[first]}")
            if last > planned:
                kept.append(l)
                if not loc.can_keep_open:
                    viol.append(f"location {l}: kept open past its planned close although can_keep_open is false")
                if last != T - 1:
                    viol.append(f"location {l}: kept open only until {labels[last]}; keeping open lasts through the horizon")
            elif last < planned:
                viol.append(f"location {l}: closes in {labels[last]}, before its planned close {labels[planned]}")
        else:
            if not flag(i, rec, "opened"):
                if first is not None:
                    viol.append(f"location {l}: not opened but has open periods {labels[first]}..{labels[last]} (counted as not opened)")
                continue
            if first is None:
                raise _err(path, f"row {i + 2}: location '{l}' is opened but has no open_from")
            open_periods[l] = range(first, last + 1)
            started[l] = first
            lead, min_open = d.location_first_period(l), d.location_min_open(l)
            if first < lead:
                viol.append(f"location {l}: open from {labels[first]} but its lead time allows {labels[lead] if lead < T else 'no period of the horizon'} at the earliest")
            if last - first + 1 < min(min_open, T - first):
                viol.append(f"location {l}: open {last - first + 1} periods, less than its minimum of {min_open}")
    return open_periods, kept, started


# --- comparing -----------------------------------------------------------------------------


def _flatten(kpis: dict, names) -> dict:
    out = {}
    for name in names:
        if name not in kpis:
            continue
        v = kpis[name]
        if isinstance(v, dict):
            for key, x in v.items():
                out[f"{name}.{key}"] = x
        else:
            out[name] = v
    return out


def _agree(a: float, b: float, floor: float) -> bool:
    if abs(a) <= floor and abs(b) <= floor:
        return True
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def _diff_pct(run: float, new: float) -> float:
    scale = max(abs(run), abs(new))
    return 0.0 if scale == 0 else 100.0 * (new - run) / scale


def compare_kpis(run_kpis: dict, new_kpis: dict) -> pd.DataFrame:
    """One row per KPI (dict KPIs one row per entry; an entry one side lacks counts as 0)."""
    names = list(KPI_NAMES) + [n for n in OPTIONAL_KPIS if n in run_kpis]
    run_flat, new_flat = _flatten(run_kpis, names), _flatten(new_kpis, names)
    eur_floor = max(1.0, EUR_FLOOR_SHARE * max(abs(run_kpis["total_cost_eur"]), abs(new_kpis["total_cost_eur"])))
    rows = []
    for key in list(run_flat) + [k for k in new_flat if k not in run_flat]:
        a, b = float(run_flat.get(key, 0.0)), round(float(new_flat.get(key, 0.0)), 6) + 0.0  # as kpis.json
        floor = eur_floor if key.split(".")[0] in EUR_KPIS else COUNT_FLOOR
        below = abs(a) <= floor and abs(b) <= floor  # equal by the floor: no difference
        rows.append({"kpi": key, "run": a, "recount": b, "diff_pct": 0.0 if below else _diff_pct(a, b), "agree": _agree(a, b, floor)})
    return pd.DataFrame(rows, columns=["kpi", "run", "recount", "diff_pct", "agree"])


def compare_tables(run: Run, new: Recount) -> pd.DataFrame:
    """Row-by-row check of the recounted table columns: one row per (table, column)."""
    eur_floor = max(1.0, EUR_FLOOR_SHARE * abs(new.kpis["total_cost_eur"]))
    rows = []
    for name, frame in new.tables.items():
        keys = list(TABLES[name][0])
        path = run.folder / f"{name}.csv"
        got = run.tables[name]
        columns = [c for c in frame.columns if c not in keys and c not in DECISIONS]
        missing = [c for c in columns if c not in got.columns]
        if missing:
            raise _err(path, f"missing column '{missing[0]}'")
        if got.duplicated(keys).any():
            raise _err(path, f"row {int(got.duplicated(keys).to_numpy().argmax()) + 2}: a second row for the same {' and '.join(keys)}")
        got = got[keys + columns].copy()
        for c in columns:
            got[c] = [_number(x, path, c, i) for i, x in enumerate(got[c])]
        merged = frame.merge(got, on=keys, how="left", suffixes=("", "_run"))
        if name == "costs":  # a component the run does not list costs nothing in the run
            absent = ~merged.component.isin(set(got.component))
            merged.loc[absent, "eur_run"] = 0.0
        if merged[[c + "_run" for c in columns]].isna().any().any():
            raise _err(path, "rows missing: expected one per period and " + (keys[1] if len(keys) > 1 else "period"))
        floor = eur_floor if name == "costs" else COUNT_FLOOR
        for c in columns:
            new_v = merged[c].to_numpy(dtype=float)
            run_v = merged[c + "_run"].to_numpy(dtype=float)
            bad = [i for i in range(len(new_v)) if not _agree(run_v[i], new_v[i], floor)]
            worst = max(bad, key=lambda i: abs(new_v[i] - run_v[i])) if bad else None
            where = " ".join(str(merged.loc[worst, k]) for k in keys) if worst is not None else ""
            rows.append(
                {"table": name, "column": c, "rows": len(new_v), "disagree": len(bad), "worst": where,
                 "run": run_v[worst] if bad else np.nan, "recount": new_v[worst] if bad else np.nan}
            )
    return pd.DataFrame(rows, columns=["table", "column", "rows", "disagree", "worst", "run", "recount"])


def evaluate_run(folder) -> tuple[pd.DataFrame, list[str], bool]:
    """Recount a run folder from its decisions.

    Returns ``(comparison, violations, ok)``: the KPI comparison (columns kpi, run, recount,
    diff_pct, agree; ``comparison.attrs["tables"]`` holds the row-by-row check of the table
    columns, ``comparison.attrs["recount"]`` the :class:`Recount`), the constraint violations of
    the replayed decisions, and whether everything agrees with no violation.
    Raises :class:`~planner.errors.InputError` for a bad run folder.
    """
    run = read_run(folder)
    new = recount(run)
    comparison = compare_kpis(run.kpis, new.kpis)
    tables = compare_tables(run, new)
    comparison.attrs["tables"] = tables
    comparison.attrs["recount"] = new
    ok = bool(comparison.agree.all()) and int(tables.disagree.sum()) == 0 and not new.violations
    return comparison, new.violations, ok


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x:,.2f}" if abs(x) < 1e12 else f"{x:.6g}"


def report(folder, comparison: pd.DataFrame, violations: list[str], ok: bool) -> str:
    """The side-by-side table and the verdict, as printed by ``planner evaluate``."""
    width = max([len("KPI")] + [len(k) for k in comparison.kpi])
    lines = [f"Recount of {folder} from its decisions (cohort simulation, independent of the model):", ""]
    lines.append(f"{'KPI':<{width}}  {'run':>20}  {'recount':>20}  {'diff %':>8}")
    for row in comparison.itertuples():
        mark = "" if row.agree else "  <- DIFFERS"
        lines.append(f"{row.kpi:<{width}}  {_fmt(row.run):>20}  {_fmt(row.recount):>20}  {row.diff_pct:>8.3f}{mark}")
    tables = comparison.attrs.get("tables")
    lines.append("")
    if tables is not None:
        bad = tables[tables.disagree > 0]
        lines.append(
            f"tables: {len(tables)} columns recounted row by row, "
            + ("all agree" if bad.empty else f"{len(bad)} disagree")
        )
        for row in bad.itertuples():
            lines.append(
                f"  {row.table}.csv {row.column}: {row.disagree} of {row.rows} rows differ; "
                f"most at {row.worst}: run {_fmt(row.run)}, recount {_fmt(row.recount)}"
            )
    lines.append(f"feasibility: {_violations(violations)}" if violations else "feasibility: the decisions respect every constraint")
    for v in violations[:20]:
        lines.append(f"  {v}")
    if len(violations) > 20:
        lines.append(f"  ... and {len(violations) - 20} more")
    differing = comparison[~comparison.agree].kpi.tolist()
    if ok:
        lines.append("result: the recount agrees with the run (every KPI within 0.5 %)")
    else:
        parts = []
        if differing:
            parts.append("KPIs differ by more than 0.5 %: " + ", ".join(differing))
        if tables is not None and tables.disagree.sum():
            parts.append("table columns differ: " + ", ".join(f"{r.table}.{r.column}" for r in tables[tables.disagree > 0].itertuples()))
        if violations:
            parts.append(_violations(violations))
        lines.append("result: DISAGREE: " + "; ".join(parts))
    return "\n".join(lines)


def _violations(violations: list[str]) -> str:
    n = len(violations)
    return f"{n} violation{'' if n == 1 else 's'} of the constraints or the tables"


def summary_line(comparison: pd.DataFrame, violations: list[str]) -> str:
    """One line naming what disagrees (for stderr)."""
    parts = []
    differing = comparison[~comparison.agree]
    if len(differing):
        parts.append(
            "KPI "
            + ", ".join(f"{r.kpi} (run {_fmt(r.run)}, recount {_fmt(r.recount)})" for r in differing.head(5).itertuples())
            + (f" and {len(differing) - 5} more" if len(differing) > 5 else "")
            + " differ by more than 0.5 %"
        )
    tables = comparison.attrs.get("tables")
    if tables is not None and tables.disagree.sum():
        parts.append("table columns " + ", ".join(f"{r.table}.{r.column}" for r in tables[tables.disagree > 0].itertuples()) + " differ")
    if violations:
        parts.append(f"{_violations(violations)} (first: {violations[0]})")
    return "the recount disagrees with the run: " + "; ".join(parts)
