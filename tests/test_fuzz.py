"""Property: a mutated bundled instance either validates (exit 0) or gives ONE line and exit 2.

Hypothesis mutates instances/nl-2022.yaml and the README's example at random: it drops a field or
a list element, sets a wrong type (text, boolean, null, list, mapping), a negative number, NaN or
infinity, an out-of-range number, a list of the wrong length, an unknown reference (staff pool,
region, location type, case type, measure, period), renames or adds a field, or makes a number a
string; one to three mutations per example. Every example runs ``planner validate`` in-process
(``planner.cli.main``): never a traceback, never another exit code, and an error is one line
naming the file.

Settings: a fixed number of examples, no deadline, no example database (no .hypothesis folder)
and derandomised, so the suite is repeatable; ``PLANNER_FUZZ_EXAMPLES=2000`` (and
``PLANNER_FUZZ_RANDOM=1``) explores further.
"""

import contextlib
import copy
import io
import math
import os
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cli import main

ROOT = Path(__file__).parents[1]
NL = yaml.safe_load((ROOT / "instances" / "nl-2022.yaml").read_text(encoding="utf-8"))
README = yaml.safe_load(re.search(r"```yaml\n(name:.*?)```", (ROOT / "docs" / "instance-format.md").read_text(), re.S).group(1))

EXAMPLES = int(os.environ.get("PLANNER_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=not os.environ.get("PLANNER_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def paths(node, prefix=()):
    """Every path (tuple of keys / list indices) into the instance, the root excluded."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield prefix + (i,)
            yield from paths(v, prefix + (i,))


NL_PATHS = list(paths(NL))
README_PATHS = list(paths(README))

WRONG_TYPES = ["abc", True, False, None, [], {}, [1, "x"], {"a": 1}, "", "12"]
UNKNOWN_REFS = ["zz-unknown", "2022-13", "2024-W60", "1999-01", "../x.csv", "nothere.csv", "nothere.csv:col"]
NUMBERS = [-1, -0.5, 0, 1e308, -1e308, 0.5, 1.5, 2, 10**30]


def _get(raw, path):
    node = raw
    for p in path:
        node = node[p]
    return node


def mutate(raw, path, kind, choice):
    """Apply one mutation at ``path`` (skipped when it does not apply there)."""
    try:
        parent = _get(raw, path[:-1])
    except (KeyError, IndexError, TypeError):
        return  # an earlier mutation removed or replaced the path
    key = path[-1]
    if isinstance(parent, dict) and key not in parent:
        return
    if isinstance(parent, list) and not (isinstance(key, int) and key < len(parent)):
        return
    if not isinstance(parent, (dict, list)):
        return
    value = parent[key]
    if kind == "drop":
        del parent[key]
    elif kind == "wrong_type":
        parent[key] = copy.deepcopy(WRONG_TYPES[choice % len(WRONG_TYPES)])
    elif kind == "negative":
        parent[key] = -abs(value) - 1 if isinstance(value, (int, float)) and not isinstance(value, bool) else -1
    elif kind == "nan":
        parent[key] = [math.nan, math.inf, -math.inf][choice % 3]
    elif kind == "number":
        parent[key] = NUMBERS[choice % len(NUMBERS)]
    elif kind == "wrong_length":
        if isinstance(value, list) and value:
            parent[key] = value[:-1] if choice % 2 else value + [value[-1]]
        else:
            parent[key] = [value, value]
    elif kind == "unknown_ref":
        parent[key] = UNKNOWN_REFS[choice % len(UNKNOWN_REFS)]
    elif kind == "rename_key" and isinstance(parent, dict):
        parent[f"{key}_typo" if isinstance(key, str) else f"k{key}"] = parent.pop(key)
    elif kind == "add_key" and isinstance(value, dict):
        value["zz_unknown_field"] = 1
    elif kind == "string_number":
        parent[key] = str(value)


KINDS = ["drop", "wrong_type", "negative", "nan", "number", "wrong_length", "unknown_ref", "rename_key", "add_key", "string_number"]


def mutations(all_paths):
    return st.lists(
        st.tuples(st.sampled_from(all_paths), st.sampled_from(KINDS), st.integers(min_value=0, max_value=99)),
        min_size=1,
        max_size=3,
    )


def check_validate(raw, folder: Path) -> tuple[int, str]:
    path = folder / "mutant.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    out, err = out.getvalue(), err.getvalue()
    assert "Traceback" not in out + err
    if code == 0:
        assert err == "" and "is valid" in out, (out, err)
    else:
        assert code == 2, f"exit {code}: {err!r}"
        assert err.endswith("\n") and err.count("\n") == 1, f"expected one line, got {err!r}"
        assert err.startswith("error: ") and path.name in err, err
    return code, err


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@settings(FUZZ, max_examples=EXAMPLES or 25)
@given(changes=mutations(NL_PATHS))
def test_mutated_nl2022_validates_or_one_line_exit_2(changes, folder):
    raw = copy.deepcopy(NL)
    for path, kind, choice in changes:
        mutate(raw, path, kind, choice)
    check_validate(raw, folder)


@settings(FUZZ, max_examples=EXAMPLES or 150)
@given(changes=mutations(README_PATHS))
def test_mutated_readme_example_validates_or_one_line_exit_2(changes, folder):
    raw = copy.deepcopy(README)
    for path, kind, choice in changes:
        mutate(raw, path, kind, choice)
    check_validate(raw, folder)


NUMERIC_README_PATHS = [p for p in README_PATHS if isinstance(_get(README, p), (int, float)) and not isinstance(_get(README, p), bool)]


@settings(FUZZ, max_examples=EXAMPLES // 20 or 6)
@given(changes=st.lists(
    st.tuples(st.sampled_from(NUMERIC_README_PATHS), st.sampled_from(["number", "negative", "nan", "wrong_length", "drop"]),
              st.integers(min_value=0, max_value=99)),
    min_size=1, max_size=2))
def test_mutated_readme_example_solves_or_fails_cleanly(changes, folder):
    """A few examples through `solve` (slower): a valid but odd instance (a zero capacity, a huge
    number) must still end in a run folder (exit 0), an input error (2) or an infeasible plan (3),
    with one line on stderr and no run folder when it fails."""
    raw = copy.deepcopy(README)
    for path, kind, choice in changes:
        mutate(raw, path, kind, choice)
    path = folder / "mutant.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    run = folder / "run"
    if run.exists():
        import shutil

        shutil.rmtree(run)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["solve", str(path), "--out", str(run)])
    out, err = out.getvalue(), err.getvalue()
    assert "Traceback" not in out + err
    assert code in (0, 2, 3), f"exit {code}: {err!r}"
    if code == 0:
        assert (run / "kpis.json").is_file()
    else:
        assert err.count("\n") == 1 and err.startswith("error: "), err
        assert not run.exists()


def test_unmutated_instances_are_valid(folder):
    assert check_validate(copy.deepcopy(NL), folder)[0] == 0
    assert check_validate(copy.deepcopy(README), folder)[0] == 0
