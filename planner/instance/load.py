"""The instance a command works on: the file, then its ``--set`` changes, then a package.

This is the stage's entry point (``planner.load_instance``); it sits above :mod:`loading`
(validation and series), :mod:`overrides` (dotted-path changes) and :mod:`measures`.
"""

from __future__ import annotations

from pathlib import Path

from planner.errors import InputError
from planner.instance.loading import InstanceData, load_raw, validate_dict
from planner.instance.magnitudes import check_magnitudes
from planner.instance.measures import apply_package
from planner.instance.overrides import apply_assignments


def load_instance(path, overrides: list[str] | None = None, package: str | None = None) -> InstanceData:
    """Read, validate and resolve an instance file (YAML).

    ``overrides``: ``--set`` changes (applied first); ``package``: a package of measures (or one
    measure) to put in force (see :mod:`planner.instance.measures`).
    """
    path = Path(path)
    raw = load_raw(path)
    if (overrides or package) and not isinstance(raw, dict):
        raise InputError("", "expected a YAML mapping at the top level", file=str(path))
    if overrides:
        raw = apply_assignments(validate_dict(raw, path).instance.model_dump(), overrides)
    if package:
        return apply_package(raw, package, path)
    return validate_dict(raw, path)


def check_before_build(d: InstanceData) -> None:
    """Every check of a validated instance that ``solve``, ``simulate``, the diagnosis and a batch
    run before they build a model (today: the magnitudes, :mod:`planner.instance.magnitudes`);
    ``planner validate`` runs it too, so an instance it calls valid is never refused later."""
    check_magnitudes(d)
