"""Objective modes and model structure: lexicographic vs weighted, variable/constraint counts."""

import json

import pyomo.environ as pyo
import pytest
from conftest import solve_raw, tiny

from planner.instance.loading import validate_dict
from planner.model import build_model, cases, reception


def _tradeoff_instance():
    """One budget, two uses: a location (less crisis shelter) or outsourcing (fewer overruns).

    Cases: inflow 10 a month, deadline 1 month, 5 internal decisions a month, outsourcing
    capacity [0, 0, 8, 8] at EUR 0.5 million a case (as in test_cases: without outsourcing the
    overdue counts are 0, 0, 5, 10; a case outsourced in period 2 saves 2 case-months, at most 5
    such; later ones save 1).
    Reception: other group of 30 persons, an existing location of 20 places (free), crisis
    capacity 10 (free of charge), a candidate of 10 places (lead 0) costing EUR 600,000 per
    place-year = EUR 0.5 million a month for 10 places. Budget EUR 2.5 million in total.
    Weights: crisis 0.001 per person-night (10 persons x ~30 nights = 0.3 a month), overdue 1.
    """
    return tiny(
        regions={"A": {"population": 1, "crisis_capacity": 10}},
        case_types={
            "x": {
                "inflow": 10,
                "deadline_months": 1,
                "outsourcing_capacity": [0, 0, 8, 8],
                "outsourcing_eur_per_case": 0.5e6,
            }
        },
        staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 600}},
        location_types={"t": {"eur_per_place_year": 600000}},
        locations={
            "old": {"region": "A", "type": "t", "places": 20, "status": "existing"},
            "new": {"region": "A", "type": "t", "places": 10, "status": "candidate"},
        },
        reception={"occupancy_norm": 1, "other_groups": {"g": 30}},
        budget={"total_eur": 2.5e6 + 20 * 50000 * 4},
        objective={"crisis_person_night": 0.001},
    )


def test_weighted_spends_on_overruns_lexicographic_on_crisis():
    """The existing 20 places cost 20 x 50,000 x 4 = EUR 4 million (fixed); 2.5 million is free.

    Weighted: a month of the candidate (EUR 0.5 million) avoids 10 x ~30 x 0.001 = 0.3; the same
    money outsources one case in period 2 (saves 2). So all 2.5 million go to 5 cases in period 2:
    overdue 0, 0, 0, 5 (5 case-months); crisis 10 persons every month = 10 x 121 nights = 1,210.
    Lexicographic: unsheltered 0 either way; crisis first: the candidate serves all 4 months
    (EUR 2 million), crisis 0; the last 0.5 million outsources 1 case in period 2:
    overdue 0, 0, 4, 9 (13 case-months).
    """
    m, d, _ = solve_raw(_tradeoff_instance(), "weighted")
    assert cases.table(m, d).overdue.tolist() == pytest.approx([0, 0, 0, 5], abs=1e-6)
    assert reception.table(m, d).crisis.tolist() == pytest.approx([10] * 4, abs=1e-6)

    m, d, info = solve_raw(_tradeoff_instance(), "lexicographic")
    assert reception.table(m, d).crisis.sum() == pytest.approx(0, abs=1e-6)
    assert cases.table(m, d).overdue.tolist() == pytest.approx([0, 0, 4, 9], abs=1e-5)  # stage tolerance
    assert cases.table(m, d).decided_outsourced.tolist() == pytest.approx([0, 0, 1, 0], abs=1e-5)
    assert info.stage_values["crisis"] == pytest.approx(0, abs=1e-6)


def test_lexicographic_from_the_public_api_and_kpis():
    import planner

    plan = planner.solve(validate_dict(_tradeoff_instance()), objective="lexicographic")
    assert plan.kpis["objective_mode"] == "lexicographic"
    assert plan.kpis["crisis_person_nights"] == pytest.approx(0, abs=1e-6)
    assert plan.kpis["overdue_case_months"] == pytest.approx(13, abs=1e-5)
    assert plan.kpis["total_cost_eur"] == pytest.approx(6.5e6, rel=1e-6)


def test_variable_and_constraint_counts():
    """K = 1 case type, P = 1 pool, R = 2 regions, T = 6 periods; one existing location closing
    after 2024-03 (keepable: 1 binary) and one candidate with lead 1 (periods 1..5: 5 x start,
    5 x serve); a horizon budget.

    Variables: cases 4KT = 24; returns T = 6 (rejected ready to depart); staff 3PT = 18;
    placement 4RT = 48; reception keep 1 + start/serve 10 + awaiting T 6 + crisis RT 12 +
    unsheltered T 6 = 35.  Total 131 (11 binary).
    Constraints: cases 3KT = 18 (balance, outsourcing, FIFO); returns T = 6 (departure-ready
    balance); staff 4PT = 24 (hires, external, pipeline, production); placement 5RT + 1 = 61
    (balance, housing, accelerated, ready, FIFO, national cap); reception T + 5 + 1 + 5 + T + RT =
    35 (awaiting, continuity, once, min-open, capacity, crisis); budget 1.  Total 145.
    """
    raw = tiny(
        horizon={"periods": 6},
        regions={"A": {"population": 1}, "B": {"population": 2}},
        location_types={"t": {"eur_per_place_year": 1, "lead_months": 1}},
        locations={
            "old": {"region": "A", "type": "t", "places": 20, "status": "existing", "open_until": "2024-03"},
            "new": {"region": "B", "type": "t", "places": 10, "status": "candidate"},
        },
        budget={"total_eur": 1e9},
    )
    m = build_model(validate_dict(raw))
    variables = list(m.component_data_objects(pyo.Var))
    constraints = list(m.component_data_objects(pyo.Constraint))
    assert len(variables) == 131
    assert sum(1 for v in variables if v.is_binary()) == 11
    assert len(constraints) == 145


def _cost_blind_outsourcing():
    """conftest.outsourcing_instance (inflow 10 a month, deadline 1 month, 5 internal decisions a
    month, outsourcing up to 8 a month from period 2 at EUR 0.5 million a case) with cost weight
    0: the stocks without outsourcing 5, 10, 15, 20 are overdue 0, 0, 5, 10, and any outsourcing
    o2 >= 5, o2 + o3 >= 10 brings the overdue to 0. The cheapest of those plans outsources 10
    cases (EUR 5 million); HiGHS's weighted solve, blind to cost, returns o2 = o3 = 8 (16 cases,
    EUR 8 million)."""
    from conftest import outsourcing_instance

    raw = outsourcing_instance(capacity=8)
    raw["objective"]["cost_per_million_eur"] = 0
    return raw


def test_polish_cost_finds_the_cheapest_plan_with_the_same_outcomes():
    """Weighted solve: 16 cases outsourced (the premise: cost is blind), overdue 0. The polish
    holds the outcomes (overdue 0) and minimises cost: 10 cases, EUR 5 million; the status and
    gap stay the weighted solve's, and kpis.json says what the polish did."""
    import planner

    d = validate_dict(_cost_blind_outsourcing())
    plain = planner.solve(d)
    assert plain.kpis["outsourced_cases_total"] == pytest.approx(16) and plain.kpis["overdue_case_months"] == pytest.approx(0)
    polished = planner.solve(d, polish_seconds=10)
    k = polished.kpis
    assert k["outsourced_cases_total"] == pytest.approx(10) and k["overdue_case_months"] == pytest.approx(0, abs=1e-6)
    assert k["total_cost_eur"] == pytest.approx(5e6) and k["solver_status"] == "optimal"
    assert k["cost_polish"]["cost_before_eur"] == pytest.approx(8e6) and k["cost_polish"]["cost_after_eur"] == pytest.approx(5e6)


def test_polish_without_a_plan_keeps_the_weighted_plan(monkeypatch):
    """A polish that finds no plan in its seconds (here: the solver call raises the limit error)
    leaves the weighted plan (16 cases) and says so."""
    import importlib

    from planner.errors import LimitError

    solve_module = importlib.import_module("planner.solver.solve")  # the module (planner.solver.solve is also the function)

    d = validate_dict(_cost_blind_outsourcing())
    m = build_model(d)
    info = solve_module.solve_model(m, "weighted")
    opt = solve_module.Highs()

    def no_plan(*args, **kwargs):
        raise LimitError("no plan within the solver's time limit")

    monkeypatch.setattr(solve_module, "run_highs", no_plan)
    solve_module.polish_cost(opt, m, 1.0, None, info)
    assert sum(m.dec_out["x", t].value for t in m.T) == pytest.approx(16)
    assert info.cost_polish["status"].startswith("no cheaper plan found") and info.cost_polish["cost_after_eur"] == pytest.approx(8e6)
    assert m.weighted_objective.active and m.component("polish_hold") is None


def test_polish_cost_needs_the_weighted_objective(tmp_path, capsys):
    import yaml

    from planner.cli import main

    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(_cost_blind_outsourcing()), encoding="utf-8")
    assert main(["solve", str(path), "--polish-cost", "5", "--objective", "lexicographic", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "--polish-cost: only with the weighted objective" in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_compare_polishes_every_package(tmp_path):
    """planner compare --polish-cost: the cost-blind instance's 'none' column costs EUR 5 million
    (10 cases outsourced), not the 8 million of the unpolished plan."""
    import yaml

    from planner.cli import main

    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(_cost_blind_outsourcing()), encoding="utf-8")
    assert main(["compare", str(path), "--packages", "none", "--no-status-quo", "--polish-cost", "5", "--out", str(tmp_path / "c")]) == 0
    kpis = json.loads((tmp_path / "c" / "none" / "kpis.json").read_text())
    assert kpis["total_cost_eur"] == pytest.approx(5e6) and kpis["cost_polish"]["cost_before_eur"] == pytest.approx(8e6)
