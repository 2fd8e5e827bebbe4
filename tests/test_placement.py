"""Permit-holder placement: regular housing, accelerated placement caps, FIFO norm overrun."""

import pytest
from conftest import solve_raw, tiny

from planner.model import placement


def _placement_instance(accelerated_total, accel_cap=40):
    """Regions A and B (equal population: quota share 0.5 each), 3 months.

    100 permit holders wait at the start, all received 7 months ago (age 6 periods > the
    14-week norm of 3.2 months): 50 per region, all past the norm. No new grants. Regular
    housing: A 0 a month, B 25 a month. Accelerated capacity ``accel_cap`` a month per region,
    national total ``accelerated_total``, EUR 1,000 a person (tiny cost weight).
    """
    return tiny(
        horizon={"periods": 3},
        regions={
            "A": {"population": 1, "housing_supply": 0, "accelerated_capacity": accel_cap},
            "B": {"population": 1, "housing_supply": 25, "accelerated_capacity": accel_cap},
        },
        placement={
            "start_waiting_by_age": [0, 0, 0, 0, 0, 0, 100],
            "accelerated_total": accelerated_total,
            "accelerated_eur_per_person": 1000,
        },
    )


def test_no_accelerated_placement():
    """A: 50 wait all 3 months (150 person-months past the norm); B: 25 housed a month: 25, 0, 0."""
    m, d, _ = solve_raw(_placement_instance(0))
    tab = placement.table(m, d)
    assert tab[tab.region == "A"].overdue.tolist() == pytest.approx([50, 50, 50], abs=1e-6)
    assert tab[tab.region == "B"].overdue.tolist() == pytest.approx([25, 0, 0], abs=1e-6)


def test_accelerated_respects_caps_and_goes_where_it_avoids_most_overrun():
    """National total 60, 40 a month per region.

    A placed in period 0 avoids 3 months past the norm (A has no regular housing); in period 1
    it avoids 2; a B placement in period 0 avoids 1 (B empties by period 1 anyway), later 0.
    Greedy by value, within the caps: A period 0: 40 (regional cap), A period 1: the last 10,
    B period 0: the remaining 10 of the national 60 (national cap binds).
        A waiting (= overdue): 10, 0, 0;   B: 50 - 25 - 10 = 15, then 0.
    """
    m, d, _ = solve_raw(_placement_instance(60))
    tab = placement.table(m, d)
    a, b = tab[tab.region == "A"], tab[tab.region == "B"]
    assert a.accelerated.tolist() == pytest.approx([40, 10, 0], abs=1e-6)
    assert b.accelerated.tolist() == pytest.approx([10, 0, 0], abs=1e-6)
    assert tab.accelerated.sum() == pytest.approx(60, abs=1e-6)
    assert a.overdue.tolist() == pytest.approx([10, 0, 0], abs=1e-6)
    assert b.overdue.tolist() == pytest.approx([15, 0, 0], abs=1e-6)


def test_new_permit_holders_linked_by_quota_and_norm_overrun_fifo():
    """New permit holders are split by quota share and are past the norm FIFO.

    Case x: 40 cases at the start, 1 person each, all granted; decisions fixed at 20, 20, 0, 0.
    Quota shares 0.75 / 0.25 (populations 3 and 1). No housing: permit holders keep waiting.
    Norm 8 weeks = 8*7/365.25*12 = 1 + f periods, f = 0.8398: young at the end of t is
    linked[t] + f * linked[t-1].
        linked A: 15, 15, 0, 0;  waiting A: 15, 30, 30, 30;  linked B: 5, 5, 0, 0
        overdue A: t0: 15 - 15 = 0;  t1: 30 - (15 + 15f) = 15(1-f) = 2.40;
                   t2: 30 - 15f = 17.40;  t3: 30 - 0 = 30
    """
    from planner.instance.loading import validate_dict
    from planner.model import build_model
    from planner.solver.solve import solve_model

    raw = tiny(
        horizon={"periods": 4},
        regions={"A": {"population": 3}, "B": {"population": 1}},
        case_types={"x": {"start_stock_by_age": [40], "grant_share": 1, "grants_need_housing": True, "deadline_months": 12}},
        staff_pools={"p": {"start_fte": 2, "hours_per_fte_year": 1200}},
        placement={"norm_weeks": 8},
    )
    d = validate_dict(raw)
    m = build_model(d)
    for t in range(4):
        m.dec_int["x", t].fix(20 if t < 2 else 0)
    solve_model(m)
    tab = placement.table(m, d)
    a, b = tab[tab.region == "A"], tab[tab.region == "B"]
    assert a.linked.tolist() == pytest.approx([15, 15, 0, 0])
    assert b.linked.tolist() == pytest.approx([5, 5, 0, 0])
    assert a.waiting.tolist() == pytest.approx([15, 30, 30, 30])
    f = 8 * 7 / 365.25 * 12 - 1
    assert a.overdue.tolist() == pytest.approx([0, 15 * (1 - f), 30 - 15 * f, 30], abs=1e-6)
    assert b.overdue.tolist() == pytest.approx([0, 5 * (1 - f), 10 - 5 * f, 10], abs=1e-6)
