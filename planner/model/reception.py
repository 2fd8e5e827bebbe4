"""COA reception: occupancy groups, places from existing and new locations, crisis shelter,
unsheltered.

Sets: ``L_old`` existing locations that may be kept open past their planned close, ``L_new``
candidate locations, ``G`` other occupancy groups. Variables: ``keep[l]`` (binary), for candidate
``l`` and each period from its first possible use ``f_l`` (lead time after a decision in period 0)
``start[l,t]`` and ``serve[l,t]`` (binary), ``awaiting[t]`` (rejected persons awaiting departure),
``crisis[r,t]``, ``unsheltered[t]`` (persons; solved as person-nights ``unsheltered_nights[t]``,
a unit choice for the solver's numerics). With ``m_l`` the minimum open duration:

    awaiting[t]   = rejected persons in COA: appellants, awaiting another procedure, the departure track
                    (planner.model.returns; without return flows (1 - dep) awaiting[t-1] + stay * sum_k (1 - g_k) persons_k decided[k,t])
    occupancy[t]  = sum_{k waits in COA} persons_k * stock[k,t] + sum_r waiting[r,t] + awaiting[t] + sum_g other[g,t]
    serve[l,t]   <= serve[l,t-1] + start[l,t];   sum_t start[l,t] <= 1
    serve[l,t]   >= sum_{tau = t-m_l+1 .. t} start[l,tau]
    places[t]     = sum_{existing open at t} places_l + sum_{l in L_old, t > close_l} places_l keep[l]
                    + sum_{l in L_new} places_l serve[l,t]
    occupancy[t] <= norm * places[t] + sum_r crisis[r,t] + unsheltered[t]
    crisis[r,t]  <= crisis_capacity[r,t]

Places come at a pace (L736-L760: durable sites could hardly be found). A candidate's places count
against the limits of the period of its *first use* (what COA experiences; the decision is ``lead``
periods earlier), nationally where ``reception.max_new_places`` is given and per region ``r`` in
``R_pace`` (regions with ``max_new_places``); absent: no limit:

    sum_{l in L_new, f_l <= t} places_l start[l,t]               <= max_new[t]
    sum_{l in L_new, region_l = r, f_l <= t} places_l start[l,t] <= max_new[r,t]

An existing temporary location closes after its planned close ``c_l`` unless an extension is
decided (``keep[l] = 1``, only where ``can_keep_open``). An extension lasts ``e_l`` periods (the
type's ``extension_months``; absent: to the model's end), so the kept term of ``places[t]`` is
there for ``c_l < t <= min(c_l + e_l, T - 1)``; its cost is ``keep_open_eur x places`` once, in
period ``c_l + 1``, plus running while open. At most ``max_extensions`` extensions:

    sum_{l in L_old} keep[l] <= max_extensions

A closure is final: an existing location cannot reopen after it closes (there is no variable that
could), and a candidate opens at most once and serves one unbroken run (continuity above), so a
site needed again after a gap is either kept open through the gap (paid every period) or not used.

A new location's minimum term is a commitment: the part of it that runs past the model's last
period (horizon and tail) is charged in that last period, ``locations_commitment``:

    commitment = sum_{l, t} running_l * max(0, t + m_l - T) * start[l,t]

A candidate decided in period ``t - lead`` serves from ``t``: ``start[l,t]`` is the first period of
use, so its decision period is ``t - lead`` (reported as ``decided``).
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo

from planner.model import returns
from planner.model.common import COST_UNIT, clean, series_values, val


def data(d, md) -> None:
    """Sets ``L_old``, ``L_new``, ``L_new_T``, ``G``, ``L_all`` and the reception parameters
    (values only; see ``common.ModelData``)."""
    inst = d.instance
    y = d.grid.year_fraction
    rec = inst.reception
    locs = inst.locations
    ltypes = inst.location_types

    existing = [l for l, loc in locs.items() if loc.status == "existing"]
    md.set("L_old", [l for l in existing if locs[l].can_keep_open and d.existing_last_period(l) < d.grid.T - 1])
    candidates = md.set(
        "L_new", [l for l, loc in locs.items() if loc.status == "candidate" and d.location_first_period(l) < d.grid.T]
    )
    md.set("L_new_T", [(l, t) for l in candidates for t in range(d.location_first_period(l), d.grid.T)], dimen=2)
    G = md.set("G", rec.other_groups)

    all_locs = md.set("L_all", locs)
    md.param("loc_places", ("L_all",), {l: locs[l].places for l in all_locs})
    md.param("loc_eur_per_place", ("L_all",), {l: ltypes[locs[l].type].eur_per_place_year * y for l in all_locs})
    md.param("loc_opening_eur", ("L_all",), {l: ltypes[locs[l].type].opening_eur_per_place for l in all_locs})
    md.param("loc_keep_eur", ("L_all",), {l: ltypes[locs[l].type].keep_open_eur_per_place for l in all_locs})
    other = {}
    for g in G:
        other.update(series_values(d, f"reception.other_groups.{g}", g))
    md.param("rec_other", ("G", "T"), other)
    crisis_cap = {}
    for r in inst.regions:
        crisis_cap.update(series_values(d, f"regions.{r}.crisis_capacity", r))
    md.param("rec_crisis_capacity", ("R", "T"), crisis_cap)
    md.param(
        "rec_crisis_eur",
        ("R",),
        {r: reg.crisis_eur_per_person_night if reg.crisis_eur_per_person_night is not None else rec.crisis_eur_per_person_night for r, reg in inst.regions.items()},
    )
    md.param("rec_nights", ("T",), dict(enumerate(d.grid.nights)))
    md.param("rec_norm", (), rec.occupancy_norm)
    md.param("rec_departure", (), d.per_period_rate(rec.departure_rate_per_month))
    md.param("rec_stay_share", (), rec.rejected_stay_share)
    md.param("rec_start_awaiting", (), rec.start_awaiting_departure)
    if rec.max_new_places is not None:
        md.param("rec_max_new_places", ("T",), dict(enumerate(d.s("reception.max_new_places"))))
    paced = md.set("R_pace", [r for r, reg in inst.regions.items() if reg.max_new_places is not None])
    pace = {}
    for r in paced:
        pace.update(series_values(d, f"regions.{r}.max_new_places", r))
    md.param("rec_max_new_places_region", ("R_pace", "T"), pace)
    if rec.max_extensions is not None:
        md.param("rec_max_extensions", (), rec.max_extensions)


def extension_last(d, l: str) -> int:
    """Last period an existing location ``l`` kept open past its planned close ``c`` is open:
    ``min(c + e, T - 1)`` with ``e`` its type's ``extension_months`` in whole periods (absent: ``T - 1``)."""
    months = d.instance.location_types[d.instance.locations[l].type].extension_months
    last = d.grid.T - 1
    return last if months is None else min(last, d.existing_last_period(l) + d.grid.whole_periods(months))


def define(m, d, md) -> None:
    """Variables, constraints and expressions (the sets and parameters of :func:`data` exist)."""
    inst = d.instance
    T = range(d.grid.T)
    locs = inst.locations
    existing = [l for l, loc in locs.items() if loc.status == "existing"]
    keepable = md.sets["L_old"]
    candidates = md.sets["L_new"]

    m.keep = pyo.Var(m.L_old, within=pyo.Binary, doc="existing location kept open past its planned close")
    m.start = pyo.Var(m.L_new_T, within=pyo.Binary, doc="candidate location's first period of use")
    m.serve = pyo.Var(m.L_new_T, within=pyo.Binary, doc="candidate location in use")
    m.awaiting = pyo.Var(m.T, within=pyo.NonNegativeReals, doc="rejected persons in COA awaiting departure")
    m.crisis = pyo.Var(m.R, m.T, within=pyo.NonNegativeReals, doc="persons in crisis emergency shelter")
    # Solver unit (numerics only): the variable counts person-nights, ``unsheltered[t]`` (persons)
    # is that divided by the period's nights. Its objective weight is then W_u (1,000) instead of
    # W_u x nights (31,000), which keeps the weighted objective's coefficients inside the band
    # HiGHS accepts (see planner.solver.solve.objective_scale).
    m.unsheltered_nights = pyo.Var(m.T, within=pyo.NonNegativeReals, doc="unsheltered person-nights in the period")
    nights = d.grid.nights
    m.unsheltered = pyo.Expression(
        m.T, rule=lambda m, t: m.unsheltered_nights[t] / nights[t], doc="persons with a right to reception and no place"
    )

    cts = inst.case_types
    waiting_types = [k for k in cts if cts[k].waits_in_coa]

    def awaiting_rule(m, t):
        # rejected persons in COA: the departure track (lag, then the departure rate), appellants,
        # those awaiting another procedure (planner.model.returns gives the maths)
        return returns.awaiting_balance(m, t)

    m.rec_awaiting_balance = pyo.Constraint(m.T, rule=awaiting_rule)

    m.occ_asylum_process = pyo.Expression(m.T, rule=lambda m, t: sum(m.case_persons[k] * m.stock[k, t] for k in waiting_types))
    m.occ_permit_holders = pyo.Expression(m.T, rule=lambda m, t: sum(m.waiting[r, t] for r in m.R))
    m.occupancy = pyo.Expression(
        m.T,
        rule=lambda m, t: m.occ_asylum_process[t] + m.occ_permit_holders[t] + m.awaiting[t] + sum(m.rec_other[g, t] for g in m.G),
    )

    first = {l: d.location_first_period(l) for l in candidates}
    min_open = {l: d.location_min_open(l) for l in candidates}

    def serve_rule(m, l, t):
        prev = m.serve[l, t - 1] if t > first[l] else 0
        return m.serve[l, t] <= prev + m.start[l, t]

    m.loc_serve_continuity = pyo.Constraint(m.L_new_T, rule=serve_rule)
    m.loc_open_once = pyo.Constraint(m.L_new, rule=lambda m, l: sum(m.start[l, t] for t in T if t >= first[l]) <= 1)

    def min_open_rule(m, l, t):
        recent = [tau for tau in range(max(first[l], t - min_open[l] + 1), t + 1)]
        return m.serve[l, t] >= sum(m.start[l, tau] for tau in recent)

    m.loc_min_open = pyo.Constraint(m.L_new_T, rule=min_open_rule)

    def existing_open(l, t):
        return t <= d.existing_last_period(l)

    ext_last = {l: extension_last(d, l) for l in keepable}

    def extended(l, t):
        return d.existing_last_period(l) < t <= ext_last[l]

    def places_rule(m, t):
        fixed = sum(m.loc_places[l] for l in existing if existing_open(l, t))
        kept = sum(m.loc_places[l] * m.keep[l] for l in keepable if extended(l, t))
        new = sum(m.loc_places[l] * m.serve[l, t] for l in candidates if t >= first[l])
        return fixed + kept + new

    m.places_open = pyo.Expression(m.T, rule=places_rule)

    m.rec_capacity = pyo.Constraint(
        m.T,
        rule=lambda m, t: m.occupancy[t] <= m.rec_norm * m.places_open[t] + sum(m.crisis[r, t] for r in m.R) + m.unsheltered[t],
    )
    m.rec_crisis_limit = pyo.Constraint(m.R, m.T, rule=lambda m, r, t: m.crisis[r, t] <= m.rec_crisis_capacity[r, t])
    _pace(m, d, md, first)

    _costs(m, d, extended, candidates, first, min_open)


def _pace(m, d, md, first) -> None:
    """The pace limits on places first used per period (national, per region) and the cap on
    extensions; rows only where a candidate can start (sparse)."""
    locs = d.instance.locations

    def new_places(m, t, region=None):
        return sum(m.loc_places[l] * m.start[l, t] for l in m.L_new if first[l] <= t and region in (None, locs[l].region))

    if "rec_max_new_places" in md.params:
        rows = [t for t in m.T if any(first[l] <= t for l in m.L_new)]
        m.rec_pace = pyo.Constraint(rows, rule=lambda m, t: new_places(m, t) <= m.rec_max_new_places[t])
    rows = [(r, t) for r in m.R_pace for t in m.T if any(locs[l].region == r and first[l] <= t for l in m.L_new)]
    m.rec_pace_region = pyo.Constraint(rows, rule=lambda m, r, t: new_places(m, t, r) <= m.rec_max_new_places_region[r, t])
    if "rec_max_extensions" in md.params and len(m.L_old):
        m.rec_extension_cap = pyo.Constraint(expr=sum(m.keep[l] for l in m.L_old) <= m.rec_max_extensions)


def _costs(m, d, extended, candidates, first, min_open) -> None:
    """Cost components: running, opening, keeping open, the minimum terms committed past the
    model's end, crisis shelter (million EUR per period)."""
    T = range(d.grid.T)
    existing = [l for l, loc in d.instance.locations.items() if loc.status == "existing"]
    keepable = list(m.L_old)

    def running(t):
        fixed = sum(m.loc_eur_per_place[l] * m.loc_places[l] for l in existing if t <= d.existing_last_period(l))
        kept = sum(m.loc_eur_per_place[l] * m.loc_places[l] * m.keep[l] for l in keepable if extended(l, t))
        new = sum(m.loc_eur_per_place[l] * m.loc_places[l] * m.serve[l, t] for l in candidates if t >= first[l])
        return (fixed + kept + new) / COST_UNIT

    m.cost_parts["locations_running"] = {t: running(t) for t in T}
    m.cost_parts["locations_opening"] = {
        t: sum(m.loc_opening_eur[l] * m.loc_places[l] * m.start[l, t] for l in candidates if t >= first[l]) / COST_UNIT
        for t in T
    }
    # keeping open is decided once, paid in the first period past the planned close
    m.cost_parts["locations_keep_open"] = {
        t: sum(m.loc_keep_eur[l] * m.loc_places[l] * m.keep[l] for l in keepable if d.existing_last_period(l) + 1 == t)
        / COST_UNIT
        for t in T
    }
    last = d.grid.T - 1
    committed = sum(
        m.loc_eur_per_place[l] * m.loc_places[l] * (t + min_open[l] - d.grid.T) * m.start[l, t]
        for l in candidates
        for t in T
        if t >= first[l] and t + min_open[l] > d.grid.T
    )
    m.cost_parts["locations_commitment"] = {t: (committed / COST_UNIT if t == last else 0.0) for t in T}
    m.cost_parts["crisis_shelter"] = {
        t: sum(m.rec_crisis_eur[r] * m.rec_nights[t] * m.crisis[r, t] for r in m.R) / COST_UNIT for t in T
    }


def table(m, d) -> pd.DataFrame:
    """reception: period, occupancy, places_open, places_needed, crisis, unsheltered, one column per group."""
    rows = []
    for t, label in enumerate(d.grid.labels):
        occ = val(m.occupancy[t])
        row = {
            "period": label,
            "occupancy": clean(occ),
            "places_open": clean(val(m.places_open[t])),
            "places_needed": clean(occ / val(m.rec_norm)),
            "crisis": clean(sum(val(m.crisis[r, t]) for r in m.R)),
            "unsheltered": clean(val(m.unsheltered[t])),
            "asylum_process": clean(val(m.occ_asylum_process[t])),
            "permit_holders": clean(val(m.occ_permit_holders[t])),
            "awaiting_departure": clean(val(m.awaiting[t])),
        }
        for g in m.G:
            row[g] = clean(val(m.rec_other[g, t]))
        rows.append(row)
    return pd.DataFrame(rows)


def locations_table(m, d) -> pd.DataFrame:
    """locations: location, region, type, places, existing, opened, open_from, open_until, decided,
    kept_open (an existing location kept past its planned close), planned_close; in the horizon
    (a site first used in the look-ahead tail is not opened by this plan)."""
    labels = d.grid.labels
    H = d.horizon_T  # the table reports the horizon: use in the look-ahead tail is not shown
    rows = []
    for l, loc in d.instance.locations.items():
        row = {"location": l, "region": loc.region, "type": loc.type, "places": loc.places, "existing": loc.status == "existing"}
        if loc.status == "existing":
            planned = d.existing_last_period(l)
            kept = l in m.L_old and val(m.keep[l]) > 0.5 and planned < H - 1
            last = min(extension_last(d, l), H - 1) if kept else min(planned, H - 1)
            row.update(
                opened=False,
                open_from=labels[0] if last >= 0 else "",
                open_until=labels[last] if last >= 0 else "",
                decided="",
                kept_open=kept,
                planned_close=loc.open_until or "",
            )
        else:
            periods = range(d.location_first_period(l), H)  # those of L_new_T in the horizon (empty if none)
            used = [t for t in periods if val(m.serve[l, t]) > 0.5]
            starts = [t for t in periods if val(m.start[l, t]) > 0.5]
            opened = bool(used)
            first_use = starts[0] if starts else (used[0] if used else None)
            decided = first_use - d.location_first_period(l) if first_use is not None else None
            row.update(
                opened=opened,
                open_from=labels[used[0]] if opened else "",
                open_until=labels[used[-1]] if opened else "",
                decided=labels[decided] if decided is not None else "",
                kept_open=False,
                planned_close="",
            )
        rows.append(row)
    columns = ["location", "region", "type", "places", "existing", "opened", "open_from", "open_until", "decided", "kept_open", "planned_close"]
    return pd.DataFrame(rows, columns=columns)
