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

from planner.outputs import labels as L

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


def _end_of(labels, lang: str) -> str:
    return L.t("plot.end_of", lang, period=L.t(f"plot.{_period_word(labels)}", lang))


def _distinct_styles(series: list[np.ndarray]) -> list[int | None]:
    """For each series the index of an earlier identical one (None: none), so that a line drawn
    on top of its twin can be dashed and marked instead of hiding it."""
    out: list[int | None] = []
    for i, v in enumerate(series):
        out.append(next((j for j in range(i) if out[j] is None and len(series[j]) == len(v) and np.allclose(series[j], v, rtol=1e-6, atol=1e-6)), None))
    return out


def _plot_lines(ax, named: list[tuple[str, np.ndarray]], lang: str) -> None:
    """One line per (name, values); a line identical to an earlier one is dashed, with markers,
    and its legend entry says which it equals."""
    twins = _distinct_styles([v for _, v in named])
    for i, ((name, values), twin) in enumerate(zip(named, twins)):
        style = dict(color=PALETTE[i % len(PALETTE)], lw=1.8, label=str(name))
        if twin is not None:
            style.update(ls=(0, (4, 3)), marker="o", markersize=3.5, markevery=max(1, len(values) // 12), label=L.t("plot.same_as", lang, name=name, other=named[twin][0]))
        ax.plot(range(len(values)), values, **style)


def _lines_per_type(tables: dict, column: str, ylabel: str, title: str, lang: str = "en") -> Figure:
    """One line per case type of an ``ind_cases`` column over the periods."""
    ind = tables["ind_cases"]
    labels = _periods(ind)
    with _style():
        fig = Figure(figsize=SIZE, layout="constrained")
        ax = fig.add_subplot()
        _plot_lines(ax, [(str(k), _series(g, labels, column)) for k, g in ind.groupby("case_type", sort=False)], lang)
        _period_axis(ax, labels)
        _ylim_from_zero(ax)
        _thousands(ax)
        ax.set_ylabel(f"{ylabel} ({_end_of(labels, lang)})")
        ax.set_title(title)
        _legend(ax, title=L.t("plot.case_type", lang), loc="upper left")
    return fig


def overdue_by_type(tables: dict, title: str | None = None, lang: str = "en") -> Figure:
    """Cases past their legal deadline at the end of each period, one line per case type."""
    return _lines_per_type(tables, "overdue", L.t("plot.overdue_cases", lang), title or L.t("plot.overdue_title", lang), lang)


def overdue_by_run(runs: dict, title: str | None = None, lang: str = "en") -> Figure:
    """Cases past their legal deadline (all case types) per period, one line per run/package."""
    with _style():
        fig = Figure(figsize=SIZE, layout="constrained")
        ax = fig.add_subplot()
        labels: list[str] = []
        named = []
        for name, tables in runs.items():
            ind = tables["ind_cases"]
            labels = labels or _periods(ind)
            named.append((str(name), _series(ind, labels, "overdue")))
        _plot_lines(ax, named, lang)
        _period_axis(ax, labels)
        _ylim_from_zero(ax)
        _thousands(ax)
        ax.set_ylabel(f"{L.t('plot.overdue_all', lang)} ({_end_of(labels, lang)})")
        ax.set_title(title or L.t("plot.overdue_run_title", lang))
        _legend(ax, loc="upper left")
    return fig


# --- occupancy and places --------------------------------------------------------------------


def _norm_of(rec: pd.DataFrame) -> float:
    """The occupancy norm, read back from the table (places_needed = occupancy / norm)."""
    ok = rec[(rec.places_needed > 1e-9) & (rec.occupancy > 1e-9)]
    return float((ok.occupancy / ok.places_needed).median()) if len(ok) else 1.0


def _occupancy_axes(ax, rec: pd.DataFrame, norm: float | None, legend: bool = True, max_ticks: int = 12, lang: str = "en") -> None:
    labels = _periods(rec)
    x = np.arange(len(labels))
    norm = norm if norm is not None else _norm_of(rec)
    occ = _series(rec, labels, "occupancy")
    places = _series(rec, labels, "places_open")
    crisis = _series(rec, labels, "crisis")
    unsheltered = _series(rec, labels, "unsheltered")
    in_coa = occ - crisis - unsheltered
    # shaded: who of the occupancy is not in a regular COA place (just below the occupancy line)
    peak = lambda v: L.t("plot.peak", lang, v=f"{v.max():,.0f}") if len(v) and v.max() >= 0.5 else L.t("plot.none", lang)  # noqa: E731
    ax.fill_between(x, in_coa, in_coa + crisis, color=CRISIS_COLOUR, alpha=0.55, lw=0, label=L.t("plot.crisis", lang, peak=peak(crisis)))
    ax.fill_between(x, in_coa + crisis, occ, color=UNSHELTERED_COLOUR, alpha=0.55, lw=0, label=L.t("plot.unsheltered", lang, peak=peak(unsheltered)))
    ax.plot(x, places, color="#1f77b4", lw=1.2, ls=":", label=L.t("plot.places_open", lang))
    ax.plot(x, occ / norm, color="black", lw=1.2, ls=":", label=L.t("plot.places_needed", lang, norm=f"{norm:.0%}"))
    ax.plot(x, norm * places, color="#1f77b4", lw=2.0, label=L.t("plot.capacity", lang, norm=f"{norm:.0%}"))
    ax.plot(x, occ, color="black", lw=2.0, label=L.t("plot.occupancy", lang))
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


def occupancy(tables: dict, norm: float | None = None, title: str | None = None, lang: str = "en") -> Figure:
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
        _occupancy_axes(ax, rec, norm, lang=lang)
        ax.set_ylabel(f"{L.t('plot.persons', lang)} ({_end_of(_periods(rec), lang)})")
        ax.set_title(title or L.t("plot.occupancy_title", lang))
    return fig


def occupancy_by_run(runs: dict, norm: float | None = None, title: str | None = None, lang: str = "en") -> Figure:
    """One occupancy panel (as :func:`occupancy`) per run, side by side on a shared y axis."""
    n = max(1, len(runs))
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    with _style():
        fig = Figure(figsize=(4.2 * cols + 0.6, 3.4 * rows + 1.0), layout="constrained")
        axes = fig.subplots(rows, cols, sharey=True, squeeze=False).ravel()
        for ax, (name, tables) in zip(axes, runs.items()):
            _occupancy_axes(ax, tables["reception"], norm, legend=False, max_ticks=6, lang=lang)
            ax.set_title(str(name))
            ax.legend(*_shade_handles(ax), loc="lower right", frameon=False, fontsize=7)
        for ax in axes[len(runs):]:
            ax.set_visible(False)
        for r in range(rows):
            axes[r * cols].set_ylabel(L.t("plot.persons", lang))
        handles, labels = axes[0].get_legend_handles_labels()
        keep = [i for i, h in enumerate(handles) if not _is_shade(h)]
        fig.legend([handles[i] for i in keep], [labels[i] for i in keep], loc="outside lower center", ncols=2, frameon=False)
        fig.suptitle(title or L.t("plot.occupancy_title", lang))
    return fig


# --- costs ----------------------------------------------------------------------------------


def _year_costs(costs: pd.DataFrame) -> pd.DataFrame:
    """EUR million per year (rows) and component (columns, in first-seen order)."""
    c = costs.assign(year=costs["period"].astype(str).str[:4])
    table = c.pivot_table(index="year", columns="component", values="eur", aggfunc="sum", sort=False).fillna(0.0)
    table = table.reindex(columns=list(dict.fromkeys(costs["component"])))
    return table.sort_index() / 1e6


def _year_names(costs: pd.DataFrame, lang: str = "en") -> dict[str, str]:
    """'2024' -> '2024' for a full year, '2024 (6 months)' for a part of one."""
    labels = _periods(costs)
    week = _period_word(labels) == "week"
    full = 52 if week else 12
    counts = pd.Series([p[:4] for p in labels]).value_counts()
    unit = L.t("plot.weeks" if week else "plot.months", lang)
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


def _stack(ax, x, table: pd.DataFrame, components, width: float, labelled: set) -> float:
    """Stacked bars, each total written above its bar; returns the tallest total."""
    bottom = np.zeros(len(table))
    for i, comp in enumerate(components):
        values = table[comp].to_numpy(dtype=float) if comp in table else np.zeros(len(table))
        label = comp.replace("_", " ") if comp not in labelled else None
        labelled.add(comp)
        ax.bar(x, values, width, bottom=bottom, color=_colour(comp, i), label=label, edgecolor="white", linewidth=0.4)
        bottom = bottom + values
    for xi, total in zip(np.atleast_1d(x), bottom):
        ax.annotate(f"{total:,.0f}", (xi, total), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=7)
    return float(bottom.max()) if len(bottom) else 0.0


def _finish_cost_axes(ax, title: str, tallest: float, lang: str = "en") -> None:
    """Axis style, labels, title and legend of the stacked cost bars; the y axis leaves room
    above the tallest bar's label, so the title never overlaps it."""
    ax.grid(axis="x", visible=False)
    _thousands(ax)
    ax.set_ylim(0, max(tallest, 1e-9) * 1.15)
    ax.set_ylabel(L.t("plot.meur", lang))
    ax.set_title(title, pad=10)
    _legend(ax, loc="upper left", bbox_to_anchor=(1.01, 1.0), reverse=True)


def cost_by_year(tables: dict, title: str | None = None, lang: str = "en") -> Figure:
    """Cost per component, one stacked bar per year (EUR million)."""
    costs = tables["costs"]
    table = _year_costs(costs)
    names = _year_names(costs, lang)
    components = _components_used([table])
    with _style():
        fig = Figure(figsize=SIZE, layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(len(table))
        tallest = _stack(ax, x, table, components, 0.6, set())
        ax.set_xticks(x, [names.get(y, y) for y in table.index])
        _finish_cost_axes(ax, title or L.t("plot.cost_title", lang), tallest, lang)
    return fig


def cost_by_run(runs: dict, title: str | None = None, lang: str = "en") -> Figure:
    """Cost per component grouped by run: per run one stacked bar per year (EUR million)."""
    tables = {name: _year_costs(t["costs"]) for name, t in runs.items()}
    names: dict[str, str] = {}
    for t in runs.values():
        names.update(_year_names(t["costs"], lang))
    components = _components_used(tables.values())
    width = 0.8
    with _style():
        fig = Figure(figsize=(max(SIZE[0], 1.2 + 1.1 * sum(len(t) for t in tables.values())), SIZE[1] + 0.4), layout="constrained")
        ax = fig.add_subplot()
        ticks, ticklabels, centres = [], [], []
        pos, labelled, tallest = 0.0, set(), 0.0
        for name, table in tables.items():
            x = pos + np.arange(len(table))
            tallest = max(tallest, _stack(ax, x, table, components, width, labelled))
            ticks += list(x)
            ticklabels += [names.get(y, y) for y in table.index]
            centres.append(float(np.mean(x)) if len(x) else pos)
            pos += len(table) + 0.8
        ax.set_xticks(ticks, ticklabels, fontsize=8)
        runs_axis = ax.secondary_xaxis("bottom")
        runs_axis.set_xticks(centres, [str(n) for n in tables], fontsize=9, fontweight="bold")
        runs_axis.tick_params(length=0, pad=16)
        runs_axis.spines["bottom"].set_visible(False)
        _finish_cost_axes(ax, title or L.t("plot.cost_run_title", lang), tallest, lang)
    return fig


# --- case stocks ----------------------------------------------------------------------------


def stocks_by_type(tables: dict, title: str | None = None, lang: str = "en") -> Figure:
    """IND stock of undecided cases at the end of each period, one line per case type."""
    return _lines_per_type(tables, "stock", L.t("plot.undecided", lang), title or L.t("plot.stock_title", lang), lang)
