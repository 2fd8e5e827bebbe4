"""The magnitudes a solve accepts: checked on the instance before any model is built."""

from __future__ import annotations

from planner.errors import InputError

MAGNITUDE = (1e-9, 1e12)
"""Numbers a solve accepts: 0 or a magnitude in this range. Beyond it the model's coefficients
leave what double-precision simplex can resolve (HiGHS treats 1e20 as infinite), and a valid but
absurd instance would end in a solver failure instead of a message naming the field."""


def check_magnitudes(d) -> None:
    """Raise :class:`InputError` (exit 2) for the first number outside :data:`MAGNITUDE`."""

    small, large = MAGNITUDE
    file = str(d.source) if d.source else "<instance>"

    def bad(x) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and (abs(x) > large or 0 < abs(x) < small)

    def fail(path, x):
        raise InputError(
            path,
            f"{x!r} is too {'large' if abs(x) > large else 'small'} to solve reliably; expected 0 or a magnitude "
            f"between {small:g} and {large:g}",
            file=file,
        )

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}.{i}")
        elif bad(node):
            fail(path, node)

    walk(d.instance.model_dump(), "")
    for path, values in d.series.items():
        for label, x in zip(d.grid.labels, values):
            if bad(x):
                fail(f"{path} (period {label})", x)
