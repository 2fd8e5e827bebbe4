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
def plan(nl2022_plan):
    return nl2022_plan


def test_nl2022_shape():
    d = planner.load_instance(NL)
    inst = d.instance
    assert d.grid.labels[0] == "2022-01" and d.horizon_T == 24 and d.grid.T == 54  # a 30-month look-ahead tail
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


@pytest.fixture(scope="module")
def status_quo(nl2022_status_quo):
    return nl2022_status_quo


def _per_month(table, key, column):
    return table.pivot(index="period", columns=key, values=column)


def test_every_type_with_overdue_cases_is_decided_every_month(plan):
    """No case type with cases past the deadline is left without decisions in a month."""
    ind = plan.tables["ind_cases"].assign(decided=lambda f: f.decided_internal + f.decided_outsourced)
    decided, overdue = _per_month(ind, "case_type", "decided"), _per_month(ind, "case_type", "overdue")
    starved = [(k, t) for k in decided for t in decided.index if overdue.shift(1).fillna(1).loc[t, k] > 0.5 and decided.loc[t, k] < 1]
    assert not starved


def test_hiring_goes_on_to_the_end_while_cases_are_overdue(plan):
    """The plan's end is not the chain's: hires in the last 12 months while any type ends overdue."""
    ind, staff = plan.tables["ind_cases"], plan.tables["staff"]
    last = ind[ind.period == ind.period.max()]
    assert last.overdue.sum() > 0
    last_year = sorted(staff.period.unique())[-12:]
    assert staff[staff.period.isin(last_year)].hires.sum() > 0


def test_no_type_decided_less_in_2022_than_the_status_quo_with_as_many_hours(plan, status_quo):
    """Per staff pool: where the plan has at least the status quo's productive hours in 2022, each
    of the pool's case types gets at least the status quo's decisions (0.5 % for round-off).
    Where it has fewer (hires in training take coaching hours from the pool), that is said."""
    types = {k: ct.pool for k, ct in planner.load_instance(NL).instance.case_types.items()}

    def year(plan_, table, key, column):
        t = plan_.tables[table]
        return t[t.period.str.startswith("2022")].groupby(key)[column].sum()

    hours_plan, hours_sq = year(plan, "staff", "pool", "productive_hours"), year(status_quo, "staff", "pool", "productive_hours")
    dec_plan = year(plan, "ind_cases", "case_type", "decided_internal") + year(plan, "ind_cases", "case_type", "decided_outsourced")
    dec_sq = year(status_quo, "ind_cases", "case_type", "decided_internal")
    checked = [k for k, p in types.items() if hours_plan[p] >= hours_sq[p]]
    assert checked  # the teams that gain hours in 2022 (spoor 1 and 2 on nl-2022)
    assert all(dec_plan[k] >= 0.995 * dec_sq[k] for k in checked), (dec_plan, dec_sq)
