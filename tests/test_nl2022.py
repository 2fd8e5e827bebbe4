"""The bundled Dutch instance validates and solves to optimality with plausible figures.

Fine calibration against the letter (simulate, reproduction tests) is a separate issue; these
bands only catch a broken instance or model: the letter's status quo ends 2022 with 27,300
spoor-4 cases waiting (L343-L347) and COA occupancy between 38,880 (week 16, L770) and 46,000
(end 2022, L782).
"""

from pathlib import Path

import pandas as pd
import pytest

import planner

NL = Path(__file__).parents[1] / "instances" / "nl-2022.yaml"


@pytest.fixture(scope="module")
def plan():
    return planner.solve(planner.load_instance(NL))


def test_nl2022_shape():
    d = planner.load_instance(NL)
    inst = d.instance
    assert d.grid.labels[0] == "2022-01" and d.horizon_T == 24 and d.grid.T == 36  # a 12-month look-ahead tail
    assert len(inst.regions) == 25
    assert {"spoor1", "spoor2", "spoor4", "nareis"} <= set(inst.case_types)


def test_nl2022_solves_optimal_and_plausible(plan, tmp_path):
    k = plan.kpis
    assert k["solver_status"] == "optimal"
    ind = plan.tables["ind_cases"]
    spoor4_end_2022 = ind[(ind.case_type == "spoor4") & (ind.period == "2022-12")].stock.item()
    assert 15_000 < spoor4_end_2022 < 40_000
    rec = plan.tables["reception"].set_index("period")
    assert 30_000 < rec.loc["2022-04", "occupancy"] < 50_000
    assert k["accelerated_placements_total"] <= 7_500 + 1e-6
    assert set(plan.tables["placement"].region) == set(planner.load_instance(NL).instance.regions)
    folder = plan.write(tmp_path / "nl")
    assert pd.read_csv(folder / "ind_cases.csv").shape[0] == 24 * len(set(ind.case_type))
