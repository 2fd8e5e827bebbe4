"""Readable outputs of a run folder: ``report.html`` and ``plan.xlsx``.

``report.html`` is one self-contained page for a policy officer (inline CSS, the figures embedded
as base64 PNG, no external links or scripts; :mod:`planner.outputs.page`). Its first screen
(1400 x 900) holds the decisions to take now (hires, external staff, retraining, outsourcing, sites
to open or keep open with their region names, placements) and the headline KPIs with units
(against the status quo when ``planner compare`` ran it, otherwise with the command that does), and
the warnings; then the figures (:mod:`planner.outputs.plots`), two per row; then the detail,
folded in ``<details>``: decisions by region, every decision per period, every KPI, the chain
partners, the instance's assumptions grouped by section of the file, and the run's metadata
(version, command, ``--set`` changes, package, instance hash). Every word comes from
:mod:`planner.outputs.labels` (``lang``: en or nl); the instance's own names stay as written.

``plan.xlsx`` has a front sheet ``KPIs`` (KPI, name, value, unit; EUR in millions),
``plan_quarter_totals`` and one sheet per table of the run folder, header row bold and frozen,
integers as integers.

Both are reproducible: no dates, no timings (``*_seconds`` KPIs are left out), PNGs without
software metadata, and the workbook's document dates and zip entry dates fixed, so the same plan
gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import re
import zipfile
from pathlib import Path

import pandas as pd

from planner.outputs import explainreport
from planner.outputs import labels as L
from planner.outputs.kpitable import HEADLINE
from planner.outputs.page import details as _details
from planner.outputs.page import e as _e
from planner.outputs.page import figures as _figure_grid
from planner.outputs.page import frame as page_frame
from planner.outputs.page import table as _table
from planner.outputs.quarter import totals

REPORT_FILE = "report.html"
WORKBOOK_FILE = "plan.xlsx"
FIXED_TIME = dt.datetime(2000, 1, 1, 0, 0, 0)  # document and zip dates: reproducible bytes

IN_TITLE = ("instance", "objective_mode", "solver_status", "first_period", "last_period", "periods")
# (partner, measure) -> (English, Dutch) label, unit key, how a year is summed up: sum (a flow),
# last (a stock at the end of the year), mean
CHAIN_MEASURES = {
    ("IND", "notices_of_default"): (("notices of default", "ingebrekestellingen"), "notices", "sum"),
    ("IND", "penalty_eur"): (("penalty payments", "dwangsommen"), "eur", "sum"),
    ("DT&V", "new_rejections"): (("new rejections", "nieuwe afwijzingen"), "persons", "sum"),
    ("DT&V", "departures"): (("departures from COA", "vertrek uit het COA"), "persons", "sum"),
    ("DT&V", "caseload"): (("caseload in COA", "caseload in het COA"), "persons", "last"),
    ("DT&V", "to_departure_track"): (("reaching the departure track", "naar het vertrekspoor"), "persons", "sum"),
    ("DT&V", "left_at_once"): (("leaving COA at once (destination unknown)", "direct vertrokken (bestemming onbekend)"), "persons", "sum"),
    ("IND", "returned_to_ind"): (("cases back at the IND", "zaken terug bij de IND"), "persons", "sum"),
    ("IND", "penalty_at_max_eur"): (("penalty payments at the legal maximum", "dwangsommen bij het wettelijk maximum"), "eur", "sum"),
    ("COA", "in_appeal"): (("appellants in COA", "in beroep in het COA"), "persons", "last"),
    ("COA", "awaiting_other_type"): (("rejected, awaiting another procedure", "afgewezen, wachtend op andere procedure"), "persons", "last"),
    ("COA", "arrivals_after_grant"): (("relatives arriving in COA after the grant", "nareizigers naar het COA"), "persons", "sum"),
    ("municipalities", "arrivals_after_grant_direct"): (("relatives arriving straight to family or housing", "nareizigers direct naar gezin of woning"), "persons", "sum"),
    ("courts", "appeals_pending"): (("appeals pending", "aanhangige beroepen"), "persons", "last"),
    ("courts", "appeals_decided"): (("appeals decided", "beslist beroep"), "persons", "sum"),
    ("courts", "appeals_annulled"): (("appeals upheld (decision annulled)", "gegronde beroepen (besluit vernietigd)"), "persons", "sum"),
    ("Nidos", "new_wards"): (("new wards", "nieuwe pupillen"), "wards", "sum"),
    ("Nidos", "wards"): (("wards", "pupillen"), "wards", "last"),
    ("Nidos", "forecast_average"): (("forecast average wards", "prognose gemiddeld pupillen"), "wards", "mean"),
    ("courts", "appeals"): (("appeals against rejections", "beroepen tegen afwijzingen"), "appeals", "sum"),
    ("courts", "bntb_appeals"): (("appeals for failure to decide in time (BNTB)", "beroepen niet tijdig beslissen"), "appeals", "sum"),
}


def _volatile(key: str) -> bool:
    """KPIs that differ between identical runs (timings): not in the reports."""
    return key.endswith("_seconds") or key in ("timings", "timing")


# --- KPIs ----------------------------------------------------------------------------------


def _unit(path: str, lang: str = "en") -> str:
    return L.unit(path, lang)


def _flatten(key: str, value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(f"{key}.{k}", v)
    elif isinstance(value, (list, tuple)):
        yield key, "; ".join(str(v) for v in value)
    else:
        yield key, value


def flat_kpis(kpis: dict, lang: str = "en") -> list[tuple[str, object, str]]:
    """(KPI, value, unit) for every KPI of kpis.json, nested ones as dotted keys, timings left out;
    values in the unit shown (EUR KPIs in EUR million)."""
    rows = []
    for key, value in kpis.items():
        if _volatile(key):
            continue
        for path, v in _flatten(key, value):
            if isinstance(v, (int, float)) and not isinstance(v, bool) and L.scale(path) != 1:
                v = v / L.scale(path)
            rows.append((path, v, _unit(path, lang)))
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


def _short(name: str, key: str) -> str:
    """An instance name without its trailing remark in brackets ('IND spoor-4 asylum staff
    (hearing officers)' -> 'IND spoor-4 asylum staff'); the key when the name is empty."""
    name = (name or "").strip()
    return re.split(r"\s+[(;]", name, maxsplit=1)[0] if name else str(key)


class _Names:
    """The instance's own names for its keys (region VR01 -> 'Groningen'); the key when unnamed."""

    def __init__(self, d):
        inst = getattr(d, "instance", None)
        self.groups = {
            g: {k: _short(getattr(v, "name", ""), k) for k, v in (getattr(inst, g, None) or {}).items()}
            for g in ("regions", "case_types", "staff_pools", "location_types")
        }
        self.locations = dict(getattr(inst, "locations", None) or {})

    def __call__(self, group: str, key) -> str:
        return self.groups.get(group, {}).get(str(key), str(key))

    def item(self, decision: str, item: str) -> str:
        if decision in ("hire", "external_staff"):
            return self("staff_pools", item)
        if decision == "outsource":
            return self("case_types", item)
        if decision in ("house_regular", "place_accelerated"):
            return self("regions", item)
        if decision == "retrain":
            return " -> ".join(self("staff_pools", p.strip()) for p in item.split("->"))
        return item


def _window(plan) -> list[str]:
    d, k = plan.data, plan.kpis
    labels = list(getattr(d, "horizon_labels", None) or [])
    n = int(k.get("commit_periods") or 3)
    return labels[: max(1, min(n, len(labels)))] if labels else []


def _per_item(q: pd.DataFrame, decision: str, names: _Names, mean_over: int = 1) -> str:
    part = q[q.decision == decision]
    sums = part.groupby("item", sort=False)["value"].sum() / mean_over
    return ", ".join(f"{names.item(decision, i)} {fmt(float(v))}" for i, v in sums.items())


def _site_lines(part: pd.DataFrame, key: str, names: _Names, lang: str, limit: int = 8) -> str:
    lines = []
    for r in part.head(limit).itertuples(index=False):
        loc = names.locations.get(r.item)
        region = names("regions", r.region)
        ltype = names("location_types", getattr(loc, "type", "")) if loc is not None else ""
        note = str(r.note)
        used = re.search(r"in use (\S+)\.\.(\S+)", note)
        close = note.rsplit("planned close ", 1)[-1] if "planned close" in note else ""
        fields = dict(site=r.item, region=region, type=ltype, places=fmt(float(r.value)), decided=r.period, close=close)
        fields.update(first=used.group(1) if used else "", last=used.group(2) if used else "")
        lines.append(f"<li>{_e(L.t(key, lang, **fields))}</li>")
    if len(part) > limit:
        lines.append(f"<li>{_e(L.t('now.more', lang, n=len(part) - limit))}</li>")
    return "<ul>" + "".join(lines) + "</ul>"


def _now_items(plan, lang: str) -> list[str]:
    """The decisions to take now as list items (HTML), in the order a planner decides them."""
    q = plan.tables.get("plan_quarter")
    if q is None or q.empty:
        return []
    names, window = _Names(plan.data), _window(plan)
    tot = totals(q, len(window)).set_index("decision")
    items = []
    for decision in ("hire", "external_staff", "retrain", "outsource", "place_accelerated"):
        if decision in tot.index and tot.loc[decision, "value"] > 1e-9:
            mean = len(window) if decision == "external_staff" else 1
            text = L.t(f"now.{decision}", lang, value=fmt(float(tot.loc[decision, "value"])), items=_per_item(q, decision, names, mean))
            items.append(f"<li>{_e(text)}</li>")
    for decision, key in (("open_location", "now.site"), ("keep_open", "now.kept")):
        part = q[q.decision == decision]
        if len(part):
            head = L.t(f"now.{decision}", lang, count=len(part), value=fmt(float(part.value.sum())))
            items.append(f"<li>{_e(head)}{_site_lines(part, key, names, lang)}</li>")
    if "house_regular" in tot.index and tot.loc["house_regular", "value"] > 1e-9:
        items.append(f"<li>{_e(L.t('now.house_regular', lang, value=fmt(float(tot.loc['house_regular', 'value']))))}</li>")
    return items


def _now_section(plan, lang: str) -> str:
    window = _window(plan) or ["?"]
    items = _now_items(plan, lang)
    body = f"<ul class=now>{''.join(items)}</ul>" if items else f"<p>{_e(L.t('now.none', lang))}</p>"
    return f'<h2 id="now">{_e(L.t("h.now", lang, first=window[0], last=window[-1]))}</h2>{body}'


def _value(kpis: dict, key: str):
    v = kpis.get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v / L.scale(key)
    return v


def _headline_section(plan, lang: str) -> str:
    """The headline KPIs with units; against the status quo when the run has one (compare)."""
    k, ref = plan.kpis, getattr(plan, "reference", None)
    header = [_e(L.t("col.kpi", lang)), _e(L.t("col.this_plan", lang))]
    if ref:
        header += [_e(L.t("col.status_quo", lang)), _e(L.t("col.difference", lang))]
    header.append(_e(L.t("col.unit", lang)))
    rows = []
    for key, _, _ in HEADLINE:
        if key not in k:
            continue
        row = [_e(L.kpi_label(key, lang)), _e(fmt(_value(k, key)))]
        if ref:
            a, b = _value(k, key), _value(ref, key)
            diff = a - b if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None
            row += [_e(fmt(b)), _e(("+" if diff and diff > 0 else "") + fmt(diff) if diff is not None else "n/a")]
        row.append(_e(L.unit(key, lang)))
        rows.append(row)
    numeric = set(range(1, len(header) - 1))
    note = L.t("against_status_quo", lang) if ref else L.t("status_quo_hint", lang, instance=_e(_source_name(plan)))
    if k.get("objective_mode") == "simulate":
        note = ""  # this run is the status quo
    table = _table(header, rows, numeric, col_classes={len(header) - 1: "unit"})
    return f'<h2 id="kpis">{_e(L.t("h.kpis", lang))}</h2>{table}' + (f"<p class=hint>{note}</p>" if note else "")


def _source_name(plan) -> str:
    source = getattr(plan.data, "source", None)
    return str(source) if source else "INSTANCE.yaml"


def _warnings(k: dict, lang: str) -> str:
    warnings = k.get("warnings") or []
    if not warnings:
        return ""
    items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
    return f"<div class=warning id=warnings><b>{_e(L.t('h.warnings', lang))}</b><ul>{items}</ul></div>"


def _by_region(plan, lang: str) -> str:
    """Per region (by name): regular and accelerated placements, places opened and kept open."""
    q = plan.tables.get("plan_quarter")
    if q is None or q.empty:
        return f"<p>{_e(L.t('now.none', lang))}</p>"
    names = _Names(plan.data)
    regional = q[q.region.astype(str) != ""]
    if "region" not in q.columns or regional.empty:
        return f"<p>{_e(L.t('now.none', lang))}</p>"
    cols = [d for d in ("house_regular", "place_accelerated", "open_location", "keep_open") if d in set(regional.decision)]
    wide = regional.pivot_table(index="region", columns="decision", values="value", aggfunc="sum", fill_value=0.0).reindex(columns=cols, fill_value=0.0)
    units = {"house_regular": "unit.persons", "place_accelerated": "unit.persons", "open_location": "unit.places", "keep_open": "unit.places"}
    header = [_e(L.t("col.region", lang))] + [_e(f"{L.t('dec.' + c, lang)} ({L.t(units[c], lang)})") for c in cols]
    order = sorted(wide.index, key=lambda r: names("regions", r))
    rows = [[_e(names("regions", r))] + [_e(fmt(float(wide.loc[r, c]))) for c in cols] for r in order]
    foot = [_e(L.t("col.total", lang))] + [_e(fmt(float(wide[c].sum()))) for c in cols]
    return _table(header, rows, set(range(1, len(header))), foot=foot)


def _quarter_detail(plan, lang: str) -> str:
    """Every row of plan_quarter.csv, decisions and names in words, units in the headers."""
    q = plan.tables.get("plan_quarter")
    if q is None or q.empty:
        return f"<p>{_e(L.t('now.none', lang))}</p>"
    names = _Names(plan.data)
    header = [_e(L.t(f"col.{c}", lang)) for c in ("decision", "item", "region", "period")] + [_e(L.t("col.value", lang)), _e(L.t("col.unit", lang)), _e(L.t("col.note", lang))]
    rows = []
    for r in q.itertuples(index=False):
        unit = {"FTE": "unit.fte", "cases": "unit.cases", "places": "unit.places", "persons": "unit.persons"}.get(r.unit, r.unit)
        region = names("regions", r.region) if str(r.region) not in ("", "nan") else ""
        rows.append([_e(L.t(f"dec.{r.decision}", lang)), _e(names.item(r.decision, r.item)), _e(region), _e(r.period), _e(fmt(r.value)), _e(L.t(unit, lang)), _e("" if str(r.note) == "nan" else r.note)])
    return _table(header, rows, {4}, col_classes={5: "unit"})


def _all_kpis(k: dict, lang: str) -> str:
    rows = []
    for key, value in k.items():
        if _volatile(key) or key in ("warnings", "choose_measures", "cost_polish") or isinstance(value, (list, tuple)):
            continue
        if isinstance(value, dict):
            rows.append(f'<tr class=group><th colspan=3>{_e(L.kpi_label(key, lang))}</th></tr>')
            for path, v in _flatten(key, value):
                label = path[len(key) + 1 :]
                if key == "stage_values":
                    label = L.t(f"stage.{label}", lang)
                v = v / L.scale(path) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                rows.append(f"<tr><td>{_e(label.replace('.', ' / '))}</td><td class=num>{_e(fmt(v))}</td><td class=unit>{_e(L.unit(path, lang))}</td></tr>")
            continue
        v = _value(k, key)
        text = L.t("none", lang) if v is None else fmt(v)
        rows.append(f"<tr><td>{_e(L.kpi_label(key, lang))}</td><td class=num>{_e(text)}</td><td class=unit>{_e(L.unit(key, lang))}</td></tr>")
    head = f"<tr><th>{_e(L.t('col.kpi', lang))}</th><th class=num>{_e(L.t('col.value', lang))}</th><th>{_e(L.t('col.unit', lang))}</th></tr>"
    return f"<table class=kpis><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _chain_section(chain: pd.DataFrame, lang: str) -> str:
    if chain is None or chain.empty:
        return f"<p>{_e(L.t('no_chain', lang))}</p>"
    c = chain.assign(year=chain["period"].astype(str).str[:4])
    years = sorted(c.year.unique())
    rows = []
    for (partner, measure), g in c.groupby(["partner", "measure"], sort=False):
        words, unit, how = CHAIN_MEASURES.get((partner, measure), ((measure.replace("_", " "),) * 2, "persons", "sum"))
        scale = 1e6 if unit == "eur" else 1.0

        def agg(frame):
            v = frame["value"]
            return float(v.sum() if how == "sum" else v.iloc[-1] if how == "last" else v.mean()) / scale

        per_year = [fmt(agg(g[g.year == y])) if (g.year == y).any() else "" for y in years]
        kind = L.t({"sum": "kind.flow", "last": "kind.stock", "mean": "kind.mean"}[how], lang)
        unit_text = L.t("unit.meur" if unit == "eur" else f"unit.{unit}", lang)
        rows.append([_e(partner), _e(words[L.LANGS.index(lang)]), _e(unit_text), _e(kind), *(_e(v) for v in per_year), _e(fmt(agg(g)))])
    header = [_e(L.t(c, lang)) for c in ("col.partner", "col.measure", "col.unit", "col.kind")] + [_e(y) for y in years] + [_e(L.t("col.horizon", lang))]
    return f"<p>{_e(L.t('flows_note', lang))}</p>" + _table(header, rows, set(range(4, 5 + len(years))), col_classes={2: "unit"})


def _assumption_section(plan, lang: str) -> str:
    d = plan.data
    desc = (getattr(d.instance, "description", "") or "").strip()
    parts = [f'<div class=description><b>{_e(L.t("description", lang))}.</b> {_e(desc) if desc else _e(L.t("no_description", lang))}</div>']
    source = getattr(d, "source", None)
    if source is None:
        return "".join(parts) + f"<p>{_e(L.t('source_unknown', lang))}</p>"
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as err:
        return "".join(parts) + f"<p>{_e(L.t('source_unreadable', lang, file=source, why=err.strerror or err))}</p>"
    found = assumptions(text)
    parts.append(f"<p>{L.t('assumptions_intro', lang, n=f'{len(found):,}', file=_e(Path(source).name))}</p>")
    groups: dict[str, list] = {}
    for a in found:
        top, _, rest = a["key"].partition(".")
        groups.setdefault(top, []).append((rest or top, a))
    header = [_e(L.t("col.line", lang)), _e(L.t("col.key", lang)), _e(L.t("col.value", lang)), _e(L.t("col.comment", lang))]
    widths = '<colgroup><col style="width:4em"><col style="width:22%"><col style="width:18%"><col></colgroup>'
    for top, entries in groups.items():
        rows = [[_e(a["line"]), _e(key), _e(a["value"]), _e(a["comment"])] for key, a in entries]
        table = _table(header, rows, {0}, cls="assumptions", col_classes={1: "code", 2: "code"}).replace("<thead>", widths + "<thead>", 1)
        parts.append(_details(f"{top} ({len(entries)})", table))
    return "".join(parts)


def _command_options(command, option: str) -> list[str]:
    """The values of ``option`` in a command line (``--set A=1 --set=B=2`` -> ['A=1', 'B=2'])."""
    out, args = [], list(command or [])
    for i, a in enumerate(args):
        if a == option and i + 1 < len(args):
            out.append(str(args[i + 1]))
        elif str(a).startswith(option + "="):
            out.append(str(a)[len(option) + 1 :])
    return out


def instance_hash(resolved: str | None) -> str:
    """SHA-256 (first 16 hex digits) of the instance as solved (the text of instance.resolved.yaml;
    ``n/a`` when not given)."""
    return hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:16] if resolved else "n/a"


def _metadata(plan, lang: str, command, resolved: str | None = None) -> str:
    from planner.outputs.runfolder import tool_version

    k, d = plan.kpis, plan.data
    package = getattr(plan, "package", None) or ", ".join(_command_options(command, "--package")) or L.t("none", lang)
    changes = _command_options(command, "--set")
    in_force = list(getattr(getattr(d, "instance", None), "in_force", []) or [])
    gap = k.get("mip_gap")
    rows = [
        ("meta.run", L.t(f"run.{k.get('objective_mode', '')}", lang) if k.get("objective_mode") in ("weighted", "lexicographic", "simulate") else k.get("objective_mode", "")),
        ("meta.horizon", f"{k.get('first_period', '?')} .. {k.get('last_period', '?')} ({fmt(k.get('periods'))})"),
        ("meta.solver", f"{k.get('solver_status', '')}, {gap:.2%}" if isinstance(gap, (int, float)) else k.get("solver_status", "")),
        ("meta.version", tool_version()),
        ("meta.command", " ".join(str(c) for c in command) if command else L.t("none", lang)),
        ("meta.set", "; ".join(changes) if changes else L.t("none", lang)),
        ("meta.package", package),
        ("meta.in_force", ", ".join(in_force) or L.t("none", lang)),
        ("meta.source", _source_name(plan)),
        ("meta.hash", instance_hash(resolved)),
    ]
    body = "".join(f"<tr><th>{_e(L.t(key, lang))}</th><td class=code>{_e(value)}</td></tr>" for key, value in rows)
    return f"<table class=meta-table id=metadata><tbody>{body}</tbody></table>"


def _figures(plan, lang: str) -> list[tuple[str, str, bytes]]:
    """(title, caption, PNG bytes) of the report's figures."""
    from planner.outputs import plots

    t = plan.tables
    norm = plan.data.instance.reception.occupancy_norm if plan.data is not None else None
    out = []
    if "reception" in t and len(t["reception"]):
        out.append((L.t("fig.occupancy", lang), L.t("fig.occupancy.caption", lang), plots.png_bytes(plots.occupancy(t, norm=norm, lang=lang))))
    if "costs" in t and len(t["costs"]):
        caption = L.t("fig.cost.caption", lang)
        if "reception" in t and float(t["reception"]["unsheltered"].sum()) > 0:
            caption += L.t("fig.cost.unsheltered", lang)
        out.append((L.t("fig.cost", lang), caption, plots.png_bytes(plots.cost_by_year(t, lang=lang))))
    if "ind_cases" in t and len(t["ind_cases"]):
        out.append((L.t("fig.overdue", lang), L.t("fig.overdue.caption", lang), plots.png_bytes(plots.overdue_by_type(t, lang=lang))))
        out.append((L.t("fig.stocks", lang), L.t("fig.stocks.caption", lang), plots.png_bytes(plots.stocks_by_type(t, lang=lang))))
    return out


def _meta_line(plan, lang: str) -> str:
    k, d = plan.kpis, plan.data
    mode = k.get("objective_mode", "")
    kind = L.t(f"run.{mode}", lang) if f"run.{mode}" in L.WORDS else (mode or "run")
    grain = getattr(getattr(d, "grid", None), "grain", None) or ("week" if "-W" in str(k.get("first_period", "")) else "month")
    parts = [kind + "."]
    if k.get("periods"):
        parts.append(L.t("horizon", lang, first=k.get("first_period", "?"), last=k.get("last_period", "?"), n=fmt(k.get("periods")), grain=L.t(f"grain.{grain}", lang)))
    if mode != "simulate" and isinstance(k.get("mip_gap"), (int, float)):
        parts.append(L.t("status", lang, status=k.get("solver_status", ""), gap=f"{k['mip_gap']:.2%}"))
    in_force = list(getattr(getattr(d, "instance", None), "in_force", []) or [])
    if in_force:
        parts.append(L.t("measures_in_force", lang, names=", ".join(in_force)))
    return " ".join(parts)


def render_html(plan, lang: str = "en", command=None, resolved: str | None = None) -> str:
    """report.html: the first screen (decisions to take now, headline KPIs, warnings), the
    figures, then the detail in ``<details>`` sections. ``resolved``: the text of
    instance.resolved.yaml, whose hash the metadata names."""
    lang = L.check(lang)
    k = plan.kpis
    name = k.get("instance") or getattr(plan.data, "name", "run")
    top = f"<div class=top><div>{_now_section(plan, lang)}</div><div>{_headline_section(plan, lang)}</div></div>"
    nav = "".join(f'<a href="#{a}">{_e(L.t(w, lang))}</a>' for a, w in (("now", "nav.now"), ("kpis", "nav.kpis"), ("figures", "h.figures")))
    nav = f"<nav>{nav}{explainreport.nav(plan.tables)}<a href=\"#detail\">{_e(L.t('h.detail', lang))}</a></nav>"
    body = [f"<p class=meta>{_e(_meta_line(plan, lang))}</p>", nav, _warnings(k, lang), top]
    body.append(f'<h2 id="figures">{_e(L.t("h.figures", lang))}</h2>' + _figure_grid(_figures(plan, lang)))
    body.extend(explainreport.section(plan.tables))  # planner solve --explain
    detail = [
        _details(L.t("h.by_region", lang), _by_region(plan, lang), anchor="regions"),
        _details(L.t("h.all_decisions", lang), _quarter_detail(plan, lang), anchor="quarter"),
        _details(L.t("h.all_kpis", lang), _all_kpis(k, lang), anchor="all-kpis"),
        _details(L.t("h.chain", lang), _chain_section(plan.tables.get("chain"), lang), anchor="chain"),
        _details(L.t("h.assumptions", lang), _assumption_section(plan, lang), anchor="assumptions"),
        _details(L.t("h.metadata", lang), _metadata(plan, lang, command, resolved), anchor="about"),
    ]
    body.append(f'<h2 id="detail">{_e(L.t("h.detail", lang))}</h2>' + "".join(detail))
    return page_frame(L.t("title", lang, name=name), "\n".join(b for b in body if b), lang, L.t("footer", lang))


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


FRACTION_COLUMNS = re.compile(r"fte|share|rate|realisation|norm|gap|ratio", re.IGNORECASE)
"""Columns whose values are fractions by nature (FTE, shares): shown with decimals."""


def number_format(name: str, values: pd.Series) -> str:
    """The Excel number format of a column: integers (counts of people, cases, places, euros) as
    integers, FTE and shares with decimals."""
    v = pd.to_numeric(values, errors="coerce").dropna()
    if FRACTION_COLUMNS.search(str(name)):
        return "#,##0.0##" if len(v) and (v.abs() < 10).all() else "#,##0.0"
    if not len(v) or ((v - v.round()).abs() < 1e-6).all() or v.abs().max() >= 10:
        return "#,##0"
    return "#,##0.0##"


def _format_sheet(ws, frame: pd.DataFrame, formats: dict | None = None) -> None:
    """Header bold and frozen, numbers formatted (:func:`number_format`, or ``formats`` per
    column), widths fitted; for every workbook planner writes."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
    ws.freeze_panes = "A2"
    for i, col in enumerate(frame.columns, 1):
        values = frame[col]
        texts = [str(col)]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            form = (formats or {}).get(col) or number_format(col, values)
            for row in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                for cell in row:
                    cell.number_format = form
            texts += [f"{float(v):,.1f}" for v in values.head(500) if not pd.isna(v)]
        else:
            texts += [str(v) for v in values.head(500) if not pd.isna(v)]
        ws.column_dimensions[get_column_letter(i)].width = min(max(max(len(t) for t in texts) + 2, 8), 60)


def _kpi_sheet(ws, frame: pd.DataFrame) -> None:
    """The KPIs sheet: per row its own number format (integers as integers, shares as %)."""
    _format_sheet(ws, frame)
    col = 3  # KPI, name, value, unit
    for r, v in enumerate(frame.iloc[:, col - 1], 2):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        cell = ws.cell(row=r, column=col)
        cell.number_format = "#,##0" if abs(v - round(v)) < 1e-6 or abs(v) >= 100 else "#,##0.0##"


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


def kpi_frame(kpis: dict, lang: str = "en") -> pd.DataFrame:
    """KPI (key), its name, value (in the unit shown) and unit, one row per (nested) KPI."""
    rows = [(path, L.kpi_label(path.split(".")[0], lang) + (f": {path.split('.', 1)[1]}" if "." in path else ""), v, u) for path, v, u in flat_kpis(kpis, lang)]
    return pd.DataFrame(rows, columns=["KPI", L.t("col.name", lang), L.t("col.value", lang), L.t("col.unit", lang)])


def quarter_totals(plan, lang: str = "en") -> pd.DataFrame:
    """The totals of plan_quarter per decision (external staff: average FTE per month)."""
    q = plan.tables.get("plan_quarter")
    if q is None:
        return pd.DataFrame()
    tot = totals(q, len(_window(plan)))
    unit_keys = {"FTE": "unit.fte", "cases": "unit.cases", "places": "unit.places", "persons": "unit.persons"}
    return pd.DataFrame(
        {
            L.t("col.decision", lang): [L.t(f"dec.{d}", lang) for d in tot.decision],
            L.t("col.value", lang): tot.value.round(6),
            L.t("col.unit", lang): [L.t("unit.fte_month", lang) if k == "mean" else L.t(unit_keys.get(u, u), lang) for u, k in zip(tot.unit, tot.kind)],
        }
    )


def workbook_bytes(plan, lang: str = "en") -> bytes:
    """plan.xlsx: sheet 'KPIs' (KPI, name, value, unit), 'plan_quarter_totals', then one sheet
    per table (columns as in the CSV files)."""
    buf = io.BytesIO()
    kpis = kpi_frame(plan.kpis, lang)
    names = _sheet_names([*plan.tables, "plan_quarter_totals"])
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        book = writer.book
        book.properties.creator = "planner"
        book.properties.created = FIXED_TIME
        book.properties.modified = FIXED_TIME
        kpis.to_excel(writer, sheet_name="KPIs", index=False)
        _kpi_sheet(writer.sheets["KPIs"], kpis)
        sheets = dict(plan.tables)
        if "plan_quarter" in sheets:
            sheets = {"plan_quarter_totals": quarter_totals(plan, lang), **sheets}
        for table, frame in sheets.items():
            frame = _as_written(frame)
            frame.to_excel(writer, sheet_name=names[table], index=False)
            _format_sheet(writer.sheets[names[table]], frame)
    return _normalise_zip(buf.getvalue())


# --- terminal -------------------------------------------------------------------------------

TERMINAL_KPIS = ("overdue_case_months", "crisis_person_nights", "unsheltered_person_nights", "permit_holder_months_over_norm", "total_cost_eur")


def _now_words(plan, lang: str) -> str:
    q = plan.tables.get("plan_quarter")
    if q is None or q.empty:
        return L.t("term.nothing", lang)
    tot = totals(q, len(_window(plan))).set_index("decision")
    v = lambda d: float(tot.loc[d, "value"]) if d in tot.index else 0.0  # noqa: E731
    n = lambda d: int((q.decision == d).sum())  # noqa: E731
    words = []
    for decision, key in (("hire", "term.hire"), ("external_staff", "term.external"), ("outsource", "term.outsource"), ("place_accelerated", "term.accelerated")):
        if v(decision) > 1e-9:
            words.append(L.t(key, lang, v=fmt(v(decision))))
    for decision, key in (("open_location", "term.open"), ("keep_open", "term.keep")):
        if n(decision):
            words.append(L.t(key, lang, n=n(decision), v=fmt(v(decision))))
    return "; ".join(words) or L.t("term.nothing", lang)


def terminal_lines(plan, out, lang: str = "en") -> list[str]:
    """What a planner reads after a solve or simulate: the run and its status, the decisions to
    take now, the headline KPIs with units, and where the report is."""
    k = plan.kpis
    window = _window(plan) or ["?"]
    mode = k.get("objective_mode", "")
    kind = L.t(f"run.{mode}", lang) if f"run.{mode}" in L.WORDS else mode
    head = f"{k.get('instance', '')}: {kind}"
    gap = k.get("mip_gap")
    if mode != "simulate" and isinstance(gap, (int, float)):
        head += "; " + L.t("term.status", lang, status=k.get("solver_status", ""), gap=f"{gap:.2%}")
    kpis = "; ".join(f"{L.kpi_label(key, lang)} {fmt(_value(k, key))} {L.unit(key, lang)}" for key in TERMINAL_KPIS if key in k)
    if "cost_polish" in k:
        kpis += f" ({k['cost_polish'].get('cost_before_eur', 0) / 1e6:,.1f} before --polish-cost)"
    report = Path(out) / REPORT_FILE
    return [
        head,
        L.t("term.now", lang, first=window[0], last=window[-1], items=_now_words(plan, lang)),
        L.t("term.kpis", lang, first=k.get("first_period", "?"), last=k.get("last_period", "?")) + kpis,
        L.t("term.report", lang, path=report) if report.exists() else L.t("term.written", lang, path=out),
    ]


# --- entry points ---------------------------------------------------------------------------


def report_files(plan, html: bool = True, xlsx: bool = True, lang: str = "en", command=None, resolved: str | None = None) -> dict[str, str | bytes]:
    """{'report.html': text, 'plan.xlsx': bytes}: what ``Plan.write`` adds to the run folder
    (``html``/``xlsx`` False: that file is not built); ``lang``: en or nl; ``command``: the
    command line, named in the report's metadata."""
    out: dict[str, str | bytes] = {}
    if html:
        out[REPORT_FILE] = render_html(plan, lang, command, resolved)
    if xlsx:
        out[WORKBOOK_FILE] = workbook_bytes(plan, lang)
    return out


def write_reports(plan, folder, lang: str = "en", command=None) -> None:
    """Write report.html and plan.xlsx of ``plan`` into an existing ``folder``."""
    folder = Path(folder)
    for name, content in report_files(plan, lang=lang, command=command).items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
