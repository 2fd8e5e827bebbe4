"""Issue 17: marginal values from the HiGHS object that solved the plan, and ``--outputs``."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import pyomo.environ as pyo
import yaml
from conftest import tiny

from planner.instance.loading import validate_dict
from planner.model import build_model
from planner.outputs.results import OUTPUTS, parse_outputs
from planner.outputs.runfolder import TABLE_FILES
from planner.errors import InputError
from planner.solver.marginal import live_duals, marginal_values
from planner.solver.solve import solve_model

RECEPTION = dict(
    horizon={"periods": 4},
    regions={"A": {"population": 1, "crisis_capacity": 20}},
    location_types={"t": {"eur_per_place_year": 0, "lead_months": 2}},
    locations={
        "old": {"region": "A", "type": "t", "places": 50, "status": "existing"},
        "new": {"region": "A", "type": "t", "places": 30, "status": "candidate"},
    },
    reception={"occupancy_norm": 1, "other_groups": {"g": [50, 80, 80, 80]}},
)


def _lp(h) -> dict:
    """Everything of a HiGHS model that the marginal values change (to check it is put back)."""
    h.ensureColwise()
    lp = h.getLp()
    a = lp.a_matrix_
    return {
        name: np.asarray(value).copy()
        for name, value in {
            "cost": lp.col_cost_, "col_lower": lp.col_lower_, "col_upper": lp.col_upper_,
            "row_lower": lp.row_lower_, "row_upper": lp.row_upper_, "start": a.start_, "index": a.index_,
            "value": a.value_, "integrality": [int(k) for k in lp.integrality_],
        }.items()
    }


@pytest.mark.parametrize("mode", ["weighted", "lexicographic", "polish"])
def test_live_marginal_values_equal_the_fresh_lp(mode):
    """tests/test_marginal.py's reception instance: 50 places (norm 1), 80 persons in periods 1-3,
    crisis shelter for 20; the candidate (30 places, a binary per period) can serve from period 2
    (lead time 2 months). In period 1 (February 2024, 29 nights) 10 persons are unsheltered: one
    more place shelters one of them for 29 nights at weight 1000 per person-night, so the capacity
    row's dual is -29,000 and the place is worth 29,000 objective units; in periods 0, 2 and 3 a
    place is worth nothing (0 short; the candidate's 30 places cover the 30 over from period 2).

    The values come from the LP with the binaries fixed, solved in the HiGHS object that solved
    the MIP (the lexicographic run and the cost polish leave hold rows and another objective in
    it, which the marginal values take out); they equal, bit for bit, those of the former way (the
    same LP handed to a new HiGHS object), and the HiGHS model is put back as it was."""
    d = validate_dict(tiny(**RECEPTION))
    m = build_model(d)
    if mode == "polish":
        info = solve_model(m, polish_seconds=5)
    else:
        info = solve_model(m, mode)
    assert m.serve["new", 2].value == pytest.approx(1)
    h = info.solver._solver_model
    before = _lp(h)
    ints = [v for v in m.component_data_objects(pyo.Var, active=True) if v.is_binary() and not v.fixed]
    assert isinstance(live_duals(info.solver, m, ints), dict)  # the live way, not the fallback
    after = _lp(h)
    for name in before:
        assert np.array_equal(before[name], after[name]), name
    live = marginal_values(m, d, info.solver)
    fresh = marginal_values(m, d)
    pd.testing.assert_frame_equal(live, fresh, check_exact=True)
    place = live[live.resource == "reception_place"].value_objective.tolist()
    assert place == pytest.approx([0, 29_000, 0, 0], abs=1e-6)
    assert live.basis.iloc[0].startswith("LP duals with integer decisions fixed")
    assert m.serve["new", 2].value == pytest.approx(1)  # the plan is left as it was


def test_parse_outputs():
    assert parse_outputs("html, CSV") == ("csv", "html")
    assert parse_outputs(["xlsx"]) == ("xlsx",)
    assert OUTPUTS == ("csv", "xlsx", "html")
    for bad in ("pdf", "", " , "):
        with pytest.raises(InputError, match="--outputs"):
            parse_outputs(bad)


CORE = {"run.json", "kpis.json", "timings.json", "instance.resolved.yaml"}
CSVS = {f"{t}.csv" for t in TABLE_FILES} | {"marginal_values.csv", "state.json"}  # the state goes with the tables


@pytest.mark.parametrize(
    "outputs, expected",
    [
        ("csv", CORE | CSVS),
        ("xlsx", CORE | {"plan.xlsx"}),
        ("html", CORE | {"report.html"}),
        ("csv,html", CORE | CSVS | {"report.html"}),
        (None, CORE | CSVS | {"plan.xlsx", "report.html"}),
    ],
)
def test_outputs_option_writes_only_what_is_chosen(tmp_path, outputs, expected):
    """``planner solve --outputs``: the files chosen and the core files, nothing else; matplotlib
    is imported only for html and openpyxl only for xlsx; no marginal values are computed when
    neither csv nor xlsx is written (they are in no other file)."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny(**RECEPTION)))
    out = tmp_path / "run"
    args = ["solve", str(path), "--out", str(out)] + (["--outputs", outputs] if outputs else [])
    code = (
        "import sys; from planner.cli import main; rc = main(sys.argv[1:]); "
        "print('IMPORTED', 'matplotlib' in sys.modules, 'openpyxl' in sys.modules); sys.exit(rc)"
    )
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.iterdir()} == expected
    chosen = outputs or "csv,xlsx,html"
    imported = r.stdout.split("IMPORTED")[1].split()
    if "html" not in chosen:
        assert imported[0] == "False"
    if "xlsx" not in chosen:
        assert imported[1] == "False"
    timings = json.loads((out / "timings.json").read_text())
    assert ("marginal_seconds" in timings) == ("csv" in chosen or "xlsx" in chosen)
    assert {"load_seconds", "build_seconds", "solve_seconds", "tables_seconds", "write_seconds"} <= set(timings)


def test_outputs_option_refuses_an_unknown_output(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny()))
    r = subprocess.run(
        [sys.executable, "-m", "planner.cli", "solve", str(path), "--out", str(tmp_path / "run"), "--outputs", "csv,pdf"],
        capture_output=True, text=True,
    )
    assert r.returncode == 2
    assert "--outputs" in r.stderr and "pdf" in r.stderr and "csv, xlsx, html" in r.stderr
    assert not (tmp_path / "run").exists()
