"""What ``planner rolling`` writes: the comparison with regret, the steps, the plots.

The output folder (kind ``rolling``, with its ``run.json``) holds

* ``rolling.md``: the comparison (rolling, status quo, hindsight, regret = rolling - hindsight per
  KPI) and one line per step (forecast used, decisions committed, objectives);
* ``comparison.csv``, ``steps.csv``, ``committed.csv`` (every committed decision, per step),
  ``forecast_vs_realised.csv`` (per step the forecast it planned on and the realised values);
* ``forecast_vs_realised.png`` (per step, every realised series), ``occupancy.png`` (rolling,
  status quo, hindsight);
* run folders ``realised/`` (the rolling trajectory: ``planner evaluate`` recounts it),
  ``status-quo/`` and ``hindsight/``.

The KPIs come from the three run folders' ``kpis.json``: the same periods (from ``--from`` to the
horizon's end) and the same model periods (with the look-ahead tail), so the objective row is
``J_rolling`` against ``J_hindsight`` (:mod:`planner.studies.rolling`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from planner.outputs.plots import occupancy_by_run, png_bytes
from planner.outputs.runfolder import MARKER, check_target, marker_text
from planner.studies.compare import comparison_table, markdown_table
from planner.studies.rolling import hindsight_note

RUNS = ("rolling", "status-quo", "hindsight")


def comparison(res) -> pd.DataFrame:
    """KPI rows; columns rolling, status-quo, hindsight and regret (rolling - hindsight)."""
    table = comparison_table({"rolling": res.replay.kpis, "status-quo": res.status_quo.kpis, "hindsight": res.hindsight.kpis})
    table["regret"] = table["rolling"] - table["hindsight"]
    return table


def steps_table(res) -> pd.DataFrame:
    rows = []
    for s in res.steps:
        c = pd.DataFrame(s.committed)
        tot = c.groupby("decision").value.sum() if len(c) else pd.Series(dtype=float)
        rows.append(
            {
                "step": s.at,
                "window": f"{s.window[0]}..{s.window[-1]}",
                "forecast": "; ".join(f"{k} x{v:.3f}" for k, v in s.forecast.items()),
                "hires_fte": float(tot.get("hire", 0.0)),
                "external_fte_periods": float(tot.get("external_staff", 0.0)),
                "outsourced_cases": float(tot.get("outsource", 0.0)),
                "accelerated_persons": float(tot.get("place_accelerated", 0.0)),
                "sites_opened": int((c.decision == "open_location").sum()) if len(c) else 0,
                "places_opened": float(tot.get("open_location", 0.0)),
                "plan_objective": s.plan_objective,
                "played_objective": s.played_objective,
                "replay_objective": s.replay_objective,
                "seconds": round(s.seconds, 1),
            }
        )
    return pd.DataFrame(rows)


def forecast_plot(res):
    """One panel per realised series: per step, the forecast it planned on (a line from the
    step's date, dashed) against the realised values (a wide grey line underneath)."""
    from matplotlib.figure import Figure

    frame = pd.DataFrame(res.forecast_rows)
    series = list(dict.fromkeys(frame.series)) if len(frame) else []
    n = max(1, len(series))
    fig = Figure(figsize=(9, 3.2 * n + 0.6), layout="constrained")
    axes = fig.subplots(n, 1, squeeze=False).ravel()
    labels = list(res.periods)
    pos = {p: i for i, p in enumerate(labels)}
    for ax, path in zip(axes, series):
        part = frame[(frame.series == path) & frame.period.isin(pos)]
        real = part.drop_duplicates("period").sort_values("period")  # underneath, wide and light: a forecast
        ax.plot([pos[p] for p in real.period], real.realised, color="black", lw=4, alpha=0.3, zorder=1, label="realised")  # that hits it stays visible
        for step, g in part.groupby("step", sort=False):
            ax.plot([pos[p] for p in g.period], g.forecast, lw=1.4, ls="--", zorder=3, label=f"forecast at {step}")
        ax.set_title(path)
        step_ = max(1, len(labels) // 12)
        ax.set_xticks(range(0, len(labels), step_), [labels[i] for i in range(0, len(labels), step_)], rotation=45, fontsize=8)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("per period")
        ax.legend(fontsize=7, ncols=3, frameon=False, loc="lower left")
    fig.suptitle("Forecast at each re-planning date against the realised values")
    return fig


def markdown(res, table: pd.DataFrame, steps: pd.DataFrame, every: int, forecast: str) -> str:
    lines = [
        f"# Rolling re-planning: every {every} periods, forecast '{forecast}'",
        "",
        "Same realised data for all three: **rolling** (re-planned at every step, the committed decisions played "
        "on what really came in), **status-quo** (`simulate` on the realised data), **hindsight** (the plan solved "
        "knowing the realised data from the start). Regret = rolling - hindsight.",
        "",
        markdown_table(table),
        "",
        f"Hindsight: {hindsight_note(res)}.",
        "",
        *[f"Warning: {w}.\n" for w in res.warnings],
        "| step | window | forecast | hires (FTE) | external (FTE-periods) | outsourced (cases) | sites opened | plan objective | played objective | seconds |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in steps.iterrows():
        lines.append(
            f"| {r.step} | {r.window} | {r.forecast or 'instance'} | {r.hires_fte:,.1f} | {r.external_fte_periods:,.1f} | "
            f"{r.outsourced_cases:,.0f} | {r.sites_opened} | {r.plan_objective:,.0f} | {r.played_objective:,.0f} | {r.seconds} |"
        )
    return "\n".join(lines) + "\n"


def write_rolling(res, out, every: int, forecast: str, command=None) -> Path:
    """Write the folder (module docstring); ``out`` must pass ``check_target(out, 'rolling')``."""
    out = Path(out)
    check_target(out, "rolling")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(marker_text("rolling", command), encoding="utf-8")
    for name, plan in (("realised", res.replay), ("status-quo", res.status_quo), ("hindsight", res.hindsight)):
        plan.write(out / name, command)
    table = comparison(res)
    steps = steps_table(res)
    table.to_csv(out / "comparison.csv", index=False, float_format="%.6f", lineterminator="\n")
    steps.to_csv(out / "steps.csv", index=False, lineterminator="\n")
    committed = pd.DataFrame([r for s in res.steps for r in s.committed], columns=["step", "decision", "item", "region", "period", "value", "unit"])
    committed.to_csv(out / "committed.csv", index=False, float_format="%.6f", lineterminator="\n")
    pd.DataFrame(res.forecast_rows).to_csv(out / "forecast_vs_realised.csv", index=False, float_format="%.6f", lineterminator="\n")
    (out / "forecast_vs_realised.png").write_bytes(png_bytes(forecast_plot(res)))
    runs = {"rolling": res.replay.tables, "status-quo": res.status_quo.tables, "hindsight": res.hindsight.tables}
    (out / "occupancy.png").write_bytes(png_bytes(occupancy_by_run(runs, title="COA occupancy against places: rolling, status quo, hindsight")))
    (out / "rolling.md").write_text(markdown(res, table, steps, every, forecast), encoding="utf-8")
    return out
