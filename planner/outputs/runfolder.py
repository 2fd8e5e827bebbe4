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
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import secrets
import shutil
import time
from pathlib import Path

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


def write_run_folder(target, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` (name -> text or bytes) as the folder ``target``, atomically (module docstring)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    token = secrets.token_hex(4)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{token}"
    tmp.mkdir()
    try:
        for name, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
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
