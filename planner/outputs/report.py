"""Readable outputs of a run folder: ``report.html`` and ``plan.xlsx``.

``report.html`` is one self-contained page for a policy officer (inline CSS, the figures embedded
as base64 PNG, no external links or scripts): what was run, the KPIs with units, the decisions
for the first quarter, the figures (:mod:`planner.outputs.plots`), the consequences for the chain
partners and the assumptions of the instance (its description and every line of the instance
file whose comment mentions an assumption).

``plan.xlsx`` has a front sheet ``KPIs`` (KPI, value, unit) and one sheet per table of the run
folder, header row bold and frozen.

Both are reproducible: no dates, no timings (``*_seconds`` KPIs are left out), PNGs without
software metadata, and the workbook's document dates and zip entry dates fixed, so the same plan
gives byte-identical files.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import re
import zipfile
from pathlib import Path

import pandas as pd

from planner.outputs import explainreport
from planner.outputs.kpitable import HEADLINE

REPORT_FILE = "report.html"
WORKBOOK_FILE = "plan.xlsx"
FIXED_TIME = dt.datetime(2000, 1, 1, 0, 0, 0)  # document and zip dates: reproducible bytes

# unit per KPI (a nested KPI's unit applies to every entry, unless the entry is named below)
UNITS = {
    "objective": "objective units",
    "stage_values": "objective units",
    "mip_gap": "share",
    "periods": "periods",
    "commit_periods": "periods",
    "overdue_case_months": "case-months",
    "overdue_case_months_by_type": "case-months",
    "end_stock_by_type": "cases",
    "notices_of_default_total": "notices",
    "crisis_person_nights": "person-nights",
    "unsheltered_person_nights": "person-nights",
    "permit_holder_months_over_norm": "person-months",
    "peak_occupancy": "persons",
    "peak_places_needed": "places",
    "total_cost_eur": "EUR",
    "budget_eur": "EUR",
    "budget_by_year_eur": "EUR",
    "cost_by_component": "EUR",
    "hires_total": "FTE",
    "waiting_person_months": "person-months",
    "overdue_person_months": "person-months",
    "waiting_person_months_by_type": "person-months",
    "tail_periods": "periods solved after the horizon, not reported",
    "outsourced_cases_total": "cases",
    "decided_total": "cases",
    "locations_opened": "locations",
    "locations_kept_open": "locations",
    "accelerated_placements_total": "persons",
    "housed_regular_total": "persons",
    "quota_realisation.quota": "persons",
    "quota_realisation.housed": "persons",
    "quota_realisation.realisation": "share",
    "dtv_new_rejections_total": "persons",
    "dtv_departures_total": "persons",
    "dtv_caseload_end": "persons",
    "nidos_wards_peak": "wards",
    "nidos_wards_average": "wards",
    "court_appeals_total": "appeals",
    "court_appeals_annulled_total": "persons",
    "returned_to_ind_total": "persons",
    "bntb_appeals_total": "appeals",
    "penalty_eur_total": "EUR",
}
HEADLINE_UNITS = {
    "waiting_person_months": "person-months",
    "overdue_case_months": "case-months",
    "crisis_person_nights": "person-nights",
    "unsheltered_person_nights": "person-nights",
    "permit_holder_months_over_norm": "person-months",
    "peak_occupancy": "persons",
    "peak_places_needed": "places",
    "total_cost_eur": "EUR million",
    "hires_total": "FTE",
    "outsourced_cases_total": "cases",
    "locations_opened": "locations",
    "accelerated_placements_total": "persons",
}
LABELS = {
    "objective": "objective value",
    "mip_gap": "MIP gap",
    "notices_of_default_total": "notices of default",
    "budget_eur": "budget over the horizon",
    "budget_by_year_eur": "budget by year",
    "decided_total": "cases decided",
    "locations_kept_open": "existing locations kept open past their planned close",
    "housed_regular_total": "permit holders housed regularly",
    "dtv_new_rejections_total": "DT&V: new rejections",
    "dtv_departures_total": "DT&V: departures from COA",
    "dtv_caseload_end": "DT&V: caseload at the end",
    "nidos_wards_peak": "Nidos: peak wards",
    "nidos_wards_average": "Nidos: average wards",
    "court_appeals_total": "courts: appeals against rejections",
    "court_appeals_annulled_total": "courts: appeals upheld (decision annulled, back to the IND)",
    "returned_to_ind_total": "IND: cases back (annulled appeals, failed transfers)",
    "bntb_appeals_total": "courts: appeals for failure to decide in time (BNTB)",
    "penalty_eur_total": "IND penalty payments",
    "commit_periods": "periods committed (decisions to take now)",
    "stage_values": "objective by stage",
    "overdue_case_months_by_type": "overdue case-months by case type",
    "end_stock_by_type": "stock at the end by case type",
    "cost_by_component": "cost by component",
    "quota_realisation": "housing quota realisation per half year",
}
IN_TITLE = ("instance", "objective_mode", "solver_status", "first_period", "last_period", "periods")
RUN_KINDS = {
    "weighted": "optimised plan (weighted objective)",
    "lexicographic": "optimised plan (lexicographic objective: unsheltered, then crisis shelter, then overruns, then cost)",
    "simulate": "status quo simulation (decisions follow the instance's rules; nothing optimised)",
}
# (partner, measure) -> label, unit, how a year is summed up: sum (a flow), last (a stock at the
# end of the year), mean
CHAIN_MEASURES = {
    ("IND", "notices_of_default"): ("notices of default", "notices", "sum"),
    ("IND", "penalty_eur"): ("penalty payments", "EUR", "sum"),
    ("DT&V", "new_rejections"): ("new rejections", "persons", "sum"),
    ("DT&V", "departures"): ("departures from COA", "persons", "sum"),
    ("DT&V", "caseload"): ("caseload (on the departure track in COA), end of year", "persons", "last"),
    ("DT&V", "to_departure_track"): ("reaching the departure track (no appeal, or appeal lost)", "persons", "sum"),
    ("DT&V", "left_at_once"): ("leaving COA at once (destination unknown)", "persons", "sum"),
    ("IND", "returned_to_ind"): ("cases back at the IND (annulled appeals, failed transfers)", "persons", "sum"),
    ("IND", "penalty_at_max_eur"): ("penalty payments at the legal maximum (upper bound)", "EUR", "sum"),
    ("COA", "in_appeal"): ("appellants in COA, end of year", "persons", "last"),
    ("COA", "awaiting_other_type"): ("rejected in COA awaiting another procedure, end of year", "persons", "last"),
    ("COA", "arrivals_after_grant"): ("relatives arriving in COA after the grant", "persons", "sum"),
    ("municipalities", "arrivals_after_grant_direct"): ("relatives arriving straight to family or housing", "persons", "sum"),
    ("courts", "appeals_pending"): ("appeals pending, end of year", "persons", "last"),
    ("courts", "appeals_decided"): ("appeals decided", "persons", "sum"),
    ("courts", "appeals_annulled"): ("appeals upheld (decision annulled)", "persons", "sum"),
    ("Nidos", "new_wards"): ("new wards", "wards", "sum"),
    ("Nidos", "wards"): ("wards, end of year", "wards", "last"),
    ("Nidos", "forecast_average"): ("forecast average wards", "wards", "mean"),
    ("courts", "appeals"): ("appeals against rejections", "appeals", "sum"),
    ("courts", "bntb_appeals"): ("appeals for failure to decide in time (BNTB)", "appeals", "sum"),
}


def _volatile(key: str) -> bool:
    """KPIs that differ between identical runs (timings): not in the reports."""
    return key.endswith("_seconds") or key in ("timings", "timing")


# --- KPIs ----------------------------------------------------------------------------------


def _unit(path: str) -> str:
    top = path.split(".")[0]
    generic = re.sub(r"\.[^.]+\.", ".", path)  # quota_realisation.2022-H1.quota -> quota_realisation.quota
    return UNITS.get(path) or UNITS.get(generic) or UNITS.get(top) or ("EUR" if top.endswith("_eur") else "")


def _flatten(key: str, value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(f"{key}.{k}", v)
    elif isinstance(value, (list, tuple)):
        yield key, "; ".join(str(v) for v in value)
    else:
        yield key, value


def flat_kpis(kpis: dict) -> list[tuple[str, object, str]]:
    """(KPI, value, unit) for every KPI of kpis.json, nested ones as dotted keys, timings left out."""
    rows = []
    for key, value in kpis.items():
        if _volatile(key):
            continue
        for path, v in _flatten(key, value):
            rows.append((path, v, _unit(path)))
    return rows


def fmt(value) -> str:
    """A number for people: thousands separators, few decimals; text as it is."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "infinite"
        if value == 0:
            return "0"
        if abs(value - round(value)) < 1e-6 * max(1.0, abs(value)) or abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:,.1f}"
        return f"{value:.3g}"
    return str(value)


# --- assumptions in the instance file --------------------------------------------------------

_KEY = re.compile(r"""^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>"[^"]*"|'[^']*'|[^\s#:'"{}\[\],][^#:{}\[\],]*?)\s*:(?:\s+|$)(?P<value>.*)$""")
_ASSUMPTION = re.compile(r"\bassum(ption|ed|e)s?\b", re.IGNORECASE)


def _split_comment(line: str) -> tuple[str, str]:
    """(code, comment) of a YAML line; a '#' starts a comment at the line start or after a blank,
    outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i], line[i + 1 :].strip()
    return line, ""


def assumptions(text: str) -> list[dict]:
    """Lines of an instance file whose comment mentions an assumption.

    Each: ``line`` (first line number), ``key`` (dotted path of the key on that line, or of the
    section a comment-only block stands in), ``value`` (the text after the key, or the continued
    value on that line; empty for a comment-only block) and ``comment``. Consecutive comment-only
    lines form one block (one entry, comments joined). The file's leading comment block (its
    header, before the first key) is not listed: it documents the file. Block scalars (``|``,
    ``>``) are skipped.
    """
    out: list[dict] = []
    stack: list[tuple[int, str]] = []  # (indent, key)
    block_indent: int | None = None  # inside a block scalar of a key at this indent
    seen_key = False
    comments: list[tuple[int, int, str]] = []  # pending comment-only block: (line, indent, text)

    def path(max_indent: int | None = None) -> str:
        return ".".join(k for i, k in stack if max_indent is None or i < max_indent)

    def flush() -> None:
        if comments and any(_ASSUMPTION.search(c) for _, _, c in comments):
            indent = comments[0][1]
            out.append({"line": comments[0][0], "key": path(indent) or "(top level)", "value": "", "comment": " ".join(c for _, _, c in comments)})
        comments.clear()

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if block_indent is not None:
            if not stripped or indent > block_indent:
                continue
            block_indent = None
        if not stripped or stripped == "---":
            flush()
            continue
        code, comment = _split_comment(line)
        if not code.strip():
            if seen_key:
                comments.append((number, indent, comment))
            continue
        flush()
        seen_key = True
        m = _KEY.match(code)
        if m:
            key_indent = indent + (len(m.group("dash")) if m.group("dash") else 0)
            while stack and stack[-1][0] >= key_indent:
                stack.pop()
            stack.append((key_indent, m.group("key").strip("'\"")))
            value = m.group("value").strip()
            if value[:1] in ("|", ">"):
                block_indent = key_indent
        else:
            value = code.strip()
        if comment and _ASSUMPTION.search(comment):
            out.append({"line": number, "key": path(), "value": value, "comment": comment})
    flush()
    return out


# --- HTML -----------------------------------------------------------------------------------

_CSS = """
body { font-family: "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222; margin: 0 auto;
       max-width: 1100px; padding: 1.5em 2em 4em; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 2px solid #1f77b4; padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin-top: 1.5em; }
.meta { color: #555; margin-top: 0; }
.description { background: #f4f7fb; border-left: 4px solid #1f77b4; padding: 0.6em 1em; }
.warning { background: #fff4e5; border-left: 4px solid #ff7f0e; padding: 0.6em 1em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #e3e3e3; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: bold; background: #fafafa; }
tr.group th { background: #e8eef6; text-align: left; }
td.code { font-family: Consolas, Menlo, monospace; font-size: 0.9em; word-break: break-all; max-width: 28em; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
nav ul { columns: 2; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[str]], numeric=frozenset(), row_classes=None, cls: str = "", col_classes=None) -> str:
    """An HTML table; cells are already-escaped HTML. ``numeric``: right-aligned columns."""
    col_classes = {**{i: "num" for i in numeric}, **(col_classes or {})}

    def attr(i):
        return f" class={col_classes[i]}" if i in col_classes else ""

    head = "".join(f"<th{attr(i)}>{h}</th>" for i, h in enumerate(header))
    body = []
    for r, row in enumerate(rows):
        klass = (row_classes or {}).get(r)
        cells = "".join(f"<td{attr(i)}>{c}</td>" for i, c in enumerate(row))
        body.append(f'<tr{f" class={klass}" if klass else ""}>{cells}</tr>')
    return f'<table{f" class={cls}" if cls else ""}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _kpi_section(kpis: dict) -> str:
    rows, classes = [], {}
    shown = set()
    classes[len(rows)] = "group"
    rows.append(["<b>Headline</b>", "", ""])
    for key, label, scale in HEADLINE:
        if key not in kpis:
            continue
        shown.add(key)
        label = re.sub(r"\s*\([^)]*\)$", "", label)  # the unit has its own column
        v = kpis[key]
        value = fmt(v / scale) if isinstance(v, (int, float)) and not isinstance(v, bool) and scale != 1 else fmt(v)
        rows.append([_e(label), _e(value), _e(HEADLINE_UNITS.get(key, _unit(key)))])
    other = [(k, v) for k, v in kpis.items() if k not in shown and k not in IN_TITLE and not _volatile(k) and not isinstance(v, (dict, list))]
    if other:
        classes[len(rows)] = "group"
        rows.append(["<b>Other KPIs</b>", "", ""])
        for k, v in other:
            value = "none (no cap)" if k == "budget_eur" and v is None else fmt(v)
            rows.append([_e(LABELS.get(k, k.replace("_", " "))), _e(value), _e(_unit(k))])
    nested = [(k, v) for k, v in kpis.items() if isinstance(v, dict) and v and not _volatile(k)]
    for k, v in nested:
        classes[len(rows)] = "group"
        rows.append([f"<b>{_e(LABELS.get(k, k.replace('_', ' ')))}</b>", "", ""])
        for path, value in _flatten(k, v):
            rows.append([_e(path[len(k) + 1 :].replace(".", " / ").replace("_", " ")), _e(fmt(value)), _e(_unit(path))])
    html_rows = "".join(
        f'<tr class=group><th colspan=3>{r[0]}</th></tr>' if classes.get(i) == "group" else f"<tr><td>{r[0]}</td><td class=num>{r[1]}</td><td>{r[2]}</td></tr>"
        for i, r in enumerate(rows)
    )
    return f'<table class=kpis><thead><tr><th>KPI</th><th class=num>value</th><th>unit</th></tr></thead><tbody>{html_rows}</tbody></table>'


def _quarter_section(plan_quarter: pd.DataFrame) -> str:
    if plan_quarter is None or plan_quarter.empty:
        return "<p>No decisions in the first periods.</p>"
    cols = list(plan_quarter.columns)
    rows, classes = [], {}
    for i, rec in enumerate(plan_quarter.itertuples(index=False)):
        cells = []
        for c, v in zip(cols, rec):
            if isinstance(v, float) and math.isnan(v):
                v = ""
            cells.append(_e(fmt(v) if c == "value" else v))
        rows.append(cells)
        if "item" in cols and rec[cols.index("item")] == "total":
            classes[i] = "total"
    numeric = {cols.index("value")} if "value" in cols else set()
    return _table([_e(c) for c in cols], rows, numeric, classes)


def _chain_section(chain: pd.DataFrame, kpis: dict) -> str:
    if chain is None or chain.empty:
        return "<p>No chain consequences in this run.</p>"
    c = chain.assign(year=chain["period"].astype(str).str[:4])
    years = sorted(c.year.unique())
    rows = []
    for (partner, measure), g in c.groupby(["partner", "measure"], sort=False):
        label, unit, how = CHAIN_MEASURES.get((partner, measure), (measure.replace("_", " "), "", "sum"))

        def agg(frame):
            v = frame["value"]
            return float(v.sum() if how == "sum" else v.iloc[-1] if how == "last" else v.mean())

        per_year = [fmt(agg(g[g.year == y])) if (g.year == y).any() else "" for y in years]
        total = fmt(agg(g))
        rows.append([_e(partner), _e(label), _e(unit), *(_e(v) for v in per_year), _e(total)])
    header = ["partner", "measure", "unit", *(_e(y) for y in years), "whole horizon"]
    numeric = set(range(3, 4 + len(years)))
    note = (
        "<p>Flows are summed over the year (and the horizon); stocks are at the end of the year (of the horizon); "
        "averages are averaged. These are consequences counted from the plan, not decisions.</p>"
    )
    return note + _table(header, rows, numeric)


def _assumption_section(plan) -> str:
    d = plan.data
    parts = []
    desc = (getattr(d.instance, "description", "") or "").strip()
    parts.append(f'<div class=description><b>Description.</b> {_e(desc) if desc else "(the instance has no description)"}</div>')
    source = getattr(d, "source", None)
    if source is None:
        parts.append("<p>The source file of this instance is unknown (it was not read from a file), so its assumption comments cannot be listed.</p>")
        return "".join(parts)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as e:
        parts.append(f"<p>The instance file {_e(source)} could not be read ({_e(e.strerror or e)}), so its assumption comments cannot be listed.</p>")
        return "".join(parts)
    found = assumptions(text)
    parts.append(
        f"<p>Every line of the instance file <code>{_e(Path(source).name)}</code> whose comment states an assumption "
        f"({len(found):,} found). Values are as written in the file; changes made with <code>--set</code> or by measures "
        "put in force are in <code>instance.resolved.yaml</code>.</p>"
    )
    if found:
        rows = [[_e(a["line"]), _e(a["key"]), _e(a["value"]), _e(a["comment"])] for a in found]
        parts.append(_table(["line", "key", "value", "comment"], rows, {0}, cls="assumptions", col_classes={1: "code", 2: "code"}))
    return "".join(parts)


def _figures(plan) -> list[tuple[str, str, bytes]]:
    """(title, caption, PNG bytes) of the report's figures."""
    from planner.outputs import plots

    t = plan.tables
    norm = plan.data.instance.reception.occupancy_norm if plan.data is not None else None
    out = []
    if "reception" in t and len(t["reception"]):
        out.append(
            (
                "Occupancy against places open",
                "Persons with a right to reception (black) against the usable capacity: the occupancy norm times the places open (blue). "
                "Whoever does not fit is in crisis emergency shelter (orange) or has no place at all (red). "
                "The dotted lines are the same comparison in places: places needed (occupancy / norm) and places open.",
                plots.png_bytes(plots.occupancy(t, norm=norm)),
            )
        )
    if "ind_cases" in t and len(t["ind_cases"]):
        out.append(("Overdue cases", "IND cases older than their legal deadline at the end of each period (oldest decided first).", plots.png_bytes(plots.overdue_by_type(t))))
        out.append(("Case stocks", "IND cases waiting for a decision at the end of each period.", plots.png_bytes(plots.stocks_by_type(t))))
    if "costs" in t and len(t["costs"]):
        caption = "Cost per component and calendar year, EUR million; the number above a bar is its total."
        if float(t["reception"]["unsheltered"].sum()) > 0 if "reception" in t else False:
            caption += " Unsheltered persons cost nothing in this accounting: a plan that leaves people without a place looks cheaper than it is."
        out.append(("Cost per component", caption, plots.png_bytes(plots.cost_by_year(t))))
    return out


def render_html(plan) -> str:
    k = plan.kpis
    d = plan.data
    name = k.get("instance") or getattr(d, "name", "run")
    mode = k.get("objective_mode", "")
    kind = RUN_KINDS.get(mode, mode or "run")
    grain = getattr(getattr(d, "grid", None), "grain", None) or ("week" if "-W" in str(k.get("first_period", "")) else "month")
    periods = k.get("periods")
    horizon = f"{k.get('first_period', '?')} to {k.get('last_period', '?')} ({fmt(periods)} {grain}s)" if periods else "unknown"
    meta = [f"Run: {kind}.", f"Horizon: {horizon}."]
    if "solver_status" in k:
        status = f"Solver status: {k['solver_status']}"
        if mode != "simulate" and isinstance(k.get("mip_gap"), (int, float)):
            status += f", MIP gap {k['mip_gap']:.2%}"
        meta.append(status + ".")
    in_force = list(getattr(getattr(d, "instance", None), "in_force", []) or [])
    if in_force:
        meta.append(f"Measures in force: {', '.join(in_force)}.")
    if "commit_periods" in k:
        meta.append(f"Decisions to take now: the first {fmt(k['commit_periods'])} periods.")

    sections = []
    warnings = k.get("warnings") or []
    if warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
        sections.append(f"<div class=warning><b>Warnings</b><ul>{items}</ul></div>")
    sections.append(f'<h2 id="kpis">Key figures</h2>{_kpi_section(k)}')
    sections.append(
        f'<h2 id="quarter">Decisions for the first periods</h2><p>The decisions to take now (the plan looks further ahead but commits only these). '
        f"Each group is closed by a total row.</p>{_quarter_section(plan.tables.get('plan_quarter'))}"
    )
    sections.extend(explainreport.section(plan.tables))  # planner solve --explain
    figs = []
    for title, caption, png in _figures(plan):
        data = base64.b64encode(png).decode("ascii")
        figs.append(f'<figure><h3>{_e(title)}</h3><img src="data:image/png;base64,{data}" alt="{_e(title)}"><figcaption>{_e(caption)}</figcaption></figure>')
    sections.append('<h2 id="figures">Figures</h2>' + "".join(figs))
    sections.append(f'<h2 id="chain">Consequences for the chain partners</h2>{_chain_section(plan.tables.get("chain"), k)}')
    sections.append(f'<h2 id="assumptions">Assumptions of the instance</h2>{_assumption_section(plan)}')

    nav = (
        "<nav><ul>"
        '<li><a href="#kpis">Key figures</a></li><li><a href="#quarter">Decisions for the first periods</a></li>'
        + explainreport.nav(plan.tables)
        + '<li><a href="#figures">Figures</a></li><li><a href="#chain">Consequences for the chain partners</a></li>'
        '<li><a href="#assumptions">Assumptions of the instance</a></li></ul></nav>'
    )
    title = f"Capacity plan {name}: {kind}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n<p class=meta>{_e(' '.join(meta))}</p>\n{nav}\n"
        + "\n".join(sections)
        + "\n<footer>Written by planner together with the CSV files of this run folder (the same numbers, unrounded); "
        "kpis.json holds every KPI, instance.resolved.yaml the instance as solved.</footer>\n</body></html>\n"
    )


# --- workbook -------------------------------------------------------------------------------


def _sheet_names(names) -> dict[str, str]:
    out, used = {}, {"kpis"}
    for n in names:
        base = re.sub(r"[\[\]:*?/\\]", "_", str(n))[:31] or "sheet"
        name, i = base, 1
        while name.lower() in used:
            suffix = f"_{i}"
            name, i = base[: 31 - len(suffix)] + suffix, i + 1
        used.add(name.lower())
        out[n] = name
    return out


def _format_sheet(ws, frame: pd.DataFrame) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
    ws.freeze_panes = "A2"
    for i, col in enumerate(frame.columns, 1):
        values = frame[col].head(500)
        if pd.api.types.is_float_dtype(values):
            texts = [f"{float(v):,.2f}" for v in values if not pd.isna(v)]
            for row in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                for cell in row:
                    cell.number_format = "#,##0.00"
        else:
            texts = [str(v) for v in values if not pd.isna(v)]
        width = max([len(str(col)) + 2] + [len(t) + 2 for t in texts])
        ws.column_dimensions[get_column_letter(i)].width = min(max(width, 8), 60)


def _normalise_zip(data: bytes) -> bytes:
    """The same xlsx with fixed entry dates and a fixed document 'modified' date (openpyxl stamps
    both with the current time)."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                text = re.sub(r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rf"\g<1>{stamp}\g<2>", text)
                text = re.sub(r"(<dcterms:created[^>]*>)[^<]*(</dcterms:created>)", rf"\g<1>{stamp}\g<2>", text)
                body = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, body)
    return out.getvalue()


def _as_written(frame: pd.DataFrame) -> pd.DataFrame:
    """Floats rounded to 6 decimals as in the CSVs (and -0.0 as 0.0)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(6) + 0.0
    return out


def kpi_frame(kpis: dict) -> pd.DataFrame:
    return pd.DataFrame(flat_kpis(kpis), columns=["KPI", "value", "unit"])


def workbook_bytes(plan) -> bytes:
    """plan.xlsx: sheet 'KPIs' (KPI, value, unit), then one sheet per table."""
    buf = io.BytesIO()
    kpis = kpi_frame(plan.kpis)
    names = _sheet_names(plan.tables)
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        book = writer.book
        book.properties.creator = "planner"
        book.properties.created = FIXED_TIME
        book.properties.modified = FIXED_TIME
        kpis.to_excel(writer, sheet_name="KPIs", index=False)
        _format_sheet(writer.sheets["KPIs"], kpis)
        for table, frame in plan.tables.items():
            frame = _as_written(frame)
            frame.to_excel(writer, sheet_name=names[table], index=False)
            _format_sheet(writer.sheets[names[table]], frame)
    return _normalise_zip(buf.getvalue())


# --- entry points ---------------------------------------------------------------------------


def report_files(plan, html: bool = True, xlsx: bool = True) -> dict[str, str | bytes]:
    """{'report.html': text, 'plan.xlsx': bytes}: what ``Plan.write`` adds to the run folder
    (``html``/``xlsx`` False: that file is not built)."""
    out: dict[str, str | bytes] = {}
    if html:
        out[REPORT_FILE] = render_html(plan)
    if xlsx:
        out[WORKBOOK_FILE] = workbook_bytes(plan)
    return out


def write_reports(plan, folder) -> None:
    """Write report.html and plan.xlsx of ``plan`` into an existing ``folder``."""
    folder = Path(folder)
    for name, content in report_files(plan).items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
