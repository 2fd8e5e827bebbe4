"""COA reception, recounted (the model's :mod:`planner.model.reception`, written again).

With ``dep`` the per-period departure rate, ``stay`` the share of rejected persons who stay in
COA, n_t the nights of period t::

    awaiting[t]    = rejected persons in COA (appellants, awaiting another type, the departure track:
                     :mod:`planner.check.recount.returns`; without return flows
                     (1 - dep) awaiting[t-1] + stay * sum_{k waits in COA} (1 - grant_k) persons_k decided[k,t])
    occupancy[t]   = sum_{k waits in COA} persons_k stock[k,t] + sum_r waiting[r,t] + awaiting[t] + other groups
    places[t]      = places of the locations open in t;   places_needed = occupancy / norm
    unsheltered[t] = max(0, occupancy - norm * places - crisis)

Which locations are open when comes from ``locations.csv``: ``open_from .. open_until`` of every
opened candidate and of every existing location (an existing one open past its planned close is
*kept open*); a location the table does not list counts as not opened (candidate) or open as
planned (existing).

Costs: ``locations_commitment`` (a new location's minimum term left after the model's last
period, horizon and tail, at its running cost, charged in that last period when it is in the
horizon), ``locations_running`` (eur_place_year y places, every open period), ``locations_opening``
(opening_eur x places in a candidate's first period of use), ``locations_keep_open``
(keep_open_eur x places in the first period past the planned close, the horizon's first period
for a location planned to close before the start), ``crisis_shelter`` (price x n_t x crisis; the
run reports crisis summed over regions, so with prices differing by region it is split cheapest
region first within each region's capacity, as a plan that minimises cost does).

Violations: a location missing from the table; an existing location closed early, open from later
than the start, kept open where it may not be, or kept open for another length than its extension
(``min(planned + e, T - 1)``, ``e`` the type's ``extension_months`` in whole periods; absent:
through the horizon); more extensions than ``reception.max_extensions``; a candidate opened
earlier than its lead time allows or open less than its minimum duration (or the horizon's rest);
places first used in a period above the pace limits::

    sum_{candidates l first used in t} places_l                  <= reception.max_new_places[t]
    sum_{candidates l of region r first used in t} places_l      <= regions.r.max_new_places[t]

crisis negative or over the crisis capacity of all regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.check.recount import returns
from planner.check.recount.cases import Cases
from planner.check.recount.common import Decisions, Violations
from planner.check.recount.placement import Placement
from planner.instance.loading import InstanceData


@dataclass
class Locations:
    """Open periods per location, the existing ones kept open, the candidates' first period of use."""

    open_periods: dict[str, range]
    kept: list[str]
    started: dict[str, int]


@dataclass
class Reception:
    """Recounted reception: the series of the ``reception`` table, the locations, the costs."""

    awaiting: np.ndarray
    occupancy: np.ndarray
    places: np.ndarray
    unsheltered: np.ndarray
    locations: Locations
    cost: dict[str, np.ndarray]
    table: pd.DataFrame


def existing_location(d: InstanceData, l: str, row, locs: Locations, viol: Violations) -> None:
    """Open periods of an existing location; kept open when open past its planned close."""
    labels, T = d.grid.labels, d.grid.T
    loc, planned = d.instance.locations[l], d.existing_last_period(l)
    first, last = row.first, row.last
    if last is None:
        if planned >= 0:
            viol.add(f"location {l}: closed before its planned close {labels[planned]}")
        return
    locs.open_periods[l] = range(first, last + 1)
    if first != 0:
        viol.add(f"location {l}: an existing location is open from the start, not from {labels[first]}")
    if last > planned:
        locs.kept.append(l)
        if not loc.can_keep_open:
            viol.add(f"location {l}: kept open past its planned close although can_keep_open is false")
        months = d.instance.location_types[loc.type].extension_months
        until = T - 1 if months is None else min(T - 1, planned + d.grid.whole_periods(months))
        if last != until:
            length = "through the horizon" if months is None else f"{months:g} months"
            viol.add(f"location {l}: kept open until {labels[last]}; an extension lasts {length}, until {labels[until]}")
    elif last < planned:
        viol.add(f"location {l}: closes in {labels[last]}, before its planned close {labels[planned]}")


def candidate_location(d: InstanceData, l: str, row, locs: Locations, viol: Violations) -> None:
    """Open periods of a candidate location, within its lead time and minimum duration."""
    labels, T = d.grid.labels, d.grid.T
    first, last = row.first, row.last
    if not row.opened:
        if first is not None:
            viol.add(f"location {l}: not opened but has open periods {labels[first]}..{labels[last]} (counted as not opened)")
        return
    locs.open_periods[l] = range(first, last + 1)
    locs.started[l] = first
    lead, min_open = d.location_first_period(l), d.location_min_open(l)
    if first < lead:
        viol.add(f"location {l}: open from {labels[first]} but its lead time allows {labels[lead] if lead < T else 'no period of the horizon'} at the earliest")
    if last - first + 1 < min(min_open, T - first):
        viol.add(f"location {l}: open {last - first + 1} periods, less than its minimum of {min_open}")


def open_locations(d: InstanceData, dec: Decisions, viol: Violations) -> Locations:
    """Which locations are open when, from the rows of ``locations.csv``."""
    locs = Locations({}, [], {})
    for l, loc in d.instance.locations.items():
        row = dec.locations.get(l)
        if row is None:
            viol_note = f"locations.csv has no row for location '{l}': counted as "
            viol.add(viol_note + ("open as planned" if loc.status == "existing" else "not opened"))
            planned = d.existing_last_period(l) if loc.status == "existing" else None
            if loc.status == "existing" and planned >= 0:
                locs.open_periods[l] = range(0, planned + 1)
        elif loc.status == "existing":
            existing_location(d, l, row, locs, viol)
        else:
            candidate_location(d, l, row, locs, viol)
    return locs


def check_pace(d: InstanceData, locs: Locations, viol: Violations) -> None:
    """Places first used per period within the national and regional pace limits; extensions
    within ``reception.max_extensions``."""
    inst, labels, T = d.instance, d.grid.labels, d.grid.T
    national = np.zeros(T)
    regional = {r: np.zeros(T) for r in inst.regions}
    for l, t in locs.started.items():
        loc = inst.locations[l]
        national[t] += loc.places
        regional[loc.region][t] += loc.places
    if inst.reception.max_new_places is not None:
        limit = d.s("reception.max_new_places")
        for t in range(T):
            viol.check(national[t], limit[t], f"places first used in {labels[t]} (reception.max_new_places)")
    for r, reg in inst.regions.items():
        if reg.max_new_places is not None:
            limit = d.s(f"regions.{r}.max_new_places")
            for t in range(T):
                viol.check(regional[r][t], limit[t], f"places first used in {labels[t]} in region {r} (regions.{r}.max_new_places)")
    cap = inst.reception.max_extensions
    if cap is not None:
        viol.check(len(locs.kept), cap, "locations kept open past their planned close (reception.max_extensions)")


def location_costs(d: InstanceData, locs: Locations, cost: dict) -> np.ndarray:
    """Places open per period; adds the running, opening and keep-open costs to ``cost``."""
    inst, y = d.instance, d.grid.year_fraction
    places = np.zeros(d.grid.T)
    for l, periods in locs.open_periods.items():
        loc = inst.locations[l]
        lt = inst.location_types[loc.type]
        for t in periods:
            places[t] += loc.places
            cost["locations_running"][t] += lt.eur_per_place_year * y * loc.places
    for l, t in locs.started.items():
        loc = inst.locations[l]
        cost["locations_opening"][t] += inst.location_types[loc.type].opening_eur_per_place * loc.places
    last_model_period = d.model_T - 1  # the model may run a look-ahead tail after the horizon
    for l, t in locs.started.items():
        loc, lt = inst.locations[l], inst.location_types[inst.locations[l].type]
        beyond = t + d.location_min_open(l) - d.model_T  # minimum term left after the model's end
        if beyond > 0 and last_model_period < d.grid.T:
            cost["locations_commitment"][last_model_period] += lt.eur_per_place_year * y * loc.places * beyond
    for l in locs.kept:
        loc = inst.locations[l]
        t = max(0, d.existing_last_period(l) + 1)
        cost["locations_keep_open"][t] += inst.location_types[loc.type].keep_open_eur_per_place * loc.places
    return places


def crisis_costs(d: InstanceData, crisis: np.ndarray, cost: dict, viol: Violations) -> None:
    """Crisis shelter within the capacity of all regions, paid cheapest region first."""
    inst, labels, nights = d.instance, d.grid.labels, np.array(d.grid.nights)
    rec, R = inst.reception, list(inst.regions)
    caps = {r: d.s(f"regions.{r}.crisis_capacity") for r in R}
    price = {
        r: reg.crisis_eur_per_person_night if reg.crisis_eur_per_person_night is not None else rec.crisis_eur_per_person_night
        for r, reg in inst.regions.items()
    }
    cheapest_first = sorted(R, key=lambda r: price[r])
    for t in range(d.grid.T):
        if viol.negative(crisis[t]):
            viol.add(f"crisis {labels[t]}: negative")
        viol.check(crisis[t], sum(caps[r][t] for r in R), f"crisis shelter {labels[t]} (crisis capacity of all regions)")
        left = crisis[t]
        for r in cheapest_first:
            use = min(left, caps[r][t])
            cost["crisis_shelter"][t] += price[r] * nights[t] * use
            left -= use
        if left > 0:
            cost["crisis_shelter"][t] += price[cheapest_first[-1]] * nights[t] * left


def recount(d: InstanceData, dec: Decisions, cases: Cases, placement: Placement, viol: Violations) -> Reception:
    """Awaiting departure, occupancy, places, crisis and unsheltered; location and crisis costs."""
    inst, T = d.instance, d.grid.T
    cts, rec = inst.case_types, inst.reception
    waits = [k for k in cts if cts[k].waits_in_coa]
    awaiting = returns.awaiting(d, cases.flows)[0]  # appellants, awaiting another type, departure track
    asylum = sum((cases.persons[k] * cases.stock[k] for k in waits), np.zeros(T))
    others = {g: np.array(d.s(f"reception.other_groups.{g}")) for g in rec.other_groups}
    occupancy = asylum + placement.waiting_total + awaiting + sum(others.values(), np.zeros(T))

    cost = {c: np.zeros(T) for c in ("locations_running", "locations_opening", "locations_keep_open", "locations_commitment", "crisis_shelter")}
    locs = open_locations(d, dec, viol)
    check_pace(d, locs, viol)
    places = location_costs(d, locs, cost)
    crisis_costs(d, dec.crisis, cost, viol)
    unsheltered = np.maximum(0.0, occupancy - rec.occupancy_norm * places - dec.crisis)
    table = pd.DataFrame(
        {
            "period": d.grid.labels,
            "occupancy": occupancy,
            "places_open": places,
            "places_needed": occupancy / rec.occupancy_norm,
            "crisis": dec.crisis,
            "unsheltered": unsheltered,
            "asylum_process": asylum,
            "permit_holders": placement.waiting_total,
            "awaiting_departure": awaiting,
            **others,
        }
    )
    return Reception(awaiting, occupancy, places, unsheltered, locs, cost, table)
