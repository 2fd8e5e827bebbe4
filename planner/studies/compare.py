"""Compare measure packages side by side: solve each package (and the status quo), one table.

``planner compare INSTANCE --packages none,letter,all`` writes into the output folder one run
folder per package (``<package>/``) plus ``status-quo/`` (the status quo of the base instance),
``comparison.csv``, ``comparison.xlsx`` (formatted like ``plan.xlsx``) and ``comparison.md`` (rows:
KPIs with units; columns: status quo and packages), the comparison plots and ``comparison.html``
(the table, then the plots; each package's own report.html shows its KPIs against the status quo).
Progress goes to the ``planner`` logger, one line per package.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from planner.errors import InputError
from planner.instance.loading import load_raw
from planner.instance.measures import apply_package

STATUS_QUO = "status-quo"
log = logging.getLogger("planner")

# KPI key, label, unit, scale
ROWS = [
    ("waiting_person_months", "waiting for a first decision", "person-months", 1),
    ("overdue_case_months", "overdue case-months", "case-months", 1),
    ("crisis_person_nights", "crisis shelter", "person-nights", 1),
    ("unsheltered_person_nights", "unsheltered", "person-nights", 1),
    ("permit_holder_months_over_norm", "permit holders past the norm", "person-months", 1),
    ("peak_occupancy", "peak occupancy", "persons", 1),
    ("peak_places_needed", "peak places needed", "places", 1),
    ("total_cost_eur", "total cost", "EUR million", 1e6),
    ("hires_total", "hires", "FTE", 1),
    ("outsourced_cases_total", "outsourced cases", "cases", 1),
    ("locations_opened", "new locations opened", "locations", 1),
    ("accelerated_placements_total", "accelerated placements", "persons", 1),
    ("notices_of_default_total", "notices of default", "notices", 1),
    ("penalty_eur_total", "penalty payments", "EUR million", 1e6),
    ("objective", "objective (weighted, horizon and look-ahead)", "objective units", 1),
]


def comparison_table(kpis_by_run: dict[str, dict]) -> pd.DataFrame:
    """Rows: KPI (label) and unit; columns: runs."""
    data = {
        run: [k.get(key, float("nan")) / scale if k.get(key) is not None else float("nan") for key, _, _, scale in ROWS]
        for run, k in kpis_by_run.items()
    }
    frame = pd.DataFrame(data)
    frame.insert(0, "unit", [unit for _, _, unit, _ in ROWS])
    frame.insert(0, "kpi", [label for _, label, _, _ in ROWS])
    return frame


def compare(instance_path, packages: list[str], out, status_quo: bool = True, solve_kwargs=None, command: list | None = None, lang: str = "en"):
    """Solve every package (and the status quo); write runs, table, workbook; return (table, plans).

    ``out`` must be new, empty or a compare folder written by planner (``runfolder.check_target``);
    ``command``: the command line, kept in the ``run.json`` markers."""
    from planner.check.simulate import simulate
    from planner.outputs.runfolder import MARKER, check_target, marker_text
    from planner.solver.solve import solve

    check_target(out, "compare")
    path = Path(instance_path)
    raw = load_raw(path)
    datas = {pkg: apply_package(raw, pkg, path) for pkg in packages}  # all errors before any solve
    if (solve_kwargs or {}).get("polish_seconds") and any(d.instance.objective.mode != "weighted" for d in datas.values()):
        raise InputError("--polish-cost", "only with the weighted objective (the instance's objective.mode is lexicographic)")
    out = Path(out)
    plans = {}
    total = len(datas) + bool(status_quo)
    if status_quo:
        log.info("1/%d status quo: simulating ...", total)
        plans[STATUS_QUO] = simulate(apply_package(raw, "none", path))
    for i, (pkg, d) in enumerate(datas.items(), 1 + bool(status_quo)):
        log.info("%d/%d package '%s': solving ...", i, total, pkg)
        plans[pkg] = solve(d, **(solve_kwargs or {}))
        plans[pkg].package = pkg
        log.info("%d/%d package '%s': %s in %.1f s", i, total, pkg, plans[pkg].kpis["solver_status"], plans[pkg].timings.get("solve_seconds", 0.0))
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(marker_text("compare", command), encoding="utf-8")
    reference = plans[STATUS_QUO].kpis if status_quo else None
    for name, plan in plans.items():
        if name != STATUS_QUO:
            plan.reference = reference
        plan.write(out / name, command, lang=lang)
    table = comparison_table({name: plan.kpis for name, plan in plans.items()})
    table.to_csv(out / "comparison.csv", index=False, float_format="%.6f", lineterminator="\n")
    (out / "comparison.xlsx").write_bytes(comparison_workbook(table, lang))
    (out / "comparison.md").write_text(markdown_table(table) + "\n", encoding="utf-8")
    pictures = write_plots(plans, out, lang)
    (out / "comparison.html").write_text(comparison_html(Path(instance_path).stem, table, plans, pictures, lang, command), encoding="utf-8")
    return table, plans


def labelled_table(table: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """The comparison with KPI names and units in ``lang`` (the objective row in its own unit)."""
    from planner.outputs import labels as L

    keys = [key for key, _, _, _ in ROWS]
    out = table.copy()
    out["kpi"] = [L.kpi_label(k, lang) for k in keys]
    out["unit"] = [L.unit(k, lang) for k in keys]
    return out.rename(columns={"kpi": L.t("col.kpi", lang), "unit": L.t("col.unit", lang)})


def comparison_workbook(table: pd.DataFrame, lang: str = "en") -> bytes:
    """comparison.xlsx, formatted like plan.xlsx (bold frozen header, integers as integers, fixed dates)."""
    import io

    from planner.outputs.report import FIXED_TIME, _format_sheet, _normalise_zip

    frame = labelled_table(table, lang)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        writer.book.properties.creator = "planner"
        writer.book.properties.created = FIXED_TIME
        writer.book.properties.modified = FIXED_TIME
        frame.to_excel(writer, sheet_name="comparison", index=False)
        runs = [c for c in table.columns if c not in ("kpi", "unit")]
        _format_sheet(writer.sheets["comparison"], frame, {r: "#,##0" for r in runs})
    return _normalise_zip(buf.getvalue())


def comparison_html(name: str, table: pd.DataFrame, plans: dict, pictures: list, lang: str = "en", command=None) -> str:
    """comparison.html: the KPI table (status quo and packages, units in their own column), the
    solver status per run, then the plots; links to each run's report.html."""
    from planner.outputs import labels as L
    from planner.outputs.page import details, e, frame
    from planner.outputs.page import figures as figure_grid
    from planner.outputs.page import table as html_table

    runs = [c for c in table.columns if c not in ("kpi", "unit")]
    shown = labelled_table(table, lang)
    header = [e(L.t("col.kpi", lang))] + [f'<a href="{e(r)}/report.html">{e(r)}</a>' for r in runs] + [e(L.t("col.unit", lang))]
    rows = [[e(row.iloc[0])] + [e(_fmt(row[r])) for r in runs] + [e(row.iloc[1])] for _, row in shown.iterrows()]
    status = [[e(r), e(plans[r].kpis.get("solver_status", "")), e(f"{plans[r].kpis.get('mip_gap') or 0:.2%}")] for r in runs]
    body = [f"<p class=meta>{e(L.t('compare.intro', lang))}</p>", html_table(header, rows, set(range(1, len(runs) + 1)), col_classes={len(runs) + 1: "unit"})]
    body.append(f'<h2 id="figures">{e(L.t("h.figures", lang))}</h2>' + figure_grid(pictures))
    meta = html_table([e(L.t("col.variant", lang)), e(L.t("col.status", lang)), "MIP gap"], status)
    meta += f"<p>{e(L.t('meta.command', lang))}: <code>{e(' '.join(command or []))}</code></p>"
    body.append(f'<h2 id="detail">{e(L.t("h.detail", lang))}</h2>' + details(L.t("h.metadata", lang), meta))
    return frame(L.t("compare.title", lang, name=name), "\n".join(body), lang)


def _fmt(v) -> str:
    return "n/a" if v != v else f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.1f}"


def write_plots(plans: dict, out: Path, lang: str = "en") -> list[tuple[str, str, bytes]]:
    """Overdue cases per month per package; occupancy against places with crisis shelter shaded;
    cost per component (by year, per package). Returns (title, caption, PNG bytes) per plot."""
    from planner.outputs.plots import (
        cost_by_run,
        occupancy_by_run,
        overdue_by_run,
        png_bytes,
    )

    from planner.outputs import labels as L

    runs = {name: plan.tables for name, plan in plans.items()}
    written = []
    for name, title, fig in (
        ("overdue_per_month.png", L.t("fig.overdue", lang), overdue_by_run(runs, lang=lang)),
        ("occupancy_vs_places.png", L.t("fig.occupancy", lang), occupancy_by_run(runs, lang=lang)),
        ("cost_per_component.png", L.t("fig.cost", lang), cost_by_run(runs, lang=lang)),
    ):
        png = png_bytes(fig)
        (out / name).write_bytes(png)
        written.append((title, name, png))
    return written


def terminal_table(table: pd.DataFrame) -> str:
    runs = [c for c in table.columns if c not in ("kpi", "unit")]
    width = max(len(f"{k} ({u})") for k, u in zip(table.kpi, table.unit))
    head = f"{'KPI':<{width}}" + "".join(f"{r:>16}" for r in runs)
    lines = [head, "-" * len(head)]
    for _, row in table.iterrows():
        label = f"{row.kpi} ({row.unit})"
        lines.append(f"{label:<{width}}" + "".join(f"{row[r]:>16,.0f}" for r in runs))
    return "\n".join(lines)


def markdown_table(table: pd.DataFrame) -> str:
    """The comparison as a Markdown table (as shown in the README)."""
    runs = [c for c in table.columns if c not in ("kpi", "unit")]
    lines = ["| KPI | unit | " + " | ".join(runs) + " |", "|---|---|" + "---:|" * len(runs)]
    for _, row in table.iterrows():
        lines.append(f"| {row.kpi} | {row.unit} | " + " | ".join(f"{row[r]:,.0f}" for r in runs) + " |")
    return "\n".join(lines)
