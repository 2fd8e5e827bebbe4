"""The courts' capacity (``case_types.K.appeal.court_capacity``, planner/model/returns.py): appeals wait
at least ``months`` and are then decided oldest first, ``min(capacity, ready appeals)`` a period.

Each tiny instance is played by ``simulate`` or ``solve``, its trajectory derived by hand in the
docstring, recounted by ``evaluate``, and broken in the run folder to show the recount flags court
decisions that do not follow the rule. Without a court capacity the tables are byte for byte
those of the code before it (tests/golden/no_courts, written by that code).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import tiny

from planner.check.evaluate import evaluate_run
from planner.check.simulate import simulate
from planner.errors import InputError
from planner.instance.loading import validate_dict
from planner.solver.solve import solve

GOLDEN = Path(__file__).parent / "golden" / "no_courts"


def _case(**over):
    base = {"pool": "p", "inflow": 0, "hours_per_case": 10, "grant_share": 0, "waits_in_coa": True,
            "grants_need_housing": False, "deadline_months": 1}
    return {**base, **over}


def court_instance(capacity=40, **appeal) -> dict:
    """x: 200 cases at the start, all decided (rejected) in January by 1 FTE of 100 hours at 0.5
    hours a case, none after. Half appeal: 100 appeals lodged in January, decided at least 1 month
    later, a quarter annulled; the courts decide ``capacity`` a month. Everyone on the departure
    track stays (stay share 1) and leaves the month after (rate 1)."""
    return tiny(
        horizon={"periods": 6},
        case_types={"x": _case(start_stock_by_age=[200], hours_per_case=0.5, planned_production=[200, 0, 0, 0, 0, 0],
                               appeal={"share_of_rejections": 0.5, "months": 1, "annulled_share": 0.25,
                                       "court_capacity": capacity, **appeal})},
        staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 1200}},
        reception={"occupancy_norm": 1, "rejected_stay_share": 1, "departure_rate_per_month": 1},
    )


def mixed_instance() -> dict:
    """Two types with every return flow and no court capacity (the golden runs of tests/golden)."""
    return tiny(
        horizon={"periods": 6},
        case_types={
            "x": _case(inflow=12, deadline_months=2, pre_horizon_decided=[10, 10],
                       appeal={"share_of_rejections": 0.5, "months": 2, "annulled_share": 0.3},
                       rejections_to={"y": {"share_of_rejections": 0.2, "lag_months": 1}}),
            "y": _case(grant_share=1, grants_need_housing=True, arrival={"lag_months": 1, "coa_share": 0.5},
                       pre_horizon_decided=[3]),
        },
        staff_pools={"p": {"start_fte": 2, "hours_per_fte_year": 1200}},
        reception={"occupancy_norm": 1, "rejected_stay_share": 0.8, "departure_rate_per_month": 0.3, "departure_lag_months": 1},
        placement={"housing_supply": 2},
    )


def _chain(plan, partner, measure):
    c = plan.tables["chain"]
    return c[(c.partner == partner) & (c.measure == measure)].value.tolist()


def _col(plan, table, column):
    return plan.tables[table][column].tolist()


def test_capacity_binding_trajectory():
    """January: 200 rejected, 100 appeal (pending, in COA), 100 to the departure track (ready).
    The appeals are ready from February; the courts decide 40, 40 and the last 20 in February,
    March and April. Pending (appellants in COA): 100, 60, 20, 0; of them past the minimum
    duration (the queue): 0, 60, 20, 0. Annulled (a quarter): 10, 10, 5 return to x's stock as new
    arrivals (stock 0, 10, 20, 25; overdue, deadline 1 month: 0, 0, 10, 20, 25, 25); the other 30,
    30, 15 join the track and leave the month after. Rejected in COA: Jan 100 + 100 = 200, Feb 30 +
    60 = 90, Mar 30 + 20 = 50, Apr 15, then 0."""
    plan = simulate(validate_dict(court_instance()))
    assert _chain(plan, "courts", "appeals_decided") == pytest.approx([0, 40, 40, 20, 0, 0])
    assert _chain(plan, "courts", "appeals_decided_x") == pytest.approx([0, 40, 40, 20, 0, 0])
    assert _chain(plan, "courts", "appeals_pending") == pytest.approx([100, 60, 20, 0, 0, 0])
    assert _chain(plan, "COA", "in_appeal") == pytest.approx([100, 60, 20, 0, 0, 0])
    assert _chain(plan, "courts", "appeals_queue") == pytest.approx([0, 60, 20, 0, 0, 0])
    assert _chain(plan, "courts", "appeals_annulled") == pytest.approx([0, 10, 10, 5, 0, 0])
    assert _col(plan, "ind_cases", "inflow_returned") == pytest.approx([0, 10, 10, 5, 0, 0])
    assert _col(plan, "ind_cases", "stock") == pytest.approx([0, 10, 20, 25, 25, 25])
    assert _col(plan, "ind_cases", "overdue") == pytest.approx([0, 0, 10, 20, 25, 25])
    assert _chain(plan, "DT&V", "to_departure_track") == pytest.approx([100, 30, 30, 15, 0, 0])
    assert _chain(plan, "DT&V", "departures") == pytest.approx([0, 100, 30, 30, 15, 0])
    assert _col(plan, "reception", "awaiting_departure") == pytest.approx([200, 90, 50, 15, 0, 0])


def test_capacity_not_binding_is_the_fixed_duration():
    """A capacity of 1,000 never binds: all 100 appeals are decided in February, as without one
    (the fixed duration), and the queue stays empty."""
    plan = simulate(validate_dict(court_instance(capacity=1000)))
    assert _chain(plan, "courts", "appeals_decided") == pytest.approx([0, 100, 0, 0, 0, 0])
    assert _chain(plan, "courts", "appeals_queue") == pytest.approx([0] * 6)
    raw = court_instance()
    del raw["case_types"]["x"]["appeal"]["court_capacity"]
    fixed = simulate(validate_dict(raw))
    assert _chain(fixed, "courts", "appeals_decided") == pytest.approx([0, 100, 0, 0, 0, 0])
    assert _col(fixed, "reception", "awaiting_departure") == _col(plan, "reception", "awaiting_departure")


def test_start_queue_goes_first_and_capacity_series():
    """A queue of 30 at the start and capacities 20, 50, 50, 0, 50, 50 (a series): January decides
    20 of the start queue (January's appeals are not ready yet); February the other 10, then 40 of
    January's 100; March 50; April nothing (capacity 0); May the last 10. Queue: 10, 60, 10, 10, 0, 0."""
    plan = simulate(validate_dict(court_instance(capacity=[20, 50, 50, 0, 50, 50], start_queue=30)))
    assert _chain(plan, "courts", "appeals_decided") == pytest.approx([20, 50, 50, 0, 10, 0])
    assert _chain(plan, "courts", "appeals_queue") == pytest.approx([10, 60, 10, 10, 0, 0])
    assert _chain(plan, "courts", "appeals_pending") == pytest.approx([110, 60, 10, 10, 0, 0])


@pytest.mark.parametrize("capacity", [40, [20, 50, 50, 0, 50, 50]])
def test_recount_agrees(capacity, tmp_path):
    folder = simulate(validate_dict(court_instance(capacity=capacity, start_queue=30))).write(tmp_path / "run")
    comparison, violations, ok = evaluate_run(folder)
    assert violations == [] and ok, (violations, comparison[~comparison.agree].to_string())


def gaming_instance() -> dict:
    """y (waits abroad): 40 cases at the start and 10 a month, the IND decides 20 a month (1 FTE,
    5 hours a case) and every rejection appeals; the courts decide 15 a month after a month at
    least; 90 % of the appeals are annulled and a month past the deadline weighs 20. Every annulled
    case back at the IND waits in a stock that only grows (20 decided, 10 + 13.5 arriving), so a
    plan that controlled the courts would hold them back."""
    return tiny(
        horizon={"periods": 8},
        case_types={"y": _case(inflow=10, start_stock_by_age=[40], hours_per_case=5, overdue_weight=20, waits_in_coa=False,
                               appeal={"share_of_rejections": 1, "months": 1, "annulled_share": 0.9, "court_capacity": 15})},
        staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 1200}},
    )


def test_solve_follows_the_rule_where_delay_would_pay(tmp_path):
    """The optimiser cannot hold the courts back (:func:`gaming_instance`): the IND decides 20 a
    month, so 20 appeals are ready from February and the courts decide 15 every month from then
    on (the rule; the queue grows 5 a month). The recount, which replays ``min(capacity, ready
    appeals)`` oldest first, finds no violation and agrees. With the queue's weight cut to 0.001 a
    case-month the same model does hold them back (0 in February): the weight is what makes the
    rule the optimum (planner.model.returns)."""
    import pyomo.environ as pyo

    from planner.model import build_model
    from planner.solver.solve import solve_model

    d = validate_dict(gaming_instance())
    plan = solve(d)
    assert _chain(plan, "courts", "appeals_decided_y") == pytest.approx([0] + [15] * 7)
    assert _chain(plan, "courts", "appeals_queue") == pytest.approx([0, 5, 10, 15, 20, 25, 30, 35])
    comparison, violations, ok = evaluate_run(plan.write(tmp_path / "run"))
    assert violations == [] and ok, (violations, comparison[~comparison.agree].to_string())
    m = build_model(d)
    m.ret_court_weight["y"] = 1e-3
    solve_model(m)
    assert pyo.value(m.court_dec["y", 1]) < 15 - 1e-6


BROKEN = [
    # (period, new value of appeals_decided_x, the violation named)
    ("2024-02", 50, "court decisions x 2024-02 (court_capacity): 50 exceeds 40"),
    ("2024-01", 10, "court decisions x 2024-01: 10 decided but only 0 appeals past the minimum duration (decided before their turn)"),
    ("2024-03", 30, "court decisions x 2024-03: 30 decided, the rule min(capacity, appeals waiting) gives 40"),
]


@pytest.mark.parametrize("period,value,message", BROKEN, ids=["over-capacity", "before-minimum", "below-rule"])
def test_recount_flags_courts_off_the_rule(period, value, message, tmp_path):
    """The run's court decisions changed in chain.csv: over the capacity, before the appeals' minimum
    duration (not first-in first-out: January's appeals are not ready in January), or below the
    rule while ready appeals wait. The recount names the violation and disagrees with the figure."""
    folder = simulate(validate_dict(court_instance())).write(tmp_path / "run")
    path = Path(folder) / "chain.csv"
    frame = pd.read_csv(path, dtype={"period": str}, keep_default_na=False)
    row = (frame.partner == "courts") & (frame.measure == "appeals_decided_x") & (frame.period == period)
    assert row.sum() == 1
    frame.loc[row, "value"] = value
    frame.to_csv(path, index=False)
    comparison, violations, ok = evaluate_run(folder)
    assert not ok
    assert message in violations, violations
    tables = comparison.attrs["tables"]
    assert tables.disagree.sum() > 0


def test_without_court_capacity_tables_are_byte_identical(tmp_path):
    """No court capacity: every table and kpis.json of a simulated and of a solved run equal, byte
    for byte, those written by the code before the court capacity (tests/golden/no_courts; plan_quarter.csv
    without the total rows the report now sums, state.json with the fields the state gained since)."""
    from test_returns import appeal_instance

    runs = {"simulate": simulate(validate_dict(appeal_instance())), "solve": solve(validate_dict(mixed_instance()))}
    for name, plan in runs.items():
        folder = Path(plan.write(tmp_path / name))
        for gold in sorted((GOLDEN / name).iterdir()):
            assert (folder / gold.name).read_bytes() == gold.read_bytes(), f"{name}/{gold.name}"


def test_start_queue_needs_a_capacity():
    raw = court_instance(start_queue=5)
    del raw["case_types"]["x"]["appeal"]["court_capacity"]
    with pytest.raises(InputError) as e:
        validate_dict(raw)
    assert "case_types.x.appeal.start_queue: a queue at the start needs court_capacity" in str(e.value)


def test_persistent_resolve_of_court_capacity_equals_fresh():
    """The capacity and the start queue are mutable parameters: a persistent re-solve equals a fresh
    build; removing the capacity changes the sets and rebuilds."""
    from test_batch import assert_same_kpis, fresh_kpis

    from planner.solver.persistent import Resolver

    raw = court_instance(capacity=[40, 40, 30, 30, 30, 30])
    raw["case_types"]["x"].update(inflow=20, planned_production=None)
    resolver = Resolver(raw, {})
    variants = [
        [{"path": "case_types.x.appeal.court_capacity", "op": "set", "value": 25}],
        [{"path": "case_types.x.appeal.start_queue", "op": "set", "value": 12}],
    ]
    for changes in variants:
        out = resolver.solve_variant(changes)
        assert out.status == "optimal", out.message
        assert_same_kpis(out.kpis, fresh_kpis(resolver.variant(changes), {}))
    assert resolver.rebuilds == 0


def test_state_carries_the_courts_queue(tmp_path):
    """state.json holds the queue past the minimum per type with a court capacity (``courts``): at
    March 60 (:func:`test_capacity_binding_trajectory`). Simulated again from March, the courts
    decide the last 40 and 20 of it in March and April, as in the whole run."""
    import json

    from planner.instance.state import start_from

    d = validate_dict(court_instance())
    out = simulate(d).write(tmp_path / "run")
    states = json.loads((Path(out) / "state.json").read_text())["states"]
    assert [s["courts"]["x"]["queue"] for s in states[:4]] == pytest.approx([0, 60, 20, 0])
    start = start_from(d, out, "2024-03")
    assert start.data.instance.case_types["x"].appeal.start_queue == pytest.approx(60)
    again = simulate(start.data, prepare=start.fix)
    assert _chain(again, "courts", "appeals_decided_x") == pytest.approx([40, 20, 0, 0])
    assert _chain(again, "courts", "appeals_queue") == pytest.approx([20, 0, 0, 0])


def test_state_without_courts_has_no_section(tmp_path):
    """No court capacity: no ``courts`` section, and a state file without one still starts."""
    import json

    from test_returns import appeal_instance

    from planner.instance.state import start_from

    d = validate_dict(appeal_instance())
    out = simulate(d).write(tmp_path / "run")
    states = json.loads((Path(out) / "state.json").read_text())["states"]
    assert all("courts" not in s for s in states)
    assert start_from(d, out, "2024-03").data.grid.labels[0] == "2024-03"
