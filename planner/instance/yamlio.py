"""Safe YAML reading: ``yaml.SafeLoader`` only, with caps on file size and alias expansion.

:class:`Loader` is ``yaml.SafeLoader`` with one more implicit resolver: numbers in scientific
notation without a dot or without a sign on the exponent (``5e9``, ``1E-3``, ``2.5e6``) are floats,
as in YAML 1.2 (PyYAML's YAML 1.1 resolver reads them as strings; only ``1.0e+9`` was a number).
Dates (``2022-01``, ``2022-W01``), names and every other string stay strings; a mapping key in
scientific notation (a region or case type named ``1e3``) stays a string too. It constructs
nothing but plain data, exactly as ``yaml.safe_load`` does.

A YAML alias bomb ("billion laughs") composes into a small node graph that expands
exponentially once traversed; we measure the expanded size on the node graph (memoised, so the
check itself is linear) and refuse documents above :data:`MAX_EXPANDED_NODES`.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from planner.errors import InputError

MAX_FILE_BYTES = 20 * 1024 * 1024

FLOAT_TAG = "tag:yaml.org,2002:float"
SCIENTIFIC = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")
"""A number in scientific notation: ``5e9``, ``-1E-3``, ``2.5e+6``, ``.5e1``."""


class Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads scientific notation (``5e9``) as a float."""

    def construct_mapping(self, node, deep=False):
        for key_node, _ in node.value:  # keys are names: '1e3' as a key stays the string it reads
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == FLOAT_TAG and SCIENTIFIC.match(key_node.value):
                key_node.tag = "tag:yaml.org,2002:str"
        return super().construct_mapping(node, deep=deep)


Loader.add_implicit_resolver(FLOAT_TAG, SCIENTIFIC, list("-+0123456789."))


class Dumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` that quotes strings :class:`Loader` would read as numbers (``'5e9'``), so
    a file written with it (``instance.resolved.yaml``) reads back as it was."""


Dumper.add_implicit_resolver(FLOAT_TAG, SCIENTIFIC, list("-+0123456789."))


def dump_yaml(data, **options) -> str:
    """``yaml.safe_dump`` with :class:`Dumper`."""
    return yaml.dump(data, Dumper=Dumper, **options)


def load_value(text: str):
    """One YAML value (a ``--set`` value) read with :class:`Loader`: ``1e9`` is a number."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a yaml.SafeLoader
MAX_EXPANDED_NODES = 2_000_000


def read_text(path: Path, what: str = "file") -> str:
    """Read a UTF-8 text file with a size cap; errors name the file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError("", f"{what} not found", file=str(path)) from None
    except OSError as e:
        raise InputError("", f"cannot read {what}: {e.strerror}", file=str(path)) from None
    if not path.is_file():
        raise InputError("", f"expected the {what} to be a file, found a folder or special file", file=str(path))
    if size > MAX_FILE_BYTES:
        raise InputError("", f"{what} is {size / 1e6:.0f} MB; expected at most {MAX_FILE_BYTES // 2**20} MiB", file=str(path))
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError("", f"expected UTF-8 text, found a non-UTF-8 byte at offset {e.start}", file=str(path)) from None


def _expanded_size(node, memo: dict) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # guards against recursive structures while counting
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(n, memo) for n in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    else:
        size = 1
    memo[key] = size
    return size


def load_yaml(path: Path, what: str = "instance"):
    """Parse a YAML file safely; returns plain Python data."""
    text = read_text(path, what)
    loader = None
    try:
        loader = Loader(text)  # checks the characters: inside the try
        node = loader.get_single_node()
        if node is None:
            raise InputError("", f"the {what} is empty; expected a YAML mapping", file=str(path))
        if _expanded_size(node, {}) > MAX_EXPANDED_NODES:
            raise InputError(
                "", f"YAML expands to more than {MAX_EXPANDED_NODES:,} nodes (alias bomb?); refused", file=str(path)
            )
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError("", f"not valid YAML{where}: {problem}", file=str(path)) from None
    except RecursionError:
        raise InputError("", "YAML nested too deeply", file=str(path)) from None
    finally:
        if loader is not None:
            loader.dispose()
