"""``planner rolling``: re-planning against realised data, derived by hand on a tiny instance.

The instance (:func:`staffing`): one case type, no stock, deadline 1 month (a case is overdue
after the month it arrived), every month of waiting weighs 1 (``waiting_person_month.abroad``),
one staff pool with no staff, 100 productive hours a month per FTE and 10 hours a case (an FTE
decides 10 cases a month), no training delay, no attrition, EUR 1,000 per FTE-month (cost only
breaks ties). Forecast inflow 10 a month for 2024-01..04; realised 20 a month from 2024-02.
Re-planning every 2 months.

* Step 1 (2024-01, forecast 10 a month): 1 FTE hired in January decides every case in its month;
  a cheaper plan leaves cases waiting. Committed: hire 1 FTE in 2024-01, none in 2024-02.
  Played on the realised data: January 10 in, 10 decided; February 20 in, 10 decided, stock 10.
* Step 2 (2024-03, stock 10 of February, forecast 10 a month): hiring h FTE in March decides
  10 (1 + h) a month; each tenth of an FTE up to h = 1 saves a case-month of waiting in March,
  so the step commits **1 FTE in 2024-03**. Played: March 10 + 20 - 20 = 10, April 10 again.
  Waiting: February 10 + March 10 + April 10 = 30 case-months, none overdue (the stock is never
  older than its month).
* With ``--forecast last-quarter`` step 2 scales the forecast by (10 + 20) / (10 + 10) = 1.5:
  15 a month, so clearing March's 10 + 15 needs 2.5 FTE: it commits **1.5 FTE**. Played: March
  10 + 20 - 25 = 5, April 5 + 20 - 25 = 0: waiting 10 + 5 = 15.
* Hindsight hires 1 FTE in January and 1 in February: nothing ever waits (0), 7 FTE-months
  against the rolling plan's 1 + 1 + 2 + 2 = 6. Regret (rolling - hindsight): waiting 30
  person-months (15 with last-quarter), cost EUR -1,000 (the rolling plan hires a month later).
* Status quo (no planned hires): nothing decided, stock 10, 30, 50, 70: waiting 160, overdue
  (stock - this month's inflow) 0 + 10 + 30 + 50 = 90.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from conftest import merge, tiny
from planner.check.evaluate import evaluate_run
from planner.instance.loading import validate_dict
from planner.studies.rolling import hindsight_note, rolling
from planner.studies.rollingreport import comparison, markdown, steps_table, write_rolling


def staffing() -> dict:
    return tiny(
        case_types={"x": {"inflow": 10, "deadline_months": 1}},
        staff_pools={"p": {"start_fte": 0, "hours_per_fte_year": 1200, "eur_per_fte_year": 12000, "max_hires": 5}},
        objective={"waiting_person_month": {"abroad": 1}},
    )


REALISED = {"case_types.x.inflow": {1: 20.0, 2: 20.0, 3: 20.0}}


def _hires(step) -> dict:
    return {r["period"]: r["value"] for r in step.committed if r["decision"] == "hire"}


def test_rolling_by_hand():
    res = rolling(validate_dict(staffing()), REALISED, every=2, progress=lambda line: None)
    assert [s.at for s in res.steps] == ["2024-01", "2024-03"]
    assert _hires(res.steps[0]) == pytest.approx({"2024-01": 1.0})
    assert _hires(res.steps[1]) == pytest.approx({"2024-03": 1.0})
    stock = res.tables["ind_cases"].stock.tolist()
    assert stock == pytest.approx([0, 10, 10, 10], abs=1e-6)
    k = res.replay.kpis
    assert k["waiting_person_months"] == pytest.approx(30, abs=1e-6)
    assert k["overdue_case_months"] == pytest.approx(0, abs=1e-6)
    assert k["total_cost_eur"] == pytest.approx(6000, abs=1e-3)
    h = res.hindsight.kpis
    assert h["waiting_person_months"] == pytest.approx(0, abs=1e-6)
    assert h["total_cost_eur"] == pytest.approx(7000, abs=1e-3)
    sq = res.status_quo.kpis
    assert sq["waiting_person_months"] == pytest.approx(160, abs=1e-6)
    assert sq["overdue_case_months"] == pytest.approx(90, abs=1e-6)
    table = comparison(res).set_index("kpi")
    assert table.loc["waiting for a first decision", "regret"] == pytest.approx(30, abs=1e-6)
    assert table.loc["total cost", "regret"] == pytest.approx(-0.001, abs=1e-9)  # EUR million
    assert res.objective == pytest.approx(res.replay.kpis["objective"], rel=1e-9, abs=1e-9)
    assert res.hindsight.kpis["objective"] <= res.objective


def test_rolling_last_quarter_forecast():
    res = rolling(validate_dict(staffing()), REALISED, every=2, forecast="last-quarter", progress=lambda line: None)
    assert res.steps[1].forecast == pytest.approx({"case_types.x.inflow": 1.5})
    assert _hires(res.steps[1]) == pytest.approx({"2024-03": 1.5})
    assert res.tables["ind_cases"].stock.tolist() == pytest.approx([0, 10, 5, 0], abs=1e-6)
    assert res.replay.kpis["waiting_person_months"] == pytest.approx(15, abs=1e-6)


def rich() -> dict:
    """A small instance with every start stock the state carries: a stock with its ages, a
    follow-on type, trainees, a site with a lead time and a minimum term, permit holders, rejected
    persons awaiting departure, a budget and a look-ahead tail."""
    return tiny(
        horizon={"periods": 10, "tail_periods": 3, "extend": "hold_last"},
        case_types={
            "x": {"inflow": [30, 30, 40, 50, 60, 60, 50, 40, 30, 30], "start_stock": 40, "pre_horizon_inflow": [20, 20, 20],
                  "grant_share": 0.5, "waits_in_coa": True, "grants_need_housing": True, "deadline_months": 2},
            "fam": {"pool": "p", "inflow": 0, "hours_per_case": 5, "grant_share": 1, "waits_in_coa": False, "grants_need_housing": False,
                    "deadline_months": 3, "follow_on": {"source_types": ["x"], "share_of_grants": 0.5, "lag_months": 2, "pre_horizon_grants": [10, 10]}},
        },
        staff_pools={"p": {"start_fte": 2, "hours_per_fte_year": 1200, "training_months": 2, "max_hires": 2, "eur_per_fte_year": 12000, "start_trainees": [0, 1]}},
        location_types={"azc": {"eur_per_place_year": 1200, "lead_months": 2, "min_open_months": 4, "opening_eur_per_place": 10}},
        locations={"old": {"region": "A", "type": "azc", "places": 60, "status": "existing"},
                   "new": {"region": "A", "type": "azc", "places": 50, "status": "candidate"}},
        placement={"housing_supply": 5, "start_waiting": 10, "pre_horizon_linked": [5, 5, 5]},
        reception={"occupancy_norm": 1, "start_awaiting_departure": 3, "departure_rate_per_month": 0.2},
        objective={"waiting_person_month": {"coa": 1}},
        budget={"total_eur": 1e6},
    )


def test_rolling_equals_one_shot_when_the_forecast_is_right():
    """Realised = forecast: every step's plan is the rest of the one-shot plan (optimality of its
    tail), so the rolling objective is the one-shot objective."""
    import planner

    d = validate_dict(rich())
    res = rolling(d, {"case_types.x.inflow": {}}, every=3, progress=lambda line: None)
    one_shot = planner.solve(d).kpis["objective"]
    assert res.objective == pytest.approx(one_shot, rel=1e-6)
    assert res.replay.kpis["objective"] == pytest.approx(res.objective, rel=1e-9)
    assert res.hindsight.kpis["objective"] == pytest.approx(one_shot, rel=1e-6)


def test_rolling_equals_one_shot_with_return_flows(tmp_path):
    """As above on :func:`test_state.looped` (appeals, rejections to another type, arrivals after a
    grant, a departure lag, retraining, an extension, a pace limit): realised = forecast, every 3
    months: the rolling objective is the one-shot objective, every step's play is its window of
    the replay, and ``planner evaluate`` passes the realised trajectory (the ramp down anchored)."""
    import planner
    from test_state import looped

    d = validate_dict(looped())
    res = rolling(d, {"case_types.x.inflow": {}}, every=3, progress=lambda line: None)
    one_shot = planner.solve(d).kpis["objective"]
    assert res.objective == pytest.approx(one_shot, rel=1e-6)
    for s in res.steps:
        assert s.played_objective == pytest.approx(s.replay_objective, rel=1e-9, abs=1e-9), s.at
    out = write_rolling(res, tmp_path / "roll", 3, "instance")
    _, violations, ok = evaluate_run(out / "realised")
    assert ok, violations


def test_rolling_folder_and_evaluate(tmp_path):
    res = rolling(validate_dict(staffing()), REALISED, every=2, progress=lambda line: None)
    out = write_rolling(res, tmp_path / "roll", 2, "instance")
    for name in ("rolling.md", "comparison.csv", "steps.csv", "committed.csv", "forecast_vs_realised.png", "occupancy.png"):
        assert (out / name).is_file(), name
    _, violations, ok = evaluate_run(out / "realised")
    assert ok, violations
    assert "| waiting for a first decision | person-months | 30 | 160 | 0 | 30 |" in (out / "rolling.md").read_text()


def closing_site() -> dict:
    """One existing site ``old`` of 50 places whose planned close is after 2024-02; keeping it open
    (to the horizon's end) costs EUR 100 a place once; running costs 0, no candidate, crisis
    capacity 0. The only occupants: group ``g``, forecast 50, 50, 0, 0."""
    return tiny(
        regions={"A": {"population": 1, "crisis_capacity": 0}},
        location_types={"t": {"eur_per_place_year": 0, "lead_months": 12, "keep_open_eur_per_place": 100}},
        locations={"old": {"region": "A", "type": "t", "places": 50, "status": "existing", "open_until": "2024-02"}},
        reception={"occupancy_norm": 1, "other_groups": {"g": [50, 50, 0, 0]}},
    )


def test_replay_takes_no_decision_the_steps_did_not():
    """:func:`closing_site`, realised g 50 a month from 2024-03, re-planning every 3 months.

    * Step 1 (2024-01, forecast): nobody needs a place after February, keeping ``old`` costs EUR
      5,000 and saves nothing: not kept. Its close falls in the window (2024-01..03), so the play
      fixes keep = 0: March has 50 persons and no place: 50 x 31 = 1,550 unsheltered person-nights.
    * Step 2 (2024-04): ``old`` is closed: 50 x 30 = 1,500. Rolling: 3,050 person-nights.
    * Hindsight keeps ``old`` (EUR 5,000): 0 unsheltered.
    * The replay (every decision of the steps fixed) must give rolling's 3,050: the keep-open the
      steps did not take is 0 there too (left free, the replay, which knows the realised data,
      kept the site and counted 0)."""
    d = validate_dict(closing_site())
    res = rolling(d, {"reception.other_groups.g": {2: 50.0, 3: 50.0}}, every=3, progress=lambda line: None)
    assert res.replay.model.keep["old"].value == pytest.approx(0)
    assert res.replay.kpis["unsheltered_person_nights"] == pytest.approx(3050, abs=1e-6)
    assert res.objective == pytest.approx(res.replay.kpis["objective"], rel=1e-9)
    for s in res.steps:
        assert s.played_objective == pytest.approx(s.replay_objective, rel=1e-9, abs=1e-9), s.at
    assert res.hindsight.kpis["unsheltered_person_nights"] == pytest.approx(0, abs=1e-6)
    assert res.hindsight.kpis["total_cost_eur"] == pytest.approx(5000, abs=1e-3)


def test_hindsight_is_never_above_rolling(monkeypatch):
    """The rolling trajectory is a plan of hindsight's model (the same start, the realised data),
    so a hindsight that HiGHS stopped at its gap or a limit with a worse plan is replaced by it.
    Broken case: :func:`staffing` with the hindsight solve kept from hiring (its plan is the
    status quo's: 160 person-months waiting, above rolling's 30): hindsight is then the rolling
    trajectory (30, regret 0) and says so. Unbroken, hindsight is HiGHS's own plan (0 waiting,
    :func:`test_rolling_by_hand`) with its gap stated."""
    import planner.studies.rolling as rolling_mod
    from planner.solver.fromstate import fix_all

    res = rolling(validate_dict(staffing()), REALISED, every=2, progress=lambda line: None)
    assert not res.hindsight_is_rolling and res.hindsight.kpis["waiting_person_months"] == pytest.approx(0, abs=1e-6)
    assert hindsight_note(res).startswith("HiGHS gap ")

    solve_start = rolling_mod.solve_start

    def no_hires(st, fix_more=None, **kw):  # only the hindsight solve has neither fix_more nor a start state
        if fix_more is None and st.offset == 0 and kw.get("mip_gap") == rolling_mod.HINDSIGHT_GAP:
            fix_more = lambda m: fix_all(m, [("hires", ("p", t), 0.0) for t in m.T])  # noqa: E731
        return solve_start(st, fix_more=fix_more, **kw)

    monkeypatch.setattr(rolling_mod, "solve_start", no_hires)
    res = rolling(validate_dict(staffing()), REALISED, every=2, progress=lambda line: None)
    assert res.hindsight_is_rolling
    assert res.hindsight.kpis["waiting_person_months"] == pytest.approx(30, abs=1e-6)
    assert res.hindsight.kpis["objective"] == pytest.approx(res.objective, rel=1e-9)
    assert comparison(res).set_index("kpi").loc["waiting for a first decision", "regret"] == pytest.approx(0, abs=1e-6)
    assert "hindsight is the rolling trajectory" in hindsight_note(res)


def test_unanchored_ramp_is_warned():
    """:func:`staffing` with a ramp down of 5 decisions a month on ``x`` and no
    ``decisions_before``: the first period's production is free for hindsight and the first step
    while step 2 starts anchored at the state's decisions: warned in the progress and rolling.md.
    With ``decisions_before`` (5 a month, so no staff and 0 decisions in January stay feasible) there is
    nothing to warn."""
    lines = []
    raw = merge(staffing(), {"case_types": {"x": {"max_decision_decrease": 5}}})
    res = rolling(validate_dict(raw), REALISED, every=2, progress=lines.append)
    assert any(line.startswith("warning: x: a production ramp but no decisions_before") for line in lines), lines
    text = markdown(res, comparison(res), steps_table(res), 2, "instance")  # rolling.md's text
    assert "Warning: x: a production ramp but no decisions_before" in text
    raw["case_types"]["x"]["decisions_before"] = 5
    lines.clear()
    res = rolling(validate_dict(raw), REALISED, every=2, progress=lines.append)
    assert res.warnings == [] and not any(line.startswith("warning:") for line in lines), lines


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "planner.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_rolling_cli(tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(staffing()))
    (tmp_path / "real.csv").write_text("period,case_types.x.inflow\n2024-02,20\n2024-03,20\n2024-04,20\n")
    r = _cli("rolling", "tiny.yaml", "--realised", "real.csv", "--every", "2", "--out", "roll", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "step 2: 2024-03..2024-04" in r.stdout
    assert json.loads((tmp_path / "roll" / "run.json").read_text())["kind"] == "rolling"


@pytest.mark.parametrize(
    "csv, field",
    [
        ("when,case_types.x.inflow\n2024-02,20\n", "period"),
        ("period,case_types.y.inflow\n2024-02,20\n", "case_types.y.inflow"),
        ("period,case_types.x.inflow\n2025-02,20\n", "period"),
        ("period,case_types.x.inflow\n2024-02,-3\n", "case_types.x.inflow"),
    ],
)
def test_bad_realised_file(tmp_path, csv, field):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(staffing()))
    (tmp_path / "real.csv").write_text(csv)
    r = _cli("rolling", "tiny.yaml", "--realised", "real.csv", "--out", "roll", cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: real.csv: {field}:"), r.stderr
    assert not (tmp_path / "roll").exists()


@pytest.mark.slow
def test_nl2022_rolling(tmp_path):
    """8 quarterly steps from 2022-01 on the realised-high scenario; hindsight is not above rolling."""
    from planner.instance.load import load_instance
    from planner.studies.realised import read_realised

    d = load_instance("instances/nl-2022.yaml")
    res = rolling(d, read_realised("instances/nl-2022-realised-high.csv", d), every=3, progress=lambda line: None)
    assert len(res.steps) == 8
    assert res.hindsight.kpis["objective"] <= res.objective * (1 + 1e-4)
    for s in res.steps:  # every step carried its state exactly: its play is the replay's window
        assert s.played_objective == pytest.approx(s.replay_objective, rel=1e-6, abs=1e-3), s.at
    out = write_rolling(res, tmp_path / "roll", 3, "instance")
    _, violations, ok = evaluate_run(out / "realised")
    assert ok, violations
