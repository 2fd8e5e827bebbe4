"""A plan's state as input: ``state.json`` in every run folder, and a start from it.

Round trip: the state at period P of a plan, read back and started from with the plan's own
decisions of P.. fixed, gives the plan's periods P.. exactly (every table, to 1e-6). The instance
(:func:`test_rolling.rich`) carries every start stock a state holds: a case stock with its ages
and a deadline of 2 months (the FIFO window reaches into the state's arrivals), a follow-on type
(grants before the state), trainees (hires of the last two months), a site that is decided,
in preparation and then open with a minimum term, permit holders with their ages, rejected
persons awaiting departure, a budget (spent before the state) and a look-ahead tail.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

import planner
from planner.instance.loading import validate_dict
from planner.instance.state import start_from
from planner.solver.fromstate import decisions_of, fix_all, solve_start
from test_rolling import rich

TABLES = ("ind_cases", "staff", "reception", "placement", "costs", "chain")


def _same_tables(full, part, labels):
    for name in TABLES:
        a = full.tables[name]
        a = a[a.period.isin(labels)].reset_index(drop=True)
        b = part.tables[name].reset_index(drop=True)
        num = [c for c in a.columns if a[c].dtype.kind == "f"]
        assert len(a) == len(b), name
        assert np.abs(a[num].values - b[num].values).max() < 1e-6, name


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    d = validate_dict(rich())
    plan = planner.solve(d)
    out = plan.write(tmp_path_factory.mktemp("state") / "run")
    return d, plan, out


def test_state_file_has_every_period(solved):
    d, _, out = solved
    state = json.loads((out / "state.json").read_text())
    assert state["format"] == "planner-state" and state["version"] == 1
    assert [s["at"] for s in state["states"]] == list(d.grid.labels[1 : d.horizon_T + 1])
    at4 = state["states"][3]
    assert at4["at"] == "2024-05"
    assert at4["reception"]["locations"]["new"]["status"] in ("open", "preparing", "candidate")
    assert at4["budget"]["spent_eur"] > 0


@pytest.mark.parametrize("p", [1, 4, 7])
def test_round_trip_with_the_plans_decisions(solved, p):
    d, plan, out = solved
    start = start_from(d, out, d.grid.labels[p])
    fixed = decisions_of(plan.model, range(p, d.grid.T), p, names=("hires", "external", "retrain", "dec_out", "accelerated", "dec_int", "housed", "serve"))
    again = solve_start(start, fix_more=lambda m: fix_all(m, fixed), marginal=False)
    _same_tables(plan, again, start.data.horizon_labels)


def test_round_trip_status_quo(tmp_path):
    """simulate the whole horizon, then simulate from its state at month 7: the same tables."""
    from planner.check.simulate import simulate

    d = validate_dict(rich())
    sq = simulate(d)
    out = sq.write(tmp_path / "sq")
    start = start_from(d, out, "2024-07")
    again = simulate(start.data, prepare=start.fix)
    _same_tables(sq, again, start.data.horizon_labels)


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "planner.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_cli_solve_from_state(tmp_path):
    (tmp_path / "rich.yaml").write_text(yaml.safe_dump(rich()))
    assert _cli("solve", "rich.yaml", "--out", "run", cwd=tmp_path).returncode == 0
    r = _cli("solve", "rich.yaml", "--start-from", "run", "--at", "2024-05", "--out", "from5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    kpis = json.loads((tmp_path / "from5" / "kpis.json").read_text())
    assert kpis["first_period"] == "2024-05" and kpis["periods"] == 6
    r = _cli("simulate", "rich.yaml", "--start-from", "run", "--at", "2024-05", "--out", "sq5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def _edit(state_path, at, change):
    state = json.loads(state_path.read_text())
    for s in state["states"]:
        if s["at"] == at:
            change(s)
    return state


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda s: s["cases"]["x"].update(stock_by_age=[-1.0]), "states.3.cases.x.stock_by_age.0"),
        (lambda s: s["cases"].pop("fam"), "states.3.cases.fam"),
        (lambda s: s["staff"]["p"].update(productive_fte="many"), "states.3.staff.p.productive_fte"),
        (lambda s: s.update(weather={}), "states.3.weather"),
        (lambda s: s["reception"]["locations"]["new"].update(status="preparing", first_use="2024-02"), "states.3.reception.locations.new.first_use"),
        (lambda s: s["budget"].update(spent_eur=5e6), "states.3.budget.spent_eur"),
        (lambda s: s["cases"]["x"].update(stock_by_age=[0.0, 0.0, 500.0]), "states.3.cases.x.stock_by_age"),
    ],
)
def test_bad_state(tmp_path, solved, change, field):
    _, _, out = solved
    (tmp_path / "rich.yaml").write_text(yaml.safe_dump(rich()))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_edit(out / "state.json", "2024-05", change)))
    r = _cli("solve", "rich.yaml", "--start-from", "bad.json", "--at", "2024-05", "--out", "x", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: bad.json: {field}:"), r.stderr
    assert not (tmp_path / "x").exists()


def test_bad_at(tmp_path, solved):
    _, _, out = solved
    (tmp_path / "rich.yaml").write_text(yaml.safe_dump(rich()))
    r = _cli("solve", "rich.yaml", "--start-from", str(out), "--at", "2030-01", "--out", "x", cwd=tmp_path)
    assert r.returncode == 2 and "--at" in r.stderr and not (tmp_path / "x").exists()
    r = _cli("solve", "rich.yaml", "--start-from", str(out), "--out", "x", cwd=tmp_path)
    assert r.returncode == 2 and "--at" in r.stderr
