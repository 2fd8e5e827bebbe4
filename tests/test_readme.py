"""The README's example instance is valid and solves (keeps the documentation honest)."""

import re
from pathlib import Path

import yaml

import planner
from planner.instance.loading import validate_dict


def test_readme_example_instance_solves():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"```yaml\n(name:.*?)```", text, re.S).group(1)  # the instance example, not the measures one
    plan = planner.solve(validate_dict(yaml.safe_load(block)))
    assert plan.kpis["solver_status"] == "optimal"
    assert plan.kpis["unsheltered_person_nights"] < plan.kpis["crisis_person_nights"] + 1
