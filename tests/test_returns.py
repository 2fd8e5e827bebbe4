"""Return flows (planner/model/returns.py): appeals, rejections sent to another case type, arrivals
after a grant, the departure lag, and the average penalty per notice.

Each tiny instance is played by ``simulate`` (the status quo: production at ``planned_production``,
1 FTE of 100 hours a month deciding at most 10 cases of 10 hours) through the model's own
accounting, its trajectory derived by hand in the docstring; then recounted by ``evaluate`` from
the run folder, and altered to show the recount notices a broken figure.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import tiny

from planner.check.evaluate import evaluate_run
from planner.check.simulate import simulate
from planner.cli import main
from planner.errors import InputError
from planner.instance.loading import validate_dict

STAFF = {"p": {"start_fte": 1, "hours_per_fte_year": 1200}}  # 100 hours a month: 10 cases of 10 hours


def _case(**over):
    base = {"pool": "p", "inflow": 0, "hours_per_case": 10, "grant_share": 0, "waits_in_coa": True,
            "grants_need_housing": False, "deadline_months": 1}
    return {**base, **over}


def appeal_instance() -> dict:
    """x: 20 cases at the start (received the month before, deadline 1 month: overdue), 10 decided
    in January and none after, all rejected; half appeal, decided 2 months later, 40 % annulled.
    Everyone on the departure track stays (stay share 1) and leaves the month after (rate 1)."""
    return tiny(
        horizon={"periods": 6},
        case_types={"x": _case(start_stock_by_age=[20], planned_production=[10, 0, 0, 0, 0, 0],
                               appeal={"share_of_rejections": 0.5, "months": 2, "annulled_share": 0.4})},
        staff_pools=STAFF,
        reception={"occupancy_norm": 1, "rejected_stay_share": 1, "departure_rate_per_month": 1},
    )


def dublin_instance() -> dict:
    """d (Dublin-like): 10 cases at the start, all decided in January (grant 0); 20 decided in
    December (pre_horizon_decided). 30 % of its rejections enter s after 2 months, in COA meanwhile;
    the other 70 % join the departure track (stay 1, rate 0: they stay). s decides nothing."""
    return tiny(
        horizon={"periods": 4},
        case_types={
            "d": _case(start_stock_by_age=[10], planned_production=[10, 0, 0, 0], pre_horizon_decided=[20],
                       rejections_to={"s": {"share_of_rejections": 0.3, "lag_months": 2}}),
            "s": _case(planned_production=0),
        },
        staff_pools=STAFF,
        reception={"occupancy_norm": 1, "rejected_stay_share": 1, "departure_rate_per_month": 0},
    )


def arrival_instance() -> dict:
    """n (relatives abroad): 8 cases at the start, all granted in January; 4 granted in December
    (pre_horizon_decided). Granted persons arrive 2 months after the grant, a quarter of them in
    COA; no housing supply, so the permit holders in COA only grow."""
    return tiny(
        horizon={"periods": 4},
        case_types={"n": _case(waits_in_coa=False, grant_share=1, grants_need_housing=True, deadline_months=3,
                               start_stock_by_age=[8], planned_production=[8, 0, 0, 0], pre_horizon_decided=[4],
                               arrival={"lag_months": 2, "coa_share": 0.25})},
        staff_pools=STAFF,
        reception={"occupancy_norm": 1},
    )


def departure_instance() -> dict:
    """x: 10 cases at the start, all decided (rejected) in January. Half of those reaching the
    departure track stay; DT&V departures start 2 months after, then half of the ready stock leaves
    a month; 4 ready at the start."""
    return tiny(
        horizon={"periods": 5},
        case_types={"x": _case(start_stock_by_age=[10], planned_production=[10, 0, 0, 0, 0])},
        staff_pools=STAFF,
        reception={"occupancy_norm": 1, "rejected_stay_share": 0.5, "departure_rate_per_month": 0.5,
                   "departure_lag_months": 2, "start_awaiting_departure": 4},
    )


def penalty_instance() -> dict:
    """x: 10 cases received the month before the start, deadline 1 month, nobody decides: 10 overdue
    every month, half of them send a notice (5). Penalties apply at EUR 800 on average (legal
    maximum EUR 1,442): EUR 4,000 a month in the cost, 5 x 1,442 = EUR 7,210 at the maximum."""
    return tiny(
        case_types={"x": _case(waits_in_coa=False, start_stock_by_age=[10],
                               penalties={"applies": True, "notice_share_per_period": 0.5, "eur_per_notice": 800,
                                          "max_eur_per_notice": 1442})},
    )


def _sim(raw):
    return simulate(validate_dict(raw))


def _chain(plan, partner, measure):
    c = plan.tables["chain"]
    return c[(c.partner == partner) & (c.measure == measure)].value.tolist()


def _col(plan, table, column, key=None, value=None):
    t = plan.tables[table]
    if key is not None:
        t = t[t[key] == value]
    return t[column].tolist()


def test_appeal_stay_and_annulled_return():
    """Jan: 10 rejected; 5 appeal (pending Jan, Feb; in COA), 5 to the departure track (ready 5).
    Rejected in COA: Jan 5 + 5 = 10; Feb 5 pending (the 5 ready left: departures 5); Mar the 5
    appeals are decided: 2 annulled return to x's stock as new arrivals (inflow 2, stock 10 + 2 =
    12, of which only the 10 old are overdue), 3 join the track (ready 3); Apr they leave."""
    plan = _sim(appeal_instance())
    assert _col(plan, "reception", "awaiting_departure") == pytest.approx([10, 5, 3, 0, 0, 0])
    assert _col(plan, "ind_cases", "inflow") == pytest.approx([0, 0, 2, 0, 0, 0])
    assert _col(plan, "ind_cases", "inflow_returned") == pytest.approx([0, 0, 2, 0, 0, 0])
    assert _col(plan, "ind_cases", "stock") == pytest.approx([10, 10, 12, 12, 12, 12])
    assert _col(plan, "ind_cases", "overdue") == pytest.approx([10, 10, 10, 12, 12, 12])
    assert _chain(plan, "courts", "appeals") == pytest.approx([5, 0, 0, 0, 0, 0])
    assert _chain(plan, "courts", "appeals_pending") == pytest.approx([5, 5, 0, 0, 0, 0])
    assert _chain(plan, "COA", "in_appeal") == pytest.approx([5, 5, 0, 0, 0, 0])
    assert _chain(plan, "courts", "appeals_decided") == pytest.approx([0, 0, 5, 0, 0, 0])
    assert _chain(plan, "courts", "appeals_annulled") == pytest.approx([0, 0, 2, 0, 0, 0])
    assert _chain(plan, "IND", "returned_to_ind") == pytest.approx([0, 0, 2, 0, 0, 0])
    assert _chain(plan, "DT&V", "to_departure_track") == pytest.approx([5, 0, 3, 0, 0, 0])
    assert _chain(plan, "DT&V", "departures") == pytest.approx([0, 5, 0, 3, 0, 0])
    assert _chain(plan, "DT&V", "caseload") == pytest.approx([5, 0, 3, 0, 0, 0])


def test_dublin_return_enters_the_other_stock_after_the_lag():
    """s's inflow: Feb 0.3 x 20 (December's decisions) = 6, Mar 0.3 x 10 = 3; its stock 0, 6, 9, 9.
    In COA awaiting s: Jan 6 (December's, in Dec and Jan) + 3 (January's) = 9, Feb 3, then 0. The
    departure track holds 0.7 x 10 = 7 from January (December's 70 % are in the start stock, 0)."""
    plan = _sim(dublin_instance())
    assert _col(plan, "ind_cases", "inflow", "case_type", "s") == pytest.approx([0, 6, 3, 0])
    assert _col(plan, "ind_cases", "stock", "case_type", "s") == pytest.approx([0, 6, 9, 9])
    assert _col(plan, "ind_cases", "inflow", "case_type", "d") == pytest.approx([0, 0, 0, 0])
    assert _chain(plan, "COA", "awaiting_other_type") == pytest.approx([9, 3, 0, 0])
    assert _chain(plan, "IND", "returned_to_ind") == pytest.approx([0, 6, 3, 0])
    assert _col(plan, "reception", "awaiting_departure") == pytest.approx([16, 10, 7, 7])
    assert _col(plan, "reception", "asylum_process") == pytest.approx([0, 6, 9, 9])


def test_arrival_lag_with_a_coa_share():
    """Arrivals: Feb 4 (December's grants), Mar 8 (January's); a quarter in COA: 1 and 2, linked
    as permit holders (waiting 0, 1, 3, 3); the rest go straight to family: 3 and 6."""
    plan = _sim(arrival_instance())
    assert _chain(plan, "COA", "arrivals_after_grant") == pytest.approx([0, 1, 2, 0])
    assert _chain(plan, "municipalities", "arrivals_after_grant_direct") == pytest.approx([0, 3, 6, 0])
    assert _col(plan, "placement", "linked") == pytest.approx([0, 1, 2, 0])
    assert _col(plan, "reception", "permit_holders") == pytest.approx([0, 1, 3, 3])


def test_departure_lag():
    """10 reach the track in January, 5 stay (5 leave at once). Ready: Jan 0.5 x 4 = 2, Feb 1,
    Mar 0.5 + 5 = 5.5 (January's 5 past the 2-month lag), Apr 2.75; in the lag: 5 in Jan and Feb.
    Rejected in COA 7, 6, 5.5, 2.75; departures 0.5 x ready the month before: 2, 1, 0.5, 2.75."""
    plan = _sim(departure_instance())
    assert _col(plan, "reception", "awaiting_departure") == pytest.approx([7, 6, 5.5, 2.75, 1.375])
    assert _chain(plan, "DT&V", "departures") == pytest.approx([2, 1, 0.5, 2.75, 1.375])
    assert _chain(plan, "DT&V", "left_at_once") == pytest.approx([5, 0, 0, 0, 0])
    assert _chain(plan, "DT&V", "caseload") == pytest.approx([7, 6, 5.5, 2.75, 1.375])


def test_average_payment_per_notice_in_the_cost():
    """5 notices a month at EUR 800 on average: EUR 4,000 a month; EUR 7,210 at the legal maximum."""
    plan = _sim(penalty_instance())
    costs = plan.tables["costs"]
    assert costs[costs.component == "penalties"].eur.tolist() == pytest.approx([4000] * 4)
    assert _chain(plan, "IND", "penalty_eur") == pytest.approx([4000] * 4)
    assert _chain(plan, "IND", "penalty_at_max_eur") == pytest.approx([7210] * 4)


def test_without_return_flows_the_old_balance_holds():
    """No appeal, no rejections_to, no lag: awaiting[t] = (1 - dep) awaiting[t-1] + stay x rejected:
    with 10 rejected in January, stay 0.5, rate 0.5, start 4: 2 + 5 = 7, 3.5, 1.75, 0.875, 0.4375."""
    raw = departure_instance()
    raw["reception"]["departure_lag_months"] = 0
    plan = _sim(raw)
    assert _col(plan, "reception", "awaiting_departure") == pytest.approx([7, 3.5, 1.75, 0.875, 0.4375])


ALL_FLOWS = {
    "appeal": appeal_instance,
    "dublin": dublin_instance,
    "arrival": arrival_instance,
    "departure": departure_instance,
    "penalty": penalty_instance,
}


@pytest.mark.parametrize("name", list(ALL_FLOWS))
def test_recount_agrees(name, tmp_path):
    folder = _sim(ALL_FLOWS[name]()).write(tmp_path / name)
    comparison, violations, ok = evaluate_run(folder)
    assert violations == [] and ok, comparison[~comparison.agree].to_string()
    tables = comparison.attrs["tables"]
    assert tables.disagree.sum() == 0, tables[tables.disagree > 0].to_string()


BROKEN = [
    # (instance, table, row selector, column, the check that must disagree)
    ("appeal", "chain", {"partner": "courts", "measure": "appeals_pending", "period": "2024-02"}, "value", "chain.value"),
    ("appeal", "chain", {"partner": "courts", "measure": "appeals_annulled", "period": "2024-03"}, "value", "chain.value"),
    ("appeal", "ind_cases", {"period": "2024-03"}, "inflow_returned", "ind_cases.inflow_returned"),
    ("appeal", "reception", {"period": "2024-02"}, "awaiting_departure", "reception.awaiting_departure"),
    ("dublin", "chain", {"partner": "COA", "measure": "awaiting_other_type", "period": "2024-01"}, "value", "chain.value"),
    ("dublin", "chain", {"partner": "IND", "measure": "returned_to_ind", "period": "2024-02"}, "value", "chain.value"),
    ("arrival", "chain", {"partner": "COA", "measure": "arrivals_after_grant", "period": "2024-03"}, "value", "chain.value"),
    ("arrival", "chain", {"partner": "municipalities", "measure": "arrivals_after_grant_direct", "period": "2024-02"}, "value", "chain.value"),
    ("departure", "chain", {"partner": "DT&V", "measure": "departures", "period": "2024-03"}, "value", "chain.value"),
    ("departure", "chain", {"partner": "DT&V", "measure": "caseload", "period": "2024-02"}, "value", "chain.value"),
    ("penalty", "chain", {"partner": "IND", "measure": "penalty_at_max_eur", "period": "2024-02"}, "value", "chain.value"),
]


@pytest.mark.parametrize("name,table,where,column,check", BROKEN, ids=[f"{b[0]}-{b[1]}-{b[3]}-{i}" for i, b in enumerate(BROKEN)])
def test_broken_run_disagrees(name, table, where, column, check, tmp_path, capsys):
    """A figure of a return flow 10 % (and at least 1) off in the run folder: evaluate exits 1 naming it."""
    folder = _sim(ALL_FLOWS[name]()).write(tmp_path / name)
    path = Path(folder) / f"{table}.csv"
    frame = pd.read_csv(path, dtype={"period": str}, keep_default_na=False)
    row = pd.Series(True, index=frame.index)
    for k, v in where.items():
        row &= frame[k] == v
    assert row.sum() == 1
    value = float(frame.loc[row, column].iloc[0])
    frame.loc[row, column] = value * 1.1 + 1
    frame.to_csv(path, index=False)
    assert main(["evaluate", str(folder)]) == 1
    assert check in capsys.readouterr().err


BAD = [
    ({"case_types": {"x": {"rejections_to": {"y": {"share_of_rejections": 0.1, "lag_months": 1}}}}},
     "case_types.x.rejections_to.y: unknown case type 'y'"),
    ({"case_types": {"x": {"rejections_to": {"x": {"share_of_rejections": 0.1, "lag_months": 0.2}}}}},
     "case_types.x.rejections_to.x.lag_months: expected at least one period"),
    ({"case_types": {"x": {"appeal": {"share_of_rejections": 0.8, "months": 0.4}}}},
     "case_types.x.appeal.months: expected at least one period"),
    ({"case_types": {"x": {"appeal": {"share_of_rejections": 0.8, "months": 2},
                           "rejections_to": {"x": {"share_of_rejections": 0.3, "lag_months": 1}}}}},
     "case_types.x.rejections_to: the appeal share and the shares sent to other types add up to 1.1"),
    ({"case_types": {"x": {"arrival": {"lag_months": 2}}}}, "case_types.x.arrival: an arrival after the grant needs grants_need_housing: true"),
    ({"case_types": {"x": {"penalties": {"eur_per_notice": 2000, "max_eur_per_notice": 1442}}}},
     "case_types.x.penalties.eur_per_notice: the average paid per notice (2000) exceeds the legal maximum"),
]


@pytest.mark.parametrize("over,message", BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_return_flow_input(over, message):
    with pytest.raises(InputError) as e:
        validate_dict(tiny(**over))
    assert message in str(e.value)


def test_week_grid_rounds_lags_to_weeks():
    """On a week grid a 1-month appeal is decided 4 weeks after the rejection (4.35 rounded)."""
    raw = appeal_instance()
    raw["horizon"] = {"start": "2024-W01", "periods": 8, "grain": "week"}
    raw["case_types"]["x"]["appeal"]["months"] = 1
    raw["case_types"]["x"]["planned_production"] = [10, 0, 0, 0, 0, 0, 0, 0]
    raw["staff_pools"]["p"]["start_fte"] = 5  # 115 hours a week
    plan = _sim(raw)
    assert _chain(plan, "courts", "appeals_decided") == pytest.approx([0, 0, 0, 0, 5, 0, 0, 0])
    assert _chain(plan, "courts", "appeals_pending") == pytest.approx([5, 5, 5, 5, 0, 0, 0, 0])


def test_persistent_resolve_of_return_shares_equals_fresh():
    """The shares of the return flows are mutable parameters: a persistent re-solve after changing
    them equals a fresh build; a lag is structural and rebuilds."""
    from test_batch import assert_same_kpis, fresh_kpis
    from test_courts import mixed_instance

    from planner.solver.persistent import Resolver

    raw = mixed_instance()
    resolver = Resolver(raw, {})
    variants = [
        [{"path": "case_types.x.appeal.share_of_rejections", "op": "set", "value": 0.7}],
        [{"path": "case_types.x.appeal.annulled_share", "op": "set", "value": 0.6}],
        [{"path": "case_types.x.rejections_to.y.share_of_rejections", "op": "set", "value": 0.1}],
        [{"path": "case_types.y.arrival.coa_share", "op": "set", "value": 0.9}],
        [{"path": "case_types.x.pre_horizon_decided", "op": "set", "value": [20, 5]}],
        [{"path": "reception.departure_lag_months", "op": "set", "value": 2}],
    ]
    for changes in variants:
        out = resolver.solve_variant(changes)
        assert out.status == "optimal", out.message
        assert_same_kpis(out.kpis, fresh_kpis(resolver.variant(changes), {}))
    assert resolver.rebuilds == 1  # the departure lag (the first build is no rebuild)
