"""Changes to an instance by dotted path: command-line overrides, measures and batch scenarios.

A change names a path into the instance (``case_types.spoor4.hours_per_case``), an operation and
a value:

* ``set``: replace the value;
* ``scale``: multiply a number or every element of a series;
* ``add``: add to a number or to every element of a series.

With ``from_period`` a change applies to a series from that period on (earlier periods keep
their value); the series is written out per period first. Changes work on the raw instance
(a dict, as read from YAML) and the result is validated again, so a change can never produce an
instance the schema would refuse.
"""

from __future__ import annotations

import copy
import math

import yaml

from planner.errors import InputError
from planner.instance.yamlio import load_value

OPS = ("set", "scale", "add")


def parse_assignment(text: str, field: str = "--set") -> tuple[str, str, object]:
    """``path=value``, ``path*=factor`` or ``path+=amount`` -> (path, op, value).

    The value is read as YAML (:func:`planner.instance.yamlio.load_value`): ``1.2``, ``1e9``, ``[1, 2]``,
    ``true``, ``spoor4``.
    """
    path, sep, value = text.partition("=")
    path = path.strip()
    op = "set"
    if path.endswith("*"):
        op, path = "scale", path[:-1].strip()
    elif path.endswith("+"):
        op, path = "add", path[:-1].strip()
    if not sep or not path:
        raise InputError(field, f"expected PATH=VALUE (e.g. case_types.spoor4.hours_per_case=25), got '{text}'")
    try:
        parsed = load_value(value) if value.strip() else None
    except yaml.YAMLError:
        raise InputError(field, f"cannot read the value of '{text}' (YAML syntax expected)") from None
    if parsed is None:
        raise InputError(field, f"'{path}' needs a value")
    return path, op, parsed


def _series_as_list(value, periods: int, field: str):
    if isinstance(value, list):
        return list(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value] * periods
    raise InputError(field, "a change from a period needs a number or a list here (CSV series: give the list instead)")


def _combine(old, op: str, value, field: str):
    if op == "set":
        return copy.deepcopy(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(field, f"'{op}' needs a finite number, got {value!r}")
    if isinstance(old, bool) or old is None:
        raise InputError(field, f"cannot {op} a value that is {old!r}")
    if isinstance(old, list):
        return [_combine(v, op, value, field) for v in old]
    if not isinstance(old, (int, float)):
        raise InputError(field, f"cannot {op} '{old}': a number or a list of numbers is needed")
    return old * value if op == "scale" else old + value


def apply_change(raw: dict, path: str, op: str, value, from_index: int | None = None, field: str | None = None) -> dict:
    """A copy of ``raw`` with one change applied; ``field`` names the change in errors.

    Only the mappings on the path are copied (a batch applies thousands of changes to one large
    base instance); the copy shares every other value with ``raw``, so neither may be changed in
    place afterwards (every caller validates the result, which reads it)."""
    field = field or path
    if op not in OPS:
        raise InputError(field, f"unknown operation '{op}'; expected one of {', '.join(OPS)}")
    out = dict(raw) if isinstance(raw, dict) else raw  # copies along the path only: the rest is shared with raw (both read-only)
    parts = path.split(".")
    node = out
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
            where = ".".join(parts[:depth]) or "the instance"
            raise InputError(field, f"unknown path '{path}': no '{part}' under {where}")
        node[part] = dict(node[part])
        node = node[part]
    leaf = parts[-1]
    if not isinstance(node, dict):
        raise InputError(field, f"unknown path '{path}'")
    if leaf not in node and op != "set":
        raise InputError(field, f"'{path}' is not set in the instance; use set, or give it a value first")
    if from_index is None:
        node[leaf] = _combine(node.get(leaf), op, value, field)
        return out
    horizon = out.get("horizon", {})
    periods = horizon.get("periods", 0) + horizon.get("tail_periods", 0)
    series = _series_as_list(node.get(leaf, 0), periods, field)
    for t in range(from_index, len(series)):
        series[t] = _combine(series[t], op, value, field)
    node[leaf] = series
    return out


def apply_assignments(raw: dict, assignments: list[str]) -> dict:
    """Apply ``--set`` overrides (``path=value``, ``path*=factor``, ``path+=amount``) in order."""
    for text in assignments:
        try:
            path, op, value = parse_assignment(text)
            raw = apply_change(raw, path, op, value, field=f"--set {path}")
        except InputError as e:
            raise e.with_file("command line") from None
    return raw
