"""Figures of one run or of several runs side by side, drawn from the run's tables.

Every function takes tables (the ``Plan.tables`` dict of pandas DataFrames, or the same tables read
back from a run folder's CSVs) and returns a :class:`matplotlib.figure.Figure`; nothing touches
pyplot, so no global figure state is created or leaked. The multi-run variants take ``{name:
tables}`` (an ordered dict: the order is the legend's order) and are the ones ``planner compare``
uses for packages of measures.

* :func:`overdue_by_type` / :func:`overdue_by_run`: cases past their legal deadline per period;
* :func:`occupancy` / :func:`occupancy_by_run`: persons with a right to reception against the
  usable capacity (occupancy norm x places open), crisis shelter and unsheltered shaded;
* :func:`cost_by_year` / :func:`cost_by_run`: cost per component, stacked bars per year, EUR million;
* :func:`stocks_by_type`: IND case stocks per case type.

:func:`png_bytes` renders a figure to PNG bytes reproducibly (no software/date metadata, so the
same figure gives the same bytes).
"""

from __future__ import annotations

import io
import math
from contextlib import contextmanager

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

# A fixed style, applied only while a figure is built and saved (the caller's rcParams are
# restored afterwards), so that the pictures do not depend on a user's matplotlibrc.
_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "svg.hashsalt": "planner",
    "path.simplify": True,
}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
COMPONENT_COLOURS = {
    "staff_internal": "#1f77b4",
    "staff_external": "#aec7e8",
    "hiring": "#9edae5",
    "outsourcing": "#17becf",
    "penalties": "#7f7f7f",
    "locations_running": "#2ca02c",
    "locations_opening": "#98df8a",
    "locations_keep_open": "#bcbd22",
    "accelerated_placement": "#9467bd",
    "crisis_shelter": "#d62728",
    "measures": "#ff7f0e",
}
CRISIS_COLOUR = "#ff9f40"
UNSHELTERED_COLOUR = "#d62728"
SIZE = (9.0, 4.2)


@contextmanager
def _style():
    with matplotlib.rc_context(_STYLE):
        yield


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes; no metadata that changes between runs (software, date)."""
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, bbox_inches="tight", pad_inches=0.15)
    return buf.getvalue()


# --- helpers -------------------------------------------------------------------------------


def _thousands(ax, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:,.1f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _period_word(labels) -> str:
    return "week" if labels and "-W" in labels[0] else "month"


def _tick_step(labels, max_ticks: int = 12) -> int:
    """Every 1, 2, 3, 6 or 12 months (1, 2, 4, 13, 26 or 52 weeks): at most ``max_ticks`` labels."""
    steps = (1, 2, 4, 13, 26, 52, 104) if _period_word(labels) == "week" else (1, 2, 3, 6, 12, 24, 60)
    for s in steps:
        if len(labels) / s <= max_ticks:
            return s
    return max(1, math.ceil(len(labels) / max_ticks))


def _period_axis(ax, labels, max_ticks: int = 12) -> None:
    """Periods at 0..T-1, labelled with their YYYY-MM (YYYY-Www) names."""
    labels = list(labels)
    step = _tick_step(labels, max_ticks)
    ticks = list(range(0, len(labels), step))
    ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=45, ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.margins(y=0.05)


def _periods(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame["period"].astype(str)))


def _ylim_from_zero(ax) -> None:
    low, high = ax.get_ylim()
    ax.set_ylim(0, high if high > 0 else 1)


def _legend(ax, **kw) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(frameon=False, **kw)


def _series(frame: pd.DataFrame, labels, column: str) -> np.ndarray:
    s = frame.assign(period=frame["period"].astype(str)).groupby("period", sort=False)[column].sum()
    return s.reindex(labels).fillna(0.0).to_numpy(dtype=float)


# --- overdue cases ---------------------------------------------------------------------------


def _lines_per_type(tables: dict, column: str, ylabel: str, title: str) -> Figure:
    """One line per case type of an ``ind_cases`` column over the periods."""
    ind = tables["ind_cases"]
    labels = _periods(ind)
    with _style():
        fig = Figure(figsize=SIZE, layout="constrained")
        ax = fig.add_subplot()
        for i, (k, g) in enumerate(ind.groupby("case_type", sort=False)):
            ax.plot(range(len(labels)), _series(g, labels, column), color=PALETTE[i % len(PALETTE)], lw=1.8, label=str(k))
        _period_axis(ax, labels)
        _ylim_from_zero(ax)
        _thousands(ax)
        ax.set_ylabel(f"{ylabel} (end of {_period_word(labels)})")
        ax.set_title(title)
        _legend(ax, title="case type", loc="upper left")
    return fig


def overdue_by_type(tables: dict, title: str | None = None) -> Figure:
    """Cases past their legal deadline at the end of each period, one line per case type."""
    return _lines_per_type(tables, "overdue", "overdue cases", title or "IND cases past the legal deadline, per case type")


def overdue_by_run(runs: dict, title: str | None = None) -> Figure:
    """Cases past their legal deadline (all case types) per period, one line per run/package."""
    with _style():
        fig = Figure(figsize=SIZE, layout="constrained")
        ax = fig.add_subplot()
        labels: list[str] = []
        for i, (name, tables) in enumerate(runs.items()):
            ind = tables["ind_cases"]
            labels = labels or _periods(ind)
            ax.plot(range(len(labels)), _series(ind, labels, "overdue"), color=PALETTE[i % len(PALETTE)], lw=1.8, label=str(name))
        _period_axis(ax, labels)
        _ylim_from_zero(ax)
        _thousands(ax)
        ax.set_ylabel(f"overdue cases, all types (end of {_period_word(labels)})")
        ax.set_title(title or "IND cases past the legal deadline")
        _legend(ax, loc="upper left")
    return fig


# --- occupancy and places --------------------------------------------------------------------


def _norm_of(rec: pd.DataFrame) -> float:
    """The occupancy norm, read back from the table (places_needed = occupancy / norm)."""
    ok = rec[(rec.places_needed > 1e-9) & (rec.occupancy > 1e-9)]
    return float((ok.occupancy / ok.places_needed).median()) if len(ok) else 1.0


def _occupancy_axes(ax, rec: pd.DataFrame, norm: float | None, legend: bool = True, max_ticks: int = 12) -> None:
    labels = _periods(rec)
    x = np.arange(len(labels))
    norm = norm if norm is not None else _norm_of(rec)
    occ = _series(rec, labels, "occupancy")
    places = _series(rec, labels, "places_open")
    crisis = _series(rec, labels, "crisis")
    unsheltered = _series(rec, labels, "unsheltered")
    in_coa = occ - crisis - unsheltered
    # shaded: who of the occupancy is not in a regular COA place (just below the occupancy line)
    peak = lambda v: f"peak {v.max():,.0f}" if len(v) and v.max() >= 0.5 else "none"  # noqa: E731
    ax.fill_between(x, in_coa, in_coa + crisis, color=CRISIS_COLOUR, alpha=0.55, lw=0, label=f"in crisis emergency shelter ({peak(crisis)})")
    ax.fill_between(x, in_coa + crisis, occ, color=UNSHELTERED_COLOUR, alpha=0.55, lw=0, label=f"unsheltered, no place ({peak(unsheltered)})")
    ax.plot(x, places, color="#1f77b4", lw=1.2, ls=":", label="places open")
    ax.plot(x, occ / norm, color="black", lw=1.2, ls=":", label=f"places needed = occupancy / {norm:.0%}")
    ax.plot(x, norm * places, color="#1f77b4", lw=2.0, label=f"usable capacity = {norm:.0%} x places open (persons)")
    ax.plot(x, occ, color="black", lw=2.0, label="occupancy: persons with a right to reception")
    _period_axis(ax, labels, max_ticks)
    _ylim_from_zero(ax)
    _thousands(ax)
    if legend:
        _legend(ax, loc="lower right")


def _is_shade(handle) -> bool:
    return isinstance(handle, PolyCollection)


def _shade_handles(ax):
    """The crisis / unsheltered legend entries of one panel (their peaks differ per run)."""
    handles, labels = ax.get_legend_handles_labels()
    keep = [i for i, h in enumerate(handles) if _is_shade(h)]
    return [handles[i] for i in keep], [labels[i] for i in keep]


def occupancy(tables: dict, norm: float | None = None, title: str | None = None) -> Figure:
    """Occupancy against usable capacity (``norm`` x places open; places open dotted).

    Persons on the y axis. Occupancy counts everyone with a right to reception; whoever does not
    fit in a regular COA place is in crisis emergency shelter (shaded orange) or unsheltered
    (shaded red), drawn just below the occupancy line. ``norm`` defaults to the one the table
    implies (occupancy / places_needed). Places needed = occupancy / norm, so occupancy above the
    usable capacity is exactly places needed above places open.
    """
    rec = tables["reception"]
    with _style():
        fig = Figure(figsize=SIZE, layout="constrained")
        ax = fig.add_subplot()
        _occupancy_axes(ax, rec, norm)
        ax.set_ylabel(f"persons (end of {_period_word(_periods(rec))})")
        ax.set_title(title or "COA occupancy against places open")
    return fig


def occupancy_by_run(runs: dict, norm: float | None = None, title: str | None = None) -> Figure:
    """One occupancy panel (as :func:`occupancy`) per run, side by side on a shared y axis."""
    n = max(1, len(runs))
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    with _style():
        fig = Figure(figsize=(4.2 * cols + 0.6, 3.4 * rows + 1.0), layout="constrained")
        axes = fig.subplots(rows, cols, sharey=True, squeeze=False).ravel()
        for ax, (name, tables) in zip(axes, runs.items()):
            _occupancy_axes(ax, tables["reception"], norm, legend=False, max_ticks=6)
            ax.set_title(str(name))
            ax.legend(*_shade_handles(ax), loc="lower right", frameon=False, fontsize=7)
        for ax in axes[len(runs):]:
            ax.set_visible(False)
        for r in range(rows):
            axes[r * cols].set_ylabel("persons")
        handles, labels = axes[0].get_legend_handles_labels()
        keep = [i for i, h in enumerate(handles) if not _is_shade(h)]
        fig.legend([handles[i] for i in keep], [labels[i] for i in keep], loc="outside lower center", ncols=2, frameon=False)
        fig.suptitle(title or "COA occupancy against places open")
    return fig


# --- costs ----------------------------------------------------------------------------------


def _year_costs(costs: pd.DataFrame) -> pd.DataFrame:
    """EUR million per year (rows) and component (columns, in first-seen order)."""
    c = costs.assign(year=costs["period"].astype(str).str[:4])
    table = c.pivot_table(index="year", columns="component", values="eur", aggfunc="sum", sort=False).fillna(0.0)
    table = table.reindex(columns=list(dict.fromkeys(costs["component"])))
    return table.sort_index() / 1e6


def _year_names(costs: pd.DataFrame) -> dict[str, str]:
    """'2024' -> '2024' for a full year, '2024 (6 months)' for a part of one."""
    labels = _periods(costs)
    week = _period_word(labels) == "week"
    full = 52 if week else 12
    counts = pd.Series([p[:4] for p in labels]).value_counts()
    unit = "weeks" if week else "months"
    return {y: y if n >= full else f"{y} ({n} {unit})" for y, n in counts.items()}


def _components_used(frames) -> list[str]:
    order: list[str] = []
    for f in frames:
        for comp in f.columns:
            if comp not in order and float(f[comp].abs().sum()) > 1e-9:
                order.append(comp)
    return order


def _colour(comp: str, i: int) -> str:
    return COMPONENT_COLOURS.get(comp, PALETTE[i % len(PALETTE)])


def _stack(ax, x, table: pd.DataFrame, components, width: float, labelled: set) -> None:
    bottom = np.zeros(len(table))
    for i, comp in enumerate(components):
        values = table[comp].to_numpy(dtype=float) if comp in table else np.zeros(len(table))
        label = comp.replace("_", " ") if comp not in labelled else None
        labelled.add(comp)
        ax.bar(x, values, width, bottom=bottom, color=_colour(comp, i), label=label, edgecolor="white", linewidth=0.4)
        bottom = bottom + values
    for xi, total in zip(np.atleast_1d(x), bottom):
        ax.annotate(f"{total:,.0f}", (xi, total), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=7)


def _finish_cost_axes(ax, title: str) -> None:
    """Axis style, labels, title and legend of the stacked cost bars."""
    ax.grid(axis="x", visible=False)
    _thousands(ax)
    ax.margins(y=0.1)
    ax.set_ylabel("EUR million")
    ax.set_title(title)
    _legend(ax, loc="upper left", bbox_to_anchor=(1.01, 1.0), reverse=True)


def cost_by_year(tables: dict, title: str | None = None) -> Figure:
    """Cost per component, one stacked bar per year (EUR million)."""
    costs = tables["costs"]
    table = _year_costs(costs)
    names = _year_names(costs)
    components = _components_used([table])
    with _style():
        fig = Figure(figsize=SIZE, layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(len(table))
        _stack(ax, x, table, components, 0.6, set())
        ax.set_xticks(x, [names.get(y, y) for y in table.index])
        _finish_cost_axes(ax, title or "Cost per component and year")
    return fig


def cost_by_run(runs: dict, title: str | None = None) -> Figure:
    """Cost per component grouped by run: per run one stacked bar per year (EUR million)."""
    tables = {name: _year_costs(t["costs"]) for name, t in runs.items()}
    names: dict[str, str] = {}
    for t in runs.values():
        names.update(_year_names(t["costs"]))
    components = _components_used(tables.values())
    width = 0.8
    with _style():
        fig = Figure(figsize=(max(SIZE[0], 1.2 + 1.1 * sum(len(t) for t in tables.values())), SIZE[1] + 0.4), layout="constrained")
        ax = fig.add_subplot()
        ticks, ticklabels, centres = [], [], []
        pos, labelled = 0.0, set()
        for name, table in tables.items():
            x = pos + np.arange(len(table))
            _stack(ax, x, table, components, width, labelled)
            ticks += list(x)
            ticklabels += [names.get(y, y) for y in table.index]
            centres.append(float(np.mean(x)) if len(x) else pos)
            pos += len(table) + 0.8
        ax.set_xticks(ticks, ticklabels, fontsize=8)
        runs_axis = ax.secondary_xaxis("bottom")
        runs_axis.set_xticks(centres, [str(n) for n in tables], fontsize=9, fontweight="bold")
        runs_axis.tick_params(length=0, pad=16)
        runs_axis.spines["bottom"].set_visible(False)
        _finish_cost_axes(ax, title or "Cost per component, per run and year")
    return fig


# --- case stocks ----------------------------------------------------------------------------


def stocks_by_type(tables: dict, title: str | None = None) -> Figure:
    """IND stock of undecided cases at the end of each period, one line per case type."""
    return _lines_per_type(tables, "stock", "undecided cases", title or "IND stock of undecided cases, per case type")
