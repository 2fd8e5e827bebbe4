"""Marginal values from the LP duals, derived by hand on tiny instances."""

import pytest
from conftest import outsourcing_instance, tiny

from planner.instance.loading import validate_dict
from planner.model import build_model
from planner.solver.marginal import marginal_values
from planner.solver.solve import solve_model


def _solved(raw):
    d = validate_dict(raw)
    m = build_model(d)
    solve_model(m)
    return m, d


def test_value_of_one_more_fte():
    """Inflow 10 a month, deadline 1 month, 5 decisions a month (50 h an FTE-month, 10 h a case):
    overdue 0, 0, 5, 10. One more hour in period 0, 1 or 2 decides 0.1 case more, lowering the
    overdue count of periods 2 and 3 by 0.1 each (0.2 case-months); in period 3 only period 3's
    (0.1). One more FTE (50 h): 10, 10, 10, 5 case-months = objective units (weight 1)."""
    m, d = _solved(outsourcing_instance(capacity=0))
    mv = marginal_values(m, d)
    fte = mv[mv.resource == "productive_fte"]
    assert fte.value_objective.tolist() == pytest.approx([10, 10, 10, 5], abs=1e-6)
    assert fte.basis.iloc[0] == "LP duals"
    # EUR equivalent: objective units / (1 per million EUR)
    assert fte.value_eur.tolist() == pytest.approx([10e6, 10e6, 10e6, 5e6], rel=1e-6)


def test_value_of_one_more_euro_of_budget():
    """Outsourcing (capacity 8 from period 2, EUR 0.5 million a case) under a binding budget of
    EUR 2 million: the last euro buys 2e-6 cases in period 2, each saving 2 case-months at a cost
    of 0.5 objective units: (2 - 0.5) / 0.5e6 = 3e-6 objective units per EUR = EUR 3 per EUR."""
    m, d = _solved(outsourcing_instance(budget=2e6))
    mv = marginal_values(m, d)
    budget = mv[mv.resource == "budget_eur"]
    assert budget.value_objective.item() == pytest.approx(3e-6, rel=1e-6)
    assert budget.value_eur.item() == pytest.approx(3, rel=1e-6)


def test_value_of_a_place_and_a_housing_slot_with_binaries_fixed():
    """Reception (tests/test_reception.py's lead-time instance): in period 1 (February 2024, 29
    nights) 10 persons are unsheltered: one more place (norm 1) saves 10 x... one person x 29
    nights x weight 1000 = 29,000. In periods 0, 2, 3 places are not short: 0. The candidate
    location is a binary: the duals are those of the LP with it fixed."""
    raw = tiny(
        horizon={"periods": 4},
        regions={"A": {"population": 1, "crisis_capacity": 20}},
        location_types={"t": {"eur_per_place_year": 0, "lead_months": 2}},
        locations={
            "old": {"region": "A", "type": "t", "places": 50, "status": "existing"},
            "new": {"region": "A", "type": "t", "places": 30, "status": "candidate"},
        },
        reception={"occupancy_norm": 1, "other_groups": {"g": [50, 80, 80, 80]}},
    )
    m, d = _solved(raw)
    mv = marginal_values(m, d)
    place = mv[mv.resource == "reception_place"]
    assert place.value_objective.tolist()[1] == pytest.approx(29_000, rel=1e-6)
    assert place.value_objective.tolist()[0] == pytest.approx(0, abs=1e-6)
    assert place.basis.iloc[0].startswith("LP duals with integer decisions fixed")
    assert m.serve["new", 2].value == pytest.approx(1)  # the model is left solved as it was
