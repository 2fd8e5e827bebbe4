"""report.html and plan.xlsx of a run folder, and the plots behind them (tiny instances)."""

from __future__ import annotations

import base64
import json
import math
from html.parser import HTMLParser

import pandas as pd
import pytest
from conftest import plan_of, tiny

import planner
from planner.outputs import labels, plots
from planner.outputs.kpitable import HEADLINE
from planner.outputs.report import assumptions, flat_kpis, fmt, render_html
from planner.outputs.runfolder import TABLE_FILES

# A tiny instance file with assumption comments: on a key line, on a continued value, in a
# comment-only block of two lines, in the header (not listed) and inside a block scalar (not a
# comment, not listed). The description carries markup that must come out escaped.
TINY_YAML = """\
# tiny-report: a tiny instance for the report tests
# (header comment; an assumption here documents the file and is not listed)
name: tiny-report
description: |
  A tiny <b>test</b> chain & one region.
  # assumption: inside a block scalar, not a comment
horizon: {start: '2024-01', periods: 4, grain: month}   # assumption: four months suffice
regions:
  A: {population: 1, crisis_capacity: 2}
case_types:
  x:
    pool: p
    inflow: [5, 6,   # assumption: rising inflow
             7, 8]
    hours_per_case: 10
    grant_share: 0.5
    waits_in_coa: true
    grants_need_housing: true
    deadline_months: 1
    start_stock: 12                 # assumption: a stock of twelve "old" cases #1
    pre_horizon_inflow: [3, 3, 3, 3]
staff_pools:
  p: {start_fte: 1, hours_per_fte_year: 1200, eur_per_fte_year: 0}
location_types:
  t: {eur_per_place_year: 1000, lead_months: 1}
locations:
  old: {region: A, type: t, places: 10, status: existing}
  new: {region: A, type: t, places: 10, status: candidate}
reception:
  occupancy_norm: 1
  # Assumption: nobody else lives in reception;
  # this line continues the same comment.
  other_groups: {g: [1, 2, 3, 4]}
"""


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: dict[str, int] = {}
        self.images: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        for key in ("href", "src"):
            if key in a and tag != "img":
                self.links.append(a[key])

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The tiny instance solved and written: (run folder, plan, instance path)."""
    tmp = tmp_path_factory.mktemp("report")
    path = tmp / "tiny-report.yaml"
    path.write_text(TINY_YAML, encoding="utf-8")
    plan = planner.solve(planner.load_instance(path))
    return plan.write(tmp / "run"), plan, path


def _page(folder) -> _Page:
    page = _Page()
    page.feed((folder / "report.html").read_text(encoding="utf-8"))
    page.close()
    return page


def test_run_folder_has_report_and_workbook(run):
    folder, _, _ = run
    assert (folder / "report.html").stat().st_size > 1000
    assert (folder / "plan.xlsx").read_bytes()[:2] == b"PK"


def test_workbook_has_kpis_and_every_table(run):
    folder, _, _ = run
    sheets = pd.read_excel(folder / "plan.xlsx", sheet_name=None)
    assert list(sheets)[0] == "KPIs"
    kpi_sheet = sheets["KPIs"]
    assert list(kpi_sheet.columns) == ["KPI", "name", "value", "unit"]
    got = dict(zip(kpi_sheet.KPI, kpi_sheet.value))
    kpis = json.loads((folder / "kpis.json").read_text(encoding="utf-8"))
    expected = flat_kpis(kpis)
    assert len(expected) == len(kpi_sheet)
    for key, value, _ in expected:
        assert key in got, key
        if isinstance(value, bool) or value is None or value == "":
            continue
        if isinstance(value, (int, float)):
            assert float(got[key]) == pytest.approx(value, rel=1e-9, abs=1e-9), key
        else:
            assert str(got[key]) == str(value), key
    assert got["overdue_case_months"] == pytest.approx(kpis["overdue_case_months"])
    units = dict(zip(kpi_sheet.KPI, kpi_sheet.unit))
    assert units["total_cost_eur"] == "EUR million" and units["crisis_person_nights"] == "person-nights"
    assert got["total_cost_eur"] == pytest.approx(kpis["total_cost_eur"] / 1e6)
    totals = sheets["plan_quarter_totals"]
    assert list(totals.columns) == ["decision", "value", "unit"]
    assert "FTE per month (average)" in set(totals.unit)
    for name in TABLE_FILES:
        csv = pd.read_csv(folder / f"{name}.csv")
        sheet = sheets[name]
        assert list(sheet.columns) == list(csv.columns), name
        assert len(sheet) == len(csv), name
        for column in csv.select_dtypes("number").columns:
            assert sheet[column].fillna(0).tolist() == pytest.approx(csv[column].fillna(0).tolist(), abs=1e-6), (name, column)


def test_workbook_header_bold_and_frozen(run):
    from openpyxl import load_workbook

    folder, _, _ = run
    wb = load_workbook(folder / "plan.xlsx")
    for ws in wb.worksheets:
        assert len(ws.title) <= 31
        assert ws.freeze_panes == "A2", ws.title
        assert all(cell.font.b for cell in ws[1] if cell.value is not None), ws.title
        assert ws.column_dimensions["A"].width >= 8


def test_html_is_self_contained_with_kpis_plots_and_tables(run):
    folder, plan, _ = run
    html_text = (folder / "report.html").read_text(encoding="utf-8")
    page = _page(folder)
    text = " ".join(page.text)
    assert page.tags.get("table", 0) >= 4  # KPIs, quarterly plan, chain, assumptions
    assert page.tags.get("details", 0) >= 5  # the detail folds away
    assert page.tags.get("script", 0) == 0 and page.tags.get("link", 0) == 0
    assert all(link.startswith("#") for link in page.links), page.links
    assert "http://" not in html_text and "https://" not in html_text
    # title: instance, run kind, horizon
    assert "tiny-report" in text and "weighted" in text and "2024-01 to 2024-04" in text
    # KPI table: every headline KPI with its value as shown (thousands separators) and its unit
    kpis = plan.kpis
    for key, _, scale in HEADLINE:
        assert labels.kpi_label(key) in text, key
        assert fmt(kpis[key] / scale if scale != 1 else kpis[key]) in text, key
        assert labels.unit(key) in text, key
    # images: embedded PNGs, at least the four figures
    assert len(page.images) >= 4
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # the quarterly plan and the chain partners
    assert "Decisions to take now" in text and "Consequences for the chain partners" in text
    quarter = pd.read_csv(folder / "plan_quarter.csv")
    assert "total" not in set(quarter["item"])  # totals apart from the rows
    for decision in quarter.decision.unique():
        assert labels.t(f"dec.{decision}") in text


def test_html_lists_the_assumptions_escaped(run):
    folder, _, _ = run
    html_text = (folder / "report.html").read_text(encoding="utf-8")
    text = " ".join(_page(folder).text)
    assert "A tiny &lt;b&gt;test&lt;/b&gt; chain &amp; one region." in html_text  # description, escaped
    assert "<b>test</b>" not in html_text
    assert "assumption: four months suffice" in text
    assert "horizon" in text and "{start: '2024-01', periods: 4, grain: month}" in text
    # grouped by the file's sections: case_types (2), the key within the section
    assert "case_types (2)" in text and "x.inflow" in text and "assumption: rising inflow" in text
    assert "x.start_stock" in text and 'assumption: a stock of twelve "old" cases #1' in text
    assert "Assumption: nobody else lives in reception; this line continues the same comment." in text
    assert html_text.count("inside a block scalar") == 1  # in the description only, not as an assumption
    assert "header comment" not in text


def test_assumptions_parser():
    found = assumptions(TINY_YAML)
    by_line = {a["line"]: a for a in found}
    keys = [a["key"] for a in found]
    assert keys == ["horizon", "case_types.x.inflow", "case_types.x.start_stock", "reception"]
    assert by_line[13]["value"] == "[5, 6,"
    assert by_line[20]["value"] == "12"
    assert by_line[20]["comment"] == 'assumption: a stock of twelve "old" cases #1'
    assert not any("block scalar" in a["comment"] for a in found)
    # a '#' inside quotes is not a comment; list items and quoted keys
    more = assumptions("a:\n  'k#1': \"v # not a comment\"  # assumed\nl:\n  - b: 1  # assumption: item\n")
    assert [(a["key"], a["value"], a["comment"]) for a in more] == [
        ("a.k#1", '"v # not a comment"', "assumed"),
        ("l.b", "1", "assumption: item"),
    ]


def test_html_says_when_the_source_is_unknown():
    plan = plan_of(tiny(case_types={"x": {"inflow": 2}}, staff_pools={"p": {"start_fte": 1}}))
    assert plan.data.source is None
    page = render_html(plan)
    assert "was not read from a file" in page
    assert "Assumptions of the instance" in page


def test_reports_are_byte_identical_when_written_twice(run, tmp_path):
    folder, plan, _ = run
    again = plan.write(tmp_path / "again")
    for name in ("report.html", "plan.xlsx", "kpis.json", *(f"{t}.csv" for t in TABLE_FILES)):
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name


def _tables_with_overdue(scale: float) -> dict:
    labels = ["2024-01", "2024-02", "2024-03"]
    ind = pd.DataFrame(
        [{"period": p, "case_type": k, "stock": 10 * scale, "overdue": i * scale} for k in ("a", "b") for i, p in enumerate(labels)]
    )
    reception = pd.DataFrame(
        {
            "period": labels,
            "occupancy": [90.0, 100.0, 120.0],
            "places_open": [100.0, 100.0, 100.0],
            "places_needed": [100.0, 111.111111, 133.333333],
            "crisis": [0.0, 5.0 * scale, 10.0],
            "unsheltered": [0.0, 5.0, 20.0 * scale],
        }
    )
    costs = pd.DataFrame([{"period": p, "component": c, "eur": 1e6 * scale} for p in labels for c in ("staff_internal", "locations_running", "outsourcing")])
    costs.loc[costs.component == "outsourcing", "eur"] = 0.0
    return {"ind_cases": ind, "reception": reception, "costs": costs}


def test_comparison_plots_have_one_series_per_run():
    runs = {"package A": _tables_with_overdue(1.0), "package B": _tables_with_overdue(2.0)}
    fig = plots.overdue_by_run(runs)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["package A", "package B"]
    assert list(ax.get_lines()[1].get_ydata()) == [0.0, 4.0, 8.0]  # both case types summed
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-01", "2024-02", "2024-03"]

    fig = plots.occupancy_by_run(runs)
    panels = [a for a in fig.axes if a.get_visible() and a.get_title()]
    assert [a.get_title() for a in panels] == ["package A", "package B"]
    assert all(len(a.get_lines()) == 4 for a in panels)  # occupancy, capacity, places open, places needed

    fig = plots.cost_by_run(runs)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == ["locations running", "staff internal"]  # all-zero components left out
    assert len(ax.patches) == 2 * 2  # 2 runs x 1 year x 2 components
    totals = sorted(p.get_height() for p in ax.patches)
    assert totals == pytest.approx([3.0, 3.0, 6.0, 6.0])  # EUR million per year

    fig = plots.overdue_by_type(runs["package A"])
    assert len(fig.axes[0].get_lines()) == 2
    png = plots.png_bytes(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == plots.png_bytes(fig)


def test_plots_on_a_week_grid():
    raw = tiny(horizon={"start": "2024-W01", "periods": 30, "grain": "week"}, case_types={"x": {"inflow": 3}}, staff_pools={"p": {"start_fte": 1}})
    plan = plan_of(raw)
    for fig in (plots.overdue_by_type(plan.tables), plots.stocks_by_type(plan.tables), plots.occupancy(plan.tables), plots.cost_by_year(plan.tables)):
        assert plots.png_bytes(fig)[:4] == b"\x89PNG"
    labels = [t.get_text() for t in plots.overdue_by_type(plan.tables).axes[0].get_xticklabels()]
    assert labels[0] == "2024-W01" and len(labels) <= 12
    assert not math.isnan(plan.kpis["overdue_case_months"])
