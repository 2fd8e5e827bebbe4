"""Two-stage stochastic solve (``planner solve --scenarios``): a hand-derived tiny instance, the
uncertainty's sampling, the non-anticipativity recount, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from conftest import tiny

from planner.cli import main
from planner.instance.loading import validate_dict
from planner.instance.uncertainty import Scenario, draw_factors, mean_instance, sample_scenarios, scenario_instance
from planner.studies.stochastic import run_stochastic
from planner.studies.stochasticout import write_stochastic

INFLOW = "case_types.x.inflow"


def site_instance(opening_eur_per_place: float = 5000) -> dict:
    """Two months (Jan, Feb 2024: 31 and 29 nights); cases of type x wait in COA (1 person each),
    nobody decides them; inflow 0 in January and 50 x factor in February. An existing site of 50
    places (free) and a candidate of 100 places, lead time 1 month (decided in January, in use in
    February), opening cost ``opening_eur_per_place`` x 100. Weights: 1 per unsheltered
    person-night, 1,000 per million EUR. First stage: January (``periods=1``)."""
    return tiny(
        horizon={"start": "2024-01", "periods": 2},
        case_types={"x": {"inflow": [0, 50], "waits_in_coa": True}},
        location_types={"azc": {"eur_per_place_year": 0, "opening_eur_per_place": opening_eur_per_place, "lead_months": 1, "min_open_months": 1}},
        locations={
            "old": {"region": "A", "type": "azc", "places": 50, "status": "existing"},
            "new": {"region": "A", "type": "azc", "places": 100, "status": "candidate"},
        },
        objective={"unsheltered_person_night": 1, "cost_per_million_eur": 1000},
        uncertainty={"series": [{"path": INFLOW, "range": {"min": 0, "medium": 1, "max": 2}}]},
    )


def two_scenarios(d) -> list[Scenario]:
    """Low (factor 0: no inflow) and high (factor 2: 100 in February), each with probability 1/2."""
    return [Scenario(name, 0.5, scenario_instance(d, {INFLOW: f}), {INFLOW: f}) for name, f in (("low", 0.0), ("high", 2.0))]


def test_site_hand_values():
    """One candidate site, two equally likely inflows, a lead time of one month.

    February occupancy = February inflow: 0 (low) or 100 (high); 50 places exist. Without the site
    the high scenario has 100 - 50 = 50 persons unsheltered for 29 nights = 1,450 (objective 1,450);
    the site costs 100 x EUR 5,000 = EUR 0.5 million = 500 and must be decided in January.

    * stochastic (RP): open -> 1/2 x 500 + 1/2 x 500 = 500; not -> 1/2 x 1,450 + 1/2 x 0 = 725.
      RP = 500, the site is prepared now;
    * mean forecast (EV): inflow 50 fits the 50 places: EV = 0, the site is not prepared;
    * its first stage in each scenario (EEV): low 0, high 1,450 -> 725; VSS = 725 - 500 = 225;
    * wait and see (WS): low 0 (no site), high 500 (site) -> 250; EVPI = 500 - 250 = 250.
    """
    d = validate_dict(site_instance())
    r = run_stochastic(d, periods=1, scenarios=two_scenarios(d))
    s = r.summary
    assert s["expected_objective"] == pytest.approx(500)
    assert s["mean_plan_objective"] == pytest.approx(0, abs=1e-6)
    assert s["mean_plan_expected_objective"] == pytest.approx(725)
    assert s["wait_and_see_objective"] == pytest.approx(250)
    assert s["vss"] == pytest.approx(225)
    assert s["evpi"] == pytest.approx(250)
    first = dict(zip(r.keys, r.first_stage))
    assert first[("start", ("new", 1))] == 1.0
    assert dict(zip(r.keys, r.mean_first_stage))[("start", ("new", 1))] == 0.0
    assert r.per_scenario["high"] == {"rp": pytest.approx(500), "eev": pytest.approx(1450), "ws": pytest.approx(500), "risk": pytest.approx(0)}
    assert [p.kpis["locations_opened"] for p in r.plans] == [1, 1]


def test_shared_first_stage_and_mip_start():
    """The extensive form holds the first stage's integers once, and starts from the mean plan.

    The site instance, two scenarios, first stage January: its one binary decision is
    ``start[new, 1]`` (used in February, decided in January); ``serve[new, 1]`` is decided in
    February (recourse, relaxed). So the extensive form has 1 integer variable (the shared
    ``z``), not 1 per scenario: each scenario's copy is continuous in [0, 1] and ``x_s = z``
    makes it integer. Optimum as in :func:`test_site_hand_values`: RP = 500 with the site.

    MIP start: the mean plan's first stage (no site, EV = 0) with each scenario re-solved (low 0,
    high 1,450 unsheltered person-nights: EEV = 725) is a feasible plan of the extensive form, so
    HiGHS takes it (its log: "feasible") and improves it to 500. Swapping the two scenarios'
    plans (the high scenario's 100 arrivals in the low scenario's block, whose inflow is 0) is
    infeasible, and HiGHS says so; the optimum is the same."""
    from planner.solver.extensive import build_extensive, mip_start, solve_extensive, var_values
    from planner.studies.stochastic import per_scenario, solve_mean_plan

    d = validate_dict(site_instance())
    scs = two_scenarios(d)
    ef = build_extensive(scs, 1)
    assert ef.keys.count(("start", ("new", 1))) == 1 and ef.integers == 1
    j = ef.keys.index(("start", ("new", 1)))
    assert ef.shared[j].is_binary() and not any(xs[j].is_binary() or xs[j].is_integer() for xs in ef.first)
    ev, keys, x_ev = solve_mean_plan(d, scs, 1)
    plans: list = []
    assert per_scenario(scs, 1, keys, x_ev, "eev", [], plans) == (725, [0, 1450])
    assert plans[1][("start", ("new", 1))] == 0 and set(plans[0]) == set(var_values(ef.blocks[0]))
    info = solve_extensive(ef, start=mip_start(ef, x_ev, plans))
    assert info.stage_values["mip_start"] == {"values": len(ef.keys) + 2 * len(plans[0]), "accepted": True}
    assert info.objective == pytest.approx(500) and ef.shared[j].value == pytest.approx(1)
    info = solve_extensive(ef, start=mip_start(ef, x_ev, plans[::-1]))
    assert info.stage_values["mip_start"]["accepted"] is False and info.objective == pytest.approx(500)
    r = run_stochastic(d, periods=1, scenarios=scs)
    assert r.summary["mip_start"]["accepted"] and r.summary["integer_variables"] == 1 and r.summary["mip_rel_gap_requested"] == 1e-3
    assert "feasibility of MIP solution" in r.highs_log


def test_decomposed_keeps_the_better_first_stage():
    """``run_decomposed`` (the mpi-sppy engine's evaluation) never reports a first stage worse than
    the mean plan's, so VSS >= 0 holds there too.

    Site instance, the two scenarios of :func:`test_site_hand_values`, first stage January. The
    mean plan does not prepare the site (EV 0, EEV 725).

    * opening cost EUR 5,000 a place (500): a first stage with the site gives 1/2 x 500 + 1/2 x
      500 = 500 < 725, so it is kept: RP 500, VSS 225, EVPI 500 - 250 = 250 (as the extensive form);
    * opening cost EUR 20,000 a place (2,000): with the site 2,000 in both scenarios, worse than
      the mean plan's 725 (without it the high scenario has 1,450 unsheltered person-nights): the
      mean plan's first stage is kept, RP = EEV = 725, VSS 0; WS = 1/2 x 0 + 1/2 x 1,450 = 725
      (the site costs more than it saves even knowing the inflow), EVPI 0."""
    from planner.studies.stochastic import run_decomposed, solve_mean_plan

    for eur, rp, vss, evpi, kept in ((5000, 500, 225, 250, "given"), (20000, 725, 0, 0, "mean plan")):
        d = validate_dict(site_instance(opening_eur_per_place=eur))
        scs = two_scenarios(d)
        _, keys, x_ev = solve_mean_plan(d, scs, 1)
        j = keys.index(("start", ("new", 1)))
        assert x_ev[j] == 0
        with_site = [1.0 if i == j else v for i, v in enumerate(x_ev)]
        r = run_decomposed(d, with_site, periods=1, scenarios=scs)
        s = r.summary
        assert (s["expected_objective"], s["mean_plan_expected_objective"]) == (pytest.approx(rp), pytest.approx(725))
        assert (s["vss"], s["evpi"]) == (pytest.approx(vss, abs=1e-6), pytest.approx(evpi, abs=1e-6))
        assert s["first_stage_source"]["kept"] == kept
        assert s["first_stage_source"]["given_expected_objective"] == pytest.approx(500 if eur == 5000 else 2000)
        assert dict(zip(r.keys, r.first_stage))[("start", ("new", 1))] == (1.0 if kept == "given" else 0.0)
        assert r.per_scenario["high"]["rp"] == pytest.approx(500 if kept == "given" else 1450)


def test_relaxed_recourse_hand_values():
    """The site decided in the recourse: three months (Jan, Feb, Mar 2024), inflow 0, 0 and 50 x
    factor (low 0, high 100 in March), first stage January; the site (lead time 1 month) for
    March is decided in February, after the first stage.

    * integer recourse (``integer_recourse=True``): high opens the whole site in February
      (100 x EUR 5,000 = 500 < 50 unsheltered x 31 nights = 1,550), low nothing:
      RP = 1/2 x 500 = 250;
    * relaxed recourse (the default): high opens half of it (``start = 0.5``: 50 places for half
      the cost, 250), low nothing: RP = 125 (the relaxation's error: 125);
    * either way the first stage (January) decides nothing that differs, so EEV = WS = RP:
      VSS = EVPI = 0.
    """
    raw = site_instance()
    raw["horizon"]["periods"] = 3
    raw["case_types"]["x"]["inflow"] = [0, 0, 50]
    d = validate_dict(raw)
    for integer, rp, start in ((False, 125, 0.5), (True, 250, 1.0)):
        r = run_stochastic(d, periods=1, scenarios=two_scenarios(d), integer_recourse=integer)
        s = r.summary
        assert s["expected_objective"] == pytest.approx(rp)
        assert s["wait_and_see_objective"] == pytest.approx(rp)
        assert s["mean_plan_expected_objective"] == pytest.approx(rp)
        assert s["vss"] == pytest.approx(0, abs=1e-6) and s["evpi"] == pytest.approx(0, abs=1e-6)
        assert (s["recourse_binaries_relaxed"] > 0) is not integer
        assert r.per_scenario["high"]["rp"] == pytest.approx(2 * rp)
        assert dict(zip(r.keys, r.first_stage))[("start", ("new", 1))] == 0.0
        assert r.plans[1].tables["reception"].places_open.iloc[2] == pytest.approx(50 + 100 * start)


def test_cvar_hand_values():
    """The site at EUR 8,000 a place (objective 800): risk-neutral, not opening (725) beats opening
    (800). With CVaR at alpha = 0.5 of crisis + unsheltered person-nights (two equally likely
    scenarios: the CVaR is the high scenario's L) and weight 0.1: not opening costs
    725 + 0.1 x 1,450 = 870, opening 800 + 0.1 x 0 = 800: the site is prepared, RP = 800."""
    d = validate_dict(site_instance(8000))
    neutral = run_stochastic(d, periods=1, scenarios=two_scenarios(d))
    assert neutral.summary["expected_objective"] == pytest.approx(725)
    assert dict(zip(neutral.keys, neutral.first_stage))[("start", ("new", 1))] == 0.0
    averse = run_stochastic(d, periods=1, scenarios=two_scenarios(d), cvar_alpha=0.5, cvar_weight=0.1)
    assert averse.summary["expected_objective"] == pytest.approx(800)
    assert averse.summary["cvar_person_nights"] == pytest.approx(0, abs=1e-6)
    assert dict(zip(averse.keys, averse.first_stage))[("start", ("new", 1))] == 1.0


def test_nonanticipativity_recount(tmp_path):
    """Every scenario's run, recounted from its decisions apart from the model, has the same
    plan_quarter; the folder holds what the README lists."""
    d = validate_dict(site_instance())
    r = run_stochastic(d, periods=1, scenarios=two_scenarios(d), out_of_sample=3)
    out = write_stochastic(r, d, tmp_path / "st")
    s = json.loads((out / "stochastic.json").read_text())
    assert s["nonanticipativity_recount"] == {"identical": True, "scenarios": 2, "rows": s["nonanticipativity_recount"]["rows"]}
    for name in ("plan_quarter.csv", "first_stage.csv", "scenarios.csv", "out_of_sample.csv", "fan_occupancy.png", "fan_crisis.png", "fan_stock.png"):
        assert (out / name).is_file(), name
    quarter = (out / "plan_quarter.csv").read_text()
    assert "open_location,new" in quarter
    assert s["out_of_sample"]["stochastic"]["n"] == 3
    assert s["expected_kpis"]["locations_opened"] == pytest.approx(1)


def test_sampling_reproducible():
    """The same seed draws the same scenarios, another seed others; every multiplier lies in its
    range; with correlation 1 two series sit at the same quantile of their ranges."""
    raw = site_instance()
    raw["case_types"]["y"] = {**raw["case_types"]["x"]}
    raw["uncertainty"] = {
        "correlation": 1,
        "series": [
            {"path": INFLOW, "range": {"min": 0.5, "medium": 1, "max": 1.5}},
            {"path": "case_types.y.inflow", "range": {"min": 0.8, "medium": 1, "max": 1.2}},
        ],
    }
    d = validate_dict(raw)
    a, b, c = draw_factors(d, 50, 7), draw_factors(d, 50, 7), draw_factors(d, 50, 8)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    assert a[:, 0].min() >= 0.5 and a[:, 0].max() <= 1.5
    assert np.allclose((a[:, 0] - 1) / 0.5, (a[:, 1] - 1) / 0.2)
    scs = sample_scenarios(d, 3, 7)
    assert [s.name for s in scs] == ["s000", "s001", "s002"]
    assert scs[1].data.s(INFLOW) == [0.0, 50 * a[1, 0]]
    assert mean_instance(d, scs).s(INFLOW)[1] == pytest.approx(50 * a[:3, 0].mean())


def test_independent_series():
    """A series' own correlation 0 leaves it independent of the common factor (sample correlation
    of the normal scores near 0 over 4,000 draws)."""
    raw = site_instance()
    raw["case_types"]["y"] = {**raw["case_types"]["x"]}
    raw["uncertainty"] = {
        "correlation": 0.9,
        "series": [
            {"path": INFLOW, "quantiles": {"probabilities": [0, 1], "values": [0, 1]}},
            {"path": "case_types.y.inflow", "quantiles": {"probabilities": [0, 1], "values": [0, 1]}, "correlation": 0},
        ],
    }
    f = draw_factors(validate_dict(raw), 4000, 1)
    assert abs(np.corrcoef(f[:, 0], f[:, 1])[0, 1]) < 0.05


def _write(tmp_path, raw) -> str:
    path = tmp_path / "inst.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"series": [{"path": "case_types.nope.inflow", "range": {"min": 0, "medium": 1, "max": 2}}]}, "uncertainty.series.0.path: 'case_types.nope.inflow' names no series"),
        ({"series": [{"path": INFLOW, "range": {"min": 2, "medium": 1, "max": 3}}]}, "uncertainty.series.0.range: expected min <= medium <= max"),
        ({"series": [{"path": INFLOW}]}, "uncertainty.series.0: give exactly one of range"),
        ({"series": [{"path": INFLOW, "quantiles": {"probabilities": [0.5, 0.1], "values": [1, 2]}}]}, "probabilities must increase"),
        ({"correlation": 1.5, "series": [{"path": INFLOW, "range": {"min": 0, "medium": 1, "max": 2}}]}, "uncertainty.correlation"),
        (None, "needs an 'uncertainty' section"),
    ],
)
def test_bad_uncertainty_one_line_exit_2(tmp_path, capsys, change, expected):
    raw = site_instance()
    if change is None:
        del raw["uncertainty"]
    else:
        raw["uncertainty"] = change
    rc = main(["solve", _write(tmp_path, raw), "--scenarios", "2", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and expected in err, err
    assert not (tmp_path / "out").exists()


def test_bad_options_exit_2(tmp_path):
    path = _write(tmp_path, site_instance())
    for args in (["--cvar", "1.5"], ["--cvar-weight", "1"], ["--objective", "lexicographic"], ["--first-stage", "5"],
                 ["--extensive-gap", "0"], ["--extensive-gap", "0.01", "--engine", "mpi-sppy"]):
        proc = subprocess.run(
            [sys.executable, "-m", "planner.cli", "solve", path, "--scenarios", "2", "--out-of-sample", "0", "--out", str(tmp_path / "o"), *args],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1, proc.stderr


def test_cli_end_to_end(tmp_path, capsys):
    """``planner solve --scenarios`` writes the stochastic folder; the same seed writes the same
    scenarios.csv, and the scenario folders pass ``planner evaluate``."""
    path = _write(tmp_path, site_instance())
    args = ["solve", path, "--scenarios", "3", "--seed", "5", "--first-stage", "1", "--out-of-sample", "4"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "VSS" in out and "EVPI" in out and "identical first stage" in out
    assert (tmp_path / "a" / "scenarios.csv").read_bytes() == (tmp_path / "b" / "scenarios.csv").read_bytes()
    assert main(["evaluate", str(tmp_path / "a" / "scenarios" / "s001")]) == 0
    a = json.loads((tmp_path / "a" / "stochastic.json").read_text())
    assert a["recourse"].startswith("relaxed") and a["mip_rel_gap_requested"] == 1e-3
    assert main([*args, "--integer-recourse", "--extensive-gap", "0.02", "--out", str(tmp_path / "c")]) == 0
    c = json.loads((tmp_path / "c" / "stochastic.json").read_text())
    assert c["recourse"].startswith("integer") and c["mip_rel_gap_requested"] == 0.02


@pytest.mark.slow
def test_mpi_sppy_matches_extensive_form(tmp_path):
    """Progressive hedging over 2 MPI processes (mpi-sppy) on 3 scenarios of the site instance finds
    the extensive form's first stage, and the same expected objective."""
    pytest.importorskip("mpisppy")
    pytest.importorskip("mpi4py")
    path = _write(tmp_path, site_instance())
    base = ["solve", path, "--scenarios", "3", "--seed", "3", "--first-stage", "1", "--out-of-sample", "0"]
    assert main([*base, "--out", str(tmp_path / "ef")]) == 0
    assert main([*base, "--engine", "mpi-sppy", "--processes", "2", "--out", str(tmp_path / "ph")]) == 0
    ef, ph = (json.loads((tmp_path / f / "stochastic.json").read_text()) for f in ("ef", "ph"))
    assert (tmp_path / "ef" / "first_stage.csv").read_text() == (tmp_path / "ph" / "first_stage.csv").read_text()
    assert ph["expected_objective"] == pytest.approx(ef["expected_objective"], rel=1e-6)
    assert ph["engine"]["name"] == "mpi-sppy" and ph["engine"]["convergence"] < 1e-4
