"""Infeasible plans: the diagnosis names the limit that must give and by how much (exit code 3).

Each instance is the tiny instance of conftest (every cost and flow off) with just enough turned
on to make the plan impossible; the docstring derives the shortfall by hand. Month grid: a yearly
amount is 1/12 per period. See planner/solver/diagnose.py for why only budgets and IND hours can make a
plan infeasible, and for the elastic re-solve that measures the shortfall.
"""

import pytest
import yaml
from conftest import tiny

import planner
from planner.cli import main
from planner.errors import InfeasibleError
from planner.instance.loading import validate_dict
from planner.solver.diagnose import diagnose

LOCATION = {
    "location_types": {"t": {"eur_per_place_year": 1200}},
    "locations": {"old": {"region": "A", "type": "t", "places": 10, "status": "existing"}},
}
TWO_FTE_ACROSS_NEW_YEAR = {
    "horizon": {"start": "2024-11", "periods": 4},
    "staff_pools": {"p": {"start_fte": 2, "eur_per_fte_year": 60000}},
}
COACHING = {
    "staff_pools": {"p": {"start_fte": 1, "start_trainees": [0, 0, 3], "coaching_hours_per_trainee_year": 1200}},
}
OVERDUE_STOCK = {
    # 10 cases received two months before the start, deadline 1 month: overdue throughout
    "case_types": {"x": {"start_stock": 10, "pre_horizon_inflow": [10, 0], "deadline_months": 1}},
}


def budget_below_existing_location():
    """Budget EUR 1,000 for the horizon; the existing location cannot close.

    10 places x EUR 1,200 a year = EUR 1,000 a month, 4 months: EUR 4,000 that no decision avoids.
    Short by 4,000 - 1,000 = EUR 3,000.
    """
    return tiny(**LOCATION, budget={"total_eur": 1000})


def budget_year_too_low():
    """Nov 2024 .. Feb 2025, 2 FTE at EUR 60,000 a year = EUR 10,000 a month, nobody can be fired.

    2024 (Nov, Dec): EUR 20,000 <= 50,000; 2025 (Jan, Feb): EUR 20,000 > 15,000: the 2025 budget is
    short by EUR 5,000 and 2024's is fine.
    """
    return tiny(**TWO_FTE_ACROSS_NEW_YEAR, budget={"by_year_eur": {2024: 50000, 2025: 15000}})


def budget_total_and_year_too_low():
    """As above with a horizon budget of EUR 30,000 and 2025 EUR 15,000: the plan costs EUR 40,000
    (2025: 20,000), so both give: the horizon by EUR 10,000, 2025 by EUR 5,000."""
    return tiny(**TWO_FTE_ACROSS_NEW_YEAR, budget={"total_eur": 30000, "by_year_eur": {2025: 15000}})


def coaching_exceeds_hours():
    """1 FTE (1,200 h a year = 100 h a month) coaches 3 start trainees who qualify in period 2, at
    1,200 h a year = 100 h a month each.

    Hours: Jan 100 - 300 = -200, Feb -200, Mar (4 productive, no trainees) +400, Apr +400. No case
    needs work, no external staff, no hires possible: the pool is short by 200 hours in 2024-01 and
    200 hours in 2024-02, 400 hours in all.
    """
    return tiny(**COACHING)


def notices_need_hours():
    """No staff; 10 cases overdue from the start (deadline 1 month, received 2 months before).

    Penalties apply: notices = 0.5 x 10 = 5 a month, each taking 2 IND hours: 10 hours a month the
    pool (0 hours) cannot give, in each of the 4 months: 40 hours. Deciding a case instead would
    take 10 hours to save at most 1 hour a month for 4 months, so the smallest shortfall is 10
    hours in every month.
    """
    return tiny(
        case_types={"x": {**OVERDUE_STOCK["case_types"]["x"],
                          "penalties": {"applies": True, "notice_share_per_period": 0.5, "ind_hours_per_notice": 2}}},
    )


def penalties_exceed_budget():
    """No staff; 10 cases overdue throughout; 5 notices a month at EUR 1,000 = EUR 5,000 a month,
    EUR 20,000 over 4 months, against a budget of EUR 12,000: short by EUR 8,000.

    (More IND hours would let the cases be decided instead, but money cannot buy them here and the
    diagnosis names the budget first: 1 penalty unit per EUR 1 million against 1 per 1,000 hours.)
    """
    return tiny(
        case_types={"x": {**OVERDUE_STOCK["case_types"]["x"],
                          "penalties": {"applies": True, "notice_share_per_period": 0.5, "eur_per_notice": 1000}}},
        budget={"total_eur": 12000},
    )


def budget_and_hours():
    """The location of the first case (EUR 4,000, budget EUR 1,000: short by EUR 3,000) and the
    coaching of the fourth (short by 200 hours in 2024-01 and 2024-02): two limits give at once."""
    return tiny(**LOCATION, **COACHING, budget={"total_eur": 1000})


CASES = [
    pytest.param(budget_below_existing_location, {("budget_total_limit", None): 3000},
                 ["the budget for the whole horizon is short by EUR 3,000", "costs at least EUR 4,000"],
                 id="budget-below-existing-location"),
    pytest.param(budget_year_too_low, {("budget_year_limit", 2025): 5000},
                 ["the budget for 2025 is short by EUR 5,000", "at least EUR 20,000 in 2025", "the budget is EUR 15,000"],
                 id="budget-year-too-low"),
    pytest.param(budget_total_and_year_too_low, {("budget_total_limit", None): 10000, ("budget_year_limit", 2025): 5000},
                 ["whole horizon is short by EUR 10,000", "budget for 2025 is short by EUR 5,000"],
                 id="budget-total-and-year"),
    pytest.param(coaching_exceeds_hours, {("staff_production", ("p", 0)): 200, ("staff_production", ("p", 1)): 200},
                 ["IND staff pool 'p' is short by 400 productive hours", "200 hours in 2024-01, 200 hours in 2024-02"],
                 id="coaching-exceeds-hours"),
    pytest.param(notices_need_hours, {("staff_production", ("p", t)): 10 for t in range(4)},
                 ["IND staff pool 'p' is short by 40 productive hours", "10 hours in 2024-04"],
                 id="notices-need-hours"),
    pytest.param(penalties_exceed_budget, {("budget_total_limit", None): 8000},
                 ["the budget for the whole horizon is short by EUR 8,000", "costs at least EUR 20,000"],
                 id="penalties-exceed-budget"),
    pytest.param(budget_and_hours,
                 {("budget_total_limit", None): 3000, ("staff_production", ("p", 0)): 200, ("staff_production", ("p", 1)): 200},
                 ["short by EUR 3,000", "short by 400 productive hours"],
                 id="budget-and-hours"),
]


@pytest.mark.parametrize("make, expected, fragments", CASES)
def test_diagnosis_names_group_and_amount(make, expected, fragments):
    diagnosis = diagnose(validate_dict(make()))
    assert diagnosis.status == "infeasible"
    got = {(s.group, s.index): s.amount for s in diagnosis.shortfalls}
    assert got == pytest.approx(expected, abs=1e-3)
    message = diagnosis.message()
    assert message.startswith("the plan is infeasible: ")
    for fragment in fragments:
        assert fragment in message, message


def test_solve_raises_with_the_diagnosis():
    with pytest.raises(InfeasibleError) as err:
        planner.solve(validate_dict(budget_year_too_low()))
    assert err.value.exit_code == 3
    assert "the budget for 2025 is short by EUR 5,000" in str(err.value)
    assert err.value.diagnosis.shortfalls[0].group == "budget_year_limit"


def test_lexicographic_infeasible_is_diagnosed_too():
    with pytest.raises(InfeasibleError, match="short by 400 productive hours"):
        planner.solve(validate_dict(coaching_exceeds_hours()), objective="lexicographic")


def _write(tmp_path, raw) -> str:
    path = tmp_path / "instance.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return str(path)


def test_cli_solve_exit_3_one_line_no_folder(tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["solve", _write(tmp_path, budget_below_existing_location()), "--out", str(run)])
    out, err = capsys.readouterr()
    assert code == 3
    assert err.count("\n") == 1 and err.startswith("error: the plan is infeasible: ")
    assert "short by EUR 3,000" in err and "Traceback" not in err
    assert not run.exists() and not list(tmp_path.glob(".run*"))


def test_cli_diagnose_reports_groups_and_iis(tmp_path, capsys):
    """--diagnose writes no run folder; it lists the shortfall and HiGHS's IIS (the year row)."""
    run = tmp_path / "run"
    code = main(["solve", _write(tmp_path, budget_year_too_low()), "--diagnose", "--out", str(run)])
    out, err = capsys.readouterr()
    assert code == 3
    assert "the budget for 2025 is short by EUR 5,000" in out
    assert "Irreducible infeasible subset" in out and "budget_year_limit[2025]" in out
    assert "budget_year_limit[2024]" not in out  # the 2024 budget is not part of the conflict
    assert err.count("\n") == 1
    assert not run.exists()


def test_cli_diagnose_feasible_exit_0(tmp_path, capsys):
    raw = tiny(**LOCATION, budget={"total_eur": 4000})  # exactly enough
    code = main(["solve", _write(tmp_path, raw), "--diagnose"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert "feasible: a plan exists" in out


def test_conflict_outside_budgets_and_hours_is_unexplained_with_iis():
    """A fixed decision (5 cases decided in January, none in stock): no budget or hours can help;
    the IIS names the case balance of January."""

    def fix(m):
        m.dec_int["x", 0].fix(5)

    d = validate_dict(tiny(staff_pools={"p": {"start_fte": 10}}))
    diagnosis = diagnose(d, prepare=fix)
    assert diagnosis.status == "unexplained"
    assert diagnosis.iis and any("case_balance[x,0]" in name for name in diagnosis.iis)
    assert "not because of a budget or IND hours" in diagnosis.message()
    assert "case_balance[x,0]" in diagnosis.message()
