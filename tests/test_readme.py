"""The documentation stays honest: the instance example of docs/instance-format.md is valid and
solves, every `planner` command of the README parses with the command line's own parser, and
every relative link of README.md and docs/ points at a file that exists."""

import re
import shlex
from pathlib import Path

import yaml

import planner
from planner.cli import make_parser
from planner.instance.loading import validate_dict

ROOT = Path(__file__).parents[1]


def test_readme_example_instance_solves():
    text = (ROOT / "docs" / "instance-format.md").read_text()
    block = re.search(r"```yaml\n(name:.*?)```", text, re.S).group(1)  # the instance example, not the measures one
    plan = planner.solve(validate_dict(yaml.safe_load(block)))
    assert plan.kpis["solver_status"] == "optimal"
    assert plan.kpis["unsheltered_person_nights"] < plan.kpis["crisis_person_nights"] + 1


def readme_commands() -> list[list[str]]:
    """The `planner ...` lines of the README's bash blocks (comments and `&&` chains cut)."""
    text = (ROOT / "README.md").read_text()
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            for part in line.split("#")[0].split("&&"):
                words = shlex.split(part)
                if words and words[0] == "planner":
                    out.append(words[1:])
    return out


def test_readme_commands_parse():
    """Eight commands (the quick start's solve, the five of the tour, the rolling and the stochastic
    examples) and each parses."""
    commands = readme_commands()
    assert [c[0] for c in commands] == ["solve", "validate", "simulate", "solve", "compare", "evaluate", "rolling", "solve"]
    for args in commands:
        make_parser().parse_args(args)  # argparse exits (a failing test) on an unknown option


def test_readme_commands_are_checked():
    """The parser refuses a misspelt option, so the test above can fail."""
    import pytest

    with pytest.raises(SystemExit):
        make_parser().parse_args(["solve", "instances/nl-2022.yaml", "--pakcage", "letter"])


def test_relative_links_exist():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text()):
            assert (doc.parent / target).exists(), f"{doc.name}: {target}"
