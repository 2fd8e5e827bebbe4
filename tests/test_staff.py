"""Staff pipeline: training delay, attrition, coaching, external hire, hiring when it pays."""

import pytest
from conftest import solve_raw, tiny

from planner.instance.loading import validate_dict
from planner.model import build_model, staff
from planner.solver.solve import solve_model


def test_pipeline_training_attrition_coaching():
    """A hire of period 0 is productive from period 0 + L (L = 2), attrition and coaching as derived.

    Pool: start_fte 10, 1200 h/yr = 100 h per month per FTE, attrition 10 % per month, coaching
    240 h/yr = 20 h per trainee-month, start_trainees [0, 5] (5 FTE productive from period 1).
    Hires fixed at 3 in period 0, 0 afterwards. With productive[-1] = 10:

        t0: productive = 0.9*10            = 9      trainees = 3 (hire) + 5 (start) = 8
            hours = 100*9 - 20*8 = 740
        t1: productive = 0.9*9 + 5         = 13.1   trainees = 3              hours = 1310 - 60 = 1250
        t2: productive = 0.9*13.1 + 3      = 14.79  trainees = 0              hours = 1479
        t3: productive = 0.9*14.79         = 13.311                          hours = 1331.1
        t4: productive = 0.9*13.311        = 11.9799                         hours = 1197.99
    """
    raw = tiny(
        horizon={"periods": 5},
        staff_pools={
            "p": {
                "start_fte": 10,
                "hours_per_fte_year": 1200,
                "attrition_per_month": 0.1,
                "coaching_hours_per_trainee_year": 240,
                "training_months": 2,
                "start_trainees": [0, 5],
                "max_hires": 100,
            }
        },
    )
    d = validate_dict(raw)
    m = build_model(d)
    for t in range(5):
        m.hires["p", t].fix(3 if t == 0 else 0)
    solve_model(m)
    tab = staff.table(m, d)
    assert tab.productive_fte.tolist() == pytest.approx([9, 13.1, 14.79, 13.311, 11.9799], abs=1e-9)
    assert tab.trainees.tolist() == pytest.approx([8, 3, 0, 0, 0], abs=1e-9)
    assert tab.productive_hours.tolist() == pytest.approx([740, 1250, 1479, 1331.1, 1197.99], abs=1e-7)


def test_hiring_happens_training_delay_early_and_external_fills_the_gap():
    """The optimiser hires L periods before the work comes; external staff covers what it can't.

    Case x: 10 h per case, deadline 1 month (a case of period t is overdue at the end of t+1),
    inflow 20 in period 2 only, horizon 4 periods: the 20 cases must be decided in periods 2-3.
    Pool: 120 h/yr = 10 h per FTE-month (one decision per FTE-month), training 2 months, EUR 1,200
    per FTE-year (EUR 100 a month), no staff at the start. External: at most 5 FTE, 10 h per
    FTE-month, EUR 1.2 million per FTE-year (EUR 100,000 a month). Cost weight 0.001/MEUR.

    A hire of period 0 decides in periods 2 and 3 (2 cases, 4 months paid); of period 1 only in
    period 3 (1 case, 3 months paid). With hires a (period 0) and b (period 1): 2a + b = 20 at
    cost 4a + 3b = 60 - 2a (x EUR 100): largest a wins, hires = [10, 0, 0, 0], external 0.

    Cap hires at 6 a period: a = 6 (12 cases), b = 6 (6 cases), 2 cases left: external 2 FTE-
    months in period 2 or 3 (either; hires are far cheaper, so they go first). Nothing overdue.
    """
    raw = tiny(
        horizon={"periods": 4},
        case_types={"x": {"inflow": [0, 0, 20, 0], "deadline_months": 1, "hours_per_case": 10}},
        staff_pools={
            "p": {
                "hours_per_fte_year": 120,
                "eur_per_fte_year": 1200,
                "training_months": 2,
                "max_hires": 20,
                "external_fte_max": 5,
                "external_eur_per_fte_year": 1.2e6,
            }
        },
    )
    m, d, _ = solve_raw(raw)
    tab = staff.table(m, d)
    assert tab.hires.tolist() == pytest.approx([10, 0, 0, 0], abs=1e-6)
    assert tab.external_fte.tolist() == pytest.approx([0] * 4, abs=1e-6)

    raw["staff_pools"]["p"]["max_hires"] = 6
    m, d, _ = solve_raw(raw)
    tab = staff.table(m, d)
    assert tab.hires.tolist() == pytest.approx([6, 6, 0, 0], abs=1e-6)
    assert tab.external_fte.sum() == pytest.approx(2, abs=1e-6)
    assert tab.external_fte.tolist()[:2] == pytest.approx([0, 0], abs=1e-6)
    from planner.model import cases

    assert cases.table(m, d).overdue.sum() == pytest.approx(0, abs=1e-6)
