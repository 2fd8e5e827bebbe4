"""`planner solve` killed with SIGKILL leaves no partial run folder, and the same input gives the
same bytes.

The runs are real subprocesses of the command line (`planner solve instances/nl-2022.yaml --out X`).
To kill them at a chosen moment they start through a small wrapper that only announces (on stderr)
when the solver starts, or slows each file's fsync by 0.1 s so the write can be caught half-way,
or pauses right after the new folder was swapped in; the planner's own code runs unchanged.

The module solves nl-2022 three times, each with `--set horizon.tail_periods=12` (the
instance's 30-month look-ahead tail doubles the solve and adds nothing these tests check), (the baseline, one run killed while writing, the final run)
and compares the first and the last byte for byte: kpis.json and every CSV (determinism across
processes with different hash seeds). Kill moments: during the solve, half-way through writing
the temporary folder, and (on a tiny instance) between the atomic swap and the removal of the
old run.
"""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import tiny

import planner
from planner.outputs.runfolder import clean_stale

NL = Path(__file__).parents[1] / "instances" / "nl-2022.yaml"
SHORT_TAIL = ["--set", "horizon.tail_periods=12"]

WRAPPER = r'''
import importlib, os, sys, time
hook = os.environ.get("PLANNER_TEST_HOOK", "")
def mark(text):
    sys.stderr.write("HOOK " + text + "\n"); sys.stderr.flush()
if hook == "solve":
    solve = importlib.import_module("planner.solver.solve")
    real_run = solve.run_highs
    def run_highs(*args, **kwargs):
        mark("solving")
        return real_run(*args, **kwargs)
    solve.run_highs = run_highs
elif hook == "write":
    real_fsync = os.fsync
    def fsync(fd):
        mark("writing")
        time.sleep(0.1)
        real_fsync(fd)
    os.fsync = fsync
elif hook == "swap":
    import shutil
    real_rmtree = shutil.rmtree
    def rmtree(path, *args, **kwargs):
        if f".tmp-{os.getpid()}-" in str(path):
            mark("swapped")
            time.sleep(120)
        return real_rmtree(path, *args, **kwargs)
    shutil.rmtree = rmtree
from planner.cli import main
sys.exit(main(sys.argv[1:]))
'''


def start(tmp_path, args, hook="", seed="0"):
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(WRAPPER)
    env = {**os.environ, "PLANNER_TEST_HOOK": hook, "PYTHONHASHSEED": seed}
    proc = subprocess.Popen([sys.executable, str(wrapper), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr] + [lines.put(None)], daemon=True).start()
    return proc, lines


def wait_for(lines, marker, timeout=180):
    seen = []
    while True:
        line = lines.get(timeout=timeout)
        if line is None:
            raise AssertionError(f"the run ended before '{marker}': {''.join(seen)[-2000:]}")
        seen.append(line)
        if line.strip() == f"HOOK {marker}":
            return


def kill(proc):
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def compared(snap: dict[str, bytes]) -> dict[str, bytes]:
    """What must be byte-identical between runs: kpis.json, every CSV, the resolved instance."""
    return {k: v for k, v in snap.items() if k == "kpis.json" or k.endswith(".csv") or k == "instance.resolved.yaml"}


def siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """A complete nl-2022 run folder X from an earlier successful run."""
    work = tmp_path_factory.mktemp("kill")
    folder = work / "X"
    proc, lines = start(work, ["solve", str(NL), *SHORT_TAIL, "--out", str(folder)])
    assert proc.wait(timeout=600) == 0, proc.stdout.read()
    return work, folder, snapshot(folder)


def test_killed_during_solve_leaves_previous_folder(baseline):
    work, folder, before = baseline
    proc, lines = start(work, ["solve", str(NL), *SHORT_TAIL, "--out", str(folder)], hook="solve")
    wait_for(lines, "solving")
    time.sleep(0.5)  # inside HiGHS (the solve takes seconds)
    kill(proc)
    assert snapshot(folder) == before
    assert siblings(folder) == []  # nothing is written before the plan is complete


def test_killed_while_writing_leaves_previous_folder(baseline):
    """Killed half-way through writing the temporary folder: X is the old run, untouched; the
    partial folder is a hidden .X.tmp-<pid>-* sibling, removed by the next write."""
    work, folder, before = baseline
    proc, lines = start(work, ["solve", str(NL), *SHORT_TAIL, "--out", str(folder)], hook="write")
    wait_for(lines, "writing")
    wait_for(lines, "writing")  # the second file is being flushed: the folder is half-written
    kill(proc)
    assert snapshot(folder) == before
    left = siblings(folder)
    assert len(left) == 1 and left[0].startswith(f".X.tmp-{proc.pid}-")
    partial = folder.parent / left[0]
    assert 0 < len(list(partial.iterdir())) < len(before)


def test_next_run_cleans_up_and_is_byte_identical(baseline):
    """The next successful run removes the stale sibling and writes the same bytes as the first
    run (another process, another hash seed): kpis.json, every CSV and the resolved instance."""
    work, folder, before = baseline
    proc, lines = start(work, ["solve", str(NL), *SHORT_TAIL, "--out", str(folder)], seed="12345")
    assert proc.wait(timeout=600) == 0
    assert siblings(folder) == []
    after = snapshot(folder)
    assert set(after) == set(before)
    differing = [name for name, data in compared(after).items() if data != before[name]]
    assert differing == []
    assert "timings.json" in after and b"seconds" not in after["kpis.json"]


def test_killed_after_the_swap_leaves_the_new_complete_folder(tmp_path):
    """Killed between the atomic swap and the removal of the old run: X is the new run, complete;
    the old one waits under a hidden .X.tmp-* name and goes with the next write."""
    folder = tmp_path / "X"
    old_path, new_path = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old_path.write_text(yaml.safe_dump(tiny(case_types={"x": {"inflow": 1}})))
    new_path.write_text(yaml.safe_dump(tiny(case_types={"x": {"inflow": 2}})))
    planner.solve(planner.load_instance(old_path)).write(folder)  # the earlier run, in-process
    complete = set(snapshot(folder))
    proc, lines = start(tmp_path, ["solve", str(new_path), "--out", str(folder)], hook="swap")
    wait_for(lines, "swapped")
    kill(proc)
    assert set(snapshot(folder)) == complete
    assert yaml.safe_load((folder / "instance.resolved.yaml").read_text())["case_types"]["x"]["inflow"] == [2.0] * 4
    assert len(siblings(folder)) == 1
    clean_stale(folder)  # what the next write does first
    assert siblings(folder) == []
    assert set(snapshot(folder)) == complete
