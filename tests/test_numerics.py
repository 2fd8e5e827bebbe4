"""Numerical hygiene: on the bundled instances HiGHS reports coefficient ranges it is happy with.

HiGHS (1.16) logs the model's "Coefficient ranges" (matrix, cost, bounds, right-hand sides) before
presolve and warns ("excessively small costs", "excessively large bounds on constraints", "badly
scaled") about costs outside [1e-4, 1e6] and bounds or right-hand sides outside [1e-4, 1e6]. It does
not warn about the matrix, but a range (largest / smallest entry) beyond about 1e6 is what makes
LU factors and tolerances struggle, so the test holds the matrix to that too.

The model is handed to HiGHS exactly as ``planner.solver.highs.run_highs`` does (the objective multiplied by
``objective_scale``) with a time limit of zero: only the log up to presolve is needed.
"""

import re
from pathlib import Path

import pyomo.environ as pyo
import pytest
import yaml
from pyomo.contrib.solver.solvers.highs import Highs

import planner
from planner.instance.loading import validate_dict
from planner.model import build_model
from planner.solver.highs import objective_scale

ROOT = Path(__file__).parents[1]
SMALL, LARGE = 1e-4, 1e6
MATRIX_RANGE_MAX = 1e6


def readme_example():
    text = (ROOT / "docs" / "instance-format.md").read_text()
    return validate_dict(yaml.safe_load(re.search(r"```yaml\n(name:.*?)```", text, re.S).group(1)))


def highs_log(d) -> str:
    m = build_model(d)
    scale = objective_scale(m.weighted_objective.expr)
    m.weighted_objective.deactivate()
    m.scaled_objective = pyo.Objective(expr=scale * m.weighted_objective.expr, sense=pyo.minimize)
    res = Highs().solve(
        m,
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        threads=1,
        time_limit=0.0,
        solver_options={"output_flag": True, "log_to_console": True},
    )
    return res.solver_log


def ranges(log: str) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    for name, lo, hi in re.findall(r"^\s+(Matrix|Cost|Bound|RHS)\s+\[\s*([-+.e\d]+),\s*([-+.e\d]+)\]", log, re.M):
        out.setdefault(name, []).append((float(lo), float(hi)))
    return out


@pytest.mark.parametrize("load", [lambda: planner.load_instance(ROOT / "instances" / "nl-2022.yaml"), readme_example],
                         ids=["nl-2022", "readme-example"])
def test_highs_reports_no_bad_ranges(load):
    log = highs_log(load())
    assert "Coefficient ranges:" in log, log[:2000]
    warnings = [line for line in log.splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)
    r = ranges(log)
    (m_lo, m_hi), = r["Matrix"]
    assert m_hi / m_lo <= MATRIX_RANGE_MAX, (m_lo, m_hi)
    for name in ("Cost", "Bound", "RHS"):
        for lo, hi in r[name]:
            if hi == 0:  # no nonzero entries (e.g. continuous bounds all 0)
                continue
            assert SMALL <= lo and hi <= LARGE, (name, lo, hi)


@pytest.mark.parametrize("override, field", [
    ({"locations": {"l": {"region": "A", "type": "t", "places": 1e300, "status": "existing"}},
      "location_types": {"t": {"eur_per_place_year": 1}}}, "locations.l.places: 1e+300 is too large"),
    ({"case_types": {"x": {"inflow": [1, 1, 1e15, 1]}}}, "case_types.x.inflow.2: 1000000000000000.0 is too large"),
    ({"reception": {"occupancy_norm": 1e-300}}, "reception.occupancy_norm: 1e-300 is too small"),
])
def test_absurd_magnitudes_are_input_errors(tmp_path, capsys, override, field):
    """Valid to the schema but beyond what double-precision simplex resolves: exit 2, one line
    naming the field, before any model is built (instead of a solver failure or a traceback)."""
    from conftest import tiny

    from planner.cli import main

    path = tmp_path / "odd.yaml"
    path.write_text(yaml.safe_dump(tiny(**override)), encoding="utf-8")
    code = main(["solve", str(path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"odd.yaml: {field}" in err
    assert not (tmp_path / "run").exists()
