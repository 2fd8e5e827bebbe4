"""A plan's state as input: ``state.json`` in every run folder, and a start from it.

Round trip: the state at period P of a plan, read back and started from with the plan's own
decisions of P.. fixed, gives the plan's periods P.. exactly (every table, to 1e-6). The instance
(:func:`test_rolling.rich`) carries every start stock a state holds: a case stock with its ages
and a deadline of 2 months (the FIFO window reaches into the state's arrivals), a follow-on type
(grants before the state), trainees (hires of the last two months), a site that is decided,
in preparation and then open with a minimum term, permit holders with their ages, rejected
persons awaiting departure, a budget (spent before the state) and a look-ahead tail.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyomo.environ as pyo
import pytest
import yaml

import planner
from planner.instance.loading import validate_dict
from planner.instance.state import start_from
from planner.solver.fromstate import decisions_of, fix_all, solve_start
from test_rolling import rich

TABLES = ("ind_cases", "staff", "reception", "placement", "costs", "chain")


def _same_tables(full, part, labels):
    for name in TABLES:
        a = full.tables[name]
        a = a[a.period.isin(labels)].reset_index(drop=True)
        b = part.tables[name].reset_index(drop=True)
        num = [c for c in a.columns if a[c].dtype.kind == "f"]
        assert len(a) == len(b), name
        assert np.abs(a[num].values - b[num].values).max() < 1e-6, name


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    d = validate_dict(rich())
    plan = planner.solve(d)
    out = plan.write(tmp_path_factory.mktemp("state") / "run")
    return d, plan, out


def test_state_file_has_every_period(solved):
    d, _, out = solved
    state = json.loads((out / "state.json").read_text())
    assert state["format"] == "planner-state" and state["version"] == 1
    assert [s["at"] for s in state["states"]] == list(d.grid.labels[1 : d.horizon_T + 1])
    at4 = state["states"][3]
    assert at4["at"] == "2024-05"
    assert at4["reception"]["locations"]["new"]["status"] in ("open", "preparing", "candidate")
    assert at4["budget"]["spent_eur"] > 0


@pytest.mark.parametrize("p", [1, 4, 7])
def test_round_trip_with_the_plans_decisions(solved, p):
    d, plan, out = solved
    start = start_from(d, out, d.grid.labels[p])
    fixed = decisions_of(plan.model, range(p, d.grid.T), p, names=("hires", "external", "retrain", "dec_out", "accelerated", "dec_int", "housed", "serve"))
    again = solve_start(start, fix_more=lambda m: fix_all(m, fixed), marginal=False)
    _same_tables(plan, again, start.data.horizon_labels)


def test_round_trip_status_quo(tmp_path):
    """simulate the whole horizon, then simulate from its state at month 7: the same tables."""
    from planner.check.simulate import simulate

    d = validate_dict(rich())
    sq = simulate(d)
    out = sq.write(tmp_path / "sq")
    start = start_from(d, out, "2024-07")
    again = simulate(start.data, prepare=start.fix)
    _same_tables(sq, again, start.data.horizon_labels)


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "planner.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_cli_solve_from_state(tmp_path):
    (tmp_path / "rich.yaml").write_text(yaml.safe_dump(rich()))
    assert _cli("solve", "rich.yaml", "--out", "run", cwd=tmp_path).returncode == 0
    r = _cli("solve", "rich.yaml", "--start-from", "run", "--at", "2024-05", "--out", "from5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    kpis = json.loads((tmp_path / "from5" / "kpis.json").read_text())
    assert kpis["first_period"] == "2024-05" and kpis["periods"] == 6
    r = _cli("simulate", "rich.yaml", "--start-from", "run", "--at", "2024-05", "--out", "sq5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def _edit(state_path, at, change):
    state = json.loads(state_path.read_text())
    for s in state["states"]:
        if s["at"] == at:
            change(s)
    return state


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda s: s["cases"]["x"].update(stock_by_age=[-1.0]), "states.3.cases.x.stock_by_age.0"),
        (lambda s: s["cases"].pop("fam"), "states.3.cases.fam"),
        (lambda s: s["staff"]["p"].update(productive_fte="many"), "states.3.staff.p.productive_fte"),
        (lambda s: s.update(weather={}), "states.3.weather"),
        (lambda s: s["reception"]["locations"]["new"].update(status="preparing", first_use="2024-02"), "states.3.reception.locations.new.first_use"),
        (lambda s: s["budget"].update(spent_eur=5e6), "states.3.budget.spent_eur"),
        (lambda s: s["cases"]["x"].update(stock_by_age=[0.0, 0.0, 500.0]), "states.3.cases.x.stock_by_age"),
        (lambda s: s["reception"].update(departure_track_by_age=[1.0]), "states.3.reception.departure_track_by_age"),
        (lambda s: s["cases"]["x"].update(decided_by_age=[-2.0]), "states.3.cases.x.decided_by_age.0"),
    ],
)
def test_bad_state(tmp_path, solved, change, field):
    _, _, out = solved
    (tmp_path / "rich.yaml").write_text(yaml.safe_dump(rich()))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_edit(out / "state.json", "2024-05", change)))
    r = _cli("solve", "rich.yaml", "--start-from", "bad.json", "--at", "2024-05", "--out", "x", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: bad.json: {field}:"), r.stderr
    assert not (tmp_path / "x").exists()


def test_bad_at(tmp_path, solved):
    _, _, out = solved
    (tmp_path / "rich.yaml").write_text(yaml.safe_dump(rich()))
    r = _cli("solve", "rich.yaml", "--start-from", str(out), "--at", "2030-01", "--out", "x", cwd=tmp_path)
    assert r.returncode == 2 and "--at" in r.stderr and not (tmp_path / "x").exists()
    r = _cli("solve", "rich.yaml", "--start-from", str(out), "--out", "x", cwd=tmp_path)
    assert r.returncode == 2 and "--at" in r.stderr


def looped() -> dict:
    """:func:`test_rolling.rich` with every return flow and the reception state a start must carry:
    x appeals (half of its rejections, decided 2 months later, a fifth annulled and back in x's
    stock), a fifth of x's rejections becomes a case of ``d`` after 2 months, ``n`` (granted
    relatives) arrive 3 months after the grant (half in COA), rejected persons start departing 2
    months after they enter the departure track; decisions before the start (``pre_horizon_decided``);
    an idle pool ``r`` whose staff retrain into ``p`` in 2 months (no coaching, while ``p``'s trainees
    take coaching hours);
    x's production falls by at most 4 a month, a national pace of 50 new places a month, and a temporary site closing in February that may be
    extended once, for 3 months."""
    from conftest import merge

    return merge(rich(), dict(
        case_types={
            "x": {"appeal": {"share_of_rejections": 0.5, "months": 2, "annulled_share": 0.2}, "max_decision_decrease": 4,
                  "rejections_to": {"d": {"share_of_rejections": 0.2, "lag_months": 2}}, "pre_horizon_decided": [20, 25, 30]},
            "d": {"pool": "p", "inflow": 2, "hours_per_case": 5, "grant_share": 0, "waits_in_coa": True,
                  "grants_need_housing": False, "deadline_months": 3},
            "n": {"pool": "p", "inflow": 4, "hours_per_case": 5, "grant_share": 1, "waits_in_coa": False, "grants_need_housing": True,
                  "deadline_months": 3, "pre_horizon_decided": [4, 4, 4], "arrival": {"lag_months": 3, "coa_share": 0.5}},
        },
        staff_pools={"p": {"start_fte": 4, "coaching_hours_per_trainee_year": 300},
                     "r": {"start_fte": 3, "hours_per_fte_year": 1200, "eur_per_fte_year": 12000,
                           "retrain_to": {"p": {"months": 2, "max_fte": 1, "eur_per_fte": 100}}}},
        reception={"departure_lag_months": 2, "rejected_stay_share": 0.5, "max_new_places": 50, "max_extensions": 1},
        location_types={"tmp": {"eur_per_place_year": 600, "keep_open_eur_per_place": 5, "extension_months": 3}},
        locations={"temp": {"region": "A", "type": "tmp", "places": 20, "status": "existing", "open_until": "2024-02"}},
    ))


@pytest.fixture(scope="module")
def looped_plan(tmp_path_factory):
    d = validate_dict(looped())
    plan = planner.solve(d)
    return d, plan, plan.write(tmp_path_factory.mktemp("looped") / "run")


@pytest.mark.parametrize("p", [1, 2, 4, 7])
def test_round_trip_with_return_flows(looped_plan, p):
    """The state carries the decisions of the longest lag (x: appeal 2, rejections_to 2; n:
    arrival 3), the departure track within its lag (2 entries) and the ready stock: started at P
    with the plan's decisions of P.. fixed, the plan's periods P.. come back (every table, 1e-6)."""
    d, plan, out = looped_plan
    assert sum(plan.tables["retraining"].fte) > 0
    start = start_from(d, out, d.grid.labels[p])
    r = [plan.model.retrain["r", "p", t].value for t in range(p)]
    assert start.data.instance.staff_pools["p"].start_retraining == pytest.approx(([0.0, 0.0] + r)[-2:], abs=1e-6)  # entry i: from P + i
    cts = start.data.instance.case_types
    x = [plan.model.dec_int["x", t].value + plan.model.dec_out["x", t].value for t in range(p)]
    assert cts["x"].pre_horizon_decided == pytest.approx(([20, 25, 30] + x)[-2:], abs=1e-6)
    assert len(cts["n"].pre_horizon_decided) == 3 and cts["d"].pre_horizon_decided == []
    enter = [pyo.value(plan.model.ret_track_enter[t]) for t in range(p)]
    assert start.data.instance.reception.start_departure_track == pytest.approx(enter[-2:], abs=1e-6)
    assert start.data.instance.reception.start_awaiting_departure == pytest.approx(plan.model.ret_ready[p - 1].value, abs=1e-6)
    fixed = decisions_of(plan.model, range(p, d.grid.T), p, names=("hires", "external", "retrain", "dec_out", "accelerated", "dec_int", "housed", "serve"))
    again = solve_start(start, fix_more=lambda m: fix_all(m, fixed), marginal=False)
    _same_tables(plan, again, start.data.horizon_labels)
    assert again.kpis["objective"] <= plan.kpis["objective"] + 1e-6


def test_round_trip_status_quo_with_return_flows(tmp_path):
    """simulate the looped instance, then simulate from its state at 2024-03 and 2024-07: the same tables."""
    from planner.check.simulate import simulate

    d = validate_dict(looped())
    sq = simulate(d)
    out = sq.write(tmp_path / "sq")
    for at in ("2024-03", "2024-07"):
        start = start_from(d, out, at)
        again = simulate(start.data, prepare=start.fix)
        _same_tables(sq, again, start.data.horizon_labels)


def test_extension_and_pace_state(looped_plan):
    """The plan extends ``temp`` (closing after February, 3 months more: open through May) and
    opens ``new`` (50 places, first used in March). At 2024-05: ``temp`` is open until 2024-05 with
    no decision left and the one extension used (the cap of 1 is spent: max_extensions 0); ``new``
    is open, and period 0's pace grows by its 50 places (its places were first used before), 100."""
    d, plan, out = looped_plan
    assert plan.model.keep["temp"].value > 0.5
    state = json.loads((out / "state.json").read_text())["states"][3]
    assert state["at"] == "2024-05"
    assert state["reception"]["locations"]["temp"] == {"status": "existing", "open_until": "2024-05", "can_keep_open": False, "keep_open": False}
    assert state["reception"]["extensions_used"] == 1
    start = start_from(d, out, "2024-05")
    rec = start.data.instance.reception
    assert rec.max_extensions == 0
    assert start.data.s("reception.max_new_places")[:2] == [100.0, 50.0]
    assert start.data.existing_last_period("temp") == 0


def test_ramp_down_anchor_at_a_start():
    """x decides 30 a month before the start, its ramp down is 5 a month: period 0 decides at
    least 25 although the stock would rather wait (no staff cost, no waiting weight: nothing pulls
    production up; the objective weighs cost only). Without decisions_before: 0 is allowed."""
    from conftest import tiny

    raw = tiny(case_types={"x": {"start_stock_by_age": [100], "max_decision_decrease": 5, "decisions_before": 30}},
               staff_pools={"p": {"start_fte": 10, "eur_per_fte_year": 0}},
               objective={"waiting_person_month": {"abroad": 0}, "overdue_case_month": 0})
    plan = planner.solve(validate_dict(raw), objective="weighted")
    dec = plan.tables["ind_cases"].decided_internal.tolist()
    assert dec[0] >= 25 - 1e-6 and dec[1] >= dec[0] - 5 - 1e-6
    raw["case_types"]["x"]["decisions_before"] = None
    plan = planner.solve(validate_dict(raw), objective="weighted")
    assert ("x", 0) not in plan.model.case_ramp_down_limit and ("x", 1) in plan.model.case_ramp_down_limit


def _close_tables(full, part, labels, rel=1e-9):
    """As :func:`_same_tables`, to 1e-6 or ``rel`` of the value (EUR tables reach 1e9: float noise)."""
    for name in TABLES:
        a = full.tables[name]
        a = a[a.period.isin(labels)].reset_index(drop=True)
        b = part.tables[name].reset_index(drop=True)
        num = [c for c in a.columns if a[c].dtype.kind == "f"]
        assert len(a) == len(b), name
        assert (np.abs(a[num].values - b[num].values) <= 1e-6 + rel * np.abs(a[num].values)).all(), name


@pytest.mark.slow
def test_round_trip_nl2022_status_quo(tmp_path):
    """nl-2022 (appeals, rejections to another type, arrivals after a grant, a departure lag,
    extensions, pace limits, the reacting status quo): simulate the whole horizon, then simulate
    from its state at 2022-07: the same tables for 2022-07.. (1e-6, or 1e-9 of a value in EUR)."""
    from planner.check.simulate import simulate
    from planner.instance.load import load_instance

    d = load_instance("instances/nl-2022.yaml")
    sq = simulate(d)
    out = sq.write(tmp_path / "sq")
    start = start_from(d, out, "2022-07")
    again = simulate(start.data, prepare=start.fix)
    _close_tables(sq, again, start.data.horizon_labels)
