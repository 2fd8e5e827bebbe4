"""Status quo by rules, the chain's consequences and the quarterly plan, on a tiny instance."""

import pytest
from conftest import tiny

import planner
from planner.check.simulate import simulate
from planner.instance.loading import validate_dict


def _instance():
    """3 months. Case x: inflow 10 a month, 10 h a case, half granted (1 person each), waits in COA;
    planned production [4, 4, 20]; outsourcing capacity 5 (unused in the status quo).
    Staff: 0.6 FTE at 1,200 h/yr (60 h = 6 cases a month); planned hires [0.4, 0, 0], training 1
    month (1.0 FTE = 10 cases a month from period 1). Housing: 1 a month; accelerated capacity 5
    (unused in the status quo). Reception: 10 places (norm 1), a candidate of 20 (lead 0, unused),
    crisis capacity 3, rejected stay (share 1) and leave at 50 % a month.
    Chain: appeals 50 % of rejections; Nidos 10 wards at the start, 10 % of inflow persons, 50 %
    exit a month.
    """
    return tiny(
        horizon={"periods": 3},
        regions={"A": {"population": 1, "crisis_capacity": 3, "accelerated_capacity": 5}},
        case_types={
            "x": {
                "inflow": 10,
                "grant_share": 0.5,
                "waits_in_coa": True,
                "grants_need_housing": True,
                "planned_production": [4, 4, 20],
                "outsourcing_capacity": 5,
            }
        },
        staff_pools={"p": {"start_fte": 0.6, "hours_per_fte_year": 1200, "planned_hires": [0.4, 0, 0], "max_hires": 5, "training_months": 1}},
        location_types={"t": {"eur_per_place_year": 0}},
        locations={
            "old": {"region": "A", "type": "t", "places": 10, "status": "existing"},
            "new": {"region": "A", "type": "t", "places": 20, "status": "candidate"},
        },
        reception={"occupancy_norm": 1, "rejected_stay_share": 1, "departure_rate_per_month": 0.5},
        placement={"housing_supply": 1, "accelerated_total": 100},
        chain={"appeal_share_of_rejections": 0.5, "nidos_start_wards": 10, "nidos_share_of_inflow": 0.1, "nidos_exit_rate_per_month": 0.5},
    )


@pytest.fixture(scope="module")
def status_quo():
    return simulate(validate_dict(_instance()), commit_periods=2)


def test_status_quo_follows_the_rules(status_quo):
    """Decisions: t0 min(planned 4, capacity 6) = 4; t1 min(4, 10) = 4; t2 min(20, 10, stock) = 10.
    Stock 6, 12, 12. No outsourcing, no accelerated placement, the candidate stays closed.
    Permit holders: linked 2, 2, 5; housed 1 a month; waiting 1, 2, 6.
    Awaiting departure: 0.5 x prev + rejected: 2; 1 + 2 = 3; 1.5 + 5 = 6.5.
    Occupancy: 6+1+2 = 9; 12+2+3 = 17; 12+6+6.5 = 24.5 against 10 places:
    crisis 0, 3, 3 and unsheltered 0, 4, 11.5.
    """
    t = status_quo.tables
    x = t["ind_cases"]
    assert x.decided_internal.tolist() == pytest.approx([4, 4, 10], abs=1e-6)
    assert x.decided_outsourced.tolist() == pytest.approx([0, 0, 0], abs=1e-9)
    assert x.stock.tolist() == pytest.approx([6, 12, 12], abs=1e-6)
    assert t["staff"].hires.tolist() == pytest.approx([0.4, 0, 0], abs=1e-9)
    plc = t["placement"]
    assert plc.housed_regular.tolist() == pytest.approx([1, 1, 1], abs=1e-6)
    assert plc.accelerated.sum() == pytest.approx(0, abs=1e-9)
    assert plc.waiting.tolist() == pytest.approx([1, 2, 6], abs=1e-6)
    rec = t["reception"]
    assert rec.awaiting_departure.tolist() == pytest.approx([2, 3, 6.5], abs=1e-6)
    assert rec.occupancy.tolist() == pytest.approx([9, 17, 24.5], abs=1e-6)
    assert rec.crisis.tolist() == pytest.approx([0, 3, 3], abs=1e-6)
    assert rec.unsheltered.tolist() == pytest.approx([0, 4, 11.5], abs=1e-6)
    assert not t["locations"].set_index("location").loc["new", "opened"]
    assert status_quo.kpis["objective_mode"] == "simulate"


def test_chain_consequences(status_quo):
    """Rejections 0.5 x decisions = 2, 2, 5; appeals half of that = 1, 1, 2.5; departures 0.5 x
    the previous caseload = 0, 1, 1.5; caseload 2, 3, 6.5. Nidos: new wards 0.1 x 10 = 1 a month;
    wards 0.5 x 10 + 1 = 6, 0.5 x 6 + 1 = 4, 0.5 x 4 + 1 = 3."""
    chain = status_quo.tables["chain"]

    def values(partner, measure):
        return chain[(chain.partner == partner) & (chain.measure == measure)].value.tolist()

    assert values("DT&V", "new_rejections") == pytest.approx([2, 2, 5], abs=1e-6)
    assert values("DT&V", "departures") == pytest.approx([0, 1, 1.5], abs=1e-6)
    assert values("DT&V", "caseload") == pytest.approx([2, 3, 6.5], abs=1e-6)
    assert values("courts", "appeals") == pytest.approx([1, 1, 2.5], abs=1e-6)
    assert values("Nidos", "wards") == pytest.approx([6, 4, 3], abs=1e-9)
    k = status_quo.kpis
    assert k["court_appeals_total"] == pytest.approx(4.5, abs=1e-6)
    assert k["nidos_wards_peak"] == pytest.approx(6)


def test_quarterly_plan_lists_the_decisions_of_the_commit_window(status_quo):
    """commit_periods 2: hires 0.4 in 2024-01 (total 0.4), housing 1 + 1 = 2, no location; no
    total rows in the table (planner.outputs.quarter.totals sums them)."""
    from planner.outputs.quarter import totals

    q = status_quo.tables["plan_quarter"]
    assert "total" not in set(q["item"])
    hires = q[q.decision == "hire"]
    assert hires.value.sum() == pytest.approx(0.4)
    assert hires.period.tolist() == ["2024-01"]
    housing = q[q.decision == "house_regular"]
    assert housing.value.sum() == pytest.approx(2)
    assert set(housing.period) == {"2024-01", "2024-02"}
    assert q[q.decision == "open_location"].empty
    tot = totals(q, 2).set_index("decision").value
    assert tot["hire"] == pytest.approx(0.4) and tot["house_regular"] == pytest.approx(2) and tot["open_location"] == 0


def test_solve_opens_what_the_status_quo_does_not():
    """The optimiser may open the candidate (lead 0) and outsource: nobody is unsheltered, and the
    quarterly plan lists the opening decided in the window with its places."""
    plan = planner.solve(validate_dict(_instance()), commit_periods=2)
    assert plan.kpis["unsheltered_person_nights"] == pytest.approx(0, abs=1e-6)
    q = plan.tables["plan_quarter"]
    opened = q[(q.decision == "open_location") & (q.item == "new")]
    assert opened.value.item() == 20
    assert opened.period.item() in ("2024-01", "2024-02")
