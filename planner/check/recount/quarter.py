"""The decisions to take now, recounted (``plan_quarter.csv``; written again apart from
:mod:`planner.outputs.quarter`).

The window is the run's first ``commit_periods`` periods (``kpis.json``; at least 1, at most the
horizon). Per decision group, a row per item and period of the window with a value of at least
1e-9 (no total rows: the report and the workbook sum them, :func:`planner.outputs.quarter.totals`):

    hire               hires per pool                       FTE
    external_staff     external FTE per pool                FTE
    retrain            FTE starting retraining, "p -> q"    FTE      (only when the instance has retrain_to pairs)
    outsource          outsourced decisions per case type   cases
    open_location      a candidate decided in the window    places   decided = first use - lead periods
    keep_open          an existing location kept open       places   period: the window's first
    house_regular      regular housing per region           persons
    place_accelerated  accelerated placement per region     persons

Table ``plan_quarter``: decision, item, region, period, value, unit, note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.check.recount.common import Decisions
from planner.check.recount.reception import Locations
from planner.instance.loading import InstanceData

COLUMNS = ["decision", "item", "region", "period", "value", "unit", "note"]
KEYS = ("decision", "item", "region", "period")
"""A row of ``plan_quarter`` is known by these."""


def flow_rows(decision: str, values: dict[str, np.ndarray], unit: str, labels, window: int, regions: bool = False) -> list[dict]:
    """A row per item and period of the window (values of at least 1e-9)."""
    rows = []
    for item, series in values.items():
        for t in range(window):
            if abs(series[t]) >= 1e-9:
                rows.append({"decision": decision, "item": item, "region": item if regions else "", "period": labels[t],
                             "value": float(series[t]), "unit": unit, "note": ""})
    return rows


def location_rows(d: InstanceData, locs: Locations, window: int) -> list[dict]:
    """Candidates decided in the window and existing locations kept open."""
    inst, labels = d.instance, d.grid.labels
    rows, opened = [], []
    for l, first in locs.started.items():
        decided = first - d.location_first_period(l)
        if 0 <= decided < window:
            loc, periods = inst.locations[l], locs.open_periods[l]
            opened.append(loc.places)
            rows.append({"decision": "open_location", "item": l, "region": loc.region, "period": labels[decided], "value": float(loc.places),
                         "unit": "places", "note": f"{loc.type}, in use {labels[periods[0]]}..{labels[periods[-1]]}"})
    for l in locs.kept:
        loc = inst.locations[l]
        rows.append({"decision": "keep_open", "item": l, "region": loc.region, "period": labels[0], "value": float(loc.places),
                     "unit": "places", "note": f"{loc.type}, planned close {loc.open_until or ''}"})
    return rows


def recount(d: InstanceData, dec: Decisions, locs: Locations) -> pd.DataFrame:
    """The ``plan_quarter`` table of the replayed decisions."""
    labels = d.grid.labels
    window = max(1, min(dec.commit_periods, len(labels)))
    rows = flow_rows("hire", dec.hires, "FTE", labels, window)
    rows += flow_rows("external_staff", dec.external, "FTE", labels, window)
    if dec.retrain:
        rows += flow_rows("retrain", {f"{p} -> {q}": v for (p, q), v in dec.retrain.items()}, "FTE", labels, window)
    rows += flow_rows("outsource", dec.dec_out, "cases", labels, window)
    rows += location_rows(d, locs, window)
    rows += flow_rows("house_regular", dec.housed, "persons", labels, window, regions=True)
    rows += flow_rows("place_accelerated", dec.accelerated, "persons", labels, window, regions=True)
    return pd.DataFrame(rows, columns=COLUMNS)
