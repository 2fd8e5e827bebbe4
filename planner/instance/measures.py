"""Measures and packages: named sets of dotted-path changes, applied to an instance.

``apply_measures(raw, names)`` validates the instance, applies each measure's changes in order
(a change of a series without ``from_period`` starts at the measure's ``start``, or at the
horizon's start; a value that is not per period, such as ``persons_per_case``, changes for the
whole horizon, and an explicit ``from_period`` on it is an error),
records the names in ``in_force`` (so the measures' costs are counted) and validates the result.
A package is a named list of measures; ``none`` (no measure) always exists.
"""

from __future__ import annotations

from planner.errors import InputError
from planner.instance.loading import InstanceData, validate_dict
from planner.instance.overrides import apply_change
from planner.instance.timegrid import make_grid

NO_PACKAGE = "none"

PACKAGE_PATH = "package"
"""The pseudo-path of a package change (``{"path": "package", "value": NAME}``): not a field of the
instance (a top-level ``package`` field does not exist, so no real change can collide with it)."""


def package_measures(d: InstanceData, package: str) -> list[str]:
    if package == NO_PACKAGE and NO_PACKAGE not in d.instance.packages:
        return []
    if package in d.instance.packages:
        return list(d.instance.packages[package])
    if package in d.instance.measures:  # a single measure is a package of one
        return [package]
    choices = sorted(set(d.instance.packages) | {NO_PACKAGE})
    raise InputError("--package", f"unknown package '{package}'; expected one of {choices} or a measure name")


def apply_measures(raw: dict, names: list[str], source=None) -> InstanceData:
    """The instance with the measures ``names`` in force (validated)."""
    return validate_dict(measures_in_force(raw, names, source), source)


def measures_in_force(raw: dict, names: list[str], source=None) -> dict:
    """The instance (plain data, every default filled in) with the measures ``names`` in force."""
    base = validate_dict(raw, source)
    out = base.instance.model_dump()  # defaults filled in, so 'add' and 'scale' work on them too
    for name in names:
        if name not in base.instance.measures:
            raise InputError("--package", f"unknown measure '{name}'").with_file(str(source or "<instance>"))
        if name in base.instance.in_force:
            continue
        measure = base.instance.measures[name]
        for i, ch in enumerate(measure.changes):
            start = ch.from_period or measure.start
            if ch.path not in base.series and ch.from_period is None:
                start = None  # a value that is not per period changes for the whole horizon
            index = base.grid.index(start) if start else None
            if index == 0:
                index = None
            if index is not None and ch.path not in base.series:
                raise InputError(
                    f"measures.{name}.changes.{i}",
                    f"'{ch.path}' is one value for the whole horizon; a change from {start} needs a series field "
                    "(or give the measure no start)",
                ).with_file(str(source or "<instance>"))
            try:
                out = apply_change(out, ch.path, ch.op, ch.value, index, field=f"measures.{name}.changes.{i}")
            except InputError as e:
                raise e.with_file(str(source or "<instance>")) from None
        out["in_force"] = list(out.get("in_force", [])) + [name]
    return out


def apply_package(raw: dict, package: str, source=None) -> InstanceData:
    return validate_dict(package_in_force(raw, package, source), source)


def package_in_force(raw: dict, package: str, source=None) -> dict:
    """The instance (plain data) with the package (or single measure, or ``none``) in force."""
    base = validate_dict(raw, source)
    try:
        names = package_measures(base, package)
    except InputError as e:
        raise e.with_file(str(source or "<instance>")) from None
    return measures_in_force(raw, names, source)


def apply_changes(raw: dict, changes: list[dict]) -> dict:
    """The instance ``raw`` (plain data) with ``changes`` applied in order: dicts with path, op,
    value, from_period and field (the batch field that asks for it, named in errors); a change of
    :data:`PACKAGE_PATH` puts that package in force after the other changes (as ``planner solve
    --set ... --package``). Not validated: the caller validates the result."""
    package = None
    for ch in changes:
        if ch["path"] == PACKAGE_PATH:
            package = ch
            continue
        index = None
        if ch.get("from_period") is not None:
            index = period_index(raw, ch["from_period"], ch.get("field") or ch["path"])
        raw = apply_change(raw, ch["path"], ch["op"], ch["value"], index, field=ch.get("field"))
    if package is not None:
        try:
            raw = package_in_force(raw, package["value"])
        except InputError as e:
            if e.field == "--package":
                raise InputError(package.get("field") or PACKAGE_PATH, e.message) from None
            raise
    return raw


def period_index(raw: dict, label: str, field: str) -> int:
    """The position of period ``label`` in the horizon of ``raw`` (a change's ``from_period``)."""
    h = raw.get("horizon") or {}
    try:
        grid = make_grid(h.get("grain", "month"), h["start"], h["periods"])
    except Exception:
        raise InputError(field, "cannot read the horizon to place from_period") from None
    index = grid.index(str(label))
    if index is None:
        raise InputError(f"{field}.from_period", f"expected a period of the horizon {grid.labels[0]}..{grid.labels[-1]}, got '{label}'")
    return index
