"""planner explain: sensitivities and withheld decisions on tiny instances, derived by hand.

Every row is KPI(re-solve) - KPI(plan); the columns: overdue_person_months,
waiting_person_months, crisis_person_nights, unsheltered_person_nights,
permit_holder_months_over_norm, cost_eur (the horizon's) and objective (weighted).
"""

import json

import pytest
from conftest import merge, plan_of, tiny

from planner.cli import main
from planner.outputs.explainreport import sentence
from planner.studies.explain import KPI_COLUMNS, explain_plan

COLS = list(KPI_COLUMNS)


def staff_instance(**over) -> dict:
    """Pool p: 1 FTE at the start, 1200 h/yr = 100 h a month, EUR 12,000/yr = EUR 1,000 a
    FTE-month, no training delay, at most 1 hire a month; external staff at most 1 FTE at EUR
    2,000 a month. Case x: 1,000 old cases (all overdue: deadline 1 month, nothing arrived in the
    month before), no inflow, 10 h a decision (10 decisions per FTE-month); outsourcing at most 5
    a month at EUR 100 a case. Weights: overdue case-month 1, waiting 0, cost 0.001 per EUR
    million. Horizon 4 months, the first 3 committed.

    The plan uses everything (a decision saves a case-month each remaining month, far more than
    its cost): hires 1 a month, productive 2, 3, 4, 5; external 1; outsourced 5; decisions 35, 45,
    55, 65; stock = overdue 965, 920, 865, 800: 3,550 case-months; cost 14 FTE-months x 1,000 +
    4 x 2,000 + 20 x 100 = EUR 24,000."""
    raw = tiny(
        case_types={"x": {"start_stock": 1000, "pre_horizon_inflow": [0], "deadline_months": 1, "outsourcing_capacity": 5, "outsourcing_eur_per_case": 100}},
        staff_pools={"p": {"start_fte": 1, "eur_per_fte_year": 12000, "max_hires": 1, "external_fte_max": 1, "external_eur_per_fte_year": 24000}},
        explain={"hires_months": 2, "housing_regions": 0},
    )
    return merge(raw, over)


def rows(frame, col, key) -> dict:
    got = frame[frame[col] == key]
    assert len(got) == 1, got
    return got.iloc[0].to_dict()


def expect(row: dict, overdue: float, cost: float, **other) -> None:
    """``overdue`` person-months (= waiting person-months here: every case is overdue) and
    ``cost`` EUR; the objective is overdue + 0.001 x cost / 1e6; other columns 0 unless given."""
    want = {c: 0.0 for c in COLS}
    want.update(overdue_person_months=overdue, waiting_person_months=overdue, cost_eur=cost, objective=overdue + 0.001 * cost / 1e6)
    want.update(other)
    for c in COLS:
        assert row[c] == pytest.approx(want[c], abs=1e-5), (row["what"], c, row[c], want[c])
    assert row["status"] == "optimal"


@pytest.fixture(scope="module")
def staff_frames():
    plan = plan_of(staff_instance())
    assert plan.kpis["overdue_person_months"] == pytest.approx(3550)
    assert plan.kpis["total_cost_eur"] == pytest.approx(24000)
    explain_plan(plan, workers=1)
    return plan


def test_one_more_fte(staff_frames):
    """start_fte 2: 10 more decisions in each of the 4 months, stock lower by 10, 20, 30, 40:
    -100 case-months; one more FTE paid 4 months: +EUR 4,000."""
    expect(rows(staff_frames.tables["sensitivities"], "resource", "fte"), -100, 4000)


def test_one_more_hire_a_month(staff_frames):
    """max_hires 2 in the first 2 months (explain.hires_months: 2): one more hire in month 0
    (productive in months 0-3: -10-20-30-40) and in month 1 (months 1-3: -10-20-30): -160;
    paid 4 + 3 FTE-months: +EUR 7,000."""
    expect(rows(staff_frames.tables["sensitivities"], "resource", "hires"), -160, 7000)


def test_one_more_external_fte(staff_frames):
    """external_fte_max 2 over the horizon: 10 more decisions a month, -100; 4 months at
    EUR 2,000: +EUR 8,000."""
    expect(rows(staff_frames.tables["sensitivities"], "resource", "external_fte"), -100, 8000)


def test_withheld_hires(staff_frames):
    """No hires in months 0-2 (the hire of month 3 stays): productive 1, 1, 1, 2 against 2, 3,
    4, 5: 10, 20, 30, 30 fewer decisions, stock higher by 10, 30, 60, 90: +190 case-months;
    5 FTE-months paid against 14: -EUR 9,000."""
    row = rows(staff_frames.tables["explanations"], "decision", "hire")
    assert row["amount"] == pytest.approx(3) and row["periods"] == "2024-01..2024-03"
    expect(row, 190, -9000)


def test_withheld_external_staff(staff_frames):
    """No external FTE in months 0-2: 10 fewer decisions in each, stock higher by 10, 20, 30,
    30: +90; 3 months at EUR 2,000: -EUR 6,000."""
    expect(rows(staff_frames.tables["explanations"], "decision", "external_staff"), 90, -6000)


def test_withheld_outsourcing(staff_frames):
    """No outsourcing in months 0-2: 5 fewer decisions in each, stock higher by 5, 10, 15, 15:
    +45; 15 cases at EUR 100: -EUR 1,500."""
    row = rows(staff_frames.tables["explanations"], "decision", "outsource")
    assert row["amount"] == pytest.approx(15) and row["unit"] == "cases"
    expect(row, 45, -1500)
    assert sentence(row) == "Without outsourcing x: 15 cases, 2024-01..2024-03: +45 overdue person-months, +45 person-months waiting for a first decision."


def test_one_row_per_plan_quarter_decision(staff_frames):
    """explanations.csv has a row for every (decision, item, region) of plan_quarter.csv."""
    q = staff_frames.tables["plan_quarter"]
    q = q[q.item != "total"]
    want = sorted(set(zip(q.decision, q.item)))
    e = staff_frames.tables["explanations"]
    assert sorted(zip(e.decision, e.item)) == want == [("external_staff", "p"), ("hire", "p"), ("outsource", "x")]
