"""The summary of a batch: KPI percentiles (CSV and a printed table) and figures.

Written into ``<batch folder>/summary/``:

* ``percentiles.csv``: per KPI (every numeric KPI column of the results table) the number of
  variants with a plan, mean, p5, p25, p50, p75, p95, min and max;
* ``kpi_histograms.png``: histograms of the main KPIs across the variants;
* ``fan_occupancy.png``: COA occupancy per period across the variants (median, 25-75 % and
  5-95 % bands);
* ``fan_stock.png``: IND case stock per period and case type, the same bands (one panel each);
* ``summary.xlsx``: the percentiles, the package differences and the results, one sheet each.

With measure packages (a batch's ``packages:``, a scenario's ``package`` or a grid axis of
``package``) the percentiles are per package and KPI, the figures draw each package in its own
colour, and, when every variant was solved under each package (``packages:``),
``package_differences.csv`` gives per package and KPI the percentiles of the difference with the
first package, variant by variant (the same inflow draw or grid point): what a package changes
under the same uncertainty, not the difference of two spreads.

Only variants with a plan (:data:`planner.studies.store.OK_STATUSES`) count. Figures are
:class:`matplotlib.figure.Figure` objects rendered with :func:`planner.outputs.plots.png_bytes`
(Agg, no pyplot state).
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from planner.studies.store import FIXED_NAMES, OK_STATUSES

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


def packages(results: pd.DataFrame) -> list:
    """The packages of the batch in order of first appearance ([None]: no package anywhere)."""
    if "package" not in results.columns or results.package.isna().all():
        return [None]
    return list(dict.fromkeys(results.package.fillna("(instance)")))


def _by_package(results: pd.DataFrame):
    """(package, rows) per package; one (None, all rows) without packages."""
    groups = packages(results)
    if groups == [None]:
        yield None, results
        return
    labels = results.package.fillna("(instance)")
    for g in groups:
        yield g, results[labels == g]


def _stats(v: np.ndarray) -> dict:
    row = {"n": len(v), "mean": float(v.mean())}
    row.update({f"p{p}": float(np.percentile(v, p)) for p in PERCENTILES})
    row.update({"min": float(v.min()), "max": float(v.max())})
    return row


STAT_COLUMNS = ["n", "mean", *(f"p{p}" for p in PERCENTILES), "min", "max"]


def percentiles(results: pd.DataFrame) -> pd.DataFrame:
    """One row per KPI (per package and KPI with packages): n, mean, p5 .. p95, min, max
    (variants with a plan)."""
    columns = kpi_columns(results)
    rows = []
    for package, part in _by_package(results):
        ok = ok_rows(part)
        for c in columns:
            v = pd.to_numeric(ok[c], errors="coerce").dropna().to_numpy(dtype=float)
            if len(v):
                rows.append({**({} if package is None else {"package": package}), "kpi": c, **_stats(v)})
    head = ["kpi"] if packages(results) == [None] else ["package", "kpi"]
    return pd.DataFrame(rows, columns=head + STAT_COLUMNS)


def package_differences(results: pd.DataFrame) -> pd.DataFrame | None:
    """Per package after the first and KPI: percentiles of KPI(variant @ package) - KPI(the same
    variant @ first package), over the variants with a plan under both. None unless the batch
    solved every variant under each package (names ``<variant>@<package>``)."""
    groups = packages(results)
    if len(groups) < 2 or not results.name.str.contains("@", regex=False).all():
        return None
    ok = ok_rows(results).copy()
    ok["variant"] = ok.name.str.rsplit("@", n=1).str[0]
    reference = ok[ok.package == groups[0]].set_index("variant")
    rows = []
    for package in groups[1:]:
        other = ok[ok.package == package].set_index("variant")
        common = reference.index.intersection(other.index)
        for c in kpi_columns(results):
            a = pd.to_numeric(other.loc[common, c], errors="coerce")
            b = pd.to_numeric(reference.loc[common, c], errors="coerce")
            v = (a - b).dropna().to_numpy(dtype=float)
            if len(v):
                rows.append({"package": package, "against": groups[0], "kpi": c, **_stats(v)})
    return pd.DataFrame(rows, columns=["package", "against", "kpi"] + STAT_COLUMNS)


def _num(x: float) -> str:
    if x != x:
        return "-"
    if abs(x) >= 1000 or x == int(x):
        return f"{x:,.0f}"
    return f"{x:,.3g}"


def labelled(table: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """The percentiles with KPI names and units instead of keys, EUR in millions
    (:mod:`planner.outputs.labels`)."""
    from planner.outputs import labels as L

    out = table.copy()
    scale = out.kpi.map(L.scale)
    for c in [c for c in STAT_COLUMNS if c != "n" and c in out.columns]:
        out[c] = out[c] / scale
    units = out.kpi.map(lambda k: L.unit(k, lang))
    out["kpi"] = [f"{L.kpi_label(k, lang)} ({u})" if u else L.kpi_label(k, lang) for k, u in zip(out.kpi, units)]
    return out


def format_table(table: pd.DataFrame, only_varying: bool = True, lang: str | None = None) -> str:
    """The percentiles as aligned text; KPIs equal in every variant (of every package) are left
    out (see the CSV). ``lang``: KPI names and units instead of keys (:func:`labelled`)."""
    if only_varying:
        varying = set(table.kpi[table["min"] != table["max"]])
        if "package" in table.columns:  # a KPI that differs between packages varies too
            spread = table.groupby("kpi")["p50"].agg(lambda x: x.max() != x.min())
            varying |= set(spread[spread].index)
        table = table[table.kpi.isin(varying)]
    if table.empty:
        return "(every KPI is the same in every variant; see percentiles.csv)"
    if lang:
        table = labelled(table, lang)
    keys = ["kpi", "package"] if "package" in table.columns else ["kpi"]
    head = [*keys, *(f"p{p}" for p in PERCENTILES)]
    if "package" in table.columns:
        table = table.sort_values("kpi", kind="stable")
    body = [[*(str(getattr(r, k)) for k in keys), *(_num(getattr(r, f"p{p}")) for p in PERCENTILES)] for r in table.itertuples()]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = [
        "  ".join(str(x).ljust(w) if i < len(keys) else str(x).rjust(w) for i, (x, w) in enumerate(zip(row, widths)))
        for row in [head, *body]
    ]
    return "\n".join(lines)


# --- figures ---------------------------------------------------------------------------------


def _compact(v: float, _pos=None) -> str:
    """Axis numbers: 12,500 -> 12.5k, 3.6e9 -> 3.6bn."""
    for size, unit in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{v / size:,.3g}{unit}"
    return f"{v:,.3g}"


def kpi_histograms(results: pd.DataFrame) -> Figure | None:
    """Histograms of the main KPIs (one colour per package, on shared bins)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from planner.outputs import labels as L
    from planner.outputs.plots import PALETTE, SIZE

    ok = ok_rows(results)
    kpis = [k for k in MAIN_KPIS if k in ok.columns and pd.to_numeric(ok[k], errors="coerce").notna().any()]
    ok = ok.assign(**{k: pd.to_numeric(ok[k], errors="coerce") / L.scale(k) for k in kpis})
    results = results.assign(**{k: pd.to_numeric(results[k], errors="coerce") / L.scale(k) for k in kpis})
    if not kpis:
        return None
    groups = [(g, ok_rows(part)) for g, part in _by_package(results)]
    cols = min(3, len(kpis))
    rows = math.ceil(len(kpis) / cols)
    fig = Figure(figsize=(SIZE[0], 2.6 * rows + (0.9 if len(groups) > 1 else 0.6)))
    for i, k in enumerate(kpis):
        ax = fig.add_subplot(rows, cols, i + 1)
        every = pd.to_numeric(ok[k], errors="coerce").dropna().to_numpy(dtype=float)
        bins = np.histogram_bin_edges(every, bins=min(30, max(5, int(math.sqrt(len(every) / len(groups))) + 1)))
        drawn = [(j, g, pd.to_numeric(part[k], errors="coerce").dropna().to_numpy(dtype=float)) for j, (g, part) in enumerate(groups)]
        drawn = [(j, g, v) for j, g, v in drawn if len(v)]
        colours = [PALETTE[j % len(PALETTE)] if g is not None else "#1f77b4" for j, g, _ in drawn]
        # packages side by side in each bin (no overlaps, so every colour is a legend colour)
        ax.hist([v for _, _, v in drawn], bins=bins, color=colours, alpha=0.85, label=[g for _, g, _ in drawn] if len(drawn) > 1 else None, rwidth=0.9)
        for (j, g, v), colour in zip(drawn, colours):
            ax.axvline(float(np.median(v)), color="#d62728" if g is None else colour, linewidth=1.2, linestyle="--" if g is not None else "-")
        same = "\n(the same in every variant)" if every.min() == every.max() else ""
        ax.set_title("\n".join(textwrap.wrap(f"{L.kpi_label(k)} ({L.unit(k)})", 34)) + same, fontsize=9)
        ax.set_ylabel("variants")
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_compact))
    if len(groups) > 1:
        handles, labels = fig.axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=len(groups), frameon=False, title="package (dashed lines: medians)")
        fig.suptitle(f"Main KPIs across {len(ok)} variants with a plan, per package")
        fig.tight_layout(rect=(0, 0.08, 1, 1))
    else:
        fig.suptitle(f"Main KPIs across {len(ok)} variants with a plan (red: median)")
        fig.tight_layout()
    return fig


def _fan(ax, matrix: np.ndarray, labels, colour: str = "#1f77b4", label: str | None = None, outer: bool = True) -> None:
    """Median line and the 25-75 % band (and the 5-95 % band if ``outer``) across the rows."""
    from planner.outputs.plots import _period_axis, _thousands

    x = np.arange(matrix.shape[1])
    q = {p: np.percentile(matrix, p, axis=0) for p in PERCENTILES}
    if outer:
        ax.fill_between(x, q[5], q[95], color=colour, alpha=0.18, linewidth=0, label="5-95 %" if label is None else None)
    ax.fill_between(x, q[25], q[75], color=colour, alpha=0.35 if outer else 0.25, linewidth=0, label="25-75 %" if label is None else None)
    ax.plot(x, q[50], color=colour, linewidth=1.6, label="median" if label is None else f"{label} (median, 25-75 %)")
    _period_axis(ax, labels)
    _thousands(ax)


def _matrix(series: pd.DataFrame, name: str, key: str = "") -> tuple[np.ndarray, list[str]] | None:
    part = series[(series.series == name) & (series.key == key)]
    if part.empty:
        return None
    wide = part.pivot(index="id", columns="t", values="value").sort_index(axis=1)
    labels = part.drop_duplicates("t").sort_values("t").period.tolist()
    return wide.to_numpy(dtype=float), labels


def _series_groups(series: pd.DataFrame, groups) -> list[tuple]:
    """(package, series rows of its variants) per package; ``groups``: (package, result rows)."""
    return [(g, series[series.id.isin(set(part.id))]) for g, part in groups]


def _fans(ax, parts, name: str, key: str = "", colour: str = "#1f77b4") -> int:
    """One fan per package on ``ax``; returns the number of variants drawn."""
    from planner.outputs.plots import PALETTE

    n = 0
    single = len(parts) == 1
    for j, (g, part) in enumerate(parts):
        got = _matrix(part, name, key)
        if got is None:
            continue
        matrix, labels = got
        n += matrix.shape[0]
        _fan(ax, matrix, labels, colour if single else PALETTE[j % len(PALETTE)], None if single else g, outer=single)
    return n


def fan_occupancy(series: pd.DataFrame, groups=None) -> Figure | None:
    from planner.outputs.plots import SIZE

    if not ((series.series == "occupancy") & (series.key == "")).any():
        return None
    parts = _series_groups(series, groups) if groups else [(None, series)]
    fig = Figure(figsize=SIZE)
    ax = fig.add_subplot(1, 1, 1)
    n = _fans(ax, parts, "occupancy")
    ax.set_ylabel("persons")
    ax.set_title(f"COA occupancy across {n} variants" + (", per package" if len(parts) > 1 else ""))
    ax.legend(frameon=False, loc="upper left")
    fig.tight_layout()
    return fig


def fan_stock(series: pd.DataFrame, groups=None) -> Figure | None:
    from planner.outputs.plots import PALETTE, SIZE

    keys = list(dict.fromkeys(series[series.series == "stock"].key))
    if not keys:
        return None
    parts = _series_groups(series, groups) if groups else [(None, series)]
    cols = min(2, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig = Figure(figsize=(SIZE[0], 3.0 * rows + 0.6))
    n = 0
    for i, k in enumerate(keys):
        ax = fig.add_subplot(rows, cols, i + 1)
        n = _fans(ax, parts, "stock", k, PALETTE[i % len(PALETTE)])
        ax.set_title(f"{k}: cases waiting (end of period)", fontsize=9)
        if i == 0:
            ax.legend(frameon=False, loc="upper left", fontsize=8)
    fig.suptitle(f"IND case stock per case type across {n} variants" + (", per package" if len(parts) > 1 else ""))
    fig.tight_layout()
    return fig


def workbook(table: pd.DataFrame, differences: pd.DataFrame | None, results: pd.DataFrame) -> bytes:
    """summary.xlsx: sheets 'percentiles', 'package_differences' (with packages) and 'results'
    (one row per variant, as results.csv), for a spreadsheet."""
    import io

    from planner.outputs.report import _format_sheet

    buf = io.BytesIO()
    def named(frame):  # KPI key kept, then its name with the unit; EUR in millions
        return None if frame is None else labelled(frame).rename(columns={"kpi": "kpi (unit)"}).assign(key=frame.kpi.values).pipe(lambda f: f[["key", *[c for c in f.columns if c != "key"]]])

    sheets = [("percentiles", named(table)), ("package_differences", named(differences)), ("results", results)]
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, frame in sheets:
            if frame is not None:
                frame.to_excel(writer, sheet_name=name, index=False)
                _format_sheet(writer.sheets[name], frame)
    return buf.getvalue()


def terminal_summary(table: pd.DataFrame, differences: pd.DataFrame | None, lang: str = "en") -> str:
    """What ``planner batch`` prints: the percentiles of the KPIs that vary; with packages only
    the main KPIs (:data:`MAIN_KPIS`) per package and, when every variant ran under each package,
    their paired differences (the CSV files have every KPI)."""
    if "package" not in table.columns:
        return format_table(table, lang=lang)
    main = table[table.kpi.isin(MAIN_KPIS)]
    text = "percentiles per package (every KPI: summary/percentiles.csv)\n" + format_table(main, only_varying=False, lang=lang)
    if differences is not None and not differences.empty:
        diff = differences[differences.kpi.isin(MAIN_KPIS)].rename(columns={"package": "pkg"})
        diff = diff.assign(package=diff.pkg + " - " + diff.against).drop(columns=["pkg", "against"])
        text += "\n\nper variant, package minus " + str(differences.against.iloc[0])
        text += " (every KPI: summary/package_differences.csv)\n" + format_table(diff, only_varying=False, lang=lang)
    return text


def _percentile_html(table: pd.DataFrame, lang: str, keys: list[str]) -> str:
    from planner.outputs import labels as L
    from planner.outputs.page import e, table as html_table

    shown = labelled(table, lang)
    header = [e(L.t("col.kpi", lang) + " (" + L.t("col.unit", lang) + ")")] + [e(L.t(f"col.{k}", lang)) for k in keys if k != "kpi"]
    header += [e(L.t("col.n", lang)), e(L.t("col.mean", lang))] + [f"p{p}" for p in PERCENTILES]
    rows = []
    for r in shown.itertuples(index=False):
        rec = r._asdict()
        rows.append([e(rec["kpi"])] + [e(rec[k]) for k in keys if k != "kpi"] + [e(f"{int(rec['n']):,}"), e(_num(rec["mean"]))] + [e(_num(rec[f"p{p}"])) for p in PERCENTILES])
    first_num = len(keys)
    return html_table(header, rows, set(range(first_num, len(header))))


def _failures_html(results: pd.DataFrame, lang: str) -> str:
    from planner.outputs import labels as L
    from planner.outputs.page import e, table as html_table

    bad = results[~results.status.isin(OK_STATUSES)]
    if bad.empty:
        return f"<p>{e(L.t('batch.no_failures', lang))}</p>"
    rows = [[e(r.name), e(r.status), e(r.message if isinstance(r.message, str) else "")] for r in bad.itertuples(index=False)]
    return html_table([e(L.t("col.variant", lang)), e(L.t("col.status", lang)), e(L.t("col.reason", lang))], rows)


def summary_html(name: str, results: pd.DataFrame, table: pd.DataFrame, differences: pd.DataFrame | None, figures: list, lang: str = "en") -> str:
    """summary.html: how many variants have a plan, the failures with their reasons, the
    percentile tables (KPI names with units, EUR in millions), then the figures; the KPIs equal in
    every variant are folded away."""
    from planner.outputs import labels as L
    from planner.outputs.page import details, e, frame
    from planner.outputs.page import figures as figure_grid

    ok = len(ok_rows(results))
    keys = ["kpi", "package"] if "package" in table.columns else ["kpi"]
    main = table[table.kpi.isin(MAIN_KPIS)]
    body = [f"<p class=meta>{e(L.t('batch.intro', lang, ok=ok, n=len(results)))}</p>"]
    body.append(f"<h2 id=failures>{e(L.t('batch.failures', lang))}</h2>" + _failures_html(results, lang))
    body.append(f"<h2 id=percentiles>{e(L.t('batch.percentiles', lang))}</h2>" + _percentile_html(main, lang, keys))
    if differences is not None and not differences.empty:
        ref = str(differences.against.iloc[0])
        diff = differences[differences.kpi.isin(MAIN_KPIS)].drop(columns=["against"])
        body.append(f"<h2 id=differences>{e(L.t('batch.differences', lang, ref=ref))}</h2>" + _percentile_html(diff, lang, ["kpi", "package"]))
    body.append(f"<h2 id=figures>{e(L.t('h.figures', lang))}</h2>" + figure_grid(figures))
    rest = table[~table.kpi.isin(MAIN_KPIS)]
    if len(rest):
        body.append(f"<h2 id=detail>{e(L.t('h.detail', lang))}</h2>" + details(L.t("h.all_kpis", lang), _percentile_html(rest, lang, keys)))
    return frame(L.t("batch.title", lang, name=name), "\n".join(body), lang)


def write_summary(folder: Path, results: pd.DataFrame, series: pd.DataFrame, lang: str = "en") -> tuple[pd.DataFrame, pd.DataFrame | None, list[Path]]:
    """Write ``summary/`` (percentiles.csv, package_differences.csv with packages, the figures,
    summary.html); returns the percentiles, the package differences (None without) and the files."""
    from planner.outputs.plots import png_bytes

    out = Path(folder) / "summary"
    out.mkdir(parents=True, exist_ok=True)
    table = percentiles(results)
    written = [out / "percentiles.csv"]
    table.to_csv(written[0], index=False, lineterminator="\n")
    differences = package_differences(results)
    if differences is not None:
        written.append(out / "package_differences.csv")
        differences.to_csv(written[-1], index=False, lineterminator="\n")
    written.append(out / "summary.xlsx")
    written[-1].write_bytes(workbook(table, differences, results))
    ok_ids = set(ok_rows(results).id)
    series = series[series.id.isin(ok_ids)]
    groups = list(_by_package(results))
    groups = groups if len(groups) > 1 else None
    pictures = []
    for name, title, fig in (
        ("kpi_histograms.png", "kpi_histograms", kpi_histograms(results)),
        ("fan_occupancy.png", "fan_occupancy", fan_occupancy(series, groups)),
        ("fan_stock.png", "fan_stock", fan_stock(series, groups)),
    ):
        if fig is not None:
            png = png_bytes(fig)
            (out / name).write_bytes(png)
            written.append(out / name)
            from planner.outputs import labels as L

            pictures.append((L.t(f"batch.fig.{title}", lang), name, png))
    written.append(out / "summary.html")
    written[-1].write_text(summary_html(Path(folder).name, results, table, differences, pictures, lang), encoding="utf-8")
    return table, differences, written
