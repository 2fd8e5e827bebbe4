"""Atomic run folders (planner/outputs/runfolder.py): complete or absent, never half-written.

Fast unit tests of the mechanism; tests/test_kill.py kills real `planner solve` runs with SIGKILL.
"""

import os
import subprocess
import sys
import time

import pytest

import planner.outputs.runfolder as rf


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def files(folder):
    """The folder's files but its run.json marker (every run folder has one)."""
    assert (folder / rf.MARKER).is_file()
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != rf.MARKER}


def test_new_folder_then_replace(tmp_path):
    target = tmp_path / "X"
    rf.write_run_folder(target, {"a.txt": "one", "b.csv": b"1,2\n"})
    assert files(target) == {"a.txt": b"one", "b.csv": b"1,2\n"}
    rf.write_run_folder(target, {"a.txt": "two"})
    assert files(target) == {"a.txt": b"two"}  # replaced as a whole, no file of the old run left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X"]


def test_replace_without_atomic_exchange(tmp_path, monkeypatch):
    """Where renameat2(RENAME_EXCHANGE) is missing: rename old aside, new in, delete old."""
    monkeypatch.setattr(rf, "exchange", lambda a, b: False)
    target = tmp_path / "X"
    rf.write_run_folder(target, {"a.txt": "one"})
    rf.write_run_folder(target, {"a.txt": "two"})
    assert files(target) == {"a.txt": b"two"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X"]


def test_failed_write_leaves_the_old_folder(tmp_path):
    target = tmp_path / "X"
    rf.write_run_folder(target, {"a.txt": "one"})
    with pytest.raises(TypeError):
        rf.write_run_folder(target, {"a.txt": "two", "b.txt": 42})  # not text or bytes: fails mid-write
    assert files(target) == {"a.txt": b"one"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X"]


def test_stale_siblings_of_dead_processes_are_cleaned(tmp_path):
    target = tmp_path / "X"
    rf.write_run_folder(target, {"a.txt": "one"})
    dead = dead_pid()
    (tmp_path / f".X.tmp-{dead}-abcd").mkdir()
    (tmp_path / f".X.tmp-{dead}-abcd" / "half.csv").write_text("1,")
    (tmp_path / f".X.old-{dead}-abcd").mkdir()
    live = tmp_path / f".X.tmp-{os.getppid()}-beef"  # a concurrent writer that is still running
    live.mkdir()
    legacy_new = tmp_path / ".X.tmp-k2j3h4"  # no pid (older planner): stale only after an hour
    legacy_new.mkdir()
    legacy_old = tmp_path / ".X.tmp-a1b2c3"
    legacy_old.mkdir()
    hour_ago = time.time() - rf.LEGACY_STALE_SECONDS - 60
    os.utime(legacy_old, (hour_ago, hour_ago))
    other = tmp_path / ".Y.tmp-1-abcd"  # another run folder's sibling
    other.mkdir()
    rf.write_run_folder(target, {"a.txt": "two"})
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["X", live.name, legacy_new.name, other.name])
    assert files(target) == {"a.txt": b"two"}


def test_old_run_displaced_by_a_killed_fallback_swap_is_restored(tmp_path):
    """Killed between the fallback's two renames: X is missing, .X.old-<pid>-* is the previous
    complete run and the new one is a stale .X.tmp-*. The next write (or clean_stale) puts the old
    run back before anything else."""
    dead = dead_pid()
    old = tmp_path / f".X.old-{dead}-abcd"
    old.mkdir()
    (old / "kpis.json").write_text("{}")
    tmp = tmp_path / f".X.tmp-{dead}-abcd"
    tmp.mkdir()
    (tmp / "kpis.json").write_text('{"new": 1}')
    rf.clean_stale(tmp_path / "X")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X"]
    assert (tmp_path / "X" / "kpis.json").read_text() == "{}"


def test_exchange_swaps_two_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("a")
    (b / "f").write_text("b")
    if not rf.exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) not supported here (the fallback is tested above)")
    assert (a / "f").read_text() == "b" and (b / "f").read_text() == "a"


def test_written_values_have_no_negative_zero_or_noise():
    """-0.0, values within 1e-9 of zero and round-off below the 6th decimal are written as 0."""
    import json

    import pandas as pd

    from planner.outputs.results import csv_text, json_text

    frame = pd.DataFrame({"period": ["a", "b", "c", "d"], "x": [-0.0, -4e-7, 1e-12, 2.5000001], "n": [1, 2, 3, 4]})
    assert csv_text(frame) == "period,x,n\na,0.000000,1\nb,0.000000,2\nc,0.000000,3\nd,2.500000,4\n"
    text = json_text({"a": -0.0, "b": [-1e-12, 3.0], "c": {"d": float("nan")}, "e": "x"})
    assert "-0" not in text and json.loads(text) == {"a": 0.0, "b": [0.0, 3.0], "c": {"d": None}, "e": "x"}
