"""Evaluate stage: recount a run's consequences from its decisions, independently of the model.

``planner evaluate RUN_DIR`` reads a run folder (``planner solve`` writes one; ``planner
simulate`` writes the same format), takes only the *decisions* from it and recounts everything
else with a cohort simulation written apart from the optimisation model (this module imports
neither :mod:`planner.model` nor Pyomo), so no plan's figures rest on the optimiser's word alone.
This module reads the run folder, compares and reports; the recount itself is
:mod:`planner.check.recount`.

Decisions replayed (read from the run folder):

* ``ind_cases.csv``: ``decided_internal`` and ``decided_outsourced`` per case type and period;
* ``staff.csv``: ``hires`` and ``external_fte`` per pool and period;
* ``retraining.csv``: ``fte`` per pair of pools (``from_pool``, ``to_pool``) and period;
* ``locations.csv``: which locations are open when: ``open_from .. open_until`` of every opened
  candidate and of every existing location (an existing one open past its planned close is
  *kept open*); a location the table does not list counts as not opened (candidate) or open as
  planned (existing);
* ``placement.csv``: ``housed_regular`` and ``accelerated`` per region and period;
* ``reception.csv``: ``crisis`` per period;
* ``kpis.json``: ``commit_periods``, the window of ``plan_quarter.csv`` (default 3 periods on a
  month grid, 13 on a week grid).

Everything else is recounted by :mod:`planner.check.recount`, one module per subsystem as in
:mod:`planner.model` (``cases``, ``staff``, ``placement``, ``reception``, ``costs``, ``chain``,
``quarter``; each module's docstring holds its maths and the violations it lists), from these
decisions and what the earlier subsystems recounted. The recount also lists the decisions'
violations of the constraints (a violation exceeds its bound by more than
``1e-4 + 1e-6 x |bound|``; tables carry 6 decimals).

Agreement rule. A KPI agrees when ``|recount - run| <= 0.5 % x max(|run|, |recount|)``, or when
both values are at most a floor: 0.5 units for counts (cases, persons, person-nights, months,
FTE) and ``max(1, 1e-6 x total cost)`` EUR for money. The printed difference is
``100 x (recount - run) / max(|run|, |recount|)`` (0 when both are under the floor; recounted KPIs
are rounded to 6 decimals, as kpis.json is). The same rule is applied row by row to the
recounted columns of the tables: every figure of ``ind_cases``, ``staff``, ``reception``,
``placement``, ``costs`` and ``chain`` (money: ``costs`` and the chain's ``penalty_eur``), and the
``value`` of ``plan_quarter``, whose ``unit`` and ``note`` must be equal as text. ``plan_quarter``
lists only decisions of at least 1e-9, so a row one side lacks counts as 0 there; in the other
tables a missing row is a bad run folder. ``evaluate`` exits 0 when every KPI and table column agrees and
no decision violates a constraint, 1 otherwise, 2 for a bad run folder.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

from planner.check.recount import Recount, recount
from planner.check.recount.common import Cohorts, Decisions, LocationRow  # noqa: F401  (Cohorts: re-exported)
from planner.errors import InputError
from planner.instance.loading import InstanceData, validate_dict
from planner.instance.yamlio import load_yaml, read_text

REL_TOL = 0.005
"""KPIs (and table rows) agree within 0.5 % relative."""
COUNT_FLOOR = 0.5
"""Counts (cases, persons, person-nights, months, FTE) at most this large on both sides are equal."""
EUR_FLOOR_SHARE = 1e-6
"""Money at most this share of the total cost (and at least EUR 1) on both sides is equal."""

# columns each table must have: decisions (read) and figures (compared with the recount)
TABLES = {
    "ind_cases": (
        ("period", "case_type"),
        ("inflow", "inflow_returned", "decided_internal", "decided_outsourced", "stock", "overdue", "notices_of_default"),
    ),
    "staff": (("period", "pool"), ("hires", "trainees", "productive_fte", "external_fte", "productive_hours", "retraining")),
    "retraining": (("period", "pair"), ("fte",)),
    "reception": (
        ("period",),
        ("occupancy", "places_open", "places_needed", "crisis", "unsheltered", "asylum_process", "permit_holders", "awaiting_departure"),
    ),
    "placement": (("period", "region"), ("linked", "housed_regular", "accelerated", "waiting", "overdue")),
    "costs": (("period", "component"), ("eur",)),
    "locations": (("location",), ()),
    "chain": (("period", "partner", "measure"), ("value",)),
    "plan_quarter": (("decision", "item", "region", "period"), ("value", "unit", "note")),
}
DECISIONS = ("decided_internal", "decided_outsourced", "hires", "external_fte", "housed_regular", "accelerated", "crisis", "fte")
"""Columns replayed from the run (not compared row by row: they are the input of the recount)."""
LOCATION_COLUMNS = ("location", "region", "type", "places", "existing", "opened", "open_from", "open_until")
TEXT_COLUMNS = ("unit", "note")
"""Columns compared as text (``plan_quarter``), on the rows both sides have."""

KPI_NAMES = (
    "overdue_case_months",
    "overdue_case_months_by_type",
    "overdue_person_months",
    "waiting_person_months",
    "waiting_person_months_by_type",
    "end_stock_by_type",
    "notices_of_default_total",
    "crisis_person_nights",
    "unsheltered_person_nights",
    "permit_holder_months_over_norm",
    "peak_occupancy",
    "peak_places_needed",
    "total_cost_eur",
    "cost_by_component",
    "hires_total",
    "outsourced_cases_total",
    "accelerated_placements_total",
)
OPTIONAL_KPIS = ("decided_total", "housed_regular_total", "locations_opened", "locations_kept_open")
"""Compared when the run's kpis.json has them."""

EUR_KPIS = ("total_cost_eur", "cost_by_component")


# --- reading the run folder --------------------------------------------------------------------


@dataclass
class Run:
    """A run folder as read: the resolved instance, the KPIs and the tables (as text columns)."""

    folder: Path
    data: InstanceData
    kpis: dict
    tables: dict[str, pd.DataFrame]


def _err(path: Path, message: str) -> InputError:
    return InputError("", message, file=str(path))


def read_run(folder) -> Run:
    """Read a run folder; a missing or unreadable file or column raises :class:`InputError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise _err(folder, "run folder not found (expected a folder written by `planner solve --out`)")
    inst_path = folder / "instance.resolved.yaml"
    raw = load_yaml(inst_path, "resolved instance")
    _year_keys(raw)
    data = validate_dict(raw, inst_path).horizon_only()  # the run reports the horizon, not the look-ahead tail

    kpi_path = folder / "kpis.json"
    try:
        kpis = json.loads(read_text(kpi_path, "KPI file"))
    except json.JSONDecodeError as e:
        raise _err(kpi_path, f"not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if not isinstance(kpis, dict):
        raise _err(kpi_path, f"expected a JSON object, got {type(kpis).__name__}")
    for name in KPI_NAMES:
        if name not in kpis:
            raise _err(kpi_path, f"missing KPI '{name}'")
        value = kpis[name]
        if name.endswith(("_by_type", "_by_component")):
            if not isinstance(value, dict) or not all(_is_number(v) for v in value.values()):
                raise _err(kpi_path, f"KPI '{name}': expected an object of numbers")
        elif not _is_number(value):
            raise _err(kpi_path, f"KPI '{name}': expected a number, got {value!r:.40}")

    tables = {}
    for name, (keys, values) in TABLES.items():
        path = folder / f"{name}.csv"
        text = read_text(path, "table")
        try:
            frame = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
        except (ValueError, pd.errors.ParserError) as e:
            raise _err(path, f"cannot read CSV: {str(e).splitlines()[0]}") from None
        frame.columns = [str(c).strip() for c in frame.columns]
        needed = {"locations": LOCATION_COLUMNS, "retraining": ("period", "from_pool", "to_pool", "fte")}.get(name, keys + values)
        for col in needed:
            if col not in frame.columns:
                raise _err(path, f"missing column '{col}'")
        if name == "retraining":  # one id per pair of pools, as _by_key reads it
            frame["pair"] = frame.from_pool.str.strip() + " -> " + frame.to_pool.str.strip()
        tables[name] = frame
    return Run(folder, data, kpis, tables)


def _year_keys(raw) -> None:
    """``budget.by_year_eur`` with its years as numbers again.

    The run folder's resolved instance is written from a JSON dump, which turns the integer years
    into strings ("2024"); the instance format wants integers.
    """
    budget = raw.get("budget") if isinstance(raw, dict) else None
    years = budget.get("by_year_eur") if isinstance(budget, dict) else None
    if isinstance(years, dict):
        budget["by_year_eur"] = {int(y) if isinstance(y, str) and y.isdigit() else y: v for y, v in years.items()}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _number(text: str, path: Path, col: str, row: int) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v):
        raise _err(path, f"column '{col}' row {row + 2}: expected a number, got {str(text)[:40]!r}")
    return v


def _by_key(run: Run, name: str, ids: list[str] | None, columns) -> dict:
    """A per-period table as ``{id: {column: np.array(T)}}`` (``id`` is None for reception).

    Every (id, period) must appear exactly once; an unknown id or period is an error.
    """
    frame, path = run.tables[name], run.folder / f"{name}.csv"
    labels = run.data.grid.labels
    pos = {p: i for i, p in enumerate(labels)}
    key = TABLES[name][0][1] if len(TABLES[name][0]) > 1 else None
    wanted = ids if key else [None]
    out = {i: {c: np.full(len(labels), np.nan) for c in columns} for i in wanted}
    for row, rec in enumerate(frame.to_dict("records")):
        period = str(rec["period"]).strip()
        ident = str(rec[key]).strip() if key else None
        if period not in pos:
            raise _err(path, f"row {row + 2}: period '{period}' is not a period of the run's horizon {labels[0]}..{labels[-1]}")
        if ident not in out:
            raise _err(path, f"row {row + 2}: unknown {key} '{ident}' (the instance has {', '.join(map(str, wanted))})")
        t = pos[period]
        for c in columns:
            if not math.isnan(out[ident][c][t]):
                raise _err(path, f"row {row + 2}: a second row for {key + ' ' + ident + ', ' if key else ''}period {period}")
            out[ident][c][t] = _number(rec[c], path, c, row)
    for ident, cols in out.items():
        missing = np.flatnonzero(np.isnan(next(iter(cols.values()))))
        if len(missing):
            who = f"{key} '{ident}', " if key else ""
            raise _err(path, f"no row for {who}period {labels[missing[0]]}")
    return out


def _location_rows(run: Run) -> dict[str, LocationRow]:
    """The rows of ``locations.csv`` by location: open periods, and for a candidate whether it is opened."""
    d = run.data
    inst, grid = d.instance, d.grid
    labels = grid.labels
    path = run.folder / "locations.csv"
    rows = {}
    for i, rec in enumerate(run.tables["locations"].to_dict("records")):
        l = str(rec["location"]).strip()
        if l not in inst.locations:
            raise _err(path, f"row {i + 2}: unknown location '{l}'")
        if l in rows:
            raise _err(path, f"row {i + 2}: a second row for location '{l}'")
        rows[l] = (i, rec)

    def period(i, rec, col) -> int | None:
        text = str(rec[col]).strip()
        if not text:
            return None
        t = grid.index(text)
        if t is None:
            raise _err(path, f"row {i + 2}: {col} '{text}' is not a period of the run's horizon {labels[0]}..{labels[-1]}")
        return t

    def flag(i, rec, col) -> bool:
        text = str(rec[col]).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no", ""):
            return False
        raise _err(path, f"row {i + 2}: column '{col}': expected True or False, got {text[:20]!r}")

    out = {}
    for l, loc in inst.locations.items():
        if l not in rows:
            continue
        i, rec = rows[l]
        first, last = period(i, rec, "open_from"), period(i, rec, "open_until")
        if (first is None) != (last is None) or (first is not None and last < first):
            raise _err(path, f"row {i + 2}: location '{l}': open_from and open_until must both be periods (from <= until) or both empty")
        opened = None if loc.status == "existing" else flag(i, rec, "opened")
        if opened and first is None:
            raise _err(path, f"row {i + 2}: location '{l}' is opened but has no open_from")
        out[l] = LocationRow(first, last, opened)
    return out


def read_decisions(run: Run) -> Decisions:
    """The decisions of a run folder (see the module docstring); a bad value raises :class:`InputError`."""
    inst = run.data.instance
    K, P, R = list(inst.case_types), list(inst.staff_pools), list(inst.regions)
    ind = _by_key(run, "ind_cases", K, ("decided_internal", "decided_outsourced"))
    stf = _by_key(run, "staff", P, ("hires", "external_fte"))
    plc = _by_key(run, "placement", R, ("housed_regular", "accelerated"))
    crisis = _by_key(run, "reception", None, ("crisis",))[None]["crisis"]
    pairs = [(p, q) for p in P for q in inst.staff_pools[p].retrain_to]
    retrain = _by_key(run, "retraining", [f"{p} -> {q}" for p, q in pairs], ("fte",)) if pairs else {}
    return Decisions(
        dec_int={k: ind[k]["decided_internal"] for k in K},
        dec_out={k: ind[k]["decided_outsourced"] for k in K},
        hires={p: stf[p]["hires"] for p in P},
        external={p: stf[p]["external_fte"] for p in P},
        housed={r: plc[r]["housed_regular"] for r in R},
        accelerated={r: plc[r]["accelerated"] for r in R},
        crisis=crisis,
        locations=_location_rows(run),
        commit_periods=_commit_periods(run),
        retrain={(p, q): retrain[f"{p} -> {q}"]["fte"] for p, q in pairs},
        courts=_court_decisions(run),
    )


def _court_decisions(run: Run) -> dict[str, np.ndarray | None]:
    """The run's court decisions (cases per period) of the types with a court capacity, from
    ``chain.csv`` (courts, ``appeals_decided_<k>``, persons); None for a type the run does not report."""
    inst, labels = run.data.instance, run.data.grid.labels
    court = [k for k, ct in inst.case_types.items() if ct.appeal is not None and ct.appeal.court_capacity is not None]
    if not court:
        return {}
    frame, path = run.tables["chain"], run.folder / "chain.csv"
    pos = {p: i for i, p in enumerate(labels)}
    out: dict[str, np.ndarray | None] = {k: None for k in court}
    wanted = {f"appeals_decided_{k}": k for k in court}
    for row, rec in enumerate(frame.to_dict("records")):
        k = wanted.get(str(rec["measure"]).strip())
        period = str(rec["period"]).strip()
        if k is None or str(rec["partner"]).strip() != "courts" or period not in pos:
            continue
        if out[k] is None:
            out[k] = np.full(len(labels), np.nan)
        out[k][pos[period]] = _number(rec["value"], path, "value", row) / inst.case_types[k].persons_per_case
    for k, values in out.items():
        if values is not None and np.isnan(values).any():
            raise _err(path, f"courts appeals_decided_{k}: no row for period {labels[int(np.flatnonzero(np.isnan(values))[0])]}")
    return out


def _commit_periods(run: Run) -> int:
    """The run's window of decisions to take now: ``commit_periods`` of kpis.json, else the default
    (3 periods on a month grid, 13 on a week grid)."""
    value = run.kpis.get("commit_periods")
    if value is None:
        return 3 if run.data.grid.grain == "month" else 13
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _err(run.folder / "kpis.json", f"KPI 'commit_periods': expected a whole number of at least 1, got {value!r:.40}")
    return value


# --- comparing -----------------------------------------------------------------------------


def _flatten(kpis: dict, names) -> dict:
    out = {}
    for name in names:
        if name not in kpis:
            continue
        v = kpis[name]
        if isinstance(v, dict):
            for key, x in v.items():
                out[f"{name}.{key}"] = x
        else:
            out[name] = v
    return out


def _agree(a: float, b: float, floor: float) -> bool:
    if abs(a) <= floor and abs(b) <= floor:
        return True
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def _diff_pct(run: float, new: float) -> float:
    scale = max(abs(run), abs(new))
    return 0.0 if scale == 0 else 100.0 * (new - run) / scale


def compare_kpis(run_kpis: dict, new_kpis: dict) -> pd.DataFrame:
    """One row per KPI (dict KPIs one row per entry; an entry one side lacks counts as 0)."""
    names = list(KPI_NAMES) + [n for n in OPTIONAL_KPIS if n in run_kpis]
    run_flat, new_flat = _flatten(run_kpis, names), _flatten(new_kpis, names)
    eur_floor = max(1.0, EUR_FLOOR_SHARE * max(abs(run_kpis["total_cost_eur"]), abs(new_kpis["total_cost_eur"])))
    rows = []
    for key in list(run_flat) + [k for k in new_flat if k not in run_flat]:
        a, b = float(run_flat.get(key, 0.0)), round(float(new_flat.get(key, 0.0)), 6) + 0.0  # as kpis.json
        floor = eur_floor if key.split(".")[0] in EUR_KPIS else COUNT_FLOOR
        below = abs(a) <= floor and abs(b) <= floor  # equal by the floor: no difference
        rows.append({"kpi": key, "run": a, "recount": b, "diff_pct": 0.0 if below else _diff_pct(a, b), "agree": _agree(a, b, floor)})
    return pd.DataFrame(rows, columns=["kpi", "run", "recount", "diff_pct", "agree"])


def _run_table(run: Run, name: str, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """The run's table ``name``: its keys and ``columns``, numbers read as numbers."""
    path = run.folder / f"{name}.csv"
    got = run.tables[name]
    missing = [c for c in columns if c not in got.columns]
    if missing:
        raise _err(path, f"missing column '{missing[0]}'")
    if got.duplicated(keys).any():
        raise _err(path, f"row {int(got.duplicated(keys).to_numpy().argmax()) + 2}: a second row for the same {' and '.join(keys)}")
    got = got[keys + columns].copy()
    for c in columns:
        if c not in TEXT_COLUMNS:
            got[c] = [_number(x, path, c, i) for i, x in enumerate(got[c])]
    return got


def _merge(run: Run, name: str, frame: pd.DataFrame, got: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """The recount's rows beside the run's (columns ``c`` and ``c_run``).

    A cost component the run does not list costs nothing in the run. ``plan_quarter`` lists only
    the decisions of at least 1e-9, so there a row one side lacks counts as 0 on that side (its
    text is not compared). In the other tables a row the recount has and the run lacks is an error.
    """
    if name == "plan_quarter":
        merged = frame.merge(got, on=keys, how="outer", suffixes=("", "_run"), indicator=True)
        merged = merged.fillna({"value": 0.0, "value_run": 0.0})
        merged.attrs["both"] = (merged.pop("_merge") == "both").to_numpy()
        return merged
    merged = frame.merge(got, on=keys, how="left", suffixes=("", "_run"))
    if name == "costs":  # a component the run does not list costs nothing in the run
        absent = ~merged.component.isin(set(got.component))
        merged.loc[absent, "eur_run"] = 0.0
    if merged[[c + "_run" for c in columns]].isna().any().any():
        raise _err(run.folder / f"{name}.csv", "rows missing: expected one per " + (", ".join(keys[:-1]) + " and " + keys[-1] if len(keys) > 1 else keys[0]))
    return merged


def _floors(name: str, merged: pd.DataFrame, eur_floor: float) -> np.ndarray:
    """The agreement floor of each row: money (costs, the chain's penalty EUR) or counts."""
    if name == "costs":
        return np.full(len(merged), eur_floor)
    if name == "chain":
        return np.where(merged.measure.str.endswith("_eur"), eur_floor, COUNT_FLOOR)
    return np.full(len(merged), COUNT_FLOOR)


def _column_check(name: str, c: str, merged: pd.DataFrame, keys: list[str], floors: np.ndarray) -> dict:
    """How many rows of column ``c`` disagree, and the worst of them (text: the first)."""
    if c in TEXT_COLUMNS:
        new_v, run_v = merged[c].fillna("").astype(str).str.strip(), merged[c + "_run"].fillna("").astype(str).str.strip()
        both = merged.attrs.get("both", np.ones(len(merged), dtype=bool))
        bad = [i for i in range(len(merged)) if both[i] and new_v.iloc[i] != run_v.iloc[i]]
        worst = bad[0] if bad else None
        run_w, new_w = (run_v.iloc[worst], new_v.iloc[worst]) if bad else (np.nan, np.nan)
    else:
        new_v = merged[c].to_numpy(dtype=float)
        run_v = merged[c + "_run"].to_numpy(dtype=float)
        bad = [i for i in range(len(new_v)) if not _agree(run_v[i], new_v[i], floors[i])]
        worst = max(bad, key=lambda i: abs(new_v[i] - run_v[i])) if bad else None
        run_w, new_w = (run_v[worst], new_v[worst]) if bad else (np.nan, np.nan)
    where = " ".join(str(merged.loc[worst, k]) for k in keys if str(merged.loc[worst, k])) if worst is not None else ""
    return {"table": name, "column": c, "rows": len(merged), "disagree": len(bad), "worst": where, "run": run_w, "recount": new_w}


def compare_tables(run: Run, new: Recount) -> pd.DataFrame:
    """Row-by-row check of the recounted table columns: one row per (table, column)."""
    eur_floor = max(1.0, EUR_FLOOR_SHARE * abs(new.kpis["total_cost_eur"]))
    rows = []
    for name, frame in new.tables.items():
        keys = list(TABLES[name][0])
        columns = [c for c in frame.columns if c not in keys and c not in DECISIONS]
        got = _run_table(run, name, keys, columns)
        merged = _merge(run, name, frame, got, keys, columns)
        floors = _floors(name, merged, eur_floor)
        rows += [_column_check(name, c, merged, keys, floors) for c in columns]
    return pd.DataFrame(rows, columns=["table", "column", "rows", "disagree", "worst", "run", "recount"])


def evaluate_run(folder) -> tuple[pd.DataFrame, list[str], bool]:
    """Recount a run folder from its decisions.

    Returns ``(comparison, violations, ok)``: the KPI comparison (columns kpi, run, recount,
    diff_pct, agree; ``comparison.attrs["tables"]`` holds the row-by-row check of the table
    columns, ``comparison.attrs["recount"]`` the :class:`Recount`), the constraint violations of
    the replayed decisions, and whether everything agrees with no violation.
    Raises :class:`~planner.errors.InputError` for a bad run folder.
    """
    run = read_run(folder)
    new = recount(run.data, read_decisions(run))
    comparison = compare_kpis(run.kpis, new.kpis)
    tables = compare_tables(run, new)
    comparison.attrs["tables"] = tables
    comparison.attrs["recount"] = new
    ok = bool(comparison.agree.all()) and int(tables.disagree.sum()) == 0 and not new.violations
    return comparison, new.violations, ok


def _fmt(x) -> str:
    if isinstance(x, str):
        return repr(x)
    if not math.isfinite(x):
        return "-"
    return f"{x:,.2f}" if abs(x) < 1e12 else f"{x:.6g}"


def report(folder, comparison: pd.DataFrame, violations: list[str], ok: bool) -> str:
    """The side-by-side table and the verdict, as printed by ``planner evaluate``."""
    width = max([len("KPI")] + [len(k) for k in comparison.kpi])
    lines = [f"Recount of {folder} from its decisions (cohort simulation, independent of the model):", ""]
    lines.append(f"{'KPI':<{width}}  {'run':>20}  {'recount':>20}  {'diff %':>8}")
    for row in comparison.itertuples():
        mark = "" if row.agree else "  <- DIFFERS"
        lines.append(f"{row.kpi:<{width}}  {_fmt(row.run):>20}  {_fmt(row.recount):>20}  {row.diff_pct:>8.3f}{mark}")
    tables = comparison.attrs.get("tables")
    lines.append("")
    if tables is not None:
        bad = tables[tables.disagree > 0]
        lines.append(
            f"tables: {len(tables)} columns recounted row by row, "
            + ("all agree" if bad.empty else f"{len(bad)} disagree")
        )
        for row in bad.itertuples():
            lines.append(
                f"  {row.table}.csv {row.column}: {row.disagree} of {row.rows} rows differ; "
                f"most at {row.worst}: run {_fmt(row.run)}, recount {_fmt(row.recount)}"
            )
    lines.append(f"feasibility: {_violations(violations)}" if violations else "feasibility: the decisions respect every constraint")
    for v in violations[:20]:
        lines.append(f"  {v}")
    if len(violations) > 20:
        lines.append(f"  ... and {len(violations) - 20} more")
    differing = comparison[~comparison.agree].kpi.tolist()
    if ok:
        lines.append("result: the recount agrees with the run (every KPI within 0.5 %)")
    else:
        parts = []
        if differing:
            parts.append("KPIs differ by more than 0.5 %: " + ", ".join(differing))
        if tables is not None and tables.disagree.sum():
            parts.append("table columns differ: " + ", ".join(f"{r.table}.{r.column}" for r in tables[tables.disagree > 0].itertuples()))
        if violations:
            parts.append(_violations(violations))
        lines.append("result: DISAGREE: " + "; ".join(parts))
    return "\n".join(lines)


def _violations(violations: list[str]) -> str:
    n = len(violations)
    return f"{n} violation{'' if n == 1 else 's'} of the constraints or the tables"


def summary_line(comparison: pd.DataFrame, violations: list[str]) -> str:
    """One line naming what disagrees (for stderr)."""
    parts = []
    differing = comparison[~comparison.agree]
    if len(differing):
        parts.append(
            "KPI "
            + ", ".join(f"{r.kpi} (run {_fmt(r.run)}, recount {_fmt(r.recount)})" for r in differing.head(5).itertuples())
            + (f" and {len(differing) - 5} more" if len(differing) > 5 else "")
            + " differ by more than 0.5 %"
        )
    tables = comparison.attrs.get("tables")
    if tables is not None and tables.disagree.sum():
        parts.append("table columns " + ", ".join(f"{r.table}.{r.column}" for r in tables[tables.disagree > 0].itertuples()) + " differ")
    if violations:
        parts.append(f"{_violations(violations)} (first: {violations[0]})")
    return "the recount disagrees with the run: " + "; ".join(parts)
