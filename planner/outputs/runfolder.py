"""Run folders that are never half-written.

A run folder ``X`` is written as a hidden sibling ``.X.tmp-<pid>-<token>`` and put in place only
when every file is complete (and flushed to disk):

* if ``X`` does not exist, the temporary folder is renamed to ``X`` (one atomic ``rename``);
* if ``X`` exists, the two are swapped with one atomic ``renameat2(RENAME_EXCHANGE)`` (Linux), so
  at every moment ``X`` is either the complete old run or the complete new one; the old one (now
  under the temporary name) is then deleted. Where the exchange is not available the old folder is
  first renamed to ``.X.old-<pid>-<token>`` and the new one renamed into place.

A run killed at any moment (even with SIGKILL) therefore leaves ``X`` complete (old or new) and
at most hidden ``.X.tmp-*`` / ``.X.old-*`` siblings. Every write first removes such siblings whose
process is gone (:func:`clean_stale`); a ``.X.old-*`` folder left between the two renames of the
fallback (``X`` missing) is the previous complete run and is renamed back to ``X``. Siblings of a
process that is still running (a concurrent write) are left alone.

A folder is replaced only when the tool wrote it (:func:`check_target`): every run folder holds
a small ``run.json`` marker (tool version, command line, kind: ``run``, ``compare`` or ``batch``),
and every command checks its ``--out`` with :func:`check_target` before any work starts.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from planner.errors import InputError

TABLE_FILES = ("ind_cases", "staff", "retraining", "reception", "locations", "placement", "costs", "chain", "plan_quarter")
"""The tables every run folder holds, as ``NAME.csv`` (a solve adds ``marginal_values.csv``)."""

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
LEGACY_STALE_SECONDS = 3600
"""Siblings without a process id in their name (written by older versions) count as stale when
older than this."""


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - not on a POSIX system
        return None


_LIBC = _libc()


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where that is not supported."""
    fn = getattr(_LIBC, "renameat2", None) if _LIBC is not None else None
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(str(a)), _AT_FDCWD, os.fsencode(str(b)), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. a platform without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def sibling_pattern(name: str) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(name)}\.(tmp|old)-(?:(\d+)-)?.*$")


def clean_stale(target: Path) -> list[Path]:
    """Remove leftovers of killed writes of ``target``; restore a displaced old run. Returns what it removed."""
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return []
    pattern = sibling_pattern(target.name)
    stale = []
    for p in sorted(parent.iterdir()):
        match = pattern.match(p.name)
        if not match:
            continue
        kind, pid = match.group(1), match.group(2)
        if pid is not None:
            if _alive(int(pid)):
                continue
        else:
            try:
                age = time.time() - p.lstat().st_mtime
            except OSError:
                continue
            if age < LEGACY_STALE_SECONDS:
                continue
        stale.append((kind, p))
    removed = []
    for kind, p in stale:
        if kind == "old" and not target.exists() and p.is_dir():
            # killed between the fallback's two renames: this is the previous complete run
            try:
                os.rename(p, target)
                continue
            except OSError:
                pass
        shutil.rmtree(p, ignore_errors=True)
        if not p.exists():
            removed.append(p)
    return removed


def write_run_folder(target, files: dict[str, str | bytes], command: list | None = None, kind: str = "run") -> Path:
    """Write ``files`` (name -> text or bytes) as the folder ``target``, atomically (module docstring).

    Adds the marker ``run.json`` (:func:`marker_text`); an existing ``target`` must pass
    :func:`check_target` (an :class:`InputError` otherwise, before anything is written)."""
    target = Path(target)
    check_target(target, kind)
    files = {**files, MARKER: marker_text(kind, command)} if MARKER not in files else files
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    token = secrets.token_hex(4)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{token}"
    tmp.mkdir()
    try:
        for name, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)  # a name may hold a subfolder (scenarios/s000/kpis.json)
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        _fsync_dir(tmp)
        if target.exists() and exchange(tmp, target):
            # tmp now holds the old run: delete it (a kill here leaves a stale .tmp-, removed next time)
            shutil.rmtree(tmp, ignore_errors=True)
        elif target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}-{token}"
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


# --- what may be replaced ---------------------------------------------------------------------

MARKER = "run.json"
"""The marker of a folder the tool wrote: ``{"tool", "version", "kind", "command"}``."""

KINDS = ("run", "compare", "batch", "stochastic", "rolling")

RUN_FILES = frozenset(
    {"instance.resolved.yaml", "kpis.json", "timings.json", "report.html", "plan.xlsx", "state.json", MARKER}
    | {f"{t}.csv" for t in (*TABLE_FILES, "marginal_values", "sensitivities", "explanations")}
)
"""Every file a run folder of ``solve`` / ``simulate`` holds."""

COMPARE_FILES = frozenset(
    {"comparison.csv", "comparison.xlsx", "comparison.md", "comparison.html", "overdue_per_month.png", "occupancy_vs_places.png", "cost_per_component.png", MARKER}
)
"""The files of a compare folder besides its run folders (one per package and ``status-quo/``)."""

BATCH_FILES = frozenset(
    {"batch.sqlite", "batch.sqlite-wal", "batch.sqlite-shm", "batch.sqlite-journal", "results.csv", "results.parquet", "series.parquet", MARKER}
)
"""The files of a batch folder besides ``summary/``."""


ROLLING_FILES = frozenset(
    {"rolling.md", "comparison.csv", "steps.csv", "committed.csv", "forecast_vs_realised.csv", "forecast_vs_realised.png", "occupancy.png", MARKER}
)
"""The files of a rolling folder besides its run folders (``realised/``, ``status-quo/``, ``hindsight/``)."""


def state_files(plan) -> dict[str, str]:
    """``state.json`` of a plan (:mod:`planner.outputs.statefile`): the hook that adds the plan's
    state at every period to its run folder."""
    from planner.outputs.statefile import state_json

    text = state_json(plan)
    return {"state.json": text} if text is not None else {}


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("planner")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree that is not installed
        return "unknown"


def marker_text(kind: str, command: list | None) -> str:
    """``run.json``: the same for the same command (no time, no host), so reruns stay byte-identical."""
    marker = {"tool": "planner", "version": tool_version(), "kind": kind, "command": list(command) if command is not None else None}
    return json.dumps(marker, indent=2) + "\n"


def write_marker(folder: Path, kind: str, command: list | None) -> Path:
    """Write ``folder/run.json`` (atomically) into a folder that is written piece by piece (a batch)."""
    target = Path(folder) / MARKER
    tmp = target.parent / f".{MARKER}.tmp-{os.getpid()}"
    try:
        tmp.write_text(marker_text(kind, command), encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def read_marker(folder: Path) -> dict | None:
    """The folder's ``run.json`` as a dict; None when it has none (or it is not the tool's)."""
    try:
        marker = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("tool") != "planner" or marker.get("kind") not in KINDS:
        return None
    return marker


_OWN_LEFTOVER = re.compile(r"^\.[^/]+\.(tmp|old)-\d+(-[0-9a-f]+)?$")


def _visible(folder: Path) -> list[Path]:
    """The folder's entries, without the hidden leftovers of the tool's own atomic writes
    (``.NAME.tmp-<pid>[-<token>]``, e.g. a batch's ``.results.csv.tmp-<pid>``)."""
    return [p for p in sorted(folder.iterdir()) if not _OWN_LEFTOVER.match(p.name)]


def _foreign(folder: Path, allowed: frozenset, subfolders: str) -> str | None:
    """The first entry of ``folder`` the tool does not write there (``subfolders``: 'runs', 'summary' or '')."""
    for p in _visible(folder):
        if p.is_dir() and not p.is_symlink():
            if subfolders == "summary" and p.name == "summary":
                continue
            if subfolders == "runs" and why_not_a_folder_of(p, "run") is None:
                continue
            return f"{p.name}/"
        if p.name not in allowed:
            return p.name
    return None


def why_not_a_folder_of(folder: Path, kind: str) -> str | None:
    """None when ``folder`` (an existing folder) is a ``kind`` folder the tool wrote; else why not.

    A folder with a ``run.json`` marker of the same kind is the tool's. Folders written by earlier
    versions have no marker: a run folder is accepted as the tool's when it holds ``kpis.json``
    and ``instance.resolved.yaml`` and nothing but files a run folder holds (:data:`RUN_FILES`);
    a compare folder when it holds ``comparison.csv``, only the comparison's files and run folders;
    a batch folder when it holds ``batch.sqlite``, only the batch's files and ``summary/``.
    """
    folder = Path(folder)
    marker = read_marker(folder)
    if marker is not None:
        if marker["kind"] != kind:
            return f"is a {marker['kind']} folder of planner, not a {kind} folder"
        return None
    if (folder / MARKER).exists():
        return f"its {MARKER} is not a planner marker"
    legacy = {
        "run": (("kpis.json", "instance.resolved.yaml"), RUN_FILES, ""),
        "compare": (("comparison.csv",), COMPARE_FILES, "runs"),
        "batch": (("batch.sqlite",), BATCH_FILES, "summary"),
        "rolling": (("rolling.md",), ROLLING_FILES, "runs"),
    }
    if kind not in legacy:  # kinds newer than the marker: only a marked folder is the tool's
        return f"is not a {kind} folder of planner (no {MARKER})"
    needed, allowed, subfolders = legacy[kind]
    missing = [n for n in needed if not (folder / n).is_file()]
    if missing:
        return f"is not a {kind} folder of planner (no {MARKER}; one of an older planner would hold {' and '.join(needed)})"
    foreign = _foreign(folder, allowed, subfolders)
    if foreign is not None:
        return f"is not a {kind} folder of planner (no {MARKER}, and it holds {foreign}, which planner does not write)"
    return None


def _writable(folder: Path) -> bool:
    """A folder can be made in ``folder`` (tried: permissions, read-only mounts, /proc; root passes
    every permission test)."""
    try:
        probe = tempfile.mkdtemp(prefix=".planner-probe-", dir=folder)
    except OSError:
        return False
    os.rmdir(probe)
    return True


def check_target(path, kind: str = "run", option: str = "--out", must_exist: bool = False) -> Path:
    """Raise :class:`InputError` (naming ``option``) unless a ``kind`` write may go to ``path``.

    ``path`` may be new (its parent is created: the nearest existing one must be a writable
    folder), an empty folder, or a folder of the same kind the tool wrote
    (:func:`why_not_a_folder_of`). Never the current folder, the root or a parent of the current
    folder, a file, or a folder inside a file. ``must_exist``: the folder must be there already
    (``batch --resume``). Returns ``path``. Called by every command that writes, before any work.
    """
    if kind not in KINDS:  # pragma: no cover - a programming error
        raise ValueError(kind)
    path = Path(path)

    def fail(what: str):
        raise InputError(option, f"{path}: {what}")

    try:
        real, cwd = path.resolve(), Path.cwd().resolve()
    except (OSError, RuntimeError) as e:
        fail(f"cannot be resolved ({e})")
    if real == cwd:
        fail("is the current folder; expected a folder of its own (e.g. results/NAME)")
    if real == Path(real.anchor) or cwd.is_relative_to(real):
        fail("is the root or a parent of the current folder; expected a folder of its own (e.g. results/NAME)")
    if path.is_symlink():
        fail(f"is a symbolic link; expected a new folder or a {kind} folder written by planner")
    if path.exists() and not path.is_dir():
        fail(f"is a file, not a folder; expected a new folder or a {kind} folder written by planner")
    if path.is_dir():
        try:
            why = None
            if must_exist or any(True for _ in path.iterdir()):  # an empty folder holds nothing to lose
                why = why_not_a_folder_of(path, kind)
        except OSError as e:
            fail(f"cannot be read ({e.strerror})")
        if why is not None:
            fail(f"{why}; planner replaces only its own {kind} folders: choose another {option}")
        if not _writable(real.parent) or (kind != "run" and not _writable(real)):
            fail(f"is not writable (cannot create a folder in {real if kind != 'run' and not _writable(real) else real.parent})")
        return path
    if must_exist:
        fail(f"no {kind} folder here to resume")
    parent = real.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        fail(f"its parent {parent} is a file, not a folder")
    if not _writable(parent):
        fail(f"is not writable (cannot create a folder in {parent})")
    return path
