"""What ``planner explain`` re-solves: the sensitivities and the withheld decisions, as tasks.

A task is one re-solve of the plan's instance with

* ``changes``: instance changes by dotted path (:mod:`planner.instance.overrides`), which a
  persistent worker pushes as parameter values (:class:`planner.solver.persistent.Resolver`);
* ``bounds``: variables held at fixed values, ``(component, index, lb, ub)`` (a withheld decision
  is an upper bound 0; the places sensitivity fixes its site open);
* ``start``: values of integer variables that replace the plan's in the MIP start (the start must
  agree with the bounds, or HiGHS discards it).

**Sensitivities** (``group = "sensitivity"``), sizes from the instance's ``explain`` section
(:class:`planner.instance.schema.Explain`); with ``W`` the committed periods and ``n(m)`` the
periods of ``m`` months from the start:

* ``fte``, per pool p: ``start_fte[p] + fte`` (the extra FTE leave at the pool's attrition);
* ``hires``, per pool p: ``max_hires[p,t] + h`` for ``t < n(hires_months)``;
* ``external_fte``, per pool p: ``external_fte_max[p,t] + e`` for ``t < n(external_months)``;
* ``places`` (national: the capacity row ``occupancy <= norm x places + crisis + unsheltered`` is
  national): a site of ``places`` places with the running and opening cost of a location type,
  no lead time, fixed in use from ``from_period`` (default: the first period after ``W``) to the
  model's end;
* ``housing``, per region r (a list, or the N regions with the most permit-holder months past the
  norm in the plan): ``housing_supply[r,t] + s`` for ``t < n(housing_months)`` (a region without
  its own supply gets the national supply's share written out first);
* ``budget``, per budget the plan uses to within 0.01 % (horizon total, or a year wholly in the
  horizon): that budget ``+ budget_eur``.

**Explanations** (``group = "explanation"``): one task per decision of ``plan_quarter.csv``
(its rows grouped by decision, item and region; total rows left out), the decision withheld in
the committed periods ``W`` and everything else free:

* ``hire`` / ``external_staff`` / ``retrain`` / ``outsource`` / ``house_regular`` /
  ``place_accelerated``: ``hires[p,t]``, ``external[p,t]``, ``retrain[p,q,t]``, ``dec_out[k,t]``,
  ``housed[r,t]``, ``accelerated[r,t]`` ``= 0`` for ``t in W``;
* ``open_location`` l: ``start[l,t] = 0`` for the first uses ``t`` whose decision ``t - lead_l``
  falls in ``W`` (the site may still be decided later);
* ``keep_open`` l: ``keep[l] = 0``.

A withheld site's task also carries ``swaps``: complete-plan candidates that replace it
(:func:`site_swaps`), which the resolver tries as fixed-binary LPs before any MIP.

Regular housing (``house_regular``) that uses the region's whole supply in every committed period
is not re-solved (``skip``: the row's status is ``at_limit``): with permit holders waiting, any
plan houses as many as the supply allows, so there is no choice to withhold; what more supply
buys is the ``housing`` sensitivity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from planner.errors import InputError
from planner.model.reception import extension_last

DECISION_KINDS = ("hire", "external_staff", "retrain", "outsource", "open_location", "keep_open", "house_regular", "place_accelerated")
BINDING_SHARE = 1e-4
"""A budget binds when the plan's cost is within this share of it."""


@dataclass
class Task:
    group: str  # "sensitivity" or "explanation"
    kind: str  # fte, hires, external_fte, places, housing, budget, or a plan_quarter decision
    item: str
    region: str
    periods: str
    amount: float
    unit: str
    what: str  # the change in plain words
    changes: list = field(default_factory=list)
    bounds: list = field(default_factory=list)
    start: list = field(default_factory=list)
    structural: bool = False  # the worker rebuilds its model for it (solved last)
    skip: str = ""  # not re-solved, and why (the row's status is at_limit)
    swaps: list = field(default_factory=list)  # (substitute, start values over the plan's): see site_swaps


def _periods(d, months) -> int:
    """Periods of ``months`` months from the start (None: the horizon), within the horizon."""
    if months is None:
        return d.horizon_T
    return max(1, min(d.horizon_T, d.grid.whole_periods(months)))


def _span(d, n: int) -> str:
    labels = d.grid.labels
    return labels[0] if n == 1 else f"{labels[0]}..{labels[n - 1]}"


def _series_plus(d, path: str, amount: float, n: int, base=None) -> dict:
    """A change setting series ``path`` to its values plus ``amount`` in its first ``n`` periods."""
    values = list(base if base is not None else d.series[path])
    for t in range(min(n, len(values))):
        values[t] += amount
    return {"path": path, "op": "set", "value": values}


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.1f}"


def staff_tasks(d) -> list[Task]:
    """One more FTE, hire per period and external FTE per pool."""
    ex = d.instance.explain
    n_h, n_e = _periods(d, ex.hires_months), _periods(d, ex.external_months)
    tasks = []
    for p in d.instance.staff_pools:
        tasks.append(Task("sensitivity", "fte", p, "", d.grid.labels[0], ex.fte, "FTE", f"{_fmt(ex.fte)} more FTE in {p} from the start",
                          [{"path": f"staff_pools.{p}.start_fte", "op": "add", "value": ex.fte}]))
        tasks.append(Task("sensitivity", "hires", p, "", _span(d, n_h), ex.hires_per_period, "FTE per period",
                          f"{_fmt(ex.hires_per_period)} more hire allowed per period in {p}, {_span(d, n_h)}",
                          [_series_plus(d, f"staff_pools.{p}.max_hires", ex.hires_per_period, n_h)]))
        tasks.append(Task("sensitivity", "external_fte", p, "", _span(d, n_e), ex.external_fte, "FTE per period",
                          f"{_fmt(ex.external_fte)} more external FTE allowed in {p}, {_span(d, n_e)}",
                          [_series_plus(d, f"staff_pools.{p}.external_fte_max", ex.external_fte, n_e)]))
    return tasks


def _free_name(taken, base: str) -> str:
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    return name


def places_task(d, commit: int) -> Task | None:
    """A site of ``explain.places`` places fixed in use from its period to the model's end."""
    inst, spec = d.instance, d.instance.explain.places
    if not inst.location_types:
        return None
    ltype = spec.location_type or next(iter(inst.location_types))
    region = spec.region or next(iter(inst.regions))
    if ltype not in inst.location_types:
        raise InputError("explain.places.location_type", f"unknown location type '{ltype}'; expected one of {', '.join(inst.location_types)}")
    if region not in inst.regions:
        raise InputError("explain.places.region", f"unknown region '{region}'")
    if spec.from_period is None:
        first = min(commit, d.horizon_T - 1)
    else:
        first = d.grid.index(spec.from_period)
        if first is None or first >= d.horizon_T:
            raise InputError("explain.places.from_period", f"'{spec.from_period}' is not a period of the horizon {d.grid.labels[0]}..{d.horizon_labels[-1]}")
    tname = _free_name(inst.location_types, "explain-places")
    lname = _free_name(inst.locations, "explain-places")
    src = inst.location_types[ltype]
    new_type = {"name": f"{ltype} (explain)", "eur_per_place_year": src.eur_per_place_year, "opening_eur_per_place": src.opening_eur_per_place, "lead_months": 0.0, "min_open_months": 0.0}
    new_loc = {"region": region, "type": tname, "places": spec.places, "status": "candidate"}
    T = d.grid.T
    bounds = [("start", (lname, t), float(t == first), float(t == first)) for t in range(T)]
    bounds += [("serve", (lname, t), float(t >= first), float(t >= first)) for t in range(T)]
    return Task(
        "sensitivity", "places", "national", region, f"{d.grid.labels[first]}..", spec.places, "places",
        f"{_fmt(spec.places)} more places ({ltype} costs) from {d.grid.labels[first]}",
        [{"path": f"location_types.{tname}", "op": "set", "value": new_type}, {"path": f"locations.{lname}", "op": "set", "value": new_loc}],
        bounds, [(c, i, lo) for c, i, lo, _ in bounds], structural=True,
    )


def housing_regions(d, placement: pd.DataFrame | None) -> list[str]:
    """The regions of the housing sensitivity: the instance's list, or the N regions with the most
    permit-holder months past the norm in the plan (ties: instance order)."""
    chosen = d.instance.explain.housing_regions
    if isinstance(chosen, list):
        for r in chosen:
            if r not in d.instance.regions:
                raise InputError("explain.housing_regions", f"unknown region '{r}'")
        return list(chosen)
    if chosen <= 0 or placement is None or not len(placement):
        return []
    over = pd.to_numeric(placement.overdue).groupby(placement.region.astype(str), sort=False).sum()
    order = sorted(d.instance.regions, key=lambda r: (-float(over.get(r, 0.0)), list(d.instance.regions).index(r)))
    return order[:chosen]


def housing_tasks(d, placement) -> list[Task]:
    ex = d.instance.explain
    n = _periods(d, ex.housing_months)
    tasks = []
    for r in housing_regions(d, placement):
        path = f"regions.{r}.housing_supply"
        base = regional_supply(d, r)
        tasks.append(Task("sensitivity", "housing", r, r, _span(d, n), ex.housing_per_period, "persons per period",
                          f"{_fmt(ex.housing_per_period)} more housing a period in {r}, {_span(d, n)}", [_series_plus(d, path, ex.housing_per_period, n, base)]))
    return tasks


def budget_tasks(d, costs: pd.DataFrame | None, horizon_cost: float) -> list[Task]:
    """More budget for every budget the plan uses to within :data:`BINDING_SHARE` (a slack budget
    buys nothing: the plan stays optimal)."""
    b, amount = d.instance.budget, d.instance.explain.budget_eur
    tasks = []
    if b.total_eur is not None and horizon_cost >= b.total_eur * (1 - BINDING_SHARE):
        tasks.append(Task("sensitivity", "budget", "horizon", "", _span(d, d.horizon_T), amount, "EUR", f"EUR {amount / 1e6:,.0f} million more budget over the horizon",
                          [{"path": "budget.total_eur", "op": "add", "value": amount}]))
    horizon_years = {y for y in d.grid.years[: d.horizon_T]} - set(d.grid.years[d.horizon_T :])
    for year, cap in b.by_year_eur.items():
        if year not in horizon_years or costs is None:
            continue
        spent = float(pd.to_numeric(costs.eur)[costs.period.astype(str).str.startswith(f"{year}-")].sum())
        if spent >= cap * (1 - BINDING_SHARE):
            value = {y: (v + amount if y == year else v) for y, v in b.by_year_eur.items()}
            tasks.append(Task("sensitivity", "budget", str(year), "", str(year), amount, "EUR", f"EUR {amount / 1e6:,.0f} million more budget for {year}",
                              [{"path": "budget.by_year_eur", "op": "set", "value": value}]))
    return tasks


def sensitivity_tasks(d, tables: dict, commit: int, horizon_cost: float) -> list[Task]:
    """Every sensitivity of the instance's ``explain`` section for the plan in ``tables``."""
    tasks = staff_tasks(d)
    place = places_task(d, commit)
    tasks += [place] if place else []
    tasks += housing_tasks(d, tables.get("placement"))
    tasks += budget_tasks(d, tables.get("costs"), horizon_cost)
    return tasks


# --- decisions withheld ---------------------------------------------------------------------

_VARS = {  # decision -> (variable, how its index is made from the item and a period)
    "hire": ("hires", lambda item, t: (item, t)),
    "external_staff": ("external", lambda item, t: (item, t)),
    "retrain": ("retrain", lambda item, t: (*[s.strip() for s in item.split("->")], t)),
    "outsource": ("dec_out", lambda item, t: (item, t)),
    "house_regular": ("housed", lambda item, t: (item, t)),
    "place_accelerated": ("accelerated", lambda item, t: (item, t)),
}
UNDO = {
    "hire": "hiring", "external_staff": "hiring in external staff for", "retrain": "retraining", "outsource": "outsourcing",
    "open_location": "opening", "keep_open": "keeping open", "house_regular": "regular housing in", "place_accelerated": "accelerated placement in",
}


def _withhold(d, decision: str, item: str, commit: int, integer: set) -> tuple[list, list]:
    """(bounds, start) that withhold ``decision`` of ``item`` in the first ``commit`` periods."""
    W = range(commit)
    if decision in _VARS:
        var, index = _VARS[decision]
        bounds = [(var, index(item, t), 0.0, 0.0) for t in W]
        return bounds, [(c, i, 0.0) for c, i, _, _ in bounds if c in integer]
    if decision == "open_location":
        first = d.location_first_period(item)
        T = d.grid.T
        bounds = [("start", (item, t), 0.0, 0.0) for t in range(first, min(T, first + commit))]
        start = [(c, (item, t), 0.0) for c in ("start", "serve") for t in range(first, T)]
        return bounds, start
    if decision == "keep_open":
        return [("keep", item, 0.0, 0.0)], [("keep", item, 0.0)]
    raise ValueError(decision)  # pragma: no cover - DECISION_KINDS is closed


AT_LIMIT = 1e-6
"""Regular housing is at its limit when it is within this share of the supply."""


def regional_supply(d, r: str) -> list[float]:
    """Regular housing supply of region ``r`` per period (its own, or its quota share of the national)."""
    own = d.series.get(f"regions.{r}.housing_supply")
    return list(own) if own is not None else [v * d.quota_shares()[r] for v in d.s("placement.housing_supply")]


def housing_at_limit(d, region: str, g: pd.DataFrame) -> str:
    """Why regular housing in ``region`` (its plan_quarter rows ``g``) is not re-solved: the plan
    houses the whole supply in every committed period ('' when it houses less in one)."""
    supply = regional_supply(d, region)
    for period, value in zip(g.period.astype(str), pd.to_numeric(g.value)):
        t = d.grid.index(period)
        if t is None or value < supply[t] * (1 - AT_LIMIT):
            return ""
    return (f"not a choice: the plan houses the whole regular housing supply of {region} in every committed period "
            "(what more supply buys: the housing rows of sensitivities.csv)")


def explanation_tasks(d, plan_quarter: pd.DataFrame, commit: int, plan: dict | None = None) -> list[Task]:
    """One task per decision of ``plan_quarter`` (rows grouped by decision, item and region; the
    kinds of ``explain.decisions``, default all), in the table's order. Regular housing that
    uses the region's whole supply in every committed period is not re-solved (``skip``).
    ``plan``: the plan's integer values ``{(component, index): value}``, from which a withheld
    site's ``swaps`` are made (None: none)."""
    kinds = d.instance.explain.decisions or DECISION_KINDS
    integer = {"start", "serve", "keep"} | ({"hires"} if any(p.integer_hires for p in d.instance.staff_pools.values()) else set())
    rows = plan_quarter[(plan_quarter.item.astype(str) != "total") & plan_quarter.decision.isin(kinds)]
    tasks = []
    for (decision, item, region), g in rows.groupby(["decision", "item", "region"], sort=False):
        item, region = str(item), "" if pd.isna(region) else str(region)
        periods = sorted(g.period.astype(str))
        span = periods[0] if len(periods) == 1 else f"{periods[0]}..{periods[-1]}"
        value = float(pd.to_numeric(g.value).sum())
        unit = str(g.unit.iloc[0])
        bounds, start = _withhold(d, decision, item, commit, integer)
        where = f" ({region})" if region and region != item else ""
        what = f"without {UNDO[decision]} {item}{where}: {_fmt(value)} {unit}, {span}"
        skip = housing_at_limit(d, item, g) if decision == "house_regular" else ""
        swaps = site_swaps(d, plan, decision, item, commit) if plan and decision in ("open_location", "keep_open") else []
        tasks.append(Task("explanation", decision, item, region, span, value, unit, what, [], bounds, start, skip=skip, swaps=swaps))
    return tasks


# --- a withheld site's substitutes ----------------------------------------------------------

SWAP_TRIES = 4
"""Substitutes tried per withheld site and kind of move (the closest first), besides opening it
later: each is one LP with every integer variable fixed, a fraction of a second on nl-2022."""


def _site_run(d, s: str, a: int, b: int) -> list[tuple]:
    """Start values opening candidate ``s`` in period ``a`` and keeping it in use through
    ``max(b, a + m_s - 1)`` (its minimum term; at most the model's last period)."""
    T, first = d.grid.T, d.location_first_period(s)
    end = min(T - 1, max(b, a + d.location_min_open(s) - 1))
    return [("start", (s, t), float(t == a)) for t in range(first, T)] + [("serve", (s, t), float(a <= t <= end)) for t in range(first, T)]


def _runs(d, plan: dict) -> dict:
    """Candidate -> (first, last) period in use in the plan (candidates in use)."""
    runs = {}
    for (comp, idx), value in plan.items():
        if comp == "serve" and value > 0.5:
            s, t = idx
            lo, hi = runs.get(s, (t, t))
            runs[s] = (min(lo, t), max(hi, t))
    return runs


def site_swaps(d, plan: dict, decision: str, item: str, commit: int, tries: int = SWAP_TRIES) -> list[tuple[str, list]]:
    """Plans that replace withheld site ``item``, as ``(substitute, start values)`` that override
    the plan's (and the task's) integer values, every other integer variable as in the plan.

    The withheld site gives ``P`` places in periods ``a..b``: an opened candidate ``l`` from its
    first use ``a`` (decided in a committed period) to the end of its run ``b``; a kept site from
    its planned close ``c`` (``a = c + 1``) to the extension's end ``b``. A substitute ``s``:

    * a candidate that can be in use by ``a`` (``f_s <= a``, its lead time), unused in the plan
      or used only from ``s_0 > b``: opened in ``a``, in use through the end of its run or
      ``b``, whichever is later (and its minimum term);
    * an opened candidate's exchange: a candidate ``s`` in use ``s_0..e_s`` with ``a < s_0`` and
      ``s_0 >= f_l + commit`` (``l`` may be decided then): ``s`` opened in ``a`` instead, in use
      through ``max(e_s, b)``, and ``l`` opened in ``s_0``, in use through ``min(e_s, b)``.
      With ``places_s = P`` every period has the places it had and every period's new places
      (the pace limits) are what they were: only the costs differ;
    * an existing site that can be kept open, not kept in the plan, closing before ``a``: kept
      (a cap on extensions that binds leaves this as the only move).

    Of each kind the closest ``tries``, first: places nearest ``P`` (at least ``P`` before fewer), same region,
    same type, instance order: where pace limits and the capacity bind, equal places keep the
    plan's balance. An opened candidate can also be opened later: in the first period of use
    whose decision is past the committed ones, ``f_l + commit``. Whether any of these is as good
    as the re-solve is for its LP to say (:class:`planner.studies.explain.ExplainResolver`).
    """
    locs, T, labels = d.instance.locations, d.grid.T, d.grid.labels
    loc = locs[item]
    first = {s: d.location_first_period(s) for s, x in locs.items() if x.status == "candidate" and d.location_first_period(s) < T}
    keepable = [s for s, x in locs.items() if x.status == "existing" and x.can_keep_open and d.existing_last_period(s) < T - 1]
    runs = _runs(d, plan)
    later = None
    if decision == "open_location":
        if item not in first or item not in runs:
            return []
        a, b = runs[item]
        if a >= first[item] + commit:  # not decided in the committed periods: nothing is withheld
            return []
        if first[item] + commit < T:
            later = (f"{item} from {labels[first[item] + commit]}", _site_run(d, item, first[item] + commit, b))
    else:
        if item not in keepable or plan.get(("keep", item), 0.0) < 0.5:
            return []
        a, b = d.existing_last_period(item) + 1, extension_last(d, item)
    order = {s: i for i, s in enumerate(locs)}

    def closeness(s):
        x = locs[s]
        return (abs(x.places - loc.places), x.places < loc.places, x.region != loc.region, x.type != loc.type, order[s])

    opened, exchanged, kept = [], [], []
    for s, f in first.items():
        if s == item or f > a:
            continue
        s0, e = runs.get(s, (T, T))
        if s0 > b:  # unused, or used only after the withheld site's run: opened in a
            opened.append((closeness(s), s, _site_run(d, s, a, b if s0 == T else max(b, e))))
        elif decision == "open_location" and a < s0 and s0 >= first[item] + commit:
            exchange = _site_run(d, s, a, max(e, b)) + _site_run(d, item, s0, min(e, b))
            exchanged.append((closeness(s), f"{s} (and {item} from {labels[s0]})", exchange))
    for s in keepable:
        if s != item and plan.get(("keep", s), 0.0) < 0.5 and d.existing_last_period(s) + 1 <= a:
            kept.append((closeness(s), s, [("keep", s, 1.0)]))
    closest = sorted((f for found in (opened, exchanged, kept) for f in sorted(found, key=lambda f: f[0])[:tries]), key=lambda f: f[0])
    return [(s, values) for _, s, values in closest] + ([later] if later else [])
