"""planner explain's swap start for a withheld site: the plan with a substitute site (an unused
one, or one used later exchanged with it) or the site opened later, every integer variable
fixed, an LP; when that plan is within the row's tolerance of the LP bound the row is settled
without a MIP (``method`` swap), else the restricted MIP runs.

Derived by hand on tiny instances: 4 months (31, 29, 31, 30 nights), the first 3 committed,
occupancy norm 1, places EUR 10 a place-month (EUR 120 a year) unless said, cost weight 1 per EUR
(1e6 per million) so costs show in the objective, unsheltered 1,000 a person-night.
"""

import pytest
from conftest import plan_of, tiny

from planner.instance.loading import validate_dict
from planner.studies.explain import KPI_COLUMNS, explain_plan, plan_start
from planner.studies.explaintasks import site_swaps


def twin_instance() -> dict:
    """150 persons of another group in COA every month; existing site E (50 places, all
    horizon); candidates C and D (100 places each, type t, region A: identical) and F (type t,
    region A, 150 places); opening EUR 1 a place; no lead times, no minimum terms.

    The plan opens one of C and D in month 0 (which one is HiGHS's choice: they tie) for the 4
    months (a second site would be opened again: EUR 100 more): 100 more places every month,
    nobody unsheltered; cost E 50 x 10 x 4 + 100 x 10 x 4 + 100 = EUR 6,100 = objective 6,100
    (F would cost EUR 2,050 more)."""
    return tiny(
        reception={"occupancy_norm": 1, "other_groups": {"g": 150}},
        location_types={"t": {"eur_per_place_year": 120, "opening_eur_per_place": 1}},
        locations={"E": {"region": "A", "type": "t", "places": 50, "status": "existing"},
                   "C": {"region": "A", "type": "t", "places": 100, "status": "candidate"},
                   "D": {"region": "A", "type": "t", "places": 100, "status": "candidate"},
                   "F": {"region": "A", "type": "t", "places": 150, "status": "candidate"}},
        objective={"cost_per_million_eur": 1e6},
        explain={"housing_regions": 0, "decisions": ["open_location", "keep_open"]},
    )


@pytest.fixture(scope="module")
def twin_plan():
    plan = plan_of(twin_instance())
    assert plan.kpis["objective"] == pytest.approx(6100, abs=0.61) and plan.kpis["unsheltered_person_nights"] == 0
    opened = [name for name in ("C", "D") if plan.model.serve[name, 0].value > 0.5]
    assert len(opened) == 1 and plan.model.serve["F", 0].value < 0.5
    out = explain_plan(plan, workers=1)
    return plan, opened[0], out


def test_swaps_closest_first(twin_plan):
    """X (the one of C, D the plan opens) withheld: the other one, Y (same type, region and
    places), then F (same type and region, 50 places more), then X itself opened later, in
    month 3 (the first whose decision is past the 3 committed months). Y and F are opened in
    month 0, X's first use, and in use to the end, month 3."""
    plan, x, _ = twin_plan
    y = "D" if x == "C" else "C"
    d = validate_dict(twin_instance())
    values = {(comp, idx): value for comp, idx, value in plan_start(plan.model)}
    swaps = site_swaps(d, values, "open_location", x, 3)
    assert [name for name, _ in swaps] == [y, "F", f"{x} from 2024-04"]
    assert sorted(swaps[0][1]) == sorted([("start", (y, t), float(t == 0)) for t in range(4)] + [("serve", (y, t), 1.0) for t in range(4)])
    assert sorted(swaps[2][1]) == sorted([("start", (x, t), float(t == 3)) for t in range(4)] + [("serve", (x, t), float(t == 3)) for t in range(4)])


def test_identical_substitute_settles_the_row_without_a_mip(twin_plan):
    """X withheld in months 0-2: Y opened in month 0 instead is the same plan in every KPI (cost
    EUR 6,100): every column 0. The LP relaxation (100 places a month, each at EUR 10 a
    place-month and opened once at EUR 1) costs EUR 6,100 too: objective_bound 0. The first swap
    (Y) is within the floor (1e-4 x 6,100 = 0.61) of the bound: the row is settled by it, no MIP."""
    plan, x, out = twin_plan
    y = "D" if x == "C" else "C"
    e = plan.tables["explanations"]
    assert len(e) == 1
    row = e.iloc[0].to_dict()
    assert row["decision"] == "open_location" and row["item"] == x and row["amount"] == 100 and row["status"] == "optimal"
    for c in [*KPI_COLUMNS, "objective_bound"]:
        assert row[c] == pytest.approx(0, abs=1e-6), c
    assert row["note"] == "no measurable difference: within +-0.61 objective units, the plan's own MIP gap"
    settled = {(kind, item): (method, swap) for _g, kind, item, _s, _st, method, swap in out["task_seconds"]}
    assert settled[("open_location", x)] == ("swap", y)


def exchange_instance() -> dict:
    """Persons of another group in COA: 150 a month in months 0-2, 250 in month 3; existing site E
    (50 places, all horizon); candidates C and D (100 places each, type t, opening EUR 1 a place,
    regions A and B: identical but for the region); no lead times, no minimum terms.

    The plan opens one of them, X, in month 0 and the other, Y, in month 3 (a tie: which is
    HiGHS's choice); nobody unsheltered; cost E 50 x 10 x 4 + X 100 x 10 x 4 + Y 100 x 10 + 200
    (opening) = EUR 7,200. Every candidate is in use: no site is unused."""
    return tiny(
        regions={"A": {"population": 1}, "B": {"population": 1}},
        reception={"occupancy_norm": 1, "other_groups": {"g": [150, 150, 150, 250]}},
        location_types={"t": {"eur_per_place_year": 120, "opening_eur_per_place": 1}},
        locations={"E": {"region": "A", "type": "t", "places": 50, "status": "existing"},
                   "C": {"region": "A", "type": "t", "places": 100, "status": "candidate"},
                   "D": {"region": "B", "type": "t", "places": 100, "status": "candidate"}},
        objective={"cost_per_million_eur": 1e6},
        explain={"housing_regions": 0, "decisions": ["open_location", "keep_open"]},
    )


def test_exchange_settles_the_row():
    """X withheld in months 0-2: the exchange, Y opened in month 0 and X in month 3 (Y's slot),
    has the plan's places and new places in every period and its costs: every column 0, and it
    is the first swap tried (then X opened in month 3 alone: 100 unsheltered in months 0-2). The
    LP relaxation costs EUR 7,200 too: objective_bound 0; settled by the exchange, no MIP."""
    plan = plan_of(exchange_instance())
    assert plan.kpis["total_cost_eur"] == pytest.approx(7200) and plan.kpis["unsheltered_person_nights"] == 0
    x = next(name for name in ("C", "D") if plan.model.start[name, 0].value > 0.5)
    y = "D" if x == "C" else "C"
    assert plan.model.start[y, 3].value > 0.5
    d = validate_dict(exchange_instance())
    values = {(comp, idx): value for comp, idx, value in plan_start(plan.model)}
    exchange = f"{y} (and {x} from 2024-04)"
    assert [name for name, _ in site_swaps(d, values, "open_location", x, 3)] == [exchange, f"{x} from 2024-04"]
    out = explain_plan(plan, workers=1)
    row = plan.tables["explanations"].iloc[0].to_dict()
    assert row["decision"] == "open_location" and row["item"] == x and row["status"] == "optimal"
    for c in [*KPI_COLUMNS, "objective_bound"]:
        assert row[c] == pytest.approx(0, abs=1e-6), c
    settled = {(kind, item): (method, swap) for _g, kind, item, _s, _st, method, swap in out["task_seconds"]}
    assert settled[("open_location", x)] == ("swap", exchange)


def no_substitute_instance() -> dict:
    """150 persons of another group in COA every month; existing site E (100 places) closes after
    month 0 unless kept open (EUR 1 a place once); candidates C (type t, 50 places, no lead time)
    and D (type u: EUR 240 a place-year = EUR 20 a place-month, a lead time of 2 months, 50
    places); no minimum terms.

    The plan keeps E open and opens C in month 0: 150 places every month, nobody unsheltered;
    cost E 100 x 10 x 4 + 100 + C 50 x 10 x 4 = EUR 6,100 (D cannot be in use before month 2)."""
    return tiny(
        reception={"occupancy_norm": 1, "other_groups": {"g": 150}},
        location_types={"t": {"eur_per_place_year": 120, "keep_open_eur_per_place": 1}, "u": {"eur_per_place_year": 240, "lead_months": 2}},
        locations={"E": {"region": "A", "type": "t", "places": 100, "status": "existing", "open_until": "2024-01"},
                   "C": {"region": "A", "type": "t", "places": 50, "status": "candidate"},
                   "D": {"region": "A", "type": "u", "places": 50, "status": "candidate"}},
        objective={"cost_per_million_eur": 1e6},
        explain={"housing_regions": 0, "decisions": ["open_location", "keep_open"]},
    )


def test_no_substitute_falls_back_to_the_restricted_mip():
    """E not kept open: E's places go from month 1, when no other site can be in use (C is, from
    month 0; D only from month 2, its lead time): no swap, so the restricted MIP runs. It opens D
    in month 2 (the LP relaxation does the same: integral, so objective_bound = objective): 100
    unsheltered in month 1 and 50 in months 2-3, 100 x 29 + 50 x (31 + 30) = 5,950 person-nights
    (5,950,000); cost -EUR 100 (keeping) - 3,000 (E running, months 1-3) + 2,000 (D running,
    50 x 20 x 2) = -EUR 1,100: objective +5,948,900."""
    plan = plan_of(no_substitute_instance())
    assert plan.kpis["total_cost_eur"] == pytest.approx(6100) and plan.kpis["unsheltered_person_nights"] == 0
    d = validate_dict(no_substitute_instance())
    values = {(comp, idx): value for comp, idx, value in plan_start(plan.model)}
    assert site_swaps(d, values, "keep_open", "E", 3) == []
    out = explain_plan(plan, workers=1)
    e = plan.tables["explanations"]
    row = e[e.decision == "keep_open"].iloc[0].to_dict()
    assert row["item"] == "E" and row["status"] == "optimal" and row["note"] == ""
    want = {c: 0.0 for c in KPI_COLUMNS}
    want.update(unsheltered_person_nights=5950, cost_eur=-1100, objective=5_948_900, objective_bound=5_948_900)
    for c, v in want.items():
        assert row[c] == pytest.approx(v, abs=1e-3), c
    settled = {(kind, item): (method, swap) for _g, kind, item, _s, _st, method, swap in out["task_seconds"]}
    assert settled[("keep_open", "E")] == ("restricted", "")
