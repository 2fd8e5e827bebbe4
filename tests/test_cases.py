"""IND cases: FIFO deadline overruns, outsourcing, follow-on inflow, penalties and notices."""

import pytest
from conftest import outsourcing_instance, solve_raw, tiny

from planner.instance.loading import validate_dict
from planner.model import build_model, cases
from planner.model.objective import costs_table
from planner.solver.solve import solve_model

AGE_PROFILE = {"start_stock_by_age": [10, 20, 30]}
PRE_HORIZON = {"start_stock": 60, "pre_horizon_inflow": [100, 30, 20, 10]}


def _fifo_instance(deadline, start):
    """Case x: start stock 60 (10 received in period -1, 20 in -2, 30 in -3), inflow 5 a month,
    1 FTE at 100 h/month and 10 h per case: at most 10 decisions a month, 6 periods."""
    return tiny(
        horizon={"periods": 6},
        case_types={"x": {"inflow": 5, "deadline_months": deadline, "hours_per_case": 10, **start}},
        staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 1200}},
    )


@pytest.mark.parametrize("start", [AGE_PROFILE, PRE_HORIZON], ids=["by_age", "pre_horizon_inflow"])
def test_fifo_overdue_whole_deadline(start):
    """Deadline 2 months: at the end of t the cohorts of t-1 and t are young.

    Both start forms describe the same stock: FIFO keeps the newest arrivals, so 60 of the
    pre-horizon inflow [100, 30, 20, 10] are 10 (age 0), 20 (age 1) and 30 (age 2).
    Decisions: 10 a month (every decision removes an overdue case, so the optimum uses the full
    capacity). Stock: 55, 50, 45, 40, 35, 30.

        t0: young = 10 (period -1) + 5 = 15  -> overdue 55 - 15 = 40
            (check by cohorts: the 30 of period -3 lose the 10 decided -> 20, plus the 20 of -2: 40)
        t1: young = 5 + 5 = 10 -> 40;  t2: 35;  t3: 30;  t4: 25;  t5: 20   (total 190 case-months)
    """
    m, d, _ = solve_raw(_fifo_instance(2, start))
    tab = cases.table(m, d)
    assert tab.stock.tolist() == pytest.approx([55, 50, 45, 40, 35, 30], abs=1e-6)
    assert tab.overdue.tolist() == pytest.approx([40, 40, 35, 30, 25, 20], abs=1e-6)
    # the optimiser's own overdue variable agrees with the recount (positive weight makes it tight)
    assert [m.overdue["x", t].value for t in range(6)] == pytest.approx([40, 40, 35, 30, 25, 20], abs=1e-6)


def test_fifo_overdue_fractional_deadline():
    """Deadline 1.5 months: young = this period's inflow + half of the previous period's.

        t0: 55 - (5 + 0.5*10) = 45;   t1: 50 - (5 + 2.5) = 42.5;  then 37.5, 32.5, 27.5, 22.5
    """
    m, d, _ = solve_raw(_fifo_instance(1.5, AGE_PROFILE))
    assert cases.table(m, d).overdue.tolist() == pytest.approx([45, 42.5, 37.5, 32.5, 27.5, 22.5], abs=1e-6)


def test_outsourcing_used_when_cheap_enough_and_as_much_as_needed():
    """Without outsourcing the stock is 5, 10, 15, 20 and overdue (stock - 10) is 0, 0, 5, 10.

    An outsourced case of period 2 removes one overdue case in period 2 (while overdue there is
    positive, i.e. the first 5) and one in period 3: worth 2 case-months; any other outsourced
    case is worth 1 (it lowers period 3 only). Nothing can be outsourced in periods 0-1.

    Cheap (EUR 0.5 million a case = 0.5 objective units): every useful case pays; overdue 0
    needs 10 cases in periods 2-3 together (at least 5 of them in period 2): outsourced total 10.
    Dear (EUR 1.5 million = 1.5 units): only the first 5 of period 2 pay (2 > 1.5 > 1):
    outsourced [0, 0, 5, 0], overdue [0, 0, 0, 5].
    """
    m, d, _ = solve_raw(outsourcing_instance(0.5e6))
    tab = cases.table(m, d)
    assert tab.decided_outsourced.sum() == pytest.approx(10, abs=1e-6)
    assert tab.decided_outsourced.iloc[2] >= 5 - 1e-6
    assert tab.decided_outsourced.iloc[:2].tolist() == pytest.approx([0, 0], abs=1e-9)
    assert tab.overdue.sum() == pytest.approx(0, abs=1e-6)

    m, d, _ = solve_raw(outsourcing_instance(1.5e6))
    tab = cases.table(m, d)
    assert tab.decided_outsourced.tolist() == pytest.approx([0, 0, 5, 0], abs=1e-6)
    assert tab.overdue.tolist() == pytest.approx([0, 0, 0, 5], abs=1e-6)


def test_binding_budget_cuts_outsourcing_where_it_buys_least():
    """Cheap outsourcing (EUR 0.5 million a case) under a budget of EUR 2 million: 4 cases.

    The best use is period 2 (2 case-months each): outsourced [0, 0, 4, 0]; overdue period 2:
    5 - 4 = 1, period 3: 10 - 4 = 6 (total 7 instead of 0 without the budget).
    """
    m, d, _ = solve_raw(outsourcing_instance(0.5e6, budget=2e6))
    tab = cases.table(m, d)
    assert tab.decided_outsourced.tolist() == pytest.approx([0, 0, 4, 0], abs=1e-6)
    assert tab.overdue.tolist() == pytest.approx([0, 0, 1, 6], abs=1e-6)


def test_follow_on_inflow_from_grants_with_lag():
    """y (family reunification) gets 0.9 x the granted x cases of one month earlier, plus 1.

    x: start stock 30 (age 0), no inflow, grant share 0.5; decisions fixed at [10, 20, 0].
    Grants: 5, 10, 0. y's pre-horizon grants [4] (the month before the start). y inflow:
        t0: 1 + 0.9*4 = 4.6;   t1: 1 + 0.9*5 = 5.5;   t2: 1 + 0.9*10 = 10.
    """
    raw = tiny(
        horizon={"periods": 3},
        case_types={
            "x": {"start_stock_by_age": [30], "grant_share": 0.5},
            "y": {
                "pool": "p",
                "inflow": 1,
                "hours_per_case": 10,
                "grant_share": 0,
                "waits_in_coa": False,
                "grants_need_housing": False,
                "deadline_months": 3,
                "follow_on": {"source_types": ["x"], "share_of_grants": 0.9, "lag_months": 1, "pre_horizon_grants": [4]},
            },
        },
        staff_pools={"p": {"start_fte": 100}},
    )
    d = validate_dict(raw)
    m = build_model(d)
    for t, v in enumerate([10, 20, 0]):
        m.dec_int["x", t].fix(v)
    solve_model(m)
    tab = cases.table(m, d)
    assert tab[tab.case_type == "y"].inflow.tolist() == pytest.approx([4.6, 5.5, 10], abs=1e-9)


@pytest.mark.parametrize("applies", [True, False])
def test_penalties_and_notice_hours(applies):
    """100 cases of age 2 (all overdue, deadline 1), no inflow, 100 h/month, 10 h per case.
    Notices: 0.5 per overdue case per month, EUR 1,000 and 0.2 IND hours each (0.1 h per overdue
    case) -- only when penalties apply.

    Applies: the hours constraint 10 d + 0.1 (stock_prev - d) <= 100 gives
        d0 = (100 - 10) / 9.9 = 9.0909...,  overdue0 = 100 - d0 = 90.909...
        d1 = (100 - 0.1 * overdue0) / 9.9,   overdue1 = overdue0 - d1
    penalty cost in period t = 1000 * 0.5 * overdue_t.  Not applies: d = 10, 10; cost 0.
    """
    raw = tiny(
        horizon={"periods": 2},
        case_types={
            "x": {
                "start_stock_by_age": [0, 0, 100],
                "deadline_months": 1,
                "penalties": {"applies": applies, "notice_share_per_period": 0.5, "eur_per_notice": 1000, "ind_hours_per_notice": 0.2},
            }
        },
        staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 1200}},
    )
    m, d, _ = solve_raw(raw)
    tab = cases.table(m, d)
    costs = costs_table(m, d)
    penalties = costs[costs.component == "penalties"].eur.tolist()
    if applies:
        d0 = 90 / 9.9
        od0 = 100 - d0
        d1 = (100 - 0.1 * od0) / 9.9
        od1 = od0 - d1
        assert tab.decided_internal.tolist() == pytest.approx([d0, d1], rel=1e-7)
        assert tab.overdue.tolist() == pytest.approx([od0, od1], rel=1e-7)
        assert tab.notices_of_default.tolist() == pytest.approx([0.5 * od0, 0.5 * od1], rel=1e-7)
        assert penalties == pytest.approx([500 * od0, 500 * od1], rel=1e-6)
    else:
        assert tab.decided_internal.tolist() == pytest.approx([10, 10], abs=1e-6)
        assert penalties == pytest.approx([0, 0], abs=1e-9)


def test_outsourced_cases_still_take_ind_hours():
    """The final decision stays with the IND: 5 IND hours per outsourced case.

    Outsourcing instance (50 h a month, 10 h per internal decision); outsourced cases fixed at
    4 in period 2, 0 elsewhere. Internal decisions in period 2: (50 - 4 x 5) / 10 = 3; elsewhere 5
    (every decision lowers overdue, so the capacity is used).
    """
    raw = outsourcing_instance(0.5e6)
    raw["case_types"]["x"]["outsourcing_ind_hours_per_case"] = 5
    d = validate_dict(raw)
    m = build_model(d)
    for t in range(4):
        m.dec_out["x", t].fix(4 if t == 2 else 0)
    solve_model(m)
    assert cases.table(m, d).decided_internal.tolist() == pytest.approx([5, 5, 3, 5], abs=1e-6)


def test_partly_decided_oldest_cohort_counts_its_arrivals():
    """Pre-horizon inflow [100, 0] (100 arrived two months before the start, none in the month
    before), start stock 60 (FIFO: 60 of those 100 are left), deadline 2.5 months, no inflow, no
    staff. At the end of period 0 the cohort of period -2 is 2 months old: the later half of its
    100 arrivals (50) is still young, the 60 left are its latest arrivals, so 60 - 50 = 10 are
    overdue (not 60 - 0.5 x 60 = 30). End of period 1: the cohort is 3 months old: all 60 overdue.
    """
    raw = tiny(
        horizon={"periods": 2},
        case_types={"x": {"start_stock": 60, "pre_horizon_inflow": [100, 0], "deadline_months": 2.5}},
    )
    m, d, _ = solve_raw(raw)
    assert cases.table(m, d).overdue.tolist() == pytest.approx([10, 60], abs=1e-9)


def _ramp_instance(ramp=None, before=None, horizon=None):
    """60 cases received three months before the start, deadline 1 month: the whole stock is
    overdue from the start and no case ever arrives, so overdue = stock. 1 FTE at 2,400 h a year
    (200 h a month) and 10 h a case: at most 20 decisions a month."""
    x = {"inflow": 0, "deadline_months": 1, "hours_per_case": 10, "start_stock_by_age": [0, 0, 60]}
    if ramp is not None:
        x["max_decision_increase"] = ramp
    if before is not None:
        x["decisions_before"] = before
    return tiny(horizon=horizon or {"periods": 4}, case_types={"x": x}, staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 2400}})


def _decisions(raw):
    m, d, _ = solve_raw(raw)
    return [m.dec_int["x", t].value for t in m.T], cases.table(m, d)


def test_production_ramp_limits_the_rise_of_decisions():
    """Without a ramp: 20, 20, 20, 0 decisions, stocks 40, 20, 0, 0: 60 overdue case-months.
    Ramp 5 a month from 5 a month before the start: at most 5 + 5 = 10, then 15, then 20 (the
    hours), then the 15 left: stocks 50, 35, 15, 0: 100 overdue case-months.
    The ramp without decisions_before leaves the first month free: 20, 20, 20, 0 again (a rise
    from 20 is no rise)."""
    free, table = _decisions(_ramp_instance())
    assert free == pytest.approx([20, 20, 20, 0], abs=1e-6) and table.overdue.sum() == pytest.approx(60)
    ramped, table = _decisions(_ramp_instance(ramp=5, before=5))
    assert ramped == pytest.approx([10, 15, 20, 15], abs=1e-6) and table.overdue.sum() == pytest.approx(100)
    unanchored, _ = _decisions(_ramp_instance(ramp=5))
    assert unanchored == pytest.approx([20, 20, 20, 0], abs=1e-6)


def test_production_ramp_on_a_week_grid():
    """A ramp is per month per month: on weeks of mu = 7 / (365.25 / 12) months the monthly rate
    dec/mu rises by at most R mu a week, so a week's decisions by R mu^2. With R = 100 from 0
    before the start and ample hours and stock, week t decides (t + 1) x 100 mu^2 (5.29, 10.58,
    15.87 ...)."""
    raw = _ramp_instance(ramp=100, before=0, horizon={"start": "2024-W01", "periods": 4, "grain": "week"})
    raw["case_types"]["x"]["start_stock_by_age"] = [0] * 20 + [1000]
    raw["staff_pools"]["p"]["start_fte"] = 100
    mu = 7 / (365.25 / 12)
    got, _ = _decisions(raw)
    assert got == pytest.approx([(t + 1) * 100 * mu * mu for t in range(4)], rel=1e-6)
