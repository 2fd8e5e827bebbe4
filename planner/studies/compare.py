"""Compare measure packages side by side: solve each package (and the status quo), one table.

``planner compare INSTANCE --packages none,letter,all`` writes into the output folder one run
folder per package (``<package>/``) plus ``status-quo/`` (the status quo of the base instance),
``comparison.csv``, ``comparison.xlsx`` and ``comparison.md`` (rows: KPIs with units; columns: status quo and
packages) and the comparison plots.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from planner.errors import InputError
from planner.instance.loading import load_raw
from planner.instance.measures import apply_package

STATUS_QUO = "status-quo"

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


def compare(instance_path, packages: list[str], out, status_quo: bool = True, solve_kwargs=None, command: list | None = None):
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
    if status_quo:
        plans[STATUS_QUO] = simulate(apply_package(raw, "none", path))
    for pkg, d in datas.items():
        plans[pkg] = solve(d, **(solve_kwargs or {}))
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(marker_text("compare", command), encoding="utf-8")
    for name, plan in plans.items():
        plan.write(out / name, command)
    table = comparison_table({name: plan.kpis for name, plan in plans.items()})
    table.to_csv(out / "comparison.csv", index=False, float_format="%.6f", lineterminator="\n")
    with pd.ExcelWriter(out / "comparison.xlsx", engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name="comparison", index=False)
    (out / "comparison.md").write_text(markdown_table(table) + "\n", encoding="utf-8")
    write_plots(plans, out)
    return table, plans


def write_plots(plans: dict, out: Path) -> list[Path]:
    """Overdue cases per month per package; occupancy against places with crisis shelter shaded;
    cost per component (by year, per package)."""
    from planner.outputs.plots import (
        cost_by_run,
        occupancy_by_run,
        overdue_by_run,
        png_bytes,
    )

    runs = {name: plan.tables for name, plan in plans.items()}
    written = []
    for name, fig in (
        ("overdue_per_month.png", overdue_by_run(runs, title="Overdue cases per month")),
        ("occupancy_vs_places.png", occupancy_by_run(runs, title="COA occupancy against places")),
        ("cost_per_component.png", cost_by_run(runs, title="Cost per component")),
    ):
        (out / name).write_bytes(png_bytes(fig))
        written.append(out / name)
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
