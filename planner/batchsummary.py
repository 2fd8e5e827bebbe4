"""The summary of a batch: KPI percentiles (CSV and a printed table) and figures.

Written into ``<batch folder>/summary/``:

* ``percentiles.csv``: per KPI (every numeric KPI column of the results table) the number of
  variants with a plan, mean, p5, p25, p50, p75, p95, min and max;
* ``kpi_histograms.png``: histograms of the main KPIs across the variants;
* ``fan_occupancy.png``: COA occupancy per period across the variants (median, 25-75 % and
  5-95 % bands);
* ``fan_stock.png``: IND case stock per period and case type, the same bands (one panel each).

Only variants with a plan (:data:`planner.store.OK_STATUSES`) count. Figures are
:class:`matplotlib.figure.Figure` objects rendered with :func:`planner.plots.png_bytes`
(Agg, no pyplot state).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .store import FIXED_NAMES, OK_STATUSES

PERCENTILES = (5, 25, 50, 75, 95)
MAIN_KPIS = (
    "overdue_case_months",
    "crisis_person_nights",
    "unsheltered_person_nights",
    "permit_holder_months_over_norm",
    "peak_occupancy",
    "total_cost_eur",
)
NOT_KPIS = ("build_seconds", "solve_seconds", "periods", "commit_periods")


def kpi_columns(results: pd.DataFrame) -> list[str]:
    """Numeric KPI columns (not the store's own columns, not timings)."""
    cols = []
    for c in results.columns:
        if c in FIXED_NAMES or c in NOT_KPIS or c.endswith("_seconds"):
            continue
        values = pd.to_numeric(results[c], errors="coerce")
        if values.notna().any() and values.notna().sum() == results[c].notna().sum():
            cols.append(c)
    return cols


def ok_rows(results: pd.DataFrame) -> pd.DataFrame:
    return results[results.status.isin(OK_STATUSES)]


def percentiles(results: pd.DataFrame) -> pd.DataFrame:
    """One row per KPI: n, mean, p5 .. p95, min, max (variants with a plan)."""
    ok = ok_rows(results)
    rows = []
    for c in kpi_columns(results):
        v = pd.to_numeric(ok[c], errors="coerce").dropna().to_numpy(dtype=float)
        if not len(v):
            continue
        row = {"kpi": c, "n": len(v), "mean": float(v.mean())}
        row.update({f"p{p}": float(np.percentile(v, p)) for p in PERCENTILES})
        row.update({"min": float(v.min()), "max": float(v.max())})
        rows.append(row)
    return pd.DataFrame(rows, columns=["kpi", "n", "mean", *(f"p{p}" for p in PERCENTILES), "min", "max"])


def _num(x: float) -> str:
    if x != x:
        return "-"
    if abs(x) >= 1000 or x == int(x):
        return f"{x:,.0f}"
    return f"{x:,.3g}"


def format_table(table: pd.DataFrame, only_varying: bool = True) -> str:
    """The percentiles as aligned text; KPIs equal in every variant are left out (see the CSV)."""
    if only_varying:
        table = table[table["min"] != table["max"]]
    if table.empty:
        return "(every KPI is the same in every variant; see percentiles.csv)"
    head = ["kpi", *(f"p{p}" for p in PERCENTILES)]
    body = [[r.kpi, *(_num(getattr(r, f"p{p}")) for p in PERCENTILES)] for r in table.itertuples()]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(row, widths))) for row in [head, *body]]
    return "\n".join(lines)


# --- figures ---------------------------------------------------------------------------------


def _compact(v: float, _pos=None) -> str:
    """Axis numbers: 12,500 -> 12.5k, 3.6e9 -> 3.6bn."""
    for size, unit in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{v / size:,.3g}{unit}"
    return f"{v:,.3g}"


def kpi_histograms(results: pd.DataFrame) -> Figure | None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from .plots import SIZE

    ok = ok_rows(results)
    kpis = [k for k in MAIN_KPIS if k in ok.columns and pd.to_numeric(ok[k], errors="coerce").notna().any()]
    if not kpis:
        return None
    cols = min(3, len(kpis))
    rows = math.ceil(len(kpis) / cols)
    fig = Figure(figsize=(SIZE[0], 2.6 * rows + 0.6))
    for i, k in enumerate(kpis):
        ax = fig.add_subplot(rows, cols, i + 1)
        v = pd.to_numeric(ok[k], errors="coerce").dropna().to_numpy(dtype=float)
        ax.hist(v, bins=min(30, max(5, int(math.sqrt(len(v))) + 1)), color="#1f77b4", alpha=0.8)
        ax.axvline(float(np.median(v)), color="#d62728", linewidth=1, label="median")
        same = "\n(the same in every variant)" if v.min() == v.max() else ""
        ax.set_title(k.replace("_", " ") + same, fontsize=9)
        ax.set_ylabel("variants")
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_compact))
    fig.suptitle(f"Main KPIs across {len(ok)} variants with a plan")
    fig.tight_layout()
    return fig


def _fan(ax, matrix: np.ndarray, labels, colour: str = "#1f77b4") -> None:
    from .plots import _period_axis, _thousands

    x = np.arange(matrix.shape[1])
    q = {p: np.percentile(matrix, p, axis=0) for p in PERCENTILES}
    ax.fill_between(x, q[5], q[95], color=colour, alpha=0.18, linewidth=0, label="5-95 %")
    ax.fill_between(x, q[25], q[75], color=colour, alpha=0.35, linewidth=0, label="25-75 %")
    ax.plot(x, q[50], color=colour, linewidth=1.6, label="median")
    _period_axis(ax, labels)
    _thousands(ax)


def _matrix(series: pd.DataFrame, name: str, key: str = "") -> tuple[np.ndarray, list[str]] | None:
    part = series[(series.series == name) & (series.key == key)]
    if part.empty:
        return None
    wide = part.pivot(index="id", columns="t", values="value").sort_index(axis=1)
    labels = part.drop_duplicates("t").sort_values("t").period.tolist()
    return wide.to_numpy(dtype=float), labels


def fan_occupancy(series: pd.DataFrame) -> Figure | None:
    from .plots import SIZE

    got = _matrix(series, "occupancy")
    if got is None:
        return None
    matrix, labels = got
    fig = Figure(figsize=SIZE)
    ax = fig.add_subplot(1, 1, 1)
    _fan(ax, matrix, labels)
    ax.set_ylabel("persons")
    ax.set_title(f"COA occupancy across {matrix.shape[0]} variants")
    ax.legend(frameon=False, loc="upper left")
    fig.tight_layout()
    return fig


def fan_stock(series: pd.DataFrame) -> Figure | None:
    from .plots import PALETTE, SIZE

    keys = list(dict.fromkeys(series[series.series == "stock"].key))
    if not keys:
        return None
    cols = min(2, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig = Figure(figsize=(SIZE[0], 3.0 * rows + 0.6))
    for i, k in enumerate(keys):
        matrix, labels = _matrix(series, "stock", k)
        ax = fig.add_subplot(rows, cols, i + 1)
        _fan(ax, matrix, labels, PALETTE[i % len(PALETTE)])
        ax.set_title(f"{k}: cases waiting (end of period)", fontsize=9)
        if i == 0:
            ax.legend(frameon=False, loc="upper left")
    fig.suptitle(f"IND case stock per case type across {matrix.shape[0]} variants")
    fig.tight_layout()
    return fig


def write_summary(folder: Path, results: pd.DataFrame, series: pd.DataFrame) -> tuple[pd.DataFrame, list[Path]]:
    """Write ``summary/`` (percentiles.csv and the figures); returns the table and the files."""
    from .plots import png_bytes

    out = Path(folder) / "summary"
    out.mkdir(parents=True, exist_ok=True)
    table = percentiles(results)
    written = [out / "percentiles.csv"]
    table.to_csv(written[0], index=False, lineterminator="\n")
    ok_ids = set(ok_rows(results).id)
    series = series[series.id.isin(ok_ids)]
    for name, fig in (
        ("kpi_histograms.png", kpi_histograms(results)),
        ("fan_occupancy.png", fan_occupancy(series)),
        ("fan_stock.png", fan_stock(series)),
    ):
        if fig is not None:
            (out / name).write_bytes(png_bytes(fig))
            written.append(out / name)
    return table, written
