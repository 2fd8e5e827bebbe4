"""Helpers for tiny test instances: a minimal valid instance as a dict, deep-merged overrides."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from planner.instance.loading import validate_dict
from planner.model import build_model
from planner.solver.solve import solve_model


def tiny(**overrides) -> dict:
    """A minimal instance whose every cost and flow is off unless a test turns it on.

    One region, one case type ``x`` (no inflow, no stock), one staff pool ``p`` (no staff), no
    locations, occupancy norm 1, all objective weights 1 except unsheltered (1000), crisis (10)
    and cost (0.001 per million EUR). ``overrides`` are deep-merged (dicts merge, other values
    replace); a value ``None`` deletes the key.
    """
    base = {
        "name": "tiny",
        "horizon": {"start": "2024-01", "periods": 4, "grain": "month"},
        "regions": {"A": {"population": 1}},
        "case_types": {
            "x": {
                "pool": "p",
                "inflow": 0,
                "hours_per_case": 10,
                "grant_share": 0,
                "waits_in_coa": False,
                "grants_need_housing": False,
                "deadline_months": 6,
            }
        },
        "staff_pools": {"p": {"start_fte": 0, "hours_per_fte_year": 1200, "eur_per_fte_year": 0}},
        "reception": {"occupancy_norm": 1},
    }
    return merge(base, overrides)


def outsourcing_instance(eur_per_case: float = 0.5e6, capacity: float = 8, budget: float | None = None) -> dict:
    """Inflow 10 a month, deadline 1 month (young = this period's inflow), 5 internal decisions a
    month (1 FTE at 600 h/yr = 50 h, 10 h a case), outsourcing capacity [0, 0, capacity, capacity]
    at ``eur_per_case``, cost weight 1 per million EUR, an optional horizon budget.
    Without outsourcing the stock is 5, 10, 15, 20 and overdue (stock - 10) is 0, 0, 5, 10."""
    raw = tiny(
        case_types={
            "x": {
                "inflow": 10,
                "deadline_months": 1,
                "outsourcing_capacity": [0, 0, capacity, capacity],
                "outsourcing_eur_per_case": eur_per_case,
            }
        },
        staff_pools={"p": {"start_fte": 1, "hours_per_fte_year": 600}},
        objective={"cost_per_million_eur": 1},
    )
    if budget is not None:
        raw["budget"] = {"total_eur": budget}
    return raw


def ranking_instance(**measure_overrides) -> dict:
    """The outsourcing instance (no outsourcing capacity of its own) with two measures.

    Inflow 10 a month, deadline 1 month, 5 internal decisions a month (50 h, 10 h a case), cost
    weight 1 per million EUR, outsourcing at EUR 0.5 million a case; overdue without measures
    0, 0, 5, 10 (15 case-months).
    'outsource': capacity 8 a month from 2024-03. 'productivity': 8 h a case (6.25 decisions a
    month). ``measure_overrides`` are merged into the measures (e.g. a cost).
    """
    measures = {
        "outsource": {"changes": [{"path": "case_types.x.outsourcing_capacity", "op": "set", "value": 8, "from_period": "2024-03"}]},
        "productivity": {"changes": [{"path": "case_types.x.hours_per_case", "op": "set", "value": 8}]},
    }
    raw = outsourcing_instance(capacity=0)
    del raw["case_types"]["x"]["outsourcing_capacity"]  # a measure sets it
    raw["measures"] = merge(measures, measure_overrides)
    return raw


def merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def solve_raw(raw: dict, mode: str = "weighted"):
    """Validate, build and solve a dict instance; returns (model, data, info)."""
    d = validate_dict(raw)
    m = build_model(d)
    info = solve_model(m, mode)
    return m, d, info


def plan_of(raw: dict, mode: str | None = None):
    import planner

    return planner.solve(validate_dict(raw), objective=mode)


@pytest.fixture
def approx():
    return lambda x, rel=1e-6, abs=1e-6: pytest.approx(x, rel=rel, abs=abs)


NL2022 = Path(__file__).parents[1] / "instances" / "nl-2022.yaml"


@pytest.fixture(scope="session")
def nl2022_plan():
    """``planner solve instances/nl-2022.yaml`` as shipped, solved once for every test module that
    reads it (test_nl2022, test_evaluate): one nl-2022 solve (54 periods with its tail) is ~25 s."""
    import planner

    return planner.solve(planner.load_instance(NL2022))


@pytest.fixture(scope="session")
def nl2022_status_quo():
    """``planner simulate instances/nl-2022.yaml``, simulated once for test_nl2022 and test_calibration."""
    import planner

    return planner.simulate(planner.load_instance(NL2022))
