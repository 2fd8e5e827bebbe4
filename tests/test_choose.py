"""--choose-measures: adoption as binary decisions inside the budget, derived by hand."""

import pytest
from conftest import ranking_instance

from planner.solver.choose import choose, choose_and_report


def _instance(budget=None):
    """conftest.ranking_instance (overdue without measures 0, 0, 5, 10; cost weight 1 per
    million EUR), with 'productivity' costing EUR 1.4 million one-off and a risk.

    outsource alone: 10 cases at EUR 0.5 million: overdue 0, cost 5: objective 5.
    productivity alone: overdue 6.25, cost 1.4: 7.65.
    both: overdue 1.25 in period 2 and 5 in period 3 with productivity; 1.25 cases outsourced in
    period 2 save 2 each, 3.75 more save 1 each: 5 cases, overdue 0, cost 2.5 + 1.4: 3.9.
    none: 15.  Without a budget: both (3.9).
    Budget EUR 1.3 million: productivity (1.4) no longer fits; outsource alone with 2.6 cases in
    period 2 (each saves 2): overdue 15 - 5.2 = 9.8, cost 1.3: 11.1 < 15: outsource only.
    """
    raw = ranking_instance(
        productivity={"eur_one_off": 1.4e6},
        risk={"kind": "risk", "changes": [{"path": "case_types.x.inflow", "op": "scale", "value": 2}]},
    )
    if budget is not None:
        raw["budget"] = {"total_eur": budget}
    return raw


def test_choose_both_without_budget_and_what_each_buys():
    plan = choose_and_report(_instance())
    c = plan.kpis["choose_measures"]
    assert sorted(c["chosen"]) == ["outsource", "productivity"]
    assert c["choice_objective"] == pytest.approx(3.9, abs=1e-5)
    assert plan.kpis["objective"] == pytest.approx(3.9, abs=1e-5)
    assert c["values"]["outsource"]["buys"] == pytest.approx(7.65 - 3.9, abs=1e-5)
    assert c["values"]["productivity"]["buys"] == pytest.approx(5 - 3.9, abs=1e-5)
    assert "risk" not in c["values"]  # a risk is never a candidate
    assert plan.data.instance.in_force == ["outsource", "productivity"]


def test_budget_changes_the_choice():
    chosen, refused, info = choose(_instance(budget=1.3e6))
    assert chosen == ["outsource"] and refused == {}
    assert info.objective == pytest.approx(11.1, abs=1e-5)


def test_structural_measure_is_refused():
    """A measure that shortens the deadline changes the FIFO window of every overdue row, which a
    parameter delta cannot express: it is refused (planner.instance.structure), the others are chosen as
    without it (both: objective 3.9, see _instance)."""
    raw = _instance()
    raw["measures"]["strict"] = {"changes": [{"path": "case_types.x.deadline_months", "op": "set", "value": 0.5}]}
    chosen, refused, info = choose(raw)
    assert sorted(chosen) == ["outsource", "productivity"] and info.objective == pytest.approx(3.9, abs=1e-5)
    assert list(refused) == ["strict"]
    assert "structural field case_types.x.deadline_months changed" in refused["strict"]
