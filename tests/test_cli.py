"""End to end: the CLI and the Python API write the run folder the README describes."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import tiny

import planner

COLUMNS = {
    "ind_cases": ["period", "case_type", "inflow", "inflow_returned", "decided_internal", "decided_outsourced", "stock", "overdue"],
    "staff": ["period", "pool", "hires", "trainees", "productive_fte", "external_fte", "productive_hours"],
    "reception": ["period", "occupancy", "places_open", "places_needed", "crisis", "unsheltered"],
    "locations": ["location", "region", "type", "places", "existing", "opened", "open_from", "open_until"],
    "placement": ["period", "region", "linked", "housed_regular", "accelerated", "waiting", "overdue"],
    "costs": ["period", "component", "eur"],
}
KPIS = [
    "solver_status", "objective", "mip_gap", "overdue_case_months",
    "overdue_case_months_by_type", "end_stock_by_type", "crisis_person_nights", "unsheltered_person_nights",
    "permit_holder_months_over_norm", "peak_occupancy", "peak_places_needed", "total_cost_eur", "budget_eur",
    "cost_by_component", "hires_total", "outsourced_cases_total", "locations_opened", "accelerated_placements_total",
]


def _instance(tmp_path, **over):
    raw = tiny(
        case_types={"x": {"inflow": 5, "waits_in_coa": True, "grant_share": 0.5, "grants_need_housing": True}},
        staff_pools={"p": {"start_fte": 1}},
        location_types={"t": {"eur_per_place_year": 1000, "lead_months": 1}},
        locations={
            "old": {"region": "A", "type": "t", "places": 10, "status": "existing"},
            "new": {"region": "A", "type": "t", "places": 10, "status": "candidate"},
        },
        reception={"other_groups": {"g": [1, 2, 3, 4]}},
        **over,
    )
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _run(*args):
    return subprocess.run([sys.executable, "-m", "planner.cli", *args], capture_output=True, text=True)


def test_solve_writes_the_run_folder(tmp_path):
    path = _instance(tmp_path)
    out = tmp_path / "run"
    r = _run("solve", str(path), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "optimal" in r.stdout
    for name, columns in COLUMNS.items():
        frame = pd.read_csv(out / f"{name}.csv")
        assert list(frame.columns[: len(columns)]) == columns, name
    reception = pd.read_csv(out / "reception.csv")
    assert "g" in reception.columns and "asylum_process" in reception.columns  # one column per group
    assert reception.period.tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    kpis = json.loads((out / "kpis.json").read_text())
    assert set(KPIS) <= set(kpis)
    assert kpis["solver_status"] == "optimal"
    timings = json.loads((out / "timings.json").read_text())  # kept out of kpis.json (determinism)
    assert {"build_seconds", "solve_seconds"} <= set(timings) and "solve_seconds" not in kpis
    resolved = yaml.safe_load((out / "instance.resolved.yaml").read_text())
    assert resolved["case_types"]["x"]["inflow"] == [5, 5, 5, 5]  # series written out per period
    assert resolved["reception"]["other_groups"]["g"] == [1, 2, 3, 4]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]  # no temporary folder left


def test_validate_and_schema(tmp_path):
    r = _run("validate", str(_instance(tmp_path)))
    assert r.returncode == 0
    assert "4 month periods 2024-01..2024-04" in r.stdout and "1 case types (x)" in r.stdout
    r = _run("schema")
    schema = json.loads(r.stdout)
    assert {"horizon", "regions", "case_types", "staff_pools"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_python_api(tmp_path):
    d = planner.load_instance(_instance(tmp_path))
    plan = planner.solve(d, objective="lexicographic")
    assert isinstance(plan.kpis, dict) and plan.kpis["objective_mode"] == "lexicographic"
    assert isinstance(plan.tables["ind_cases"], pd.DataFrame)
    folder = plan.write(tmp_path / "api-run")
    assert (folder / "kpis.json").exists()


def test_failed_run_keeps_the_previous_folder(tmp_path):
    """An infeasible plan (budget EUR 1 below the fixed cost of the existing location: 10 places x
    EUR 1,000 a year x 4/12 = EUR 3,333) exits 3 and leaves the earlier run folder as it was."""
    out = tmp_path / "run"
    assert _run("solve", str(_instance(tmp_path)), "--out", str(out)).returncode == 0
    before = (out / "kpis.json").read_text()
    r = _run("solve", str(_instance(tmp_path, budget={"total_eur": 1})), "--out", str(out))
    assert r.returncode == 3
    assert "infeasible" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (out / "kpis.json").read_text() == before


@pytest.mark.parametrize("args", [["solve", "x.yaml", "--time-limit", "-1"], ["solve", "x.yaml", "--objective", "best"], ["frobnicate"]])
def test_bad_command_line(args):
    r = _run(*args)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_simulate_and_kpis_side_by_side(tmp_path):
    path = _instance(tmp_path)
    assert _run("simulate", str(path), "--out", str(tmp_path / "sq")).returncode == 0
    assert _run("solve", str(path), "--out", str(tmp_path / "opt"), "--set", "case_types.x.inflow*=2").returncode == 0
    for name in ("chain.csv", "plan_quarter.csv"):
        assert (tmp_path / "sq" / name).exists() and (tmp_path / "opt" / name).exists()
    r = _run("kpis", str(tmp_path / "sq"), str(tmp_path / "opt"))
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "| KPI | sq | opt |"
    assert any(line.startswith("| overdue case-months |") for line in lines)
    assert _run("kpis", str(tmp_path / "nothing")).returncode == 2
