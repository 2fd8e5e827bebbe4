"""Measures and packages: exact parameter changes, costs, errors, and a ranking derived by hand."""

import pandas as pd
import pytest
import yaml
from conftest import ranking_instance, tiny

from planner.errors import InputError
from planner.instance.measures import apply_measures, apply_package

MEASURES = {
    "fast": {
        "start": "2024-02",
        "changes": [
            {"path": "case_types.x.hours_per_case", "op": "scale", "value": 0.5},
            {"path": "case_types.x.inflow", "op": "scale", "value": 0.8, "from_period": "2024-03"},
            {"path": "staff_pools.p.max_hires", "op": "add", "value": 2},
        ],
        "eur_one_off": 1000,
        "eur_per_period": 100,
    },
}


def test_measure_changes_exactly_the_derived_parameters():
    """'fast' (start 2024-02): hours per case 10 x 0.5 from 2024-02 = [10, 5, 5, 5]; inflow
    10 x 0.8 from 2024-03 = [10, 10, 8, 8]; max hires 0 + 2 from 2024-02 = [0, 2, 2, 2].
    Costs: one-off 1,000 in 2024-02 plus 100 a period from 2024-02: [0, 1,100, 100, 100]."""
    raw = tiny(case_types={"x": {"inflow": 10}}, measures=MEASURES)
    d = apply_measures(raw, ["fast"])
    assert d.s("case_types.x.hours_per_case") == [10, 5, 5, 5]
    assert d.s("case_types.x.inflow") == [10, 10, 8, 8]
    assert d.s("staff_pools.p.max_hires") == [0, 2, 2, 2]
    assert d.instance.in_force == ["fast"]
    assert d.measure_costs() == [0, 1100, 100, 100]
    untouched = apply_package(raw, "none")
    assert untouched.s("case_types.x.hours_per_case") == [10] * 4 and untouched.measure_costs() == [0] * 4


def test_measure_costs_enter_the_plan():
    import planner

    raw = tiny(case_types={"x": {"inflow": 10}}, measures=MEASURES)
    plan = planner.solve(apply_measures(raw, ["fast"]))
    costs = plan.tables["costs"]
    assert costs[costs.component == "measures"].eur.tolist() == pytest.approx([0, 1100, 100, 100])


@pytest.mark.parametrize(
    "measure, fragment",
    [
        ({"changes": [{"path": "case_types.x.persons_per_case", "op": "scale", "value": 0.5, "from_period": "2024-02"}]}, "needs a series field"),
        ({"changes": [{"path": "case_types.x.pool", "op": "scale", "value": 2}]}, "cannot scale"),
    ],
)
def test_bad_measures_name_the_measure(measure, fragment):
    raw = tiny(measures={"m": measure})
    with pytest.raises(InputError) as e:
        apply_measures(raw, ["m"])
    assert "measures.m.changes.0" in str(e.value) and fragment in str(e.value)


def _ranking_instance():
    """conftest.ranking_instance with a package 'both'.

    'outsource': 10 outsourced cases (at least 5 in 2024-03) bring overdue to 0.
    'productivity': 6.25 decisions a month: stock 3.75, 7.5, 11.25, 15 and overdue
    0, 0, 1.25, 5 (6.25 case-months).
    'both': 0. Ranking by overdue case-months: both = outsource (0) < productivity (6.25) < none (15).
    """
    raw = ranking_instance()
    raw["packages"] = {"both": ["outsource", "productivity"]}
    return raw


def test_package_comparison_ranks_as_derived(tmp_path):
    from planner.studies.compare import compare

    path = tmp_path / "rank.yaml"
    path.write_text(yaml.safe_dump(_ranking_instance()))
    table, plans = compare(path, ["none", "outsource", "productivity", "both"], tmp_path / "cmp")
    overdue = {name: plan.kpis["overdue_case_months"] for name, plan in plans.items()}
    assert overdue["none"] == pytest.approx(15, abs=1e-6)
    assert overdue["outsource"] == pytest.approx(0, abs=1e-6)
    assert overdue["productivity"] == pytest.approx(6.25, abs=1e-6)
    assert overdue["both"] == pytest.approx(0, abs=1e-6)
    assert plans["outsource"].kpis["outsourced_cases_total"] == pytest.approx(10, abs=1e-6)
    csv = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert list(csv.columns) == ["kpi", "unit", "status-quo", "none", "outsource", "productivity", "both"]
    row = csv[csv.kpi == "overdue case-months"].iloc[0]
    assert row["productivity"] == pytest.approx(6.25, abs=1e-6)
    md = (tmp_path / "cmp" / "comparison.md").read_text().splitlines()
    assert md[0] == "| KPI | unit | status-quo | none | outsource | productivity | both |"
    assert md[2].startswith("| waiting for a first decision | person-months | ")
    assert md[3].startswith("| overdue case-months | case-months | ")
    workbook = pd.read_excel(tmp_path / "cmp" / "comparison.xlsx", sheet_name="comparison")
    assert workbook.shape == csv.shape
    for name in ("status-quo", "none", "both"):
        assert (tmp_path / "cmp" / name / "kpis.json").exists()
    for png in ("overdue_per_month.png", "occupancy_vs_places.png", "cost_per_component.png"):
        assert (tmp_path / "cmp" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # comparison.html parses, links each run's report; each package's report is against the status quo
    from html.parser import HTMLParser

    page = (tmp_path / "cmp" / "comparison.html").read_text(encoding="utf-8")
    HTMLParser().feed(page)
    assert 'href="both/report.html"' in page and "cases past the legal deadline" in page
    report = (tmp_path / "cmp" / "both" / "report.html").read_text(encoding="utf-8")
    assert "status quo" in report and "Against the status quo" in report


def test_unknown_package_is_a_one_line_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "rank.yaml"
    path.write_text(yaml.safe_dump(_ranking_instance()))
    r = subprocess.run([sys.executable, "-m", "planner.cli", "compare", str(path), "--packages", "none,nope", "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown package 'nope'" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
