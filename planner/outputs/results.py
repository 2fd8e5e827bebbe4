"""Extract and write stages: a solved model -> tables and KPIs -> a run folder.

A run folder is written into a temporary sibling folder and swapped into place atomically
(:mod:`planner.outputs.runfolder`), so a run that is killed or fails leaves no partial folder, and an
existing folder is replaced only by a complete new one. What is written is deterministic: KPIs and
tables are rounded, ``-0.0`` and values within 1e-9 of zero are written as 0, and timings go to
their own ``timings.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from planner.errors import InputError
from planner.instance.yamlio import dump_yaml
from planner.model import cases, chain, objective, placement, reception, staff
from planner.model.common import clean
from planner.outputs.quarter import default_commit_periods, plan_quarter
from planner.outputs.runfolder import check_target, state_files, write_run_folder



def _r(x: float, digits: int = 6) -> float:
    return clean(round(float(x), digits))


def compute_kpis(m, d, tables: dict[str, pd.DataFrame], info, mode: str) -> dict:
    mu = d.grid.months_per_period
    nights = pd.Series(d.grid.nights, index=d.grid.labels)
    ind, rec, plc, cost = tables["ind_cases"], tables["reception"], tables["placement"], tables["costs"]
    overdue_by_type = {k: _r(g.overdue.sum() * mu) for k, g in ind.groupby("case_type", sort=False)}
    persons = {k: d.instance.case_types[k].persons_per_case for k in d.instance.case_types}
    waiting_by_type = {k: _r((g.stock * persons[k]).sum() * mu) for k, g in ind.groupby("case_type", sort=False)}
    overdue_persons = _r(sum((g.overdue * persons[k]).sum() * mu for k, g in ind.groupby("case_type", sort=False)))
    end_stock = {k: _r(g.stock.iloc[-1]) for k, g in ind.groupby("case_type", sort=False)}
    by_component = {c: _r(g.eur.sum(), 2) for c, g in cost.groupby("component", sort=False)}
    budget = d.instance.budget.total_eur
    locs = tables["locations"]
    return {
        "instance": d.name,
        "objective_mode": mode,
        "solver_status": info.status,
        "objective": _r(info.objective),
        "mip_gap": _r(info.mip_gap or 0.0, 9),
        "stage_values": {s: _r(v) for s, v in info.stage_values.items()},
        "warnings": list(info.warnings),
        **({"cost_polish": info.cost_polish} if info.cost_polish else {}),
        "periods": d.horizon_T,
        "tail_periods": d.grid.T - d.horizon_T,
        "first_period": d.grid.labels[0],
        "last_period": d.horizon_labels[-1],
        "overdue_case_months": _r(sum(overdue_by_type.values())),
        "overdue_case_months_by_type": overdue_by_type,
        "overdue_person_months": overdue_persons,
        "waiting_person_months": _r(sum(waiting_by_type.values())),
        "waiting_person_months_by_type": waiting_by_type,
        "end_stock_by_type": end_stock,
        "notices_of_default_total": _r(ind.notices_of_default.sum()),
        "crisis_person_nights": _r((rec.set_index("period").crisis * nights).sum()),
        "unsheltered_person_nights": _r((rec.set_index("period").unsheltered * nights).sum()),
        "permit_holder_months_over_norm": _r(plc.overdue.sum() * mu),
        "peak_occupancy": _r(rec.occupancy.max()),
        "peak_places_needed": _r(rec.places_needed.max()),
        "total_cost_eur": _r(sum(by_component.values()), 2),
        "budget_eur": budget,
        "budget_by_year_eur": {str(y): v for y, v in d.instance.budget.by_year_eur.items()},
        "cost_by_component": by_component,
        "hires_total": _r(tables["staff"].hires.sum()),
        "outsourced_cases_total": _r(ind.decided_outsourced.sum()),
        "decided_total": _r(ind.decided_internal.sum() + ind.decided_outsourced.sum()),
        "locations_opened": int(((~locs.existing) & locs.opened).sum()) if len(locs) else 0,
        "locations_kept_open": int(locs.kept_open.sum()) if len(locs) else 0,
        "accelerated_placements_total": _r(plc.accelerated.sum()),
        "housed_regular_total": _r(plc.housed_regular.sum()),
        "quota_realisation": quota_realisation(d, plc),
        **chain_kpis(tables["chain"]),
    }


def half_year(label: str) -> str:
    """'2022-03' -> '2022-H1'; '2022-W30' -> '2022-H2'."""
    year, rest = label.split("-")
    number = int(rest.lstrip("W"))
    return f"{year}-H{1 if number <= (26 if rest.startswith('W') else 6) else 2}"


def quota_realisation(d, plc: pd.DataFrame) -> dict:
    """Permit holders housed (regular + accelerated) per half year against the quota, if given."""
    out = {}
    halves = plc.assign(half=plc.period.map(half_year)).groupby("half")
    for half, quota in d.instance.placement.quota.items():
        if half not in halves.groups:
            continue
        g = halves.get_group(half)
        housed = float(g.housed_regular.sum() + g.accelerated.sum())
        out[half] = {"quota": quota, "housed": _r(housed), "realisation": _r(housed / quota) if quota else None}
    return out


def chain_kpis(chain_table: pd.DataFrame) -> dict:
    def measure(partner, name):
        return chain_table[(chain_table.partner == partner) & (chain_table.measure == name)].value

    wards = measure("Nidos", "wards")
    return {
        "dtv_new_rejections_total": _r(measure("DT&V", "new_rejections").sum()),
        "dtv_departures_total": _r(measure("DT&V", "departures").sum()),
        "dtv_caseload_end": _r(measure("DT&V", "caseload").iloc[-1]),
        "nidos_wards_peak": _r(wards.max()),
        "nidos_wards_average": _r(wards.mean()),
        "court_appeals_total": _r(measure("courts", "appeals").sum()),
        "court_appeals_annulled_total": _r(measure("courts", "appeals_annulled").sum()),
        "returned_to_ind_total": _r(measure("IND", "returned_to_ind").sum()),
        "bntb_appeals_total": _r(measure("courts", "bntb_appeals").sum()),
        "penalty_eur_total": _r(measure("IND", "penalty_eur").sum(), 2),
    }


@dataclass
class Plan:
    """A solved plan: ``kpis`` (dict), ``tables`` (pandas DataFrames), ``write(folder)``.

    ``timings`` (build and solve seconds) are kept apart from the KPIs, so the same input gives
    the same ``kpis.json``, byte for byte; they go to ``timings.json``.
    """

    data: object
    kpis: dict
    tables: dict = field(default_factory=dict)
    model: object = None
    timings: dict = field(default_factory=dict)
    reference: dict | None = None
    """The status quo's KPIs, when the run that made the plan also ran it (``planner compare``):
    report.html shows the headline KPIs against it."""
    package: str | None = None
    """The package of measures the plan was solved with, for the report's metadata."""

    @classmethod
    def from_model(cls, m, d, info, mode: str, commit_periods: int | None = None, marginal=None, quarter: bool = True) -> "Plan":
        """Tables and KPIs of a solved model. ``marginal``: a function ``(m, d) -> DataFrame`` of
        the marginal values (the solve stage passes :func:`planner.solver.marginal.marginal_values`;
        ``None`` skips that extra LP solve no KPI needs); ``quarter=False`` skips the quarterly
        plan. Batches skip both."""
        t0 = time.perf_counter()
        tables = {
            "ind_cases": cases.table(m, d),
            "staff": staff.table(m, d),
            "retraining": staff.retraining_table(m, d),
            "reception": reception.table(m, d),
            "locations": reception.locations_table(m, d),
            "placement": placement.table(m, d),
            "costs": objective.costs_table(m, d),
            "chain": chain.table(m, d),
        }
        tables = horizon_only(tables, d)
        commit = commit_periods or default_commit_periods(d.grid.grain)
        if quarter:
            tables["plan_quarter"] = plan_quarter(tables, tuple(d.horizon_labels), commit)
        t_marginal = 0.0
        if marginal is not None:
            t1 = time.perf_counter()
            tables["marginal_values"] = horizon_rows(marginal(m, d), d)
            t_marginal = time.perf_counter() - t1
        kpis = compute_kpis(m, d, tables, info, mode)
        kpis["commit_periods"] = commit
        timings = {"build_seconds": round(info.build_seconds, 3), "solve_seconds": round(info.solve_seconds, 3)}
        for name in ("handover_seconds", "highs_seconds"):  # the parts of solve_seconds
            if getattr(info, name, 0.0):
                timings[name] = round(getattr(info, name), 3)
        if marginal is not None:
            timings["marginal_seconds"] = round(t_marginal, 3)
        timings["tables_seconds"] = round(time.perf_counter() - t0 - t_marginal, 3)
        if getattr(info, "stage_seconds", None):
            timings["stage_seconds"] = {s: round(v, 3) for s, v in info.stage_seconds.items()}
        return cls(d, kpis, tables, m, timings)

    def write(self, folder, command: list | None = None, outputs=None, lang: str = "en") -> Path:
        """Write the run folder atomically (:mod:`planner.outputs.runfolder`); returns its path.

        ``command``: the command line that made it, kept in the folder's ``run.json``. An existing
        ``folder`` is replaced only if it is a run folder (``runfolder.check_target``).
        ``outputs``: which of :data:`OUTPUTS` to write (default all; :func:`parse_outputs`):
        ``csv`` the tables' CSV files and state.json, ``xlsx`` plan.xlsx, ``html`` report.html with its figures.
        ``run.json``, ``kpis.json``, ``timings.json`` and ``instance.resolved.yaml`` are always
        written. Each file is built once, and only when it is written (matplotlib and openpyxl
        are imported only for html and xlsx). ``lang``: the language of report.html and plan.xlsx
        (en or nl, :mod:`planner.outputs.labels`)."""
        chosen = OUTPUTS if outputs is None else parse_outputs(outputs)
        check_target(folder, "run")  # before the report's figures are drawn
        t0 = time.perf_counter()
        files = {"instance.resolved.yaml": resolved_yaml(self.data), "kpis.json": json_text(self.kpis)}
        if "csv" in chosen:
            for name, frame in self.tables.items():
                files[f"{name}.csv"] = csv_text(frame)
            files.update(state_files(self))
        if "html" in chosen or "xlsx" in chosen:
            from planner.outputs.report import report_files  # matplotlib, openpyxl

            files.update(report_files(self, html="html" in chosen, xlsx="xlsx" in chosen, lang=lang, command=command, resolved=files["instance.resolved.yaml"]))
        self.timings["write_seconds"] = round(time.perf_counter() - t0, 3)  # the files' contents
        files["timings.json"] = json_text(self.timings)
        return write_run_folder(folder, files, command)


OUTPUTS = ("csv", "xlsx", "html")
"""What a run folder can hold besides its core files: the CSV tables, plan.xlsx, report.html (its
figures are PNGs inside it)."""


def parse_outputs(outputs) -> tuple[str, ...]:
    """``"csv,html"`` (or a list of names) -> ``("csv", "html")`` in :data:`OUTPUTS`' order;
    :class:`~planner.errors.InputError` (naming ``--outputs``) for an unknown or empty choice."""
    names = [n.strip().lower() for n in (outputs.split(",") if isinstance(outputs, str) else outputs)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown or not names:
        what = f"unknown output '{unknown[0]}'" if unknown else "no output named"
        raise InputError("--outputs", f"{what}; expected a comma-separated choice of {', '.join(OUTPUTS)}, e.g. csv,html")
    return tuple(n for n in OUTPUTS if n in names)


def horizon_rows(frame: pd.DataFrame, d) -> pd.DataFrame:
    """The rows of ``frame`` outside the look-ahead tail (``horizon.tail_periods``): the tail is
    solved so that the horizon's last months are planned well, but it is not reported. Rows
    without a period (a table without a period column, a budget row) stay."""
    if d.horizon_T == d.grid.T or "period" not in frame.columns:
        return frame
    return frame[~frame.period.isin(d.grid.labels[d.horizon_T :])].reset_index(drop=True)


def horizon_only(tables: dict[str, pd.DataFrame], d) -> dict[str, pd.DataFrame]:
    """Every table's :func:`horizon_rows`."""
    return {name: horizon_rows(frame, d) for name, frame in tables.items()}


def _tidy(x):
    """JSON values as written: floats within 1e-9 of zero (and -0.0) are 0.0, NaN is null."""
    if isinstance(x, dict):
        return {k: _tidy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_tidy(v) for v in x]
    if isinstance(x, float):
        if x != x:
            return None
        return clean(x) + 0.0  # + 0.0 turns -0.0 into 0.0
    return x


def json_text(obj) -> str:
    return json.dumps(_tidy(obj), indent=2, allow_nan=False) + "\n"


def csv_text(frame: pd.DataFrame) -> str:
    """A table as written: floats rounded to 6 decimals, never ``-0.000000``."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(6) + 0.0
    return out.to_csv(index=False, float_format="%.6f", lineterminator="\n")


def resolved_yaml(d) -> str:
    """The instance after validation, every series written out per period."""
    raw = d.instance.model_dump()  # python mode: integer keys (budget years) stay integers
    for path, values in d.series.items():
        node = raw
        *parents, leaf = path.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = [_r(v) for v in values]
    header = f"# resolved instance '{d.name}': every default filled in, every series one value per period\n"
    header += f"# periods: {', '.join(d.grid.labels)}\n"
    return header + dump_yaml(raw, sort_keys=False, allow_unicode=True, width=120)
