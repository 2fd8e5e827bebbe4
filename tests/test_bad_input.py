"""A corpus of bad instances: every one must give ONE line on stderr and exit code 2.

The contract (planner/cli.py, planner/errors.py): a problem with input prints
``error: <file>: <field.path>: <message>`` (file-level problems have no field path), exits with
code 2, prints no traceback and writes no run folder.

Most cases are mutations of the valid tiny instance below, written with ``yaml.safe_dump``; YAML
syntax and encoding cases are raw files in ``tests/bad/``. Every case runs in-process through
``planner.cli.main`` (fast); the cases in ``SUBPROCESS`` also run as a real subprocess
(``python -m planner.cli solve ...``) so the no-traceback guarantee is checked end to end.

A known defect can be marked ``xfail(strict=True)``: when it is fixed the test XPASSes, which fails
the run, so the mark must then be removed.

Not in the corpus: a duplicate key in a YAML mapping. PyYAML's SafeLoader silently keeps the last
value (``yaml.safe_load("a: 1\\na: 2")`` is ``{'a': 2}``) and the loader does not check for it.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Callable

import pytest
import yaml

from planner.cli import main

BAD = Path(__file__).parent / "bad"

TINY = """\
name: tiny
horizon: {start: 2024-01, periods: 6}
regions:
  A: {population: 1, crisis_capacity: 10}
  B: {population: 1, crisis_capacity: 10}
case_types:
  x:
    pool: p
    inflow: 10
    hours_per_case: 10
    grant_share: 0.5
    waits_in_coa: true
    deadline_months: 2
staff_pools:
  p: {start_fte: 1, hours_per_fte_year: 1200, eur_per_fte_year: 60000, max_hires: 1, training_months: 2}
location_types:
  azc: {eur_per_place_year: 12000, lead_months: 1}
locations:
  l1: {region: A, type: azc, places: 20, status: existing}
  n1: {region: B, type: azc, places: 20, status: candidate}
reception: {occupancy_norm: 1}
"""
BASE = yaml.safe_load(TINY)
PERIODS = [f"2024-{m:02d}" for m in range(1, 7)]


def csv_text(periods=PERIODS, values=None, header="period,inflow") -> str:
    values = values if values is not None else [1] * len(periods)
    return header + "\n" + "".join(f"{p},{v}\n" for p, v in zip(periods, values))


# --- mutations ---------------------------------------------------------------------------------


def _parent(inst: dict, path: str):
    *head, last = path.split(".")
    node = inst
    for key in head:
        node = node[key]  # a KeyError here is a bug in the test case, not in the planner
    return node, last


def setp(path: str, value) -> Callable[[dict], None]:
    """Set a dotted path (the parent must exist)."""

    def mutate(inst: dict) -> None:
        node, last = _parent(inst, path)
        node[last] = value

    return mutate


def delp(path: str) -> Callable[[dict], None]:
    """Delete a dotted path (it must exist)."""

    def mutate(inst: dict) -> None:
        node, last = _parent(inst, path)
        del node[last]

    return mutate


def rename(path: str, new: str) -> Callable[[dict], None]:
    """Rename the last key of a dotted path, keeping its value (a typo in a field name)."""

    def mutate(inst: dict) -> None:
        node, last = _parent(inst, path)
        node[new] = node.pop(last)

    return mutate


def chain(*mutations) -> Callable[[dict], None]:
    def mutate(inst: dict) -> None:
        for m in mutations:
            m(inst)

    return mutate


def rename_region(old: str, new: str) -> Callable[[dict], None]:
    def mutate(inst: dict) -> None:
        inst["regions"][new] = inst["regions"].pop(old)
        for loc in inst["locations"].values():
            if loc["region"] == old:
                loc["region"] = new

    return mutate


# --- the corpus --------------------------------------------------------------------------------


@dataclass
class Case:
    """One bad input.

    ``mutate``: applied to a deep copy of the tiny instance, dumped with yaml.safe_dump;
    ``raw``: a file in tests/bad/ used as is; ``missing``: the instance path does not exist;
    ``files``: extra files next to the instance (CSV series); ``outside``: files one folder up.
    ``field``: the dotted field path the message must name (None: a file-level error).
    ``fragments``: texts the message must contain (case-insensitive);
    ``exact``: the whole line after ``error: FILE: `` (field and message), when given.
    """

    mutate: Callable[[dict], None] | None = None
    raw: str | None = None
    missing: bool = False
    field: str | None = None
    fragments: tuple[str, ...] = ()
    files: dict[str, str] = dc_field(default_factory=dict)
    outside: dict[str, str] = dc_field(default_factory=dict)
    exact: str | None = None


def xfail(reason: str):
    return pytest.mark.xfail(reason=reason, strict=True)


CASES = [
    # --- the instance format (pydantic) ---
    pytest.param(Case(delp("case_types.x.hours_per_case"), field="case_types.x.hours_per_case",
                      fragments=("required field is missing",)), id="missing-required-field"),
    pytest.param(Case(rename("staff_pools.p.training_months", "training_month"), field="staff_pools.p.training_month",
                      fragments=("unknown field",)), id="unknown-field-typo-optional"),
    pytest.param(Case(setp("case_types.x.deadline_month", 2), field="case_types.x.deadline_month",
                      fragments=("unknown field",)), id="unknown-field-extra"),
    # A typo in a REQUIRED field name: pydantic's first error is the missing field, so the message
    # names the field that is missing (not the misspelt one). Acceptable, recorded as is.
    pytest.param(Case(rename("case_types.x.deadline_months", "deadline_month"), field="case_types.x.deadline_months",
                      fragments=("required field is missing",)), id="unknown-field-typo-required"),
    pytest.param(Case(setp("case_types.x.hours_per_case", "ten"), field="case_types.x.hours_per_case",
                      fragments=("a number", "ten")), id="wrong-type-string-for-number"),
    pytest.param(Case(setp("case_types.x.waits_in_coa", "maybe"), field="case_types.x.waits_in_coa",
                      fragments=("valid boolean",)), id="wrong-type-string-for-bool"),
    pytest.param(Case(setp("staff_pools.p.start_fte", -1), field="staff_pools.p.start_fte",
                      fragments=("greater than or equal to 0", "-1")), id="negative-value"),
    pytest.param(Case(setp("case_types.x.inflow", -5), field="case_types.x.inflow",
                      fragments=(">= 0", "-5")), id="negative-series"),
    pytest.param(Case(setp("case_types.x.deadline_months", float("nan")), field="case_types.x.deadline_months",
                      fragments=("finite number", "nan")), id="nan"),
    pytest.param(Case(setp("location_types.azc.eur_per_place_year", float("inf")), field="location_types.azc.eur_per_place_year",
                      fragments=("finite number", "inf")), id="infinity"),
    pytest.param(Case(setp("case_types.x.inflow", float("nan")), field="case_types.x.inflow",
                      fragments=("finite",)), id="nan-series"),
    pytest.param(Case(setp("case_types.x.inflow", [1, 2, 3, float("inf"), 5, 6]), field="case_types.x.inflow",
                      fragments=("finite",)), id="infinity-in-series-list"),
    pytest.param(Case(setp("case_types.x.grant_share", 1.5), field="case_types.x.grant_share",
                      fragments=("less than or equal to 1", "1.5")), id="grant-share-above-1"),
    pytest.param(Case(setp("case_types.x.deadline_months", True), field="case_types.x.deadline_months",
                      fragments=("number",)), id="bool-for-number"),
    pytest.param(Case(setp("reception.occupancy_norm", 0), field="reception.occupancy_norm",
                      fragments=("greater than 0",)), id="occupancy-norm-zero"),
    pytest.param(Case(setp("regions", {}), field="regions", fragments=("at least 1",)), id="empty-regions"),
    pytest.param(Case(setp("case_types.x", None), field="case_types.x", fragments=("valid dictionary",)), id="case-type-null"),
    pytest.param(Case(setp("name", "../evil"), field="name", fragments=("pattern", "../evil")), id="bad-instance-name"),
    pytest.param(Case(setp("horizon.periods", 0), field="horizon.periods", fragments=("greater than or equal to 1",)),
                 id="zero-periods"),
    pytest.param(Case(setp("horizon.grain", "day"), field="horizon.grain", fragments=("'month' or 'week'", "day")),
                 id="unknown-grain"),
    pytest.param(Case(setp("measures", {"m": {"changes": [{"path": "case_types.x.hours_per_case", "op": "multiply", "value": 0.9}]}}),
                      field="measures.m.changes.0.op", fragments=("'set', 'scale' or 'add'",)), id="unknown-change-op"),
    pytest.param(Case(setp("case_types.x.follow_on", {"source_types": ["x"], "share_of_grants": 0.1, "pre_horizon_grants": [-1]}),
                      field="case_types.x.follow_on.pre_horizon_grants.0", fragments=("greater than or equal to 0",)),
                 id="negative-list-element"),
    # User keys that look like pydantic's own location labels ('str...', 'float...') stay in the path.
    pytest.param(Case(chain(rename_region("A", "street"), setp("regions.street.population", -1)),
                      field="regions.street.population", fragments=("greater than 0",)), id="path-keeps-key-street"),
    pytest.param(Case(chain(rename("case_types.x", "float1"), setp("case_types.float1.grant_share", 2)),
                      field="case_types.float1.grant_share", fragments=("less than or equal to 1",)), id="path-keeps-key-float1"),
    # --- cross-references and checks in planner.instance.loading ---
    pytest.param(Case(setp("case_types.x.pool", "q"), field="case_types.x.pool", fragments=("unknown staff pool 'q'",)),
                 id="unknown-staff-pool"),
    pytest.param(Case(setp("locations.l1.region", "Z"), field="locations.l1.region", fragments=("unknown region 'Z'",)),
                 id="unknown-region"),
    pytest.param(Case(setp("locations.n1.type", "hotel"), field="locations.n1.type", fragments=("unknown location type 'hotel'",)),
                 id="unknown-location-type"),
    pytest.param(Case(setp("case_types.x.inflow", [1, 2, 3, 4, 5]), field="case_types.x.inflow",
                      fragments=("expected 6 values", "got 5")), id="series-wrong-length"),
    pytest.param(Case(setp("reception.other_groups", {"amv": [1, 2, 3]}), field="reception.other_groups.amv",
                      fragments=("expected 6 values", "got 3")), id="other-group-series-wrong-length"),
    pytest.param(Case(setp("horizon.start", "2024-13"), field="horizon.start", fragments=("month label", "2024-13")),
                 id="bad-horizon-start"),
    pytest.param(Case(chain(setp("horizon.grain", "week"), setp("horizon.start", "2024-W54")), field="horizon.start",
                      fragments=("week label", "2024-W54")), id="bad-week-start"),
    pytest.param(Case(setp("locations.l1.open_until", "june"), field="locations.l1.open_until",
                      fragments=("expected a period", "june")), id="open-until-not-a-period"),
    pytest.param(Case(setp("locations.n1.open_until", "2024-03"), field="locations.n1.open_until",
                      fragments=("only existing locations",)), id="open-until-on-candidate"),
    pytest.param(Case(setp("case_types.x.start_stock", 5), field="case_types.x.pre_horizon_inflow",
                      fragments=("required when start_stock > 0",)), id="start-stock-without-pre-horizon-inflow"),
    pytest.param(Case(chain(setp("case_types.x.start_stock", 5), setp("case_types.x.pre_horizon_inflow", [5]),
                            setp("case_types.x.start_stock_by_age", [5])),
                      field="case_types.x.start_stock_by_age", fragments=("not both",)), id="start-stock-twice"),
    pytest.param(Case(setp("placement", {"start_waiting": 10}), field="placement.pre_horizon_linked",
                      fragments=("required when start_waiting > 0",)), id="start-waiting-without-pre-horizon-linked"),
    pytest.param(Case(setp("regions.A.quota_share", 0.5), field="regions", fragments=("quota_share for every region",)),
                 id="quota-share-for-some-regions"),
    pytest.param(Case(chain(setp("regions.A.quota_share", 0.5), setp("regions.B.quota_share", 0.6)), field="regions",
                      fragments=("add up to 1", "1.1")), id="quota-shares-not-summing-to-1"),
    pytest.param(Case(setp("case_types.x.follow_on", {"source_types": ["y"], "share_of_grants": 0.1}),
                      field="case_types.x.follow_on.source_types", fragments=("unknown case type 'y'",)),
                 id="follow-on-unknown-case-type"),
    pytest.param(Case(setp("budget", {"by_year_eur": {2030: 1_000_000}}), field="budget.by_year_eur.2030",
                      fragments=("outside the horizon",)), id="budget-year-outside-horizon"),
    pytest.param(Case(setp("packages", {"all": ["m1"]}), field="packages.all", fragments=("unknown measure 'm1'",)),
                 id="package-unknown-measure"),
    pytest.param(Case(setp("measures", {"m": {"changes": [{"path": "case_types.x.hours_per_case", "op": "scale",
                                                            "value": 0.9, "from_period": "2030-01"}]}}),
                      field="measures.m.changes.0.from_period", fragments=("period of the horizon",)),
                 id="change-from-period-outside-horizon"),
    pytest.param(Case(setp("measures", {"m": {"changes": [{"path": "case_types.zz.hours_per_case", "op": "scale", "value": 0.9}]}}),
                      field="measures.m.changes.0.path", fragments=("zz",)), id="change-path-unknown"),
    pytest.param(Case(chain(setp("horizon", {"start": "9999-W50", "periods": 10, "grain": "week"})), field="horizon",
                      exact="horizon: 10 week periods from 9999-W50 run past the year 9999; expected a horizon that ends by 9999-W52"),
                 id="week-horizon-past-9999"),
    pytest.param(Case(setp("horizon", {"start": "9999-10", "periods": 6}), field="horizon",
                      exact="horizon: 6 month periods from 9999-10 run past the year 9999; expected a horizon that ends by 9999-12"),
                 id="month-horizon-past-9999"),
    pytest.param(Case(setp("case_types.x.follow_on", {"source_types": ["x"], "share_of_grants": 0.5}),
                      field="case_types.x.follow_on.lag_months",
                      exact="case_types.x.follow_on.lag_months: follow-on cycle with a lag of 0 periods ('x' follows on itself): "
                            "the inflow would depend on itself in the same period; expected lag_months of at least one period on a "
                            "link of the cycle"), id="follow-on-self-loop-lag-0"),
    pytest.param(Case(chain(setp("case_types.y", {**BASE["case_types"]["x"], "follow_on": {"source_types": ["x"], "share_of_grants": 0.5,
                                                                                           "lag_months": 0}}),
                            setp("case_types.x.follow_on", {"source_types": ["y"], "share_of_grants": 0.5, "lag_months": 0})),
                      field="case_types.x.follow_on.lag_months",
                      exact="case_types.x.follow_on.lag_months: follow-on cycle with a lag of 0 periods (x <- y <- x): the inflow "
                            "would depend on itself in the same period; expected lag_months of at least one period on a link of the "
                            "cycle"), id="follow-on-cycle-lag-0"),
    # --- magnitudes (planner.instance.magnitudes): solve and validate refuse them before building ---
    pytest.param(Case(setp("budget", {"total_eur": 5e15}), field="budget.total_eur",
                      exact="budget.total_eur: 5000000000000000.0 is too large to solve reliably; expected 0 or a magnitude between "
                            "1e-09 and 1e+12"), id="magnitude-too-large"),
    pytest.param(Case(setp("case_types.x.inflow", [1, 1, 1e-12, 1, 1, 1]), field="case_types.x.inflow.2",
                      fragments=("too small",)), id="magnitude-too-small-in-series"),
    # --- CSV series ---
    pytest.param(Case(setp("case_types.x.inflow", "../outside.csv"), outside={"outside.csv": csv_text()},
                      field="case_types.x.inflow", fragments=("leaves the instance's folder",)), id="csv-outside-folder"),
    pytest.param(Case(setp("case_types.x.inflow", "/etc/passwd.csv"), field="case_types.x.inflow",
                      fragments=("leaves the instance's folder",)), id="csv-absolute-path"),
    pytest.param(Case(setp("case_types.x.inflow", "inflow.csv"), field="case_types.x.inflow",
                      fragments=("not found", "inflow.csv")), id="csv-missing"),
    pytest.param(Case(setp("case_types.x.inflow", "inflow.csv"), files={"inflow.csv": csv_text([f"2023-{m:02d}" for m in range(1, 7)])},
                      field="case_types.x.inflow", fragments=("2024-01..2024-06",)), id="csv-wrong-periods"),
    pytest.param(Case(setp("case_types.x.inflow", "inflow.csv"), files={"inflow.csv": csv_text(PERIODS[:5])},
                      field="case_types.x.inflow", fragments=("2024-01..2024-06",)), id="csv-too-few-periods"),
    pytest.param(Case(setp("case_types.x.inflow", "inflow.csv"), files={"inflow.csv": csv_text(values=[1, 1, "many", 1, 1, 1])},
                      field="case_types.x.inflow", fragments=("period 2024-03", "finite number")), id="csv-non-number"),
    pytest.param(Case(setp("case_types.x.inflow", "inflow.csv:outflow"), files={"inflow.csv": csv_text()},
                      field="case_types.x.inflow", fragments=("no column 'outflow'",)), id="csv-unknown-column"),
    pytest.param(Case(setp("case_types.x.inflow", "inflow.csv"), files={"inflow.csv": csv_text(header="month,inflow")},
                      field="case_types.x.inflow", fragments=("'period' column",)), id="csv-no-period-column"),
    pytest.param(Case(setp("case_types.x.inflow", "inflow.csv"), files={"inflow.csv": ""},
                      field="case_types.x.inflow", fragments=("cannot read csv",)), id="csv-empty"),
    # --- the file itself: encoding, YAML syntax, shape (raw files in tests/bad/) ---
    pytest.param(Case(raw="non_utf8.yaml", fragments=("utf-8", "offset")), id="non-utf8-bytes"),
    pytest.param(Case(raw="utf16.yaml", fragments=("utf-8",)), id="utf16-file"),
    pytest.param(Case(raw="nul_byte.yaml", fragments=("character",)), id="nul-byte"),
    pytest.param(Case(raw="syntax.yaml", fragments=("not valid yaml", "line 3")), id="yaml-syntax"),
    pytest.param(Case(raw="tab_indent.yaml", fragments=("not valid yaml", "line 8")), id="yaml-tab-indent"),
    pytest.param(Case(raw="multi_doc.yaml", fragments=("not valid yaml", "another document")), id="yaml-two-documents"),
    pytest.param(Case(raw="python_tag.yaml", fragments=("not valid yaml", "python/object")), id="yaml-python-tag"),
    pytest.param(Case(raw="empty.yaml", fragments=("empty",)), id="empty-file"),
    pytest.param(Case(raw="comment_only.yaml", fragments=("empty",)), id="comment-only-file"),
    pytest.param(Case(raw="top_level_list.yaml", fragments=("mapping at the top level", "list")), id="top-level-list"),
    pytest.param(Case(raw="alias_bomb.yaml", fragments=("alias",)), id="alias-bomb"),
    pytest.param(Case(raw="recursive_alias.yaml", field="reception.other_groups.amv", fragments=("expected a number",)),
                 id="recursive-alias"),
    pytest.param(Case(missing=True, fragments=("not found",)), id="file-does-not-exist"),
]

# Run as real subprocesses too (end to end: no traceback, exit code from the interpreter).
SUBPROCESS = {
    "missing-required-field",
    "nan",
    "unknown-staff-pool",
    "csv-outside-folder",
    "non-utf8-bytes",
    "nul-byte",
    "yaml-syntax",
    "top-level-list",
    "alias-bomb",
    "file-does-not-exist",
    "week-horizon-past-9999",
}


def _instance_path(case: Case, case_id: str, tmp_path: Path) -> Path:
    if case.raw is not None:
        path = BAD / case.raw
        assert path.is_file(), path
        return path
    folder = tmp_path / "instance"
    folder.mkdir()
    path = folder / f"{case_id}.yaml"
    if case.missing:
        return path
    inst = copy.deepcopy(BASE)
    case.mutate(inst)
    path.write_text(yaml.safe_dump(inst, sort_keys=False), encoding="utf-8")
    for name, text in case.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    for name, text in case.outside.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return path


def _check(case: Case, path: Path, code: int, out: str, err: str, run: Path) -> None:
    assert "Traceback" not in out and "Traceback" not in err, err
    assert code == 2, f"exit {code}; stderr: {err!r}; stdout: {out[:300]!r}"
    assert err.endswith("\n") and err.count("\n") == 1, f"expected one line on stderr, got {err!r}"
    line = err.rstrip("\n")
    assert line.startswith("error: "), line
    assert path.name in line, f"file name {path.name!r} not in {line!r}"
    if case.field is not None:
        assert f": {case.field}: " in line, f"field path {case.field!r} not in {line!r}"
    for fragment in case.fragments:
        assert fragment.lower() in line.lower(), f"{fragment!r} not in {line!r}"
    if case.exact is not None:
        assert line == f"error: {path}: {case.exact}", line
    assert not run.exists(), f"a run folder was written: {sorted(p.name for p in run.iterdir())}"


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: Case, request, tmp_path, capsys):
    case_id = request.node.callspec.id
    path = _instance_path(case, case_id, tmp_path)
    run = tmp_path / "run"
    code = main(["solve", str(path), "--out", str(run)])
    captured = capsys.readouterr()
    _check(case, path, code, captured.out, captured.err, run)


@pytest.mark.parametrize("case", CASES)
def test_validate_refuses_what_solve_refuses(case: Case, request, tmp_path, capsys):
    """``planner validate`` runs every check ``solve`` runs before building a model: each case of
    the corpus gives validate the same one line and exit code 2."""
    case_id = request.node.callspec.id
    path = _instance_path(case, case_id, tmp_path)
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    _check(case, path, code, captured.out, captured.err, tmp_path / "run")


@pytest.mark.parametrize("case", [c for c in CASES if c.id in SUBPROCESS])
def test_bad_input_subprocess(case: Case, request, tmp_path):
    case_id = request.node.callspec.id
    path = _instance_path(case, case_id, tmp_path)
    run = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "planner.cli", "solve", str(path), "--out", str(run)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    _check(case, path, proc.returncode, proc.stdout, proc.stderr, run)


def test_subprocess_ids_exist():
    assert SUBPROCESS <= {c.id for c in CASES}
    assert len({c.id for c in CASES}) == len(CASES)


# --- sanity: the starting points are valid ------------------------------------------------------


def test_tiny_instance_is_valid(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "planner.cli", "validate", str(path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Instance 'tiny' is valid" in proc.stdout
    assert proc.stderr == ""


def test_tiny_instance_with_csv_series_is_valid(tmp_path, capsys):
    """The CSV cases above fail for the reason they name, not because CSV series never load."""
    folder = tmp_path / "instance"
    folder.mkdir()
    inst = copy.deepcopy(BASE)
    inst["case_types"]["x"]["inflow"] = "inflow.csv"
    inst["regions"]["A"]["crisis_capacity"] = "regions.csv:A"
    (folder / "inflow.csv").write_text(csv_text(), encoding="utf-8")
    (folder / "regions.csv").write_text("period,A,B\n" + "".join(f"{p},10,5\n" for p in PERIODS), encoding="utf-8")
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(inst, sort_keys=False), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().err == ""


def test_duplicate_yaml_key_is_last_wins():
    """Documents the PyYAML behaviour behind the missing duplicate-key case (see module docstring)."""
    assert yaml.safe_load("a: 1\na: 2\n") == {"a": 2}
