"""`--out` never deletes a user's files; Ctrl-C stops a solve; `planner --version`.

Every command that writes (solve, simulate, compare, batch) replaces an existing --out only when it
is the tool's own folder of that kind (its run.json marker, or an old run folder's files); anything
else is a one-line exit-2 error before any work starts, and nothing is written. Ctrl-C during a
HiGHS call stops HiGHS, exits 130 and writes nothing. Tests over 15 s are marked slow.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import tiny

import planner.outputs.runfolder as rf
from planner.cli import main

ROOT = Path(__file__).resolve().parents[1]
NL = ROOT / "instances" / "nl-2022.yaml"
LONG = ["--mip-gap", "1e-9", "--time-limit", "60"]  # nl-2022 then solves for the full minute


def instance(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny(case_types={"x": {"inflow": 5}}, staff_pools={"p": {"start_fte": 1}})))
    return path


def batch_file(tmp_path) -> Path:
    instance(tmp_path)
    path = tmp_path / "batch.yaml"
    body = {"base": "tiny.yaml", "scenarios": [{"name": "a", "changes": [{"path": "case_types.x.inflow", "op": "set", "value": 2}]}]}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def command(kind: str, tmp_path: Path, out) -> list[str]:
    if kind == "batch":
        return ["batch", str(batch_file(tmp_path)), "--workers", "1", "--out", str(out)]
    if kind == "compare":
        return ["compare", str(instance(tmp_path)), "--packages", "none", "--out", str(out)]
    return [kind, str(instance(tmp_path)), "--out", str(out)]


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(err: str, *fragments: str) -> None:
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    for f in fragments:
        assert f in err, (f, err)


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a command gets as far as building or solving a model."""

    def refuse(*args, **kwargs):
        raise AssertionError("work started before --out was checked")

    import planner.check.simulate
    import planner.solver.solve
    import planner.studies.batch

    monkeypatch.setattr(planner.solver.solve, "solve", refuse)
    monkeypatch.setattr(planner.check.simulate, "simulate", refuse)
    monkeypatch.setattr(planner.studies.batch, "BatchStore", None)
    monkeypatch.setattr(planner.studies.batch, "InlineExecutor", refuse)


KINDS = ["solve", "simulate", "compare", "batch"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_folder_of_the_user_is_never_replaced(kind, tmp_path, capsys, no_work):
    """Today every file in it is deleted (exit 0); now exit 2, naming the missing marker."""
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    (user / "results.csv").write_text("a,b\n1,2\n")
    args = command(kind, tmp_path, user)
    before = tree(tmp_path)
    assert main(args) == 2
    one_error_line(capsys.readouterr().err, "--out", "run.json")
    assert tree(tmp_path) == before


def test_the_instances_folder_is_not_a_run_folder(tmp_path, capsys, no_work):
    folder = tmp_path / "instances"
    shutil.copytree(ROOT / "instances", folder)
    before = tree(folder)
    assert main(["simulate", str(folder / "nl-2022.yaml"), "--out", str(folder)]) == 2
    one_error_line(capsys.readouterr().err, "--out", "not a run folder")
    assert tree(folder) == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "target, fragment",
    [
        (".", "current folder"),
        ("..", "parent of the current folder"),
        ("/", "root"),
        ("afile", "is a file"),
        ("afile/run", "is a file"),
        ("/proc/planner-run", "not writable"),
    ],
)
def test_targets_that_are_refused_before_any_work(kind, target, fragment, tmp_path, monkeypatch, capsys, no_work):
    """Today: the file moved to a hidden name, or a traceback (exit 1) after the whole solve."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "afile").write_text("mine")
    args = command(kind, tmp_path, target)
    before = tree(tmp_path)
    assert main(args) == 2
    one_error_line(capsys.readouterr().err, "--out", fragment)
    assert tree(tmp_path) == before
    assert sorted(p.name for p in work.iterdir()) == ["afile"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_parent_is_refused(tmp_path, capsys, no_work):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        assert main(command("solve", tmp_path, parent / "run")) == 2
        one_error_line(capsys.readouterr().err, "--out", "not writable")
    finally:
        parent.chmod(0o755)


def test_run_json_marks_the_folder_and_reruns_replace_it(tmp_path, capsys):
    out = tmp_path / "run"
    args = command("simulate", tmp_path, out)
    assert main(args) == 0
    first = tree(out)
    marker = json.loads(first["run.json"])
    assert marker == {"tool": "planner", "version": rf.tool_version(), "kind": "run", "command": ["planner", *args]}
    assert main(args) == 0  # the tool's own folder: replaced, byte-identical
    assert {k: v for k, v in tree(out).items() if k != "timings.json"} == {k: v for k, v in first.items() if k != "timings.json"}
    capsys.readouterr()
    (out / "mine.txt").write_text("x")  # a marked folder is the tool's: replaced as a whole
    assert main(command("solve", tmp_path, out)) == 0
    assert not (out / "mine.txt").exists()


def test_a_run_folder_of_an_earlier_version_is_replaced_only_if_it_holds_nothing_else(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(command("simulate", tmp_path, out)) == 0
    (out / "run.json").unlink()  # as an earlier planner wrote it
    assert main(command("simulate", tmp_path, out)) == 0
    (out / "run.json").unlink()
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(command("simulate", tmp_path, out)) == 2
    one_error_line(capsys.readouterr().err, "--out", "notes.txt")
    assert (out / "notes.txt").read_text() == "mine"


def test_an_empty_folder_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert main(command("simulate", tmp_path, out)) == 0
    assert (out / "kpis.json").exists()


def test_a_folder_of_another_kind_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(command("simulate", tmp_path, out)) == 0
    capsys.readouterr()
    assert main(command("compare", tmp_path, out)) == 2
    one_error_line(capsys.readouterr().err, "--out", "not a compare folder")
    assert main(command("batch", tmp_path, out)) == 2
    one_error_line(capsys.readouterr().err, "--out", "not a batch folder")


def test_compare_replaces_its_own_folder_only(tmp_path, capsys):
    out = tmp_path / "cmp"
    args = command("compare", tmp_path, out)
    assert main(args) == 0
    assert json.loads((out / "run.json").read_text())["kind"] == "compare"
    assert json.loads((out / "none" / "run.json").read_text())["kind"] == "run"
    assert main(args) == 0
    (out / "extra").mkdir()
    (out / "extra" / "mine.txt").write_text("mine")
    (out / "run.json").unlink()  # now it is known only by its files: a subfolder that is no run folder is the user's
    capsys.readouterr()
    assert main(args) == 2
    one_error_line(capsys.readouterr().err, "--out", "extra/")


def test_batch_folder_is_the_batchs_own(tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["batch", str(batch_file(tmp_path)), "--workers", "1", "--out", str(out), "--resume"]) == 2
    one_error_line(capsys.readouterr().err, "--out", "resume")
    assert not out.exists()
    args = command("batch", tmp_path, out)
    assert main(args) == 0
    assert json.loads((out / "run.json").read_text())["kind"] == "batch"
    assert main([*args, "--resume"]) == 0


def test_batch_with_an_unreachable_scheduler_exits_2_quickly_leaving_nothing(tmp_path, capsys):
    """Today: exit 1 after 30 s and a store that forces --resume next time."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once the socket is closed
    out = tmp_path / "b"
    t0 = time.monotonic()
    assert main(["batch", str(batch_file(tmp_path)), "--scheduler", f"tcp://127.0.0.1:{port}", "--out", str(out)]) == 2
    assert time.monotonic() - t0 < 10
    one_error_line(capsys.readouterr().err, "--scheduler", f"127.0.0.1:{port}")
    assert not out.exists()


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"planner {rf.tool_version()}\n"
    r = subprocess.run([sys.executable, "-m", "planner.cli", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("planner 0.")


# --- Ctrl-C ----------------------------------------------------------------------------------------


def test_interruptible_stops_raises_and_restores_the_handler():
    from planner.solver.highs import interruptible

    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with interruptible(lambda: None):
            signal.raise_signal(signal.SIGINT)
            time.sleep(0.1)
    assert signal.getsignal(signal.SIGINT) is before
    done = []
    thread = threading.Thread(target=lambda: done.append(interruptible(lambda: None).__enter__()))
    thread.start()  # outside the main thread no handler is installed (signal.signal would fail)
    thread.join()
    assert len(done) == 1 and signal.getsignal(signal.SIGINT) is before


def interrupted(tmp_path, args, after: float, within: float = 6.0):
    """Start ``planner ARGS`` in a subprocess, SIGINT after ``after`` seconds; its exit code,
    stderr and seconds from the signal to the exit."""
    proc = subprocess.Popen([sys.executable, "-m", "planner.cli", *args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(after)
        assert proc.poll() is None, proc.communicate()
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=within + 60)
        return proc.returncode, err, time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_starts_without_pyomo():
    """``import planner.cli`` loads neither Pyomo nor HiGHS (``planner/__init__.py`` imports its API
    on first use), so the heavy imports run inside :func:`planner.cli.main`'s handling of Ctrl-C."""
    code = "import sys, planner.cli; print(sorted(m for m in ('pyomo', 'highspy', 'pandas') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_ctrl_c_while_loading_is_an_interruption(monkeypatch, capsys):
    """A Ctrl-C while the CLI loads HiGHS's wrapper (``_terminal``) is the one-line interruption,
    exit 130, not a traceback."""
    from planner import cli

    def loading(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_terminal", loading)
    assert cli.main(["solve", str(NL)]) == 130
    assert capsys.readouterr().err == "error: interrupted; no run folder written\n"


def test_ctrl_c_stops_a_long_solve(tmp_path):
    """Today: ignored, the solve runs its 60 s, writes the folder and exits 0."""
    out = tmp_path / "run"
    code, err, seconds = interrupted(tmp_path, ["solve", str(NL), *LONG, "--out", str(out)], after=5)
    assert code == 130, err
    assert seconds < 6, seconds
    assert err == "error: interrupted; no run folder written\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow
def test_ctrl_c_stops_choose_measures(tmp_path):
    out = tmp_path / "run"
    code, err, seconds = interrupted(tmp_path, ["solve", str(NL), "--choose-measures", *LONG, "--out", str(out)], after=10)
    assert code == 130 and seconds < 6, (code, seconds, err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_ctrl_c_stops_compare(tmp_path):
    out = tmp_path / "cmp"
    args = ["compare", str(NL), "--packages", "none", "--no-status-quo", *LONG, "--out", str(out)]
    code, err, seconds = interrupted(tmp_path, args, after=8)
    assert code == 130 and seconds < 6, (code, seconds, err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_ctrl_c_stops_a_batch_solved_in_process(tmp_path):
    """A batch keeps what it finished (for --resume); the variant being solved stops at once."""
    path = tmp_path / "batch.yaml"
    body = {"base": str(NL), "mip_gap": 1e-9, "time_limit": 60, "scenarios": [{"name": "a", "changes": []}]}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    code, err, seconds = interrupted(tmp_path, ["batch", str(path), "--workers", "1", "--out", str(tmp_path / "b")], after=10)
    assert code == 130 and seconds < 6, (code, seconds, err)
    assert "--resume" in err
