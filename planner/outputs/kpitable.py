"""Side-by-side KPI tables of run folders (status quo vs plan, package vs package)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from planner.errors import InputError

# KPI, label with unit, scale (value / scale is shown)
HEADLINE = [
    ("waiting_person_months", "waiting for a first decision (person-months)", 1),
    ("overdue_case_months", "overdue case-months", 1),
    ("crisis_person_nights", "crisis shelter person-nights", 1),
    ("unsheltered_person_nights", "unsheltered person-nights", 1),
    ("permit_holder_months_over_norm", "permit-holder months past the norm", 1),
    ("peak_occupancy", "peak occupancy (persons)", 1),
    ("peak_places_needed", "peak places needed", 1),
    ("total_cost_eur", "total cost (EUR million)", 1e6),
    ("hires_total", "hires (FTE)", 1),
    ("outsourced_cases_total", "outsourced cases", 1),
    ("locations_opened", "new locations opened", 1),
    ("accelerated_placements_total", "accelerated placements (persons)", 1),
]


def read_kpis(folder) -> dict:
    path = Path(folder) / "kpis.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("", "no kpis.json: not a run folder", file=str(folder)) from None
    except (OSError, ValueError) as e:
        raise InputError("", f"cannot read kpis.json: {e}", file=str(path)) from None


def side_by_side(folders, names=None) -> pd.DataFrame:
    """Rows: headline KPIs with units; columns: one per run folder."""
    names = names or [Path(f).name for f in folders]
    columns = {}
    for name, folder in zip(names, folders):
        k = read_kpis(folder)
        columns[name] = [k.get(key, float("nan")) / scale for key, _, scale in HEADLINE]
    return pd.DataFrame(columns, index=[label for _, label, _ in HEADLINE]).rename_axis("KPI")


def markdown(frame: pd.DataFrame) -> str:
    """A Markdown table with thousands separators (for the terminal and the README)."""
    head = "| " + " | ".join([frame.index.name or ""] + list(frame.columns)) + " |"
    rule = "|---" + "|---:" * len(frame.columns) + "|"
    rows = [f"| {idx} | " + " | ".join(f"{v:,.0f}" for v in row) + " |" for idx, row in zip(frame.index, frame.values)]
    return "\n".join([head, rule, *rows])
