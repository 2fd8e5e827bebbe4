"""The quarterly plan: the decisions to take now, read from a solved plan's tables.

A run sees a long horizon but commits only its first periods (``commit_periods``: 3 on a month
grid = a quarter, 13 on a week grid). ``plan_quarter.csv`` lists, for those periods, the hires per
pool, external staff, retraining between pools (when the instance allows it), outsourcing per case type, locations to open (decided in the window, with
their first period of use) or to keep open past their planned close, and placements per region
(regular and accelerated). Totals are not rows of the table: :func:`totals` sums each decision
(external staff, a stock, averaged per period instead), for the report and the workbook.

Columns: decision, item, region, period, value, unit, note.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["decision", "item", "region", "period", "value", "unit", "note"]


def default_commit_periods(grain: str) -> int:
    return 3 if grain == "month" else 13


DECISIONS = ("hire", "external_staff", "retrain", "outsource", "open_location", "keep_open", "house_regular", "place_accelerated")
STOCKS = ("external_staff",)
"""Decisions that are a level per period (FTE hired in each month), averaged over the window, not summed."""


def totals(quarter: pd.DataFrame, window: int) -> pd.DataFrame:
    """One row per decision of :data:`DECISIONS`: decision, value (the sum over the window; for
    :data:`STOCKS` the average per period), unit, items (distinct items with a value), kind
    ('sum' or 'mean')."""
    rows = []
    units = {"hire": "FTE", "external_staff": "FTE", "retrain": "FTE", "outsource": "cases", "open_location": "places", "keep_open": "places"}
    for decision in DECISIONS:
        part = quarter[quarter.decision == decision] if len(quarter) else quarter
        if decision == "retrain" and part.empty:
            continue
        total = float(part["value"].sum()) if len(part) else 0.0
        mean = decision in STOCKS
        rows.append({
            "decision": decision,
            "value": total / max(1, window) if mean else total,
            "unit": units.get(decision, "persons"),
            "items": int(part["item"].nunique()) if len(part) else 0,
            "kind": "mean" if mean else "sum",
        })
    return pd.DataFrame(rows, columns=["decision", "value", "unit", "items", "kind"])


def _flow_rows(frame, decision, item_col, value_col, unit, window, region_col=None):
    rows = []
    part = frame[frame.period.isin(window)]
    for _, r in part.iterrows():
        if abs(r[value_col]) < 1e-9:
            continue
        rows.append(
            {
                "decision": decision,
                "item": r[item_col],
                "region": r[region_col] if region_col else "",
                "period": r.period,
                "value": r[value_col],
                "unit": unit,
                "note": "",
            }
        )
    return rows


def plan_quarter(tables: dict, labels: tuple[str, ...], commit_periods: int) -> pd.DataFrame:
    window = list(labels[: max(1, min(commit_periods, len(labels)))])
    rows = []
    rows += _flow_rows(tables["staff"], "hire", "pool", "hires", "FTE", window)
    rows += _flow_rows(tables["staff"], "external_staff", "pool", "external_fte", "FTE", window)
    retrain = tables["retraining"]
    if len(retrain):
        pairs = retrain.assign(pair=retrain.from_pool + " -> " + retrain.to_pool)
        rows += _flow_rows(pairs, "retrain", "pair", "fte", "FTE", window)
    rows += _flow_rows(tables["ind_cases"], "outsource", "case_type", "decided_outsourced", "cases", window)

    locs = tables["locations"]
    opened = locs[(~locs.existing) & locs.opened & locs.decided.isin(window)]
    for _, r in opened.iterrows():
        rows.append({"decision": "open_location", "item": r.location, "region": r.region, "period": r.decided, "value": r.places, "unit": "places", "note": f"{r.type}, in use {r.open_from}..{r.open_until}"})
    kept = locs[locs.existing & locs.kept_open]
    for _, r in kept.iterrows():
        rows.append({"decision": "keep_open", "item": r.location, "region": r.region, "period": window[0], "value": r.places, "unit": "places", "note": f"{r.type}, planned close {r.planned_close}"})

    rows += _flow_rows(tables["placement"], "house_regular", "region", "housed_regular", "persons", window, "region")
    rows += _flow_rows(tables["placement"], "place_accelerated", "region", "accelerated", "persons", window, "region")
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["item"] = frame["item"].astype(str)
    return frame
