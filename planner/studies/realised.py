"""The realised file of a rolling study: what really came in, by dotted series path.

A CSV with a ``period`` column (periods of the instance's horizon or its look-ahead tail, in any
order, each at most once) and one column per changed series named by its dotted path
(``case_types.spoor4.inflow``); a period the file does not list keeps the forecast. Every problem
is an :class:`~planner.errors.InputError` naming the file and the column (or ``period``).
"""

from __future__ import annotations

import math
from io import StringIO
from pathlib import Path

import pandas as pd

from planner.errors import InputError
from planner.instance.loading import InstanceData
from planner.instance.yamlio import read_text


def read_realised(path, d: InstanceData) -> dict[str, dict[int, float]]:
    """``{series path: {period index: value}}`` of the realised file ``path`` for instance ``d``."""
    path = Path(path)
    file = str(path)
    try:
        text = read_text(path, "realised file")
    except InputError as e:
        raise e.with_file(file) from None
    try:
        frame = pd.read_csv(StringIO(text), dtype={"period": str})
    except (ValueError, pd.errors.ParserError) as e:
        raise InputError("", f"cannot read the CSV: {str(e).splitlines()[0]}", file=file) from None
    if "period" not in frame.columns:
        raise InputError("period", "expected a 'period' column", file=file)
    columns = [c for c in frame.columns if c != "period"]
    if not columns:
        raise InputError("", "expected at least one series column besides 'period' (e.g. case_types.NAME.inflow)", file=file)
    index = {}
    for i, label in enumerate(frame["period"]):
        label = str(label).strip()
        t = d.grid.index(label)
        if t is None:
            raise InputError("period", f"row {i + 1}: '{label}' is not a period of the instance ({d.grid.labels[0]}..{d.grid.labels[-1]})", file=file)
        if t in index.values():
            raise InputError("period", f"row {i + 1}: '{label}' is listed twice", file=file)
        index[i] = t
    out = {}
    for c in columns:
        if c not in d.series:
            known = ", ".join(sorted(p for p in d.series if p.endswith(".inflow"))[:4])
            raise InputError(c, f"not a series of the instance; expected a dotted series path such as {known}", file=file)
        values = pd.to_numeric(frame[c], errors="coerce")
        series = {}
        for i, v in enumerate(values):
            if pd.isna(frame[c].iloc[i]):
                continue  # an empty cell keeps the forecast
            if not math.isfinite(v) or v < 0:
                raise InputError(c, f"row {i + 1} ({d.grid.labels[index[i]]}): expected a finite number >= 0, got {frame[c].iloc[i]!r}", file=file)
            series[index[i]] = float(v)
        out[c] = series
    return out


def with_values(d: InstanceData, changes: dict[str, dict[int, float]], periods=None) -> InstanceData:
    """``d`` with the series values of ``changes`` (only at ``periods``, if given)."""
    series = dict(d.series)
    for path, values in changes.items():
        new = list(series[path])
        for t, v in values.items():
            if periods is None or t in periods:
                new[t] = v
        series[path] = new
    return InstanceData(d.instance, d.grid, d.source, series)


def scaled(d: InstanceData, ratios: dict[str, float], from_index: int) -> InstanceData:
    """``d`` with each series of ``ratios`` multiplied by its ratio from period ``from_index`` on."""
    series = dict(d.series)
    for path, r in ratios.items():
        series[path] = [v * r if t >= from_index else v for t, v in enumerate(series[path])]
    return InstanceData(d.instance, d.grid, d.source, series)


def last_ratios(forecast: InstanceData, realised: dict[str, dict[int, float]], p: int, every: int) -> dict[str, float]:
    """Per realised series: realised / forecast over the ``every`` periods before ``p`` (1 without
    them, or when the forecast is 0 there): ``r = sum_{t in [p-every, p)} x_real[t] / sum x_fc[t]``."""
    out = {}
    window = range(max(0, p - every), p)
    for path, values in realised.items():
        fc = sum(forecast.series[path][t] for t in window)
        real = sum(values.get(t, forecast.series[path][t]) for t in window)
        out[path] = real / fc if window and fc > 1e-12 else 1.0
    return out
