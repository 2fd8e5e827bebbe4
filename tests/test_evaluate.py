"""planner evaluate: an independent cohort recount of a run folder agrees with solve (and simulate),
and disagrees loudly when a run's tables are altered.

Every tiny instance below is solved with ``planner.solve``, written as a run folder and recounted
from its decisions by :mod:`planner.check.evaluate` and :mod:`planner.check.recount` (which never import
the model or Pyomo: tests/test_layout.py holds that). Each case
also names KPIs that must be positive, so the subsystem it stands for is really exercised.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import plan_of, tiny

import planner
from planner.check.evaluate import evaluate_run
from planner.check.recount.common import Cohorts
from planner.cli import main

NL = Path(__file__).parents[1] / "instances" / "nl-2022.yaml"


def _case(**over):
    """A case type of pool p with everything off (the tiny instance's x)."""
    base = {"pool": "p", "inflow": 0, "hours_per_case": 10, "grant_share": 0, "waits_in_coa": False,
            "grants_need_housing": False, "deadline_months": 6}
    return {**base, **over}


CASES = {
    # FIFO start stock by age, whole deadline (tests/test_cases.py)
    "fifo_by_age": (
        tiny(
            horizon={"periods": 6},
            case_types={"x": {"inflow": 5, "deadline_months": 2, "start_stock_by_age": [10, 20, 30]}},
            staff_pools={"p": {"start_fte": 1}},
        ),
        None,
        ["overdue_case_months"],
    ),
    # start stock from pre-horizon inflow, fractional deadline
    "fifo_pre_horizon_fractional": (
        tiny(
            horizon={"periods": 6},
            case_types={"x": {"inflow": [5, 0, 12, 3, 0, 9], "deadline_months": 1.5, "start_stock": 60, "pre_horizon_inflow": [100, 30, 20, 10]}},
            staff_pools={"p": {"start_fte": 1}},
        ),
        None,
        ["overdue_case_months"],
    ),
    # follow-on inflow (with pre-horizon grants), penalties with notice hours, outsourcing with IND hours
    "follow_on_penalties_outsourcing": (
        tiny(
            case_types={
                "x": {"start_stock_by_age": [0, 0, 30], "inflow": 10, "deadline_months": 1, "grant_share": 0.5,
                      "outsourcing_capacity": [0, 0, 8, 8], "outsourcing_eur_per_case": 0.5e6, "outsourcing_ind_hours_per_case": 2,
                      "penalties": {"applies": True, "notice_share_per_period": 0.5, "eur_per_notice": 1000, "ind_hours_per_notice": 0.2}},
                "y": _case(inflow=1, deadline_months=0.5, start_stock_by_age=[5, 5, 5], grant_share=0.3,
                           follow_on={"source_types": ["x"], "share_of_grants": 0.9, "lag_months": 1, "pre_horizon_grants": [4, 6]},
                           penalties={"applies": True, "notice_share_per_period": 0.2, "eur_per_notice": 500, "ind_hours_per_notice": 1}),
            },
            staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 600}},
            objective={"cost_per_million_eur": 1},
        ),
        None,
        ["outsourced_cases_total", "cost_by_component.penalties", "notices_of_default_total", "overdue_case_months_by_type.y"],
    ),
    # hiring pipeline: training delay, attrition, coaching, start trainees, whole hires, external staff
    "staff_pipeline": (
        tiny(
            horizon={"periods": 6},
            case_types={"x": {"inflow": [0, 0, 20, 20, 0, 0], "deadline_months": 1}},
            staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 120, "eur_per_fte_year": 1200, "training_months": 2,
                               "attrition_per_month": 0.05, "coaching_hours_per_trainee_year": 12, "start_trainees": [0, 2],
                               "max_hires": 2, "eur_per_hire": 50, "integer_hires": True, "external_fte_max": 5,
                               "external_eur_per_fte_year": 1.2e6}},
        ),
        None,
        ["hires_total", "cost_by_component.staff_internal", "cost_by_component.staff_external", "cost_by_component.hiring"],
    ),
    # locations: lead time, minimum open, opening cost, keep open; crisis in two regions at
    # different prices (the cheap one first), unsheltered
    "locations_crisis": (
        tiny(
            horizon={"periods": 6},
            regions={"A": {"population": 1, "crisis_capacity": 10}, "B": {"population": 1, "crisis_capacity": 10, "crisis_eur_per_person_night": 300}},
            location_types={"t": {"eur_per_place_year": 1200, "opening_eur_per_place": 10, "keep_open_eur_per_place": 100,
                                  "lead_months": 2, "min_open_months": 3}},
            locations={
                "old": {"region": "A", "type": "t", "places": 50, "status": "existing", "open_until": "2024-02"},
                "new": {"region": "B", "type": "t", "places": 30, "status": "candidate"},
                "never": {"region": "B", "type": "t", "places": 30, "status": "candidate"},
            },
            reception={"occupancy_norm": 1, "crisis_eur_per_person_night": 100, "other_groups": {"g": [75, 65, 80, 80, 50, 50]}},
        ),
        None,
        ["crisis_person_nights", "unsheltered_person_nights", "cost_by_component.locations_opening",
         "cost_by_component.locations_keep_open", "cost_by_component.crisis_shelter", "locations_opened", "locations_kept_open"],
    ),
    # placement: three regions (one with its own supply), start waiting by pre-horizon links,
    # accelerated within regional, national and ready-share caps; occupancy groups
    "placement_regions": (
        tiny(
            horizon={"periods": 6},
            regions={"A": {"population": 2, "accelerated_capacity": 10}, "B": {"population": 1, "accelerated_capacity": 10},
                     "C": {"population": 1, "accelerated_capacity": 10, "housing_supply": 0}},
            case_types={
                "x": {"start_stock_by_age": [20, 20], "inflow": 10, "deadline_months": 2, "waits_in_coa": True,
                      "grants_need_housing": True, "persons_per_case": 1.5, "grant_share": 0.6},
                "y": _case(inflow=3, grant_share=0.5, deadline_months=1),
            },
            staff_pools={"p": {"start_fte": 2}},
            location_types={"t": {"eur_per_place_year": 100}},
            locations={"old": {"region": "A", "type": "t", "places": 200, "status": "existing"}},
            reception={"occupancy_norm": 0.9, "start_awaiting_departure": 5, "departure_rate_per_month": 0.2,
                       "rejected_stay_share": 0.5, "other_groups": {"g": 3}},
            placement={"start_waiting": 40, "pre_horizon_linked": [30, 20, 0, 0, 0, 0], "housing_supply": 20,
                       "accelerated_total": 25, "accelerated_eur_per_person": 1000, "accelerated_ready_share": 0.5},
        ),
        None,
        ["permit_holder_months_over_norm", "accelerated_placements_total", "cost_by_component.accelerated_placement", "peak_occupancy"],
    ),
    # week grid: fractional deadline (1 month = 4.35 weeks), 7-night periods, lead time in weeks
    "week_grid": (
        tiny(
            horizon={"start": "2024-W52", "periods": 8, "grain": "week"},
            regions={"A": {"population": 1, "crisis_capacity": 20}},
            case_types={"x": {"inflow": 3, "deadline_months": 1, "start_stock_by_age": [2, 2, 2, 2, 2, 2]}},
            staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 520, "attrition_per_month": 0.02}},
            location_types={"t": {"eur_per_place_year": 0, "lead_months": 0.5}},
            locations={"old": {"region": "A", "type": "t", "places": 50, "status": "existing"},
                       "new": {"region": "A", "type": "t", "places": 30, "status": "candidate"}},
            reception={"occupancy_norm": 1, "crisis_eur_per_person_night": 10, "other_groups": {"g": [50, 80, 80, 80, 80, 80, 80, 80]}},
        ),
        None,
        ["overdue_case_months", "crisis_person_nights", "unsheltered_person_nights"],
    ),
    # lexicographic objective with a binding budget per year over a year boundary
    "lexicographic_budget": (
        tiny(
            horizon={"start": "2024-11", "periods": 4},
            regions={"A": {"population": 1, "crisis_capacity": 10}},
            case_types={"x": {"inflow": 10, "deadline_months": 1, "outsourcing_capacity": [0, 0, 8, 8], "outsourcing_eur_per_case": 0.5e6}},
            staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 600}},
            location_types={"t": {"eur_per_place_year": 600000}},
            locations={"old": {"region": "A", "type": "t", "places": 20, "status": "existing"},
                       "new": {"region": "A", "type": "t", "places": 10, "status": "candidate"}},
            reception={"occupancy_norm": 1, "other_groups": {"g": 30}},
            budget={"by_year_eur": {2024: 2e6 + 1e6, 2025: 2e6 + 1.5e6}},
            objective={"crisis_person_night": 0.001},
        ),
        "lexicographic",
        ["outsourced_cases_total", "overdue_case_months", "cost_by_component.locations_running"],
    ),
    # production ramp (tests/test_cases.py): decisions 10, 15, 20, 15 of an overdue stock of 60
    "production_ramp": (
        tiny(
            case_types={"x": {"inflow": 0, "deadline_months": 1, "start_stock_by_age": [0, 0, 60],
                              "max_decision_increase": 5, "decisions_before": 5}},
            staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 2400}},
        ),
        None,
        ["overdue_case_months"],
    ),
}


def _write(raw, folder: Path, mode=None) -> Path:
    return plan_of(raw, mode).write(folder)


@pytest.mark.parametrize("name", list(CASES))
def test_recount_agrees_with_solve(name, tmp_path):
    raw, mode, positive = CASES[name]
    folder = _write(raw, tmp_path / name, mode)
    comparison, violations, ok = evaluate_run(folder)
    assert violations == []
    assert ok, comparison[~comparison.agree].to_string()
    tables = comparison.attrs["tables"]
    assert tables.disagree.sum() == 0, tables[tables.disagree > 0].to_string()
    recount = comparison.attrs["recount"].kpis
    for key in positive:  # the subsystem is really exercised
        head, _, sub = key.partition(".")
        value = recount[head][sub] if sub else recount[head]
        assert value > 0.5, key


def test_cheapest_crisis_region_first_and_cli_exit_0(tmp_path, capsys):
    """locations_crisis, period 2024-02: occupancy 65 against 50 places: crisis 15, of which 10 in
    A (EUR 100 a night) and 5 in B (EUR 300): 29 nights x (10 x 100 + 5 x 300) = EUR 72,500.
    Period 2024-01: 25 short, crisis 10 + 10, unsheltered 5: 31 x (1,000 + 3,000) = EUR 124,000."""
    folder = _write(CASES["locations_crisis"][0], tmp_path / "run")
    assert main(["evaluate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "result: the recount agrees" in out and "crisis_person_nights" in out
    comparison, _, _ = evaluate_run(folder)
    costs = comparison.attrs["recount"].tables["costs"]
    crisis = costs[costs.component == "crisis_shelter"].eur.tolist()
    assert crisis[:3] == pytest.approx([124_000, 72_500, 0])


def test_hand_derived_cohort_count(tmp_path):
    """Fractional deadline 1.5 months, start stock by age [4, 6, 8] (4 received in the period before
    the start, 6 two periods before, 8 three before), inflow 10, 0, 6; 1 FTE at 50 h a month and
    10 h a case: 5 decisions a month (overdue stays positive, so every decision pays).

    At the end of t the young share of the cohort of age a is clip(1.5 - a, 0, 1): age 0 all,
    age 1 half (its later arrivals), older none. Decisions take the oldest first.

        t0: cohorts -3: 8, -2: 6, -1: 4, 0: 10; decide 5 -> -3: 3.  Left 3 + 6 + 4 + 10 = 23.
            young: cohort 0 (10) + half of cohort -1 (min(4, 0.5 x 4) = 2)      -> overdue 23 - 12 = 11
        t1: cohort 1: 0; decide 5 -> -3: 0, -2: 4.  Left 4 + 4 + 10 + 0 = 18.
            young: cohort 1 (0) + min(10, 0.5 x 10) = 5                          -> overdue 13
        t2: cohort 2: 6; decide 5 -> -2: 0, -1: 3.  Left 3 + 10 + 0 + 6 = 19.
            young: cohort 2 (6) + half of cohort 1 (0)                            -> overdue 13
    Overdue case-months 11 + 13 + 13 = 37; end stock 19.
    """
    raw = tiny(
        horizon={"periods": 3},
        case_types={"x": {"inflow": [10, 0, 6], "deadline_months": 1.5, "start_stock_by_age": [4, 6, 8]}},
        staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 600}},
    )
    folder = _write(raw, tmp_path / "run")
    comparison, violations, ok = evaluate_run(folder)
    assert ok and violations == []
    new = comparison.attrs["recount"]
    ind = new.tables["ind_cases"]
    assert ind.decided_internal.tolist() == pytest.approx([5, 5, 5], abs=1e-6)
    assert ind.stock.tolist() == pytest.approx([23, 18, 19], abs=1e-6)
    assert ind.overdue.tolist() == pytest.approx([11, 13, 13], abs=1e-6)
    assert new.kpis["overdue_case_months"] == pytest.approx(37, abs=1e-6)
    row = comparison.set_index("kpi").loc["overdue_case_months"]
    assert row.run == pytest.approx(37, abs=1e-6)

    # the same count on the cohort class alone
    fifo = Cohorts()
    for tau, amount in ((-3, 8), (-2, 6), (-1, 4)):
        fifo.add(tau, amount)
    counts = []
    for t, inflow in enumerate([10, 0, 6]):
        fifo.add(t, inflow)
        assert fifo.take(5) == 0
        counts.append(fifo.overdue(t, 1.5))
    assert counts == pytest.approx([11, 13, 13])


# --- nl-2022: agreement, and loud disagreement on altered tables -------------------------------


@pytest.fixture(scope="module")
def nl_run(tmp_path_factory, nl2022_plan):
    return nl2022_plan.write(tmp_path_factory.mktemp("nl") / "run")


def _copy(nl_run, tmp_path) -> Path:
    return Path(shutil.copytree(nl_run, tmp_path / "run"))


def test_nl2022_recount_agrees(nl_run, capsys):
    comparison, violations, ok = evaluate_run(nl_run)
    assert violations == [] and ok
    assert {"overdue_case_months", "peak_places_needed", "cost_by_component.locations_running"} <= set(comparison.kpi)
    assert main(["evaluate", str(nl_run)]) == 0
    out = capsys.readouterr().out
    assert "KPI" in out and "recount" in out and "diff %" in out


def _alter(folder: Path, table: str, mutate) -> None:
    """Rewrite a table of the run folder: ``mutate`` changes the frame in place or returns a new one."""
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype={"period": str, "open_from": str, "open_until": str, "decided": str}, keep_default_na=False)
    out = mutate(frame)
    (frame if out is None else out).to_csv(path, index=False)


def _evaluate_cli(folder, capsys):
    rc = main(["evaluate", str(folder)])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_more_decisions_than_reported_disagree(nl_run, tmp_path, capsys):
    """100 more spoor-4 decisions in 2022-06: the end stock is 100 lower less the annulled appeals
    that come back (100 x 0.28 rejected x 0.8 appeal x 0.1 annulled = 2.24, in 2022-09): 97.76
    (0.3 %), the overdue case-months fall by far more than 0.5 %, and the hours no longer cover
    the decisions."""
    folder = _copy(nl_run, tmp_path)

    def mutate(f):
        row = (f.case_type == "spoor4") & (f.period == "2022-06")
        f.loc[row, "decided_internal"] = f.loc[row, "decided_internal"].astype(float) + 100

    _alter(folder, "ind_cases", mutate)
    rc, out, err = _evaluate_cli(folder, capsys)
    assert rc == 1
    assert "overdue_case_months_by_type.spoor4" in err and len(err.strip().splitlines()) == 1
    assert "<- DIFFERS" in out and "IND hours of pool asylum 2022-06" in out
    comparison, violations, ok = evaluate_run(folder)
    assert not ok
    row = comparison.set_index("kpi").loc["end_stock_by_type.spoor4"]
    assert row.recount == pytest.approx(row.run - 100 + 100 * (1 - 0.72) * 0.8 * 0.1, abs=1e-3)


def test_dropped_location_disagrees(nl_run, tmp_path, capsys):
    """A candidate the plan opened is missing from locations.csv: it counts as not opened, so its
    running and opening costs and its places are gone from the recount."""
    folder = _copy(nl_run, tmp_path)
    locs = pd.read_csv(folder / "locations.csv", dtype=str)
    new = locs[(locs.existing == "False") & (locs.opened == "True")].copy()
    months = pd.to_datetime(new.open_until).dt.to_period("M").astype(int) - pd.to_datetime(new.open_from).dt.to_period("M").astype(int) + 1
    opened = new.location[(new.places.astype(float) * months).idxmax()]  # the most place-months
    _alter(folder, "locations", lambda f: f[f.location != opened])
    rc, out, err = _evaluate_cli(folder, capsys)
    assert rc == 1
    assert "cost_by_component.locations_running" in err and "locations_opened" in err
    assert f"no row for location '{opened}'" in out
    assert "reception.csv places_open" in out


def test_changed_housing_disagrees(nl_run, tmp_path, capsys):
    """No regular housing at all in the largest region: its permit holders wait (and overrun the
    norm) far longer than the run says."""
    folder = _copy(nl_run, tmp_path)
    plc = pd.read_csv(folder / "placement.csv")
    region = plc.groupby("region").housed_regular.sum().idxmax()
    _alter(folder, "placement", lambda f: f.__setitem__("housed_regular", f.housed_regular.where(f.region != region, 0.0)))
    rc, out, err = _evaluate_cli(folder, capsys)
    assert rc == 1
    assert "permit_holder_months_over_norm" in err and "housed_regular_total" in err


def test_altered_figure_in_a_table_or_kpis_disagrees(nl_run, tmp_path, capsys):
    """A figure (not a decision) changed in a table, or a KPI changed in kpis.json, is caught."""
    folder = _copy(nl_run, tmp_path)
    _alter(folder, "reception", lambda f: f.__setitem__("occupancy", f.occupancy.astype(float) * 0.97))
    rc, out, err = _evaluate_cli(folder, capsys)
    assert rc == 1 and "reception.occupancy" in err

    folder = Path(shutil.copytree(nl_run, tmp_path / "run2"))
    kpis = json.loads((folder / "kpis.json").read_text())
    was = kpis["crisis_person_nights"]  # the plan's own (a little crisis shelter since the return flows)
    kpis["crisis_person_nights"] = was + 1000.0
    (folder / "kpis.json").write_text(json.dumps(kpis))
    rc, out, err = _evaluate_cli(folder, capsys)
    assert rc == 1 and f"crisis_person_nights (run {was + 1000:,.2f}, recount {was:,.2f})" in err


def test_untouched_run_checks_plan_quarter_and_chain(nl_run):
    """The recount also recounts chain.csv and plan_quarter.csv (value, unit, note) row by row."""
    comparison, violations, ok = evaluate_run(nl_run)
    tables = comparison.attrs["tables"].set_index(["table", "column"])
    checked = {("chain", "value"), ("plan_quarter", "value"), ("plan_quarter", "unit"), ("plan_quarter", "note")}
    assert checked <= set(tables.index)
    assert ok and tables.loc[sorted(checked), "disagree"].sum() == 0
    assert tables.loc[("chain", "value"), "rows"] == len(pd.read_csv(nl_run / "chain.csv"))


def test_doubled_hire_in_plan_quarter_disagrees(nl_run, tmp_path, capsys):
    """plan_quarter.csv says twice the hires of staff.csv in one period of the window."""
    folder = _copy(nl_run, tmp_path)

    def mutate(f):
        row = f.index[(f.decision == "hire") & (f.period != "total")][0]
        f.loc[row, "value"] = float(f.loc[row, "value"]) * 2

    _alter(folder, "plan_quarter", mutate)
    rc, out, err = _evaluate_cli(folder, capsys)
    assert rc == 1
    assert "plan_quarter.value" in err and len(err.strip().splitlines()) == 1
    assert "plan_quarter.csv value: 1 of" in out and "most at hire asylum" in out


def test_dropped_opening_in_plan_quarter_disagrees(nl_run, tmp_path, capsys):
    """A location the run opens in the window is missing from plan_quarter.csv: it counts as 0 places."""
    folder = _copy(nl_run, tmp_path)
    _alter(folder, "plan_quarter", lambda f: f.drop(f.index[(f.decision == "open_location") & (f.item != "total")][0]))
    rc, out, err = _evaluate_cli(folder, capsys)
    assert rc == 1 and "plan_quarter.value" in err


def test_altered_chain_value_disagrees(nl_run, tmp_path, capsys):
    """Nidos wards 5 % higher in one period of chain.csv than the recounted cases give."""
    folder = _copy(nl_run, tmp_path)

    def mutate(f):
        row = (f.partner == "Nidos") & (f.measure == "wards") & (f.period == "2022-06")
        assert row.sum() == 1
        f.loc[row, "value"] = f.loc[row, "value"].astype(float) * 1.05

    _alter(folder, "chain", mutate)
    rc, out, err = _evaluate_cli(folder, capsys)
    assert rc == 1
    assert "chain.value" in err and len(err.strip().splitlines()) == 1
    assert "chain.csv value: 1 of" in out and "2022-06 Nidos wards" in out


def test_simulate_run_agrees(tmp_path):
    """The status quo (planner simulate) writes the same folder format; its tables recount too."""
    from planner.check.simulate import simulate

    raw, _, _ = CASES["placement_regions"]
    folder = simulate(planner.instance.loading.validate_dict(raw)).write(tmp_path / "sq")
    comparison, violations, ok = evaluate_run(folder)
    assert ok and violations == [], comparison[~comparison.agree].to_string()


def test_measures_in_force_agree(tmp_path):
    """A measure in force from 2024-02: outsourcing allowed (8 a month at EUR 100) and 20 % fewer
    hours per case (a series from its start); it costs EUR 1,000 once and EUR 10 a period:
    EUR 1,000 + 3 x 10 = 1,030 in the component ``measures``."""
    measures = pytest.importorskip("planner.instance.measures")
    raw = tiny(
        case_types={"x": {"inflow": 10, "deadline_months": 1, "outsourcing_eur_per_case": 100}},
        staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 600}},
        measures={"m1": {"start": "2024-02", "eur_one_off": 1000, "eur_per_period": 10, "changes": [
            {"path": "case_types.x.outsourcing_capacity", "op": "set", "value": 8},
            {"path": "case_types.x.hours_per_case", "op": "scale", "value": 0.8}]}},
    )
    folder = planner.solve(measures.apply_measures(raw, ["m1"])).write(tmp_path / "run")
    comparison, violations, ok = evaluate_run(folder)
    assert ok and violations == [], comparison[~comparison.agree].to_string()
    new = comparison.attrs["recount"].kpis
    assert new["cost_by_component"]["measures"] == pytest.approx(1030)
    assert new["outsourced_cases_total"] > 0.5


# --- bad run folders -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """One small run folder (solved once); each test damages its own copy."""
    return _write(CASES["fifo_by_age"][0], tmp_path_factory.mktemp("small") / "run")


BAD = {
    "missing_file": (lambda f: (f / "costs.csv").unlink(), "costs.csv: table not found"),
    "missing_column": (lambda f: _alter(f, "ind_cases", lambda t: t.drop(columns="stock")), "ind_cases.csv: missing column 'stock'"),
    "not_a_number": (lambda f: _alter(f, "staff", lambda t: t.__setitem__("hires", "many")), "staff.csv: column 'hires' row 2: expected a number, got 'many'"),
    "missing_row": (lambda f: _alter(f, "placement", lambda t: t.iloc[:-1]), "placement.csv: no row for region 'A', period 2024-06"),
    "bad_json": (lambda f: (f / "kpis.json").write_text("{not json"), "kpis.json: not valid JSON at line 1"),
    "missing_kpi": (lambda f: (f / "kpis.json").write_text("{}"), "kpis.json: missing KPI 'overdue_case_months'"),
    "bad_instance": (lambda f: (f / "instance.resolved.yaml").write_text("name: x\n"), "instance.resolved.yaml: horizon: required field is missing"),
    "empty_csv": (lambda f: (f / "reception.csv").write_text(""), "reception.csv: cannot read CSV"),
    "not_a_folder": (lambda f: shutil.rmtree(f), "run: run folder not found"),
    "missing_quarter": (lambda f: (f / "plan_quarter.csv").unlink(), "plan_quarter.csv: table not found"),
    "missing_chain_row": (lambda f: _alter(f, "chain", lambda t: t.iloc[1:]), "chain.csv: rows missing: expected one per period, partner and measure"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_run_folder_exit_2_one_line(case, small_run, tmp_path, capsys):
    folder = Path(shutil.copytree(small_run, tmp_path / "run"))
    damage, message = BAD[case]
    damage(folder)
    rc, out, err = _evaluate_cli(folder, capsys)
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert message in err, err


def test_bad_run_folder_end_to_end_no_traceback(small_run, tmp_path):
    folder = Path(shutil.copytree(small_run, tmp_path / "run"))
    (folder / "staff.csv").unlink()
    r = subprocess.run([sys.executable, "-m", "planner.cli", "evaluate", str(folder)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {folder / 'staff.csv'}: table not found"


def test_keep_open_cost_of_a_location_closed_before_the_start(tmp_path):
    """An existing location planned to close in 2023-06 (7 periods before the 2024-01 start) is
    needed (50 persons, 50 places, no crisis capacity) and kept open. Keeping it open costs
    EUR 100 x 50 places = EUR 5,000, due in the first period past the planned close, i.e. the
    first period of the horizon (the model once charged it in period -6, outside the horizon)."""
    raw = tiny(
        regions={"A": {"population": 1, "crisis_capacity": 0}},
        location_types={"t": {"eur_per_place_year": 0, "lead_months": 12, "keep_open_eur_per_place": 100}},
        locations={"old": {"region": "A", "type": "t", "places": 50, "status": "existing", "open_until": "2023-06"}},
        reception={"occupancy_norm": 1, "other_groups": {"g": 50}},
    )
    comparison, violations, ok = evaluate_run(_write(raw, tmp_path / "run"))
    assert ok, comparison[~comparison.agree].to_string()


def test_ramp_broken_is_a_violation(tmp_path):
    """The production_ramp run with 3 decisions moved from 2024-04 to 2024-03: 10, 15, 23, 12 rises
    by 8 in 2024-03 against a ramp of 5 (23 is beyond the month's hours too, a second violation)."""
    folder = _write(CASES["production_ramp"][0], tmp_path / "run")

    def mutate(f):
        f.loc[f.period == "2024-03", "decided_internal"] = f.loc[f.period == "2024-03", "decided_internal"].astype(float) + 3
        f.loc[f.period == "2024-04", "decided_internal"] = f.loc[f.period == "2024-04", "decided_internal"].astype(float) - 3

    _alter(folder, "ind_cases", mutate)
    _, violations, ok = evaluate_run(folder)
    assert not ok
    assert any(v.startswith("rise of internal decisions x 2024-03 (max_decision_increase): 8 exceeds 5") for v in violations), violations
