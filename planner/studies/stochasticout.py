"""The run folder of a two-stage stochastic solve (``planner solve INSTANCE --scenarios N``).

    stochastic.json        the summary: scenarios, seed, first stage, RP (expected objective), EV,
                           EEV, WS, VSS, EVPI, the risk term, expected KPIs, the out-of-sample
                           check, the non-anticipativity recount, timings
    plan_quarter.csv       the first-stage plan (the decisions of the first-stage periods, shared
                           by every scenario)
    first_stage.csv        every first-stage decision: variable, index, decision period, value in
                           the stochastic plan and in the mean-forecast plan
    scenarios.csv          one row per scenario: probability, multipliers, objective under the
                           stochastic plan, under the mean plan's first stage, wait-and-see, KPIs
    highs_extensive.log    HiGHS's log of the extensive form's solve (size, presolve, MIP start,
                           root LP, incumbents, gap)
    out_of_sample.csv      one row per fresh scenario: both first stages' objectives and
                           crisis + unsheltered person-nights (when the check ran)
    fan_occupancy.png, fan_crisis.png, fan_stock.png
                           per period across the scenarios: median, 25-75 % and min-max bands
    scenarios/<name>/      each scenario's run folder (tables, kpis.json, instance.resolved.yaml;
                           no report), readable by ``planner evaluate``

Non-anticipativity is checked apart from the model: every scenario's run is recounted from its
decisions (:mod:`planner.check.recount`) and the recounted ``plan_quarter`` tables must be equal
in every column but ``note`` (the note of a site opened now says until when it is in use: that
follows from the later periods' ``serve``, a recourse decision that differs between scenarios).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from planner.check.evaluate import read_decisions, read_run
from planner.check.recount import recount
from planner.outputs.plots import png_bytes
from planner.outputs.results import csv_text, json_text, resolved_yaml
from planner.outputs.runfolder import marker_text, write_run_folder

KPIS = (
    "waiting_person_months",
    "overdue_case_months",
    "crisis_person_nights",
    "unsheltered_person_nights",
    "permit_holder_months_over_norm",
    "peak_occupancy",
    "peak_places_needed",
    "total_cost_eur",
    "hires_total",
    "outsourced_cases_total",
    "locations_opened",
)
"""The KPIs per scenario in ``scenarios.csv`` and, probability-weighted, in ``stochastic.json``."""


def scenario_files(plan, command=None) -> dict[str, str]:
    """A scenario's run folder files (no report.html / plan.xlsx)."""
    files = {"instance.resolved.yaml": resolved_yaml(plan.data), "kpis.json": json_text(plan.kpis)}
    files.update({f"{name}.csv": csv_text(frame) for name, frame in plan.tables.items()})
    files["run.json"] = marker_text("run", command)
    return files


def scenario_table(result) -> pd.DataFrame:
    """``scenarios.csv``: one row per scenario (module docstring)."""
    rows = []
    for sc, plan in zip(result.scenarios, result.plans):
        per = result.per_scenario[sc.name]
        row = {"scenario": sc.name, "probability": sc.probability}
        row.update({f"factor:{p}": f for p, f in sc.factors.items()})
        row.update({"objective": per["rp"], "objective_mean_plan": per["eev"], "objective_wait_and_see": per["ws"]})
        row["crisis_unsheltered_person_nights_model"] = per["risk"]
        row.update({k: plan.kpis[k] for k in KPIS})
        rows.append(row)
    return pd.DataFrame(rows)


def expected_kpis(table: pd.DataFrame) -> dict:
    """The probability-weighted mean of every KPI column of ``scenarios.csv``."""
    p = table.probability.to_numpy() / table.probability.sum()
    return {k: float(np.dot(p, table[k].to_numpy(dtype=float))) for k in KPIS}


def first_stage_table(result, d) -> pd.DataFrame:
    """``first_stage.csv``: every shared decision with its decision period and both plans' values."""
    from planner.model.stages import decision_period

    rows = []
    for (name, index), x, x_ev in zip(result.keys, result.first_stage, result.mean_first_stage):
        idx = index if isinstance(index, tuple) else (index,)
        t = decision_period(None, d, name, index)
        rows.append({"variable": name, "index": ",".join(str(i) for i in idx), "decided": d.grid.labels[max(0, t)], "stochastic": x, "mean_plan": x_ev})
    return pd.DataFrame(rows, columns=["variable", "index", "decided", "stochastic", "mean_plan"])


def _series(plans, what: str) -> tuple[list[str], np.ndarray]:
    """``(period labels, scenarios x periods)`` of occupancy, crisis (+ unsheltered) or IND stock."""
    rows = []
    for plan in plans:
        if what == "stock":
            s = plan.tables["ind_cases"].groupby("period", sort=False).stock.sum()
        else:
            rec = plan.tables["reception"].set_index("period")
            s = rec.occupancy if what == "occupancy" else rec.crisis + rec.unsheltered
        rows.append(s)
    return list(rows[0].index), np.array([r.to_numpy(dtype=float) for r in rows])


TITLES = {
    "occupancy": "COA occupancy across the scenarios (persons)",
    "crisis": "Crisis shelter + unsheltered across the scenarios (persons)",
    "stock": "IND case stock across the scenarios (cases)",
}


def fan_chart(plans, what: str) -> Figure:
    """Median, 25-75 % and min-max over the scenarios per period (first stage shared)."""
    labels, m = _series(plans, what)
    x = np.arange(len(labels))
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    ax.fill_between(x, m.min(axis=0), m.max(axis=0), color="#1f77b4", alpha=0.15, label="min-max", linewidth=0)
    ax.fill_between(x, np.percentile(m, 25, axis=0), np.percentile(m, 75, axis=0), color="#1f77b4", alpha=0.35, label="25-75 %", linewidth=0)
    ax.plot(x, np.median(m, axis=0), color="#1f77b4", label="median")
    step = max(1, len(labels) // 8)
    ax.set_xticks(x[::step], labels[::step])
    ax.set_title(f"{TITLES[what]}, {len(plans)} scenarios")
    ax.legend(loc="upper left")
    return fig


def nonanticipativity_recount(plans) -> dict:
    """Write every scenario's run to a scratch folder, recount it from its decisions and compare the
    recounted ``plan_quarter`` tables: ``{"identical": bool, "scenarios": n, "rows": rows}``."""
    tables = []
    with tempfile.TemporaryDirectory(prefix="planner-na-") as tmp:
        for i, plan in enumerate(plans):
            folder = write_run_folder(Path(tmp) / f"s{i}", scenario_files(plan))
            run = read_run(folder)
            q = recount(run.data, read_decisions(run)).tables["plan_quarter"].drop(columns=["note"], errors="ignore")
            tables.append(q.assign(value=q.value.astype(float).round(6)).reset_index(drop=True))
    same = all(t.equals(tables[0]) for t in tables[1:])
    return {"identical": bool(same), "scenarios": len(plans), "rows": int(len(tables[0]))}


def write_stochastic(result, d, out, command=None) -> Path:
    """Write the run folder (module docstring) atomically; returns its path."""
    table = scenario_table(result)
    summary = {**result.summary, "expected_kpis": expected_kpis(table)}
    summary["nonanticipativity_recount"] = nonanticipativity_recount(result.plans)
    if result.out_of_sample is not None:
        summary["out_of_sample"] = result.out_of_sample
    files = {
        "stochastic.json": json_text(summary),
        "plan_quarter.csv": csv_text(result.plans[0].tables["plan_quarter"]),
        "first_stage.csv": csv_text(first_stage_table(result, d)),
        "scenarios.csv": csv_text(table),
    }
    if result.highs_log:
        files["highs_extensive.log"] = result.highs_log
    if result.out_of_sample_rows:
        files["out_of_sample.csv"] = csv_text(pd.DataFrame(result.out_of_sample_rows))
    for what in ("occupancy", "crisis", "stock"):
        files[f"fan_{what}.png"] = png_bytes(fan_chart(result.plans, what))
    for sc, plan in zip(result.scenarios, result.plans):
        files.update({f"scenarios/{sc.name}/{k}": v for k, v in scenario_files(plan, command).items()})
    result.summary = summary
    return write_run_folder(out, files, command, kind="stochastic")
