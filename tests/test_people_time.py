"""Plans a planner would sign: people and time in the objective, staff pools with retraining,
ramps both ways, and no end-of-horizon artefacts (look-ahead tail, commitments charged in full,
series extended by a stated rule). Every optimum below is derived by hand in the docstring.
"""

from __future__ import annotations

import pytest

from conftest import plan_of, tiny
from planner.check.evaluate import evaluate_run
from planner.instance.loading import validate_dict
from planner.errors import InputError

PLACE = {"location_types": {"t": {"eur_per_place_year": 0}}, "locations": {"L": {"region": "A", "type": "t", "places": 100, "status": "existing"}}}
"""An existing location with room for everybody (nobody unsheltered), at no cost."""


def _by(plan, table, key, value, column):
    frame = plan.tables[table]
    return frame[frame[key] == value][column].tolist()


def _two_types(abroad_weight: float) -> dict:
    """Two case types, one pool of 30 hours a month (1 FTE at 360 h a year), 2 months, nothing
    overdue (deadline 12 months), no inflow. ``dear``: 1 person waiting in COA, 30 h a decision;
    ``cheap``: 3 relatives waiting abroad, 10 h a decision. Each month the hours decide either the
    dear case or the 3 cheap ones."""
    return tiny(
        horizon={"periods": 2},
        case_types={
            "x": None,
            "dear": {"pool": "p", "inflow": 0, "hours_per_case": 30, "grant_share": 0, "waits_in_coa": True,
                     "grants_need_housing": False, "deadline_months": 12, "start_stock_by_age": [1]},
            "cheap": {"pool": "p", "inflow": 0, "hours_per_case": 10, "grant_share": 0, "waits_in_coa": False,
                      "grants_need_housing": False, "deadline_months": 12, "start_stock_by_age": [3]},
        },
        staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 360}},
        objective={"waiting_person_month": {"coa": 1, "abroad": abroad_weight}},
        **PLACE,
    )


def test_hours_go_where_people_wait_longest_in_person_months():
    """Waiting person-months are ``sum_t v_k stock[k,t]`` (end-of-month stocks, 1 month a period).

    Dear first (month 1: the COA case; month 2: the 3 relatives): stocks dear 0, 0 and cheap 3, 0:
    ``1 x 0 + v x 3``. Cheap first: dear 1, 0 and cheap 0, 0: ``1 x 1``.
    With v = 0.25 (abroad counts a quarter): 0.75 < 1, the hours go to the person in COA first.
    With v = 1 (equal): 3 > 1, the three cheap cases first (more people per hour).
    Without a waiting weight only overdue months count and nothing is overdue: deciding at the
    deadline would be free (the artefact this term removes)."""
    quarter = plan_of(_two_types(0.25))
    assert _by(quarter, "ind_cases", "case_type", "dear", "decided_internal") == pytest.approx([1, 0], abs=1e-6)
    assert _by(quarter, "ind_cases", "case_type", "cheap", "decided_internal") == pytest.approx([0, 3], abs=1e-6)
    assert quarter.kpis["waiting_person_months"] == pytest.approx(3)
    assert quarter.kpis["waiting_person_months_by_type"] == {"dear": 0, "cheap": 3}
    equal = plan_of(_two_types(1.0))
    assert _by(equal, "ind_cases", "case_type", "cheap", "decided_internal") == pytest.approx([3, 0], abs=1e-6)
    assert equal.kpis["waiting_person_months"] == pytest.approx(1)


def _retraining(months: float) -> dict:
    """Pool ``p`` (2 FTE, 10 h a month each, no work of its own: type ``x`` has no cases) and pool
    ``q`` (no staff) whose type ``y`` has 10 relatives waiting abroad (10 h a decision, weight 1).
    p's staff may retrain for q: at most 1 FTE a month, ``months`` of retraining, EUR 1,000 each."""
    return tiny(
        case_types={"y": {"pool": "q", "inflow": 0, "hours_per_case": 10, "grant_share": 0, "waits_in_coa": False,
                          "grants_need_housing": False, "deadline_months": 12, "start_stock_by_age": [10]}},
        staff_pools={
            "p": {"start_fte": 2, "hours_per_fte_year": 120, "retrain_to": {"q": {"months": months, "max_fte": 1, "eur_per_fte": 1000}}},
            "q": {"start_fte": 0, "hours_per_fte_year": 120, "eur_per_fte_year": 0},
        },
        objective={"waiting_person_month": {"abroad": 1}},
    )


def test_retraining_moves_staff_after_its_delay(tmp_path):
    """With 2 months' retraining: 1 FTE starts in month 1 and 1 in month 2 (the cap); they decide
    for q from month 3 and 4: q's productive FTE 0, 0, 1, 2 and y's decisions 0, 0, 1, 2 (10 h
    each). Retraining in months 3-4 would pay off after the horizon: not done (EUR 1,000 each).
    In transit (paid as q's staff): 1, 2, 1, 0. Cost EUR 2,000. p keeps 1, 0, 0, 0.
    Without a delay the same two FTE decide at once: 1, 2, 2, 2 decisions."""
    plan = plan_of(_retraining(2))
    assert plan.tables["retraining"].fte.tolist() == pytest.approx([1, 1, 0, 0], abs=1e-6)
    assert _by(plan, "staff", "pool", "q", "productive_fte") == pytest.approx([0, 0, 1, 2], abs=1e-6)
    assert _by(plan, "staff", "pool", "q", "retraining") == pytest.approx([1, 2, 1, 0], abs=1e-6)
    assert _by(plan, "staff", "pool", "p", "productive_fte") == pytest.approx([1, 0, 0, 0], abs=1e-6)
    assert _by(plan, "ind_cases", "case_type", "y", "decided_internal") == pytest.approx([0, 0, 1, 2], abs=1e-6)
    assert plan.kpis["cost_by_component"]["retraining"] == pytest.approx(2000)
    quarter = plan.tables["plan_quarter"]
    assert quarter[(quarter.decision == "retrain") & (quarter.item == "p -> q")].value.tolist() == pytest.approx([1, 1])
    comparison, violations, ok = evaluate_run(plan.write(tmp_path / "run"))
    assert ok and not violations
    at_once = plan_of(_retraining(0))
    assert _by(at_once, "ind_cases", "case_type", "y", "decided_internal") == pytest.approx([1, 2, 2, 2], abs=1e-6)


def test_recount_catches_retraining_over_its_cap(tmp_path):
    """The recount replays retraining.csv: 1.5 FTE in month 1 breaks the cap of 1."""
    folder = plan_of(_retraining(2)).write(tmp_path / "run")
    path = folder / "retraining.csv"
    path.write_text(path.read_text().replace("2024-01,p,q,1.0", "2024-01,p,q,1.5"))
    _, violations, ok = evaluate_run(folder)
    assert not ok and any("retraining p -> q 2024-01 (max_fte)" in v for v in violations)


def _ramp_down(down: float | None) -> dict:
    """60 cases, all overdue (deadline 1 month, received 3 months before the start), 20 decisions
    a month at most (1 FTE, 200 h a month, 10 h a case), 4 months."""
    x = {"inflow": 0, "deadline_months": 1, "hours_per_case": 10, "start_stock_by_age": [0, 0, 60]}
    if down is not None:
        x["max_decision_decrease"] = down
    return tiny(case_types={"x": x}, staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 2400}})


def test_production_ramp_down():
    """Free: 20, 20, 20, 0 (stocks 40, 20, 0, 0: 60 overdue case-months). With a ramp down of 5
    a month (d2 >= d1 - 5, d3 >= d2 - 5, d4 >= d3 - 5) and d1 + .. + d4 <= 60, minimising the
    stocks 60 - d1, 60 - d1 - d2, ... (i.e. maximising 4 d1 + 3 d2 + 2 d3 + d4) takes d1 = 20 and
    lets every later month fall by the most allowed: d2 + (d2 - 5) + (d2 - 10) = 40, d2 = 55/3:
    20, 18.33, 13.33, 8.33 (d2 = 20 would need d3 >= 15 and d4 >= 10, 65 cases in all). Stocks
    40, 21.67, 8.33, 0: 70 overdue case-months."""
    free = plan_of(_ramp_down(None))
    assert _by(free, "ind_cases", "case_type", "x", "decided_internal") == pytest.approx([20, 20, 20, 0], abs=1e-6)
    ramped = plan_of(_ramp_down(5))
    assert _by(ramped, "ind_cases", "case_type", "x", "decided_internal") == pytest.approx([20, 55 / 3, 40 / 3, 25 / 3], abs=1e-6)
    assert ramped.kpis["overdue_case_months"] == pytest.approx(70)


def test_recount_catches_a_fall_beyond_the_ramp(tmp_path):
    folder = plan_of(_ramp_down(5)).write(tmp_path / "run")
    path = folder / "ind_cases.csv"
    text = path.read_text()
    # month 3 falls from 18.33 to 10.33 (8 > 5); month 4 takes the 3 cases left over
    path.write_text(text.replace("2024-03,x,0.000000,0.000000,13.333333,", "2024-03,x,0.000000,0.000000,10.333333,").replace("2024-04,x,0.000000,0.000000,8.333333,", "2024-04,x,0.000000,0.000000,11.333333,"))
    _, violations, ok = evaluate_run(folder)
    assert not ok and any("max_decision_decrease" in v for v in violations)


def _hire_at_the_end(tail: int) -> dict:
    """One relative a month joins a queue abroad (weight 1 a person-month, 10 h a decision);
    hires (at most 1 a month, EUR 1,200 a year each) are productive after 1 month and work 10 h
    a month. 2 months reported, ``tail`` months solved after them."""
    return tiny(
        horizon={"periods": 2, "tail_periods": tail, "extend": "hold_last"},
        case_types={"x": {"inflow": 1, "hours_per_case": 10, "deadline_months": 12}},
        staff_pools={"p": {"start_fte": 0, "hours_per_fte_year": 120, "eur_per_fte_year": 1200, "training_months": 1, "max_hires": 1}},
        objective={"waiting_person_month": {"abroad": 1}},
    )


def test_a_hire_that_pays_after_the_horizon_is_made_with_a_look_ahead_tail():
    """The month-1 hire decides 1 case a month from month 2: the queue stays 1, 1, 1, ...
    A second hire in month 2 is productive from month 3, after a 2-month horizon: without a tail
    it buys nothing and costs EUR 100 a month, so it is not made (hires 1, 0). With a 2-month tail
    it clears the queue in month 3 (1 person-month less in months 3 and 4, 2 in all), worth more
    than its cost: hires 1, 1. Both report 2 months: waiting 1 + 1 = 2 person-months."""
    short = plan_of(_hire_at_the_end(0))
    assert short.tables["staff"].hires.tolist() == pytest.approx([1, 0], abs=1e-6)
    ahead = plan_of(_hire_at_the_end(2))
    assert ahead.tables["staff"].hires.tolist() == pytest.approx([1, 1], abs=1e-6)
    assert len(ahead.tables["ind_cases"]) == 2 and ahead.kpis["periods"] == 2 and ahead.kpis["tail_periods"] == 2
    assert ahead.kpis["waiting_person_months"] == pytest.approx(2) == short.kpis["waiting_person_months"]


def test_tail_run_is_recounted_on_its_horizon(tmp_path):
    _, violations, ok = evaluate_run(plan_of(_hire_at_the_end(2)).write(tmp_path / "run"))
    assert ok and not violations


def test_minimum_term_past_the_end_is_charged_in_full(tmp_path):
    """10 persons need places from month 1 (an instance group); the only site is a candidate of
    10 places, no lead time, a 12-month minimum term, EUR 1,200 a place-year (EUR 1,000 a month
    for the site). Opened in month 1 of a 3-month horizon: running EUR 3,000 in the horizon and the
    9 months of its term after it, EUR 9,000, charged in the last month (locations_commitment)."""
    raw = tiny(
        horizon={"periods": 3},
        reception={"occupancy_norm": 1, "other_groups": {"g": 10}},
        location_types={"t": {"eur_per_place_year": 1200, "min_open_months": 12}},
        locations={"new": {"region": "A", "type": "t", "places": 10, "status": "candidate"}},
    )
    plan = plan_of(raw)
    costs = plan.tables["costs"]
    commit = costs[costs.component == "locations_commitment"].eur.tolist()
    assert commit == pytest.approx([0, 0, 9000])
    assert plan.kpis["cost_by_component"]["locations_running"] == pytest.approx(3000)
    _, violations, ok = evaluate_run(plan.write(tmp_path / "run"))
    assert ok and not violations


@pytest.mark.parametrize(
    "extend, values, expected",
    [
        ("hold_last", [1, 2, 3], [1, 2, 3, 3, 3]),
        ("repeat_last_year", [1, 2, 3], [1, 2, 3, 1, 2]),  # a list shorter than a year repeats whole
        ("none", [1, 2, 3, 4, 5], [1, 2, 3, 4, 5]),
    ],
)
def test_series_extend_by_the_stated_rule(extend, values, expected):
    raw = tiny(horizon={"periods": 3, "tail_periods": 2, "extend": extend}, case_types={"x": {"inflow": values}})
    assert validate_dict(raw).s("case_types.x.inflow") == expected


def test_a_year_repeats_on_a_month_grid():
    raw = tiny(horizon={"periods": 14, "extend": "repeat_last_year"}, case_types={"x": {"inflow": list(range(1, 13))}})
    assert validate_dict(raw).s("case_types.x.inflow") == [*range(1, 13), 1, 2]


def test_a_short_series_without_a_rule_is_an_error():
    raw = tiny(horizon={"periods": 3, "tail_periods": 2}, case_types={"x": {"inflow": [1, 2]}})
    with pytest.raises(InputError, match=r"case_types\.x\.inflow: expected 5 values \(one per period of the horizon and its tail\), got 2; or set horizon\.extend"):
        validate_dict(raw)


def _stability(periods: int, tail: int) -> dict:
    """A year's seasonal inflow (waiting abroad, weight 1; 3 months' deadline), repeated by the
    stated rule; a pool of 10 FTE (100 h a month each, 10 h a decision: 100 decisions a month)
    that loses 2 % a month, may hire 5 a month (6 months' training, EUR 60,000 a year, cost weight
    1 per million EUR), and a production ramp of 20 a month each way."""
    inflow = [90, 95, 100, 110, 120, 130, 140, 130, 120, 110, 100, 95]
    return tiny(
        horizon={"periods": periods, "tail_periods": tail, "extend": "repeat_last_year"},
        case_types={"x": {"inflow": inflow, "hours_per_case": 10, "deadline_months": 3, "start_stock_by_age": [100, 100],
                          "max_decision_increase": 20, "max_decision_decrease": 20}},
        staff_pools={"p": {"start_fte": 10, "hours_per_fte_year": 1200, "eur_per_fte_year": 60000, "training_months": 6,
                           "attrition_per_month": 0.02, "max_hires": 5}},
        objective={"waiting_person_month": {"abroad": 1}, "cost_per_million_eur": 1},
    )


def _first_year(plan) -> list[float]:
    """Hires in the first 12 months, then decisions per quarter."""
    dec = plan.tables["ind_cases"].decided_internal.tolist()[:12]
    return [sum(plan.tables["staff"].hires.tolist()[:12])] + [sum(dec[q * 3 : q * 3 + 3]) for q in range(4)]


def test_first_year_barely_moves_when_the_horizon_grows():
    """With a 12-month look-ahead tail the first year's hires and quarterly decisions of a 24- and
    a 36-month plan differ by at most 5 % (here they are equal). The end is where the tail acts:
    without it the 24-month plan makes no hire in its last 6 months (a hire there is productive
    only after the horizon), with it the plan keeps hiring to replace the staff who leave
    (0.58 FTE in month 24)."""
    ahead = plan_of(_stability(24, 12))
    a, b = _first_year(ahead), _first_year(plan_of(_stability(36, 12)))
    assert all(abs(x - y) <= 0.05 * max(abs(x), abs(y), 1e-9) for x, y in zip(a, b)), (a, b)
    short = plan_of(_stability(24, 0))
    assert sum(short.tables["staff"].hires.tolist()[18:]) == pytest.approx(0, abs=1e-6)
    assert sum(ahead.tables["staff"].hires.tolist()[18:]) > 0.5
