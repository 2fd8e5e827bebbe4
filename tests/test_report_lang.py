"""report.html's first screen, units in every table header, the run's metadata, and --lang nl in
the report, the workbook and the terminal (issue 16)."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
import pytest
from test_report import TINY_YAML

from planner.cli import main


class _Tables(HTMLParser):
    """Every table's class and header cells."""

    def __init__(self):
        super().__init__()
        self.tables: list[tuple[str, list[str]]] = []
        self._in_th = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append((dict(attrs).get("class") or "", []))
        elif tag == "th" and self.tables:
            self._in_th = True
            self.tables[-1][1].append("")

    def handle_endtag(self, tag):
        if tag == "th":
            self._in_th = False

    def handle_data(self, data):
        if self._in_th and self.tables:
            self.tables[-1][1][-1] += data


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The tiny instance solved in English and in Dutch with a --set change: (folders, stdout)."""
    tmp = tmp_path_factory.mktemp("lang")
    path = tmp / "tiny-report.yaml"
    path.write_text(TINY_YAML, encoding="utf-8")
    out = {}
    import contextlib
    import io

    for lang in ("en", "nl"):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = main(["solve", str(path), "--out", str(tmp / lang), "--lang", lang, "--set", "reception.occupancy_norm=0.95"])
        assert rc == 0
        out[lang] = (tmp / lang, buf.getvalue())
    return out


def test_first_screen_holds_the_decisions_and_kpis_before_the_figures(runs):
    page = (runs["en"][0] / "report.html").read_text(encoding="utf-8")
    now, kpis, figures, detail = (page.index(f'id="{a}"') for a in ("now", "kpis", "figures", "detail"))
    assert now < figures and kpis < figures < detail
    assert page.count("<details") >= 5 and page.index("<details") > figures  # the detail folds away
    assert "planner compare" in page[kpis:figures]  # how to see the status quo


def test_units_in_every_table_header(runs):
    """Each table of numbers has a unit column or a unit in each number column's header."""
    parser = _Tables()
    parser.feed((runs["en"][0] / "report.html").read_text(encoding="utf-8"))
    checked = 0
    for cls, header in parser.tables:
        if cls in ("assumptions", "meta-table") or not header:
            continue  # text, not numbers
        assert "unit" in header or all("(" in h for h in header[1:]), header
        checked += 1
    assert checked >= 4


def test_metadata_names_the_set_changes_and_the_package(runs, tmp_path):
    import planner
    from planner.outputs.report import render_html

    page = (runs["en"][0] / "report.html").read_text(encoding="utf-8")
    about = page[page.index('id="about"') :]
    assert "reception.occupancy_norm=0.95" in about and "planner version" in about
    import hashlib
    import re

    resolved = (runs["en"][0] / "instance.resolved.yaml").read_bytes()
    assert re.search(r"instance hash[^<]*</th><td class=code>([0-9a-f]{16})<", about).group(1) == hashlib.sha256(resolved).hexdigest()[:16]
    plan = planner.solve(planner.load_instance(runs["en"][0] / "instance.resolved.yaml"))
    plan.package = "letter"
    about = render_html(plan, command=["planner", "solve", "x.yaml", "--package", "letter"])
    about = about[about.index('id="about"') :]
    assert "package of measures</th><td class=code>letter" in about


def test_dutch_labels_in_report_workbook_and_terminal(runs):
    folder, stdout = runs["nl"]
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert '<html lang="nl">' in page
    for words in ("Nu te nemen besluiten", "Wat het plan oplevert", "Figuren", "Aannames van de instantie", "persoonsnachten", "miljoen EUR"):
        assert words in page, words
    assert "Decisions to take now" not in page and "person-nights" not in page
    sheets = pd.read_excel(folder / "plan.xlsx", sheet_name=None)
    assert list(sheets["KPIs"].columns) == ["KPI", "naam", "waarde", "eenheid"]
    assert "persoonsnachten" in set(sheets["KPIs"]["eenheid"])
    assert "besluit" in sheets["plan_quarter_totals"].columns
    assert "Rapport:" in stdout and "Nu (" in stdout and "persoonsnachten" in stdout
    en_out = runs["en"][1]
    assert en_out.count("\n") == 4 and "Report:" in en_out and "Now (" in en_out


def test_quiet_prints_nothing_on_success(tmp_path, capsys):
    path = tmp_path / "tiny-report.yaml"
    path.write_text(TINY_YAML, encoding="utf-8")
    assert main(["solve", str(path), "--out", str(tmp_path / "q"), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
