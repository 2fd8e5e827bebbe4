"""COA reception: lead time of new locations, crisis shelter, unsheltered, minimum open duration,
keeping existing locations open, occupancy groups."""

import pytest
from conftest import solve_raw, tiny

from planner.instance.loading import validate_dict
from planner.model import build_model, reception
from planner.model.objective import costs_table
from planner.solver.solve import solve_model


def _reception_instance(other, lead=2, min_open=0, eur_place_year=0, existing_until=None, crisis=20):
    """Occupancy is one exogenous group ``g``; existing location of 50 places, a candidate of 30
    in region A, norm 1, crisis capacity ``crisis`` in A. Horizon 2024-01.. (February has 29 nights)."""
    existing = {"region": "A", "type": "t", "places": 50, "status": "existing"}
    if existing_until:
        existing["open_until"] = existing_until
    return tiny(
        horizon={"periods": len(other)},
        regions={"A": {"population": 1, "crisis_capacity": crisis}},
        location_types={"t": {"eur_per_place_year": eur_place_year, "lead_months": lead, "min_open_months": min_open, "keep_open_eur_per_place": 100}},
        locations={"old": existing, "new": {"region": "A", "type": "t", "places": 30, "status": "candidate"}},
        reception={"occupancy_norm": 1, "other_groups": {"g": other}},
    )


def test_lead_time_crisis_then_unsheltered():
    """Occupancy 50, 80, 80, 80 against 50 places; the candidate (30 places) has a lead time of
    2 months: decided in period 0 at the earliest, it serves from period 2.

    Period 1 lacks 30 places: crisis shelter takes its capacity 20, the other 10 are unsheltered.
    From period 2 the candidate closes the gap: no crisis, no unsheltered.
    February 2024 has 29 nights: crisis 20 x 29 = 580, unsheltered 10 x 29 = 290 person-nights.
    """
    m, d, _ = solve_raw(_reception_instance([50, 80, 80, 80]))
    tab = reception.table(m, d)
    assert tab.crisis.tolist() == pytest.approx([0, 20, 0, 0], abs=1e-6)
    assert tab.unsheltered.tolist() == pytest.approx([0, 10, 0, 0], abs=1e-6)
    assert tab.places_open.tolist() == pytest.approx([50, 50, 80, 80], abs=1e-6)
    locs = reception.locations_table(m, d).set_index("location")
    assert locs.loc["new", "opened"]
    assert locs.loc["new", "decided"] == "2024-01"
    assert locs.loc["new", "open_from"] == "2024-03"

    import planner
    from planner.instance.loading import validate_dict

    kpis = planner.solve(validate_dict(_reception_instance([50, 80, 80, 80]))).kpis
    assert kpis["crisis_person_nights"] == pytest.approx(580)
    assert kpis["unsheltered_person_nights"] == pytest.approx(290)
    assert kpis["locations_opened"] == 1


def test_shorter_lead_time_needs_no_crisis():
    """With a lead time of 1 month the candidate serves from period 1: no crisis at all."""
    m, d, _ = solve_raw(_reception_instance([50, 80, 80, 80], lead=1))
    tab = reception.table(m, d)
    assert tab.crisis.sum() + tab.unsheltered.sum() == pytest.approx(0, abs=1e-6)
    assert reception.locations_table(m, d).set_index("location").loc["new", "open_from"] == "2024-02"


def test_minimum_open_duration():
    """Occupancy peaks at 80 in period 0 only; places cost EUR 12,000 a year (1,000 a month).

    Crisis capacity 0, so the candidate must serve in period 0 (lead 0). Running costs make it
    close as soon as allowed. Minimum open 3 months: it serves periods 0, 1, 2 and closes;
    running cost of the candidate: 30 places x 1,000 x 3 = 90,000 (the existing: 50 x 1,000 x 6).
    """
    m, d, _ = solve_raw(_reception_instance([80, 50, 50, 50, 50, 50], lead=0, min_open=3, eur_place_year=12000, crisis=0))
    assert [round(m.serve["new", t].value) for t in range(6)] == [1, 1, 1, 0, 0, 0]
    costs = costs_table(m, d)
    running = costs[costs.component == "locations_running"].eur.sum()
    assert running == pytest.approx(50 * 1000 * 6 + 30 * 1000 * 3)
    assert reception.table(m, d).unsheltered.sum() == pytest.approx(0, abs=1e-6)


def test_keep_existing_open_past_planned_close():
    """The existing 50 places close after 2024-02 as planned; occupancy stays 50.

    The candidate cannot serve (lead 12 months > horizon), crisis capacity 0: without keeping the
    old location open, 50 persons are unsheltered in periods 2-3. Keeping it open costs a one-off
    EUR 100 per place (EUR 5,000) plus running cost 0: it is kept, no one is unsheltered, the
    keep-open cost appears in 2024-03, the first period past the planned close.
    """
    raw = _reception_instance([50, 50, 50, 50], lead=12, existing_until="2024-02", crisis=0)
    m, d, _ = solve_raw(raw)
    assert m.keep["old"].value == pytest.approx(1)
    assert reception.table(m, d).unsheltered.sum() == pytest.approx(0, abs=1e-6)
    costs = costs_table(m, d)
    keep = costs[costs.component == "locations_keep_open"].eur.tolist()
    assert keep == pytest.approx([0, 0, 5000, 0])
    locs = reception.locations_table(m, d).set_index("location")
    assert locs.loc["old", "open_until"] == "2024-04"

    raw["locations"]["old"]["can_keep_open"] = False
    m, d, _ = solve_raw(raw)
    assert reception.table(m, d).unsheltered.tolist() == pytest.approx([0, 0, 50, 50], abs=1e-6)


def test_occupancy_groups_asylum_permit_holders_rejected():
    """Occupancy = persons waiting for a decision + permit holders waiting + rejected awaiting
    departure + other groups.

    Case x waits in COA: start stock 100 cases of 1.5 persons, no inflow, grant share 0.6, 20
    decisions a month (2 FTE at 100 h, 10 h a case). Grants need housing; no housing supply.
    Rejected stay in COA (share 1), departure rate 10 % a month, 30 awaiting at the start.
    Other group: 7 persons. Decisions fixed at 20 a month (deciding moves persons between groups
    and is not what this test is about):
        asylum process: 1.5 x stock = 1.5 x (80, 60)         = 120, 90
        permit holders: 0.6 x 1.5 x 20 = 18 a month         = 18, 36
        awaiting:  0.9 x 30 + 0.4 x 1.5 x 20 = 27 + 12 = 39;  0.9 x 39 + 12 = 47.1
        occupancy: 120 + 18 + 39 + 7 = 184;  90 + 36 + 47.1 + 7 = 180.1
    """
    raw = tiny(
        horizon={"periods": 2},
        case_types={
            "x": {
                "start_stock_by_age": [100],
                "persons_per_case": 1.5,
                "grant_share": 0.6,
                "waits_in_coa": True,
                "grants_need_housing": True,
                "deadline_months": 12,
            }
        },
        staff_pools={"p": {"start_fte": 2, "hours_per_fte_year": 1200}},
        reception={
            "occupancy_norm": 1,
            "start_awaiting_departure": 30,
            "departure_rate_per_month": 0.1,
            "other_groups": {"g": 7},
        },
        locations={},
    )
    raw["regions"]["A"]["crisis_capacity"] = 1000
    d = validate_dict(raw)
    m = build_model(d)
    for t in range(2):
        m.dec_int["x", t].fix(20)
    solve_model(m)
    tab = reception.table(m, d)
    assert tab.asylum_process.tolist() == pytest.approx([120, 90], abs=1e-6)
    assert tab.permit_holders.tolist() == pytest.approx([18, 36], abs=1e-6)
    assert tab.awaiting_departure.tolist() == pytest.approx([39, 47.1], abs=1e-6)
    assert tab.occupancy.tolist() == pytest.approx([184, 180.1], abs=1e-6)
    assert tab.places_needed.tolist() == pytest.approx([184, 180.1], abs=1e-6)


def test_week_grid_labels_nights_and_lead_time():
    """On a week grid (ISO weeks) a period has 7 nights and months convert at 365.25/12/7 = 4.348
    weeks: a lead time of 0.5 months is round(2.17) = 2 weeks.

    Occupancy 50, 80, 80, 80 (weeks 2024-W52, 2025-W01, W02, W03 -- the ISO year turns over),
    50 places, candidate of 30 from week index 2. Week 1 lacks 30: crisis 20, unsheltered 10:
    20 x 7 = 140 crisis person-nights, 70 unsheltered.
    """
    raw = _reception_instance([50, 80, 80, 80], lead=0.5)
    raw["horizon"] = {"start": "2024-W52", "periods": 4, "grain": "week"}
    m, d, _ = solve_raw(raw)
    assert d.grid.labels == ("2024-W52", "2025-W01", "2025-W02", "2025-W03")
    tab = reception.table(m, d)
    assert tab.period.tolist() == list(d.grid.labels)
    assert tab.crisis.tolist() == pytest.approx([0, 20, 0, 0], abs=1e-6)
    assert tab.unsheltered.tolist() == pytest.approx([0, 10, 0, 0], abs=1e-6)
    import planner

    kpis = planner.solve(validate_dict(raw)).kpis
    assert kpis["crisis_person_nights"] == pytest.approx(140)
    assert kpis["unsheltered_person_nights"] == pytest.approx(70)
