"""The report's section on ``sensitivities.csv`` and ``explanations.csv``, in plain words.

Each row becomes a sentence: what was changed, then every KPI that moved, with its sign and unit
("Without opening site-6 (R6): +12,400 crisis person-nights, -EUR 21.0 million."). A difference
smaller than half a unit (EUR 50,000 for cost) is left out of the sentence; the table below it
(folded) has every number, with the objective's proven lower bound. A row with no measurable
difference says only that (its KPI columns are one of several equally good plans); a row not known
to the stated accuracy, or not re-solved because the plan had no choice, says so.

:func:`section` is called by :func:`planner.outputs.report.render_html` when the plan's tables hold
the two frames (``planner solve --explain``); :func:`insert` puts the same section into a written
``report.html`` (``planner explain RUN_DIR``), replacing an earlier one.
"""

from __future__ import annotations

import html
import math
import re

import pandas as pd

WORDS = [  # column, words, scale, unit prefix
    ("overdue_person_months", "overdue person-months", 1.0, ""),
    ("waiting_person_months", "person-months waiting for a first decision", 1.0, ""),
    ("crisis_person_nights", "crisis person-nights", 1.0, ""),
    ("unsheltered_person_nights", "unsheltered person-nights", 1.0, ""),
    ("permit_holder_months_over_norm", "permit-holder months past the housing norm", 1.0, ""),
    ("cost_eur", "million", 1e-6, "EUR "),
]
SMALL = {"cost_eur": 5e4}
"""Below this (and below 0.5 for the others) a difference is left out of the sentence."""
BEGIN, END = "<!-- explain:begin -->", "<!-- explain:end -->"
NAV = '<a href="#explain">What the resources buy, why these decisions</a>'


def _num(x: float, scale: float, prefix: str) -> str:
    v = x * scale
    sign = "+" if v > 0 else "-"
    digits = 1 if scale != 1.0 else 0
    return f"{sign}{prefix}{abs(v):,.{digits}f}"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def effects(row) -> str:
    """'+12,400 crisis person-nights, -EUR 21.0 million' (or 'no measurable difference')."""
    parts = []
    for col, words, scale, prefix in WORDS:
        v = row.get(col)
        if _missing(v) or abs(v) < SMALL.get(col, 0.5):
            continue
        parts.append(f"{_num(v, scale, prefix)} {words}")
    return ", ".join(parts) if parts else "no measurable difference"


def beyond(row) -> str:
    """When every figure shown moves against the objective (all worse, or none worse, while the
    objective falls, or rises), what moved it lies beyond them: the look-ahead after the reported
    horizon (the KPIs count the horizon, the objective both) or the court queue; '' otherwise."""
    obj = row.get("objective")
    shown = [(row.get(c), SMALL.get(c, 0.5)) for c, *_ in WORDS if not _missing(row.get(c))]
    if _missing(obj) or not shown:
        return ""
    where = "beyond these figures (in the look-ahead after the reported horizon, or the court queue)"
    if obj < 0 and all(v > -small for v, small in shown):
        return f" The objective still falls by {-obj:,.0f} units: the gain lies {where}."
    if obj > 0 and all(v < small for v, small in shown):
        return f" The objective still rises by {obj:,.0f} units: the loss lies {where}."
    return ""


def sentence(row) -> str:
    """One row in plain words."""
    what = str(row["what"])
    what = what[0].upper() + what[1:]
    if row["status"] == "at_limit":
        return f"{what}: not re-solved, {row.get('note', '')}."
    if row["status"] == "infeasible":  # re-solved: no plan exists without it (e.g. a ramp or a budget it alone meets)
        return f"{what}: no plan without it ({row.get('note', '')})."
    if row["status"] not in ("optimal", "time_limit_feasible", "limit_feasible"):
        return f"{what}: no result ({row['status']}: {row.get('note', '')})."
    if str(row.get("note", "")).startswith("no measurable difference"):  # the KPI columns are one equally good plan's
        return f"{what}: no measurable difference (an alternative does as well, to within the plan's own optimality gap)."
    text = f"{what}: {effects(row)}.{beyond(row)}"
    if row.get("note"):
        text += f" ({row['note']}.)"
    return text


def decision_sentences(expl: pd.DataFrame) -> list[str]:
    """One sentence per row, the regular housing rows at their limit in one ("Regular housing in
    A, B (2 regions), 2024-01..2024-03: not re-solved: ...")."""
    at_limit = (expl.status == "at_limit") & (expl.decision == "house_regular")
    out = [sentence(r) for _, r in expl[~at_limit].iterrows()]
    if at_limit.any():
        regions = [str(r) for r in expl[at_limit].item]
        span = str(expl[at_limit].periods.iloc[0])
        out.append(f"Regular housing in {', '.join(regions)} ({len(regions)} region{'s' if len(regions) > 1 else ''}), {span}: not re-solved: "
                   "each houses all the regular housing its supply allows in every month, so the plan had no choice "
                   "(what more housing buys: the lines above).")
    return out


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _details(frame: pd.DataFrame, first: str) -> str:
    cols = [first, "item", "periods", "amount", "unit"] + [c for c, *_ in WORDS] + ["objective", "objective_bound"]
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    body = []
    for _, r in frame.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            text = f"{v:,.1f}" if isinstance(v, float) and not math.isnan(v) else ("" if isinstance(v, float) else v)
            cells.append(f"<td{' class=num' if isinstance(v, float) else ''}>{_e(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<details><summary>Every number</summary><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></details>"


def section(tables: dict) -> list[str]:
    """The section as one HTML string in a list ([] when the tables hold no explanations)."""
    sens, expl = tables.get("sensitivities"), tables.get("explanations")
    if sens is None or expl is None:
        return []
    parts = [
        f'{BEGIN}<h2 id="explain">What one more of each resource buys</h2>'
        "<p>Each line: the plan solved again with one resource changed, minus this plan, over the reported horizon "
        "(a minus is a saving; person-months, person-nights and euros as counted in the key figures). "
        "Each difference is known to within 5 % of itself, or to the plan's own optimality gap when it is smaller "
        "than that (then it says: no measurable difference).</p>"
    ]
    parts.append("<ul>" + "".join(f"<li>{_e(sentence(r))}</li>" for _, r in sens.iterrows()) + "</ul>")
    parts.append(_details(sens, "resource"))
    parts.append(
        "<h3>Why each decision of the first periods</h3><p>Each line: the plan solved again with that decision withheld in the "
        "committed periods (everything else free to adapt), minus this plan: a plus is what the decision saves. "
        "A decision the plan could not have made otherwise (all the housing there is) is named, not re-solved.</p>"
    )
    parts.append("<ul>" + "".join(f"<li>{_e(text)}</li>" for text in decision_sentences(expl)) + "</ul>")
    parts.append(_details(expl, "decision") + END)
    return ["".join(parts)]


def nav(tables: dict) -> str:
    return NAV if tables.get("explanations") is not None else ""


def insert(page: str, tables: dict) -> str:
    """``page`` (a report.html) with the section after the figures, before the detail (an earlier
    one replaced)."""
    page = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", "", page, flags=re.S).replace(NAV, "")
    block = "".join(section(tables))
    if '<h2 id="detail">' in page:
        page = page.replace('<h2 id="detail">', block + '\n<h2 id="detail">', 1)
    else:
        page = page.replace("<footer>", block + "\n<footer>", 1)
    return page.replace('<a href="#detail">', NAV + '<a href="#detail">', 1)
