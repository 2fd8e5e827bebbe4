"""Dotted-path changes: set, scale, add, from a period; errors name the change."""

import pytest
from conftest import tiny

from planner.errors import InputError
from planner.instance.loading import validate_dict
from planner.instance.overrides import apply_assignments, apply_change


def test_set_scale_add_on_numbers_and_series():
    raw = tiny(case_types={"x": {"inflow": [1, 2, 3, 4]}})
    out = apply_assignments(raw, ["case_types.x.hours_per_case=25", "case_types.x.inflow*=2", "staff_pools.p.start_fte+=3"])
    assert out["case_types"]["x"]["hours_per_case"] == 25
    assert out["case_types"]["x"]["inflow"] == [2, 4, 6, 8]
    assert out["staff_pools"]["p"]["start_fte"] == 3
    assert raw["case_types"]["x"]["inflow"] == [1, 2, 3, 4]  # the input is not modified
    d = validate_dict(out)
    assert d.s("case_types.x.inflow") == [2, 4, 6, 8]


def test_change_from_a_period_turns_a_number_into_a_series():
    """inflow 10 in 4 periods, scaled by 1.5 from period index 2: [10, 10, 15, 15]."""
    raw = tiny(case_types={"x": {"inflow": 10}})
    out = apply_change(raw, "case_types.x.inflow", "scale", 1.5, from_index=2)
    assert out["case_types"]["x"]["inflow"] == [10, 10, 15, 15]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("case_types.y.inflow=3", "no 'y' under case_types"),
        ("case_types.x.inflow", "expected PATH=VALUE"),
        ("case_types.x.pool*=2", "cannot scale 'p'"),
        ("case_types.x.inflow*=abc", "needs a finite number"),
        ("case_types.x.outsourcing_capacity+=1", "not set in the instance"),
    ],
)
def test_bad_overrides(text, fragment):
    with pytest.raises(InputError) as e:
        apply_assignments(tiny(), [text])
    assert fragment in str(e.value)
    assert str(e.value).startswith("command line: --set")
