"""The package's layout holds: stages import only downwards, no module imports itself round a
cycle, the recount stays apart from the model, and no function is too long to read.

The stage order (planner/__init__.py says the same):

    errors < instance < model < outputs < solver < check < studies < cli < planner (the API)

A module may import modules of its own stage or of a stage before it. Imports inside functions
count too: a lazy import that goes upwards is still a dependency. Only ast, no new dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "planner"
STAGES = ["errors", "instance", "model", "outputs", "solver", "check", "studies", "cli", ""]
RECOUNT_FORBIDDEN = ("planner.model", "planner.solver", "planner.outputs", "planner.check.simulate", "pyomo")
MAX_FUNCTION_LINES = 100


def module_name(path: Path) -> str:
    parts = ["planner", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, source: str | None = None) -> set[str]:
    """The modules ``name`` imports (planner modules resolved to files, others by their top name)."""
    path = MODULES.get(name)
    tree = ast.parse(source if source is not None else path.read_text())
    package = name if path is not None and path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            # `from planner.model import cases` imports the module planner.model.cases
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
            out |= set(subs) if len(subs) == len(node.names) else {target, *subs}
    return out


def planner_imports(name: str) -> set[str]:
    return {m for m in imports_of(name) if m in MODULES and m != name}


def stage(name: str) -> int:
    parts = name.split(".")
    return STAGES.index(parts[1] if len(parts) > 1 else "")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as a list of nodes, or None (depth-first search, three colours)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_module_belongs_to_a_stage():
    assert {m.split(".")[1] if "." in m else "" for m in MODULES} <= set(STAGES)


def test_no_import_cycles():
    graph = {name: planner_imports(name) for name in MODULES}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_imports_follow_the_stage_order():
    upward = [
        f"{name} (stage {STAGES[stage(name)] or 'api'}) imports {dep} (stage {STAGES[stage(dep)] or 'api'})"
        for name in MODULES
        for dep in planner_imports(name)
        if stage(dep) > stage(name) and dep != "planner"
    ]
    assert not upward, "\n".join(upward)


def test_recount_is_written_apart_from_the_model():
    """The independent recount may not lean on the model: no Pyomo, no model, solver or outputs."""
    recount = [m for m in MODULES if m.startswith("planner.check.recount") or m == "planner.check.evaluate"]
    assert len(recount) >= 6  # evaluate + one recount module per subsystem
    seen = set()
    for name in recount:
        deps = imports_of(name)
        bad = {d for d in deps if d.startswith(RECOUNT_FORBIDDEN)}
        assert not bad, f"{name} imports {bad}"
        seen |= deps
    assert "pandas" in seen  # the walk sees the recount's real imports


def test_no_function_over_100_lines():
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {n} lines")
    assert not long, "\n".join(long)


# --- the checks themselves catch what they guard ------------------------------------------------


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from planner.solver.solve import solve", {"planner.solver.solve"}),
        ("def f():\n    from planner.model import cases\n", {"planner.model.cases"}),
        ("from planner.model import build_model", {"planner.model"}),
        ("from . import yamlio", {"planner.instance.yamlio"}),
        ("from ..errors import InputError", {"planner.errors"}),
        ("import pyomo.environ as pyo", {"pyomo.environ"}),
    ],
)
def test_import_walk_resolves_lazy_relative_and_submodule_imports(source, expected):
    assert imports_of("planner.instance.loading", source) == expected


def test_an_upward_import_is_reported():
    """An outputs module importing the solver goes against the order (outputs < solver)."""
    deps = {d for d in imports_of("planner.outputs.results", "from planner.solver.solve import solve") if d in MODULES}
    assert [d for d in deps if stage(d) > stage("planner.outputs.results")] == ["planner.solver.solve"]
