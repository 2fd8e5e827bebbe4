"""Input checks a new user ran into: batches checked before the first solve, the batch size cap, a
missing batch base, validate running solve's pre-build checks, an infeasible simulate explained,
and numbers in scientific notation (YAML, --set, CSV). The instance-level cases (horizon past
9999, follow-on cycles with lag 0, magnitudes under validate) are in the corpus of
tests/test_bad_input.py.

Contract, as everywhere: bad input is one line ``error: FILE: FIELD: what was expected``, exit 2,
no traceback, nothing written.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import tiny
from test_infeasible import budget_below_existing_location

from planner.cli import main
from planner.instance.yamlio import load_yaml
from planner.studies.batchfile import load_batch

ROOT = Path(__file__).resolve().parents[1]


def write(folder: Path, name: str, data) -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run(argv, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("error: "), err
    return err.rstrip("\n")


# --- 1. every variant is checked before the first solve ---------------------------------------------


def batch_with(tmp_path: Path, body: dict) -> Path:
    write(tmp_path, "base.yaml", tiny())
    return write(tmp_path, "batch.yaml", {"base": "base.yaml", **body})


SCENARIOS = [
    {"name": "base"},
    {"name": "double", "changes": ["case_types.x.inflow*=2"]},
    {"name": "more-hires", "changes": [{"path": "staff_pools.p.max_hires", "op": "set", "value": 3}]},
    {"name": "typo", "changes": ["case_types.spoor44.inflow*=2"]},
]


@pytest.mark.parametrize("listing", [True, False], ids=["list", "run"])
def test_batch_change_with_unknown_path_stops_before_solving(tmp_path, capsys, listing):
    """The user's case: scenario 3 scales the inflow of a case type the base does not have. Both
    ``--list`` and the run stop with exit 2 naming the batch file and the change; nothing solved,
    nothing written."""
    path = batch_with(tmp_path, {"scenarios": SCENARIOS})
    out = tmp_path / "out"
    code, _, err = run(["batch", path, "--list"] if listing else ["batch", path, "--out", out, "--workers", 1], capsys)
    assert code == 2
    assert one_line(err) == (
        f"error: {path}: scenarios.3.changes.0: unknown path 'case_types.spoor44.inflow': no 'spoor44' under "
        "case_types (variant 'typo')"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "body, expected",
    [
        # a grid value the instance format refuses, named by the axis and the variant
        ({"grid": {"case_types.x.inflow*": [1.0, 2.0], "case_types.x.grant_share": [0.5, 1.5]}},
         "grid.case_types.x.grant_share: variant 'grid-0001' gives case_types.x.grant_share: Input should be less than or "
         "equal to 1 (got 1.5)"),
        # scale needs a number: the value type of a change
        ({"grid": {"case_types.x.inflow*": [1.0, "lots"]}},
         "grid.case_types.x.inflow*: 'scale' needs a finite number, got 'lots' (variant 'grid-0001')"),
        # a period outside the horizon
        ({"grid": [{"path": "staff_pools.p.max_hires", "values": [1, 2], "from_period": "2031-01"}]},
         "grid.staff_pools.p.max_hires.from_period: expected a period of the horizon 2024-01..2024-04, got '2031-01' "
         "(variant 'grid-0000')"),
        # a draw the instance refuses (a normal draw below zero set as a series)
        ({"samples": 20, "seed": 3, "distributions": [{"name": "h", "normal": {"mean": 0, "sd": 1}, "apply": ["staff_pools.p.max_hires"]}]},
         "distributions.h.apply.0: variant 'sample-0001' gives staff_pools.p.max_hires: expected finite numbers >= 0; is "),
        # a draw beyond what a solve accepts (planner.instance.magnitudes)
        ({"samples": 2, "seed": 3, "distributions": [{"name": "f", "uniform": {"low": 1e20, "high": 2e20}, "apply": ["case_types.x.hours_per_case*"]}]},
         "distributions.f.apply.0: variant 'sample-0000' gives case_types.x.hours_per_case: "),
    ],
    ids=["grid-value-refused", "grid-value-type", "grid-from-period", "sample-negative", "sample-magnitude"],
)
def test_batch_variants_checked_in_full(tmp_path, capsys, body, expected):
    path = batch_with(tmp_path, body)
    code, _, err = run(["batch", path, "--list"], capsys)
    assert code == 2
    assert one_line(err).startswith(f"error: {path}: {expected}")


def test_bundled_batches_list_and_check_quickly(capsys):
    """The bundled batch files pass the check of every variant, and the check stays cheap: the
    212 variants of nl-2022-batch.yaml apply and validate in about a second (measured 1.0 s; the
    bound here only guards against a check that builds models)."""
    for name, n in [("nl-2022-batch.yaml", 212), ("nl-2022-packages-batch.yaml", 180)]:
        t0 = time.perf_counter()
        code, out, err = run(["batch", ROOT / "instances" / name, "--list"], capsys)
        assert code == 0, err
        assert out.splitlines()[0].endswith(f": {n} variants of {ROOT / 'instances' / 'nl-2022.yaml'}")
        assert time.perf_counter() - t0 < 60


# --- 2. the number of variants is capped before expanding -------------------------------------------


def test_huge_grid_is_refused_from_its_axis_sizes(tmp_path):
    """Three axes of 1,000 values: a billion variants; refused from the sizes, in a subprocess (no
    traceback, no memory blow-up: it would need terabytes if it were expanded)."""
    values = list(range(1, 1001))
    path = batch_with(tmp_path, {"grid": {"case_types.x.inflow*": values, "case_types.x.hours_per_case*": values,
                                          "staff_pools.p.max_hires": values}})
    proc = subprocess.run([sys.executable, "-m", "planner.cli", "batch", str(path), "--list"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert one_line(proc.stderr) == (
        f"error: {path}: grid: the batch has 1,000,000,000 variants (1,000,000,000 grid points (1000 x 1000 x 1000 values)); "
        "expected at most 100,000: split it into several batches or use fewer values"
    )


def test_variant_cap_counts_packages(tmp_path):
    """400 x 200 grid points = 80,000 variants, under the cap; under two packages 160,000, over it."""
    from planner.studies.batchfile import MAX_VARIANTS

    assert MAX_VARIANTS == 100_000
    grid = {"case_types.x.inflow*": list(range(400)), "staff_pools.p.max_hires": list(range(200))}
    path = batch_with(tmp_path, {"grid": grid, "packages": ["none", "other"]})
    with pytest.raises(Exception) as e:
        load_batch(path)
    assert str(e.value) == (
        f"{path}: grid: the batch has 160,000 variants (80,000 grid points (400 x 200 values) times 2 packages); "
        "expected at most 100,000: split it into several batches or use fewer values"
    )


# --- 3. a missing base instance -----------------------------------------------------------------------


def test_missing_batch_base_names_the_batch_file_and_base(tmp_path, capsys):
    path = write(tmp_path, "batch.yaml", {"base": "x.yaml", "scenarios": [{"name": "base"}]})
    for argv in (["batch", path, "--list"], ["batch", path, "--out", tmp_path / "out"]):
        code, _, err = run(argv, capsys)
        assert code == 2
        assert one_line(err) == f"error: {path}: base: file 'x.yaml' not found (relative to the batch file)"
    assert not (tmp_path / "out").exists()


# --- 4. validate runs every pre-build check of solve, with --set and --package ------------------------


def test_validate_with_set_runs_the_magnitude_check(tmp_path, capsys):
    path = write(tmp_path, "tiny.yaml", tiny())
    code, out, err = run(["validate", path, "--set", "budget.total_eur=1e20"], capsys)
    assert code == 2 and out == ""
    assert one_line(err) == (
        f"error: {path}: budget.total_eur: 1e+20 is too large to solve reliably; expected 0 or a magnitude between 1e-09 and 1e+12"
    )
    code, out, err = run(["validate", path, "--set", "budget.total_eur=1e9"], capsys)
    assert code == 0 and err == "" and "is valid" in out


# --- 5. an infeasible status quo says what must give ---------------------------------------------------


def test_infeasible_simulate_says_what_must_give(tmp_path, capsys):
    """As test_infeasible.budget_below_existing_location derives: the existing location costs EUR
    4,000 over the horizon that no rule avoids, the budget is EUR 1,000."""
    path = write(tmp_path, "tiny.yaml", budget_below_existing_location())
    code, _, err = run(["simulate", path, "--out", tmp_path / "sq"], capsys)
    assert code == 3
    assert one_line(err) == (
        "error: the plan is infeasible: the budget for the whole horizon is short by EUR 3,000 "
        "(the plan costs at least EUR 4,000, the budget is EUR 1,000)"
    )
    assert not (tmp_path / "sq").exists()


# --- 8. scientific notation ----------------------------------------------------------------------------


def test_yaml_reads_scientific_notation_as_numbers(tmp_path):
    text = (
        "a: 5e9\nb: 1E-3\nc: -2.5e+6\nd: .5e1\ne: 1.0e+9\n"
        "period: 2022-01\nweek: 2022-W01\nname: e5\nmixed: 1e3x\nint: 12\n1e3: key stays a string\n"
    )
    data = load_yaml(write(tmp_path, "x.yaml", text))
    assert data == {
        "a": 5e9, "b": 1e-3, "c": -2.5e6, "d": 5.0, "e": 1e9, "period": "2022-01", "week": "2022-W01", "name": "e5",
        "mixed": "1e3x", "int": 12, "1e3": "key stays a string",
    }
    assert isinstance(data["int"], int)
    from planner.instance.yamlio import load_value

    assert load_value("1e9") == 1e9 and load_value("[1e3, 2]") == [1000.0, 2] and load_value("spoor4") == "spoor4"


def test_yaml_loader_stays_safe(tmp_path):
    with pytest.raises(Exception) as e:
        load_yaml(write(tmp_path, "x.yaml", "a: !!python/object/apply:os.system ['true']\n"))
    assert "python/object" in str(e.value)


def test_instance_budget_in_scientific_notation(tmp_path, capsys):
    text = yaml.safe_dump(tiny(), sort_keys=False) + "budget: {total_eur: 5e9}\n"
    path = write(tmp_path, "tiny.yaml", text)
    code, out, err = run(["validate", path], capsys)
    assert code == 0 and err == "", err
    code, out, err = run(["solve", path, "--out", tmp_path / "run"], capsys)
    assert code == 0, err
    resolved = yaml.safe_load((tmp_path / "run" / "instance.resolved.yaml").read_text())
    assert resolved["budget"]["total_eur"] == 5e9


def test_set_value_in_scientific_notation(tmp_path, capsys):
    path = write(tmp_path, "tiny.yaml", tiny())
    code, out, err = run(["solve", path, "--set", "budget.total_eur=1e9", "--out", tmp_path / "run"], capsys)
    assert code == 0, err
    assert yaml.safe_load((tmp_path / "run" / "instance.resolved.yaml").read_text())["budget"]["total_eur"] == 1e9


def test_csv_series_in_scientific_notation(tmp_path, capsys):
    """CSV series were read by pandas, which already takes scientific notation: kept so."""
    inst = tiny()
    inst["case_types"]["x"]["inflow"] = "inflow.csv"
    path = write(tmp_path, "tiny.yaml", inst)
    write(tmp_path, "inflow.csv", "period,inflow\n" + "".join(
        f"2024-{m:02d},{v}\n" for m, v in zip(range(1, 5), ["1e1", "1E1", ".1e2", "100e-1"])))
    code, out, err = run(["solve", path, "--out", tmp_path / "run"], capsys)
    assert code == 0, err
    resolved = yaml.safe_load((tmp_path / "run" / "instance.resolved.yaml").read_text())
    assert resolved["case_types"]["x"]["inflow"] == [10.0] * 4


def test_batch_file_values_in_scientific_notation(tmp_path, capsys):
    path = batch_with(tmp_path, {})
    path.write_text("base: base.yaml\ngrid:\n  budget.total_eur: [1e9, 2E9]\n", encoding="utf-8")
    batch, _, specs = load_batch(path)
    assert [s.changes[0]["value"] for s in specs] == [1e9, 2e9]


def test_strings_like_numbers_survive_the_run_folder(tmp_path, capsys):
    """A quoted '1e5' stays a string: instance.resolved.yaml quotes it, so evaluate reads the run
    folder back (with the plain safe dumper it would come back as the number 100000.0)."""
    text = yaml.safe_dump(tiny(), sort_keys=False).replace("    population: 1\n", "    population: 1\n    name: '2e3'\n")
    path = write(tmp_path, "tiny.yaml", text + "description: '1e5'\n")
    code, out, err = run(["solve", path, "--out", tmp_path / "run"], capsys)
    assert code == 0, err
    assert "description: '1e5'" in (tmp_path / "run" / "instance.resolved.yaml").read_text()
    code, out, err = run(["evaluate", tmp_path / "run"], capsys)
    assert code == 0, err + out
