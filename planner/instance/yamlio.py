"""Safe YAML reading: ``yaml.SafeLoader`` only, with caps on file size and alias expansion.

A YAML alias bomb ("billion laughs") composes into a small node graph that expands
exponentially once traversed; we measure the expanded size on the node graph (memoised, so the
check itself is linear) and refuse documents above :data:`MAX_EXPANDED_NODES`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from planner.errors import InputError

MAX_FILE_BYTES = 20 * 1024 * 1024
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
        loader = yaml.SafeLoader(text)  # checks the characters: inside the try
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
