"""The result store of a batch: one SQLite database (stdlib ``sqlite3``) in the batch's folder.

Tables:

* ``meta(key, value)``: the batch's fingerprint (:func:`planner.studies.batchfile.batch_key`), file, size;
* ``scenarios(id, name, origin, overrides, point)``: every variant of the batch, written once when
  the store is created (``overrides``: the changes as JSON; ``point``: the grid values or draws);
* ``results``: one row per finished variant: ``id`` (primary key), ``name``, ``origin``,
  ``package`` (the measures' package put in force, if any), ``overrides``, ``point``, ``status`` (``optimal``, ``time_limit_feasible``, ``infeasible``,
  ``no_solution``, ``bad_input``, ``error``), ``message``, ``rebuilt`` and ``rebuild_reason``,
  ``worker``, ``finished_at`` (Unix time of the commit), the timings ``validate_s``,
  ``params_s``, ``build_s``, ``solve_s``, ``extract_s``, ``total_s``, then every scalar KPI of
  ``kpis.json`` as a column (dict KPIs flattened with dots: ``cost_by_component.staff_internal``;
  lists as JSON). A KPI column appears when a variant first reports it (a new case type adds its
  own);
* ``series(id, series, key, t, period, value)``: per-period series of every variant (occupancy,
  places, crisis, unsheltered, stock and overdue per case type, permit holders waiting).

Exactly once: the parent process writes a variant's result row and its series in one transaction
(``BEGIN IMMEDIATE`` .. ``COMMIT``, WAL journal). A batch killed at any moment (even SIGKILL)
keeps every committed variant and none half-written; ``--resume`` solves the variants without a
result row, and the primary key refuses a second row for the same variant.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from pathlib import Path

import pandas as pd

from planner.errors import InputError

TIMINGS = ("validate_s", "params_s", "build_s", "solve_s", "extract_s", "total_s")
FIXED = (
    ("id", "INTEGER PRIMARY KEY"),
    ("name", "TEXT NOT NULL"),
    ("origin", "TEXT"),
    ("package", "TEXT"),
    ("overrides", "TEXT"),
    ("point", "TEXT"),
    ("status", "TEXT NOT NULL"),
    ("message", "TEXT"),
    ("rebuilt", "INTEGER"),
    ("rebuild_reason", "TEXT"),
    ("worker", "TEXT"),
    ("finished_at", "REAL"),
) + tuple((t, "REAL") for t in TIMINGS)
FIXED_NAMES = tuple(name for name, _ in FIXED)
OK_STATUSES = ("optimal", "time_limit_feasible", "limit_feasible")
"""Statuses with a plan (KPIs and series present)."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def flatten(kpis: dict, prefix: str = "") -> dict:
    """Scalar KPIs: nested dicts flattened with dots, lists as JSON text."""
    out = {}
    for k, v in kpis.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps(v)
        elif isinstance(v, bool):
            out[key] = int(v)
        elif isinstance(v, float) and not math.isfinite(v):
            out[key] = None
        else:
            out[key] = v
    return out


class BatchStore:
    """The SQLite store of one batch (see the module docstring)."""

    FILE = "batch.sqlite"

    def __init__(self, path: Path):
        self.path = Path(path)
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed transaction survives the process being killed; only
        # an operating-system crash may lose the last few (they are then solved again on resume)
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self._columns: list[str] = []

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, folder: Path, key: str, specs, resume: bool, info: dict | None = None) -> "BatchStore":
        """Create the store for a new batch, or reopen it with ``resume`` (same batch only)."""
        folder = Path(folder)
        path = folder / cls.FILE
        if path.exists() and not resume:
            raise InputError("--out", f"{folder} already holds a batch store ({cls.FILE}); add --resume to finish it, or choose another --out")
        folder.mkdir(parents=True, exist_ok=True)
        store = cls(path)
        try:
            stored = store.meta().get("batch_key")
            if stored is None:
                store._create(key, specs, info or {})
            elif stored != key:
                raise InputError(
                    "--resume",
                    f"{path} was made for a different batch (the batch file, its base instance or the solver options changed); "
                    "resume with the same files, or choose another --out",
                )
            store._columns = [row[1] for row in store.conn.execute("PRAGMA table_info(results)")]
        except BaseException:
            store.close()
            raise
        return store

    def _create(self, key: str, specs, info: dict) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            c.execute("CREATE TABLE IF NOT EXISTS scenarios (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, origin TEXT, overrides TEXT, point TEXT)")
            c.execute(f"CREATE TABLE IF NOT EXISTS results ({', '.join(f'{_q(n)} {t}' for n, t in FIXED)})")
            c.execute(
                "CREATE TABLE IF NOT EXISTS series (id INTEGER NOT NULL, series TEXT NOT NULL, key TEXT NOT NULL, t INTEGER NOT NULL, "
                "period TEXT, value REAL, PRIMARY KEY (id, series, key, t)) WITHOUT ROWID"
            )
            c.executemany(
                "INSERT OR REPLACE INTO scenarios VALUES (?, ?, ?, ?, ?)",
                [(s.id, s.name, s.group, json.dumps(s.overrides()), json.dumps(s.point)) for s in specs],
            )
            meta = {"batch_key": key, "scenarios": str(len(specs)), **{k: str(v) for k, v in info.items()}}
            c.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def meta(self) -> dict:
        try:
            return dict(self.conn.execute("SELECT key, value FROM meta"))
        except sqlite3.OperationalError:  # a new file, or one killed while it was being created
            return {}

    def done_ids(self) -> set[int]:
        return {row[0] for row in self.conn.execute("SELECT id FROM results")}

    # -- writing -----------------------------------------------------------------------------

    def record(self, spec, outcome, worker: str = "") -> None:
        """Write one variant's result row and series in one transaction."""
        row = {
            "id": spec.id,
            "name": spec.name,
            "origin": spec.group,
            "package": spec.package,
            "overrides": json.dumps(spec.overrides()),
            "point": json.dumps(spec.point),
            "status": outcome.status,
            "message": outcome.message or None,
            "rebuilt": int(bool(outcome.rebuilt)),
            "rebuild_reason": outcome.rebuild_reason or None,
            "worker": worker,
            "finished_at": time.time(),
        }
        timings = outcome.timings or {}
        for name in TIMINGS:
            row[name] = timings.get(name[:-2] + "_seconds")
        for k, v in flatten(outcome.kpis).items():
            row[k if k not in FIXED_NAMES else f"kpi.{k}"] = v
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for name, value in row.items():
                if name not in self._columns:
                    kind = "REAL" if isinstance(value, (int, float)) else "TEXT"
                    c.execute(f"ALTER TABLE results ADD COLUMN {_q(name)} {kind}")
                    self._columns.append(name)
            names = list(row)
            c.execute(
                f"INSERT INTO results ({', '.join(_q(n) for n in names)}) VALUES ({', '.join('?' * len(names))})",
                [row[n] for n in names],
            )
            if outcome.series:
                c.executemany("INSERT INTO series VALUES (?, ?, ?, ?, ?, ?)", [(spec.id, *s) for s in outcome.series])
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            self._columns = [r[1] for r in c.execute("PRAGMA table_info(results)")]
            raise

    # -- reading -----------------------------------------------------------------------------

    def results(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM results ORDER BY id", self.conn)

    def series(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM series ORDER BY id, series, key, t", self.conn)

    def export(self, folder: Path, results: pd.DataFrame | None = None, series: pd.DataFrame | None = None) -> list[Path]:
        """``results.csv``, ``results.parquet`` and ``series.parquet`` (written atomically);
        ``results`` and ``series``: the tables if already read."""
        folder = Path(folder)
        written = []
        results = self.results() if results is None else results
        series = self.series() if series is None else series
        for name, frame, writer in (
            ("results.csv", results, lambda f, p: f.to_csv(p, index=False, lineterminator="\n")),
            ("results.parquet", results, lambda f, p: f.to_parquet(p, index=False)),
            ("series.parquet", series, lambda f, p: f.to_parquet(p, index=False)),
        ):
            target = folder / name
            tmp = folder / f".{name}.tmp-{os.getpid()}"
            try:
                writer(frame, tmp)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            written.append(target)
        return written

    def close(self) -> None:
        self.conn.close()
