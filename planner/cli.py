"""Command line: a thin layer over the Python API.

    planner validate INSTANCE
    planner solve INSTANCE [--out DIR] [--time-limit S] [--mip-gap G] [--objective weighted|lexicographic]
                           [--set PATH=VALUE ...] [--commit-periods N] [--diagnose] [--outputs csv,xlsx,html]
    planner simulate INSTANCE [--out DIR] [--set PATH=VALUE ...] [--outputs csv,xlsx,html]
    planner solve|simulate INSTANCE --start-from RUN_DIR --at PERIOD
    planner rolling INSTANCE --realised FILE [--every 3] [--from PERIOD] [--to PERIOD] [--forecast instance|last-quarter]
    planner evaluate RUN_DIR
    planner explain RUN_DIR [--workers N]
    planner batch BATCH [--workers N] [--scheduler ADDRESS] [--out DIR] [--resume]
    planner schema
    planner --version

Every command that writes checks its ``--out`` first (``planner.outputs.runfolder.check_target``):
a new folder, an empty one or a folder of the same kind that planner wrote (its ``run.json``);
anything else is exit 2 before any work.

Exit codes: 0 success; 2 bad input (one line on stderr naming file, field and expectation);
3 infeasible or unbounded (the message says which budget or IND hours must give and by how much;
``solve --diagnose`` prints the full diagnosis with HiGHS's IIS); 4 no plan within the solver's
limits; 130 interrupted (Ctrl-C); evaluate: 1 when the recount disagrees with the run. A failed or
interrupted solve writes no run folder and leaves an existing one as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from planner.errors import InputError, SolveError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other input error
        self.exit(2, f"error: {self.prog}: {message}\n")


def summary(d) -> str:
    inst, g = d.instance, d.grid
    locs = inst.locations.values()
    existing = sum(1 for l in locs if l.status == "existing")
    places = sum(l.places for l in locs if l.status == "existing")
    candidates = len(inst.locations) - existing
    return (
        f"Instance '{inst.name}' is valid: {d.horizon_T} {g.grain} periods {g.labels[0]}..{d.horizon_labels[-1]}"
        + (f" (and {g.T - d.horizon_T} look-ahead to {g.labels[-1]})" if g.T > d.horizon_T else "")
        + "; "
        f"{len(inst.regions)} regions; {len(inst.case_types)} case types ({', '.join(inst.case_types)}); "
        f"{len(inst.staff_pools)} staff pools ({', '.join(inst.staff_pools)}); "
        f"{len(inst.location_types)} location types, {existing} existing locations ({places:,.0f} places) "
        f"and {candidates} candidates; {len(inst.measures)} measures in {len(inst.packages)} packages."
    )


def _cmd_validate(args) -> int:
    from planner.instance.load import check_before_build, load_instance

    d = load_instance(args.instance, overrides=args.set, package=args.package)
    check_before_build(d)  # every check solve runs before building
    print(summary(d))
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got '{text}'")
    return value


def _run_name(d, package: str | None) -> str:
    return d.name if not package else f"{d.name}-{package}"


def _whole_at_least(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {least}, got '{text}'")
    return value


def _whole(text: str) -> int:
    return _whole_at_least(text, 1)


def _cmd_solve(args) -> int:
    from planner.instance.load import load_instance
    from planner.solver.solve import solve

    if args.out and not args.diagnose:
        _check_out(args.out, "run" if args.scenarios is None else "stochastic")  # before anything is loaded or solved
    if (args.choose_measures or args.diagnose or args.scenarios is not None) and (args.start_from or args.at):
        raise InputError("--start-from", "not with --choose-measures, --diagnose or --scenarios; solve from the state without them")
    if args.explain and (args.choose_measures or args.diagnose or args.scenarios is not None or args.start_from):
        raise InputError("--explain", "not with --choose-measures, --diagnose, --scenarios or --start-from; run planner explain on the run folder instead")
    if args.choose_measures:
        return _choose(args)
    if args.scenarios is not None:
        return _stochastic(args)
    t0 = time.perf_counter()
    d = load_instance(args.instance, overrides=args.set, package=args.package)
    load_seconds = time.perf_counter() - t0
    if args.explain and (args.objective or d.instance.objective.mode) != "weighted":
        raise InputError("--explain", "re-solves plans of the weighted objective; leave out --objective lexicographic")
    if args.diagnose:
        from planner.solver.diagnose import diagnose

        diagnosis = diagnose(d, time_limit=args.time_limit, with_iis=True)
        print(diagnosis.report())
        if args.iis_file and diagnosis.iis is not None:
            Path(args.iis_file).write_text("".join(f"{name}\n" for name in diagnosis.iis), encoding="utf-8")
            print(f"IIS: {len(diagnosis.iis)} names written to {args.iis_file}")
        if diagnosis.infeasible:
            print(f"error: {diagnosis.message()}", file=sys.stderr)
            return 3
        return 0
    start = _start(d, args)
    out = Path(args.out) if args.out else _check_out(Path("results") / (_run_name(d, args.package) + _at_suffix(args)), "run")
    _preload_while_solving(args.outputs)
    kwargs = {"objective": args.objective, "time_limit": args.time_limit, "mip_gap": args.mip_gap, "commit_periods": args.commit_periods, "polish_seconds": args.polish_cost}
    kwargs["marginal"] = args.outputs is None or "csv" in args.outputs or "xlsx" in args.outputs
    if start is not None:
        from planner.solver.fromstate import solve_start

        plan = solve_start(start, **kwargs)
    else:
        plan = solve(d, **kwargs)
    plan.timings = {"load_seconds": round(load_seconds, 3), **plan.timings}
    if args.explain:
        _explain_plan(plan, args)
    plan.write(out, args.command_line, args.outputs, lang=args.lang)
    _report(plan, out, args)
    if args.explain:
        _print_explained(plan.tables, plan.timings["explain_seconds"])
    return 0


def _explain_plan(plan, args) -> None:
    from planner.studies.explain import explain_plan

    explain_plan(plan, {"time_limit": args.time_limit, "mip_gap": args.mip_gap}, args.workers)


def _print_explained(frames: dict, seconds: float) -> None:
    from planner.outputs.explainreport import sentence

    for name in ("sensitivities", "explanations"):
        for _, row in frames[name].iterrows():
            print(f"  {sentence(row)}")
    n = len(frames["sensitivities"]) + len(frames["explanations"])
    print(f"explained: {len(frames['sensitivities'])} sensitivities and {len(frames['explanations'])} decisions ({n} re-solves) in {seconds:,.1f} s")


def _cmd_explain(args) -> int:
    from planner.outputs.runfolder import check_target, read_marker
    from planner.studies.explain import explain_run, write_into

    folder = check_target(Path(args.run_dir), "run", option="RUN_DIR", must_exist=True)
    command = (read_marker(folder) or {}).get("command") or []
    options = {}
    if len(command) > 1 and command[1] == "solve":
        try:
            solved = make_parser().parse_args(command[1:])
            options = {"time_limit": solved.time_limit, "mip_gap": solved.mip_gap}
            if solved.polish_cost:
                print("warning: the run was polished (--polish-cost); the re-solves are not, so costs are compared with the plan solved again", file=sys.stderr)
        except SystemExit:  # a command line of another version: the defaults
            pass
    out = explain_run(folder, options, args.workers)
    for w in out["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    write_into(folder, out, command or None)
    _print_explained(out, out["seconds"])
    print(f"written to {folder}/sensitivities.csv, explanations.csv and report.html")
    return 0


def _start(d, args):
    """The start from ``--start-from RUN_DIR --at PERIOD`` (both or neither), warnings printed."""
    if (args.start_from is None) != (args.at is None):
        raise InputError("--start-from" if args.start_from is None else "--at", "give --start-from RUN_DIR and --at PERIOD together")
    if args.start_from is None:
        return None
    from planner.instance.state import start_from

    start = start_from(d, args.start_from, args.at)
    for w in start.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return start


def _at_suffix(args) -> str:
    return f"-from-{args.at}" if getattr(args, "at", None) else ""


def _preload_while_solving(outputs) -> None:
    """Import what writing the chosen outputs needs (matplotlib for html, openpyxl for xlsx) while
    HiGHS runs (:func:`planner.solver.highs.while_solving`)."""
    from planner.solver.highs import while_solving

    if outputs is None or "html" in outputs:
        while_solving(lambda: __import__("planner.outputs.plots"))
    if outputs is None or "xlsx" in outputs:
        while_solving(lambda: __import__("openpyxl"))


def _check_out(out, kind: str) -> Path:
    """``--out`` (or the default folder) may be written: new, empty or the tool's own folder of
    this kind (:func:`planner.outputs.runfolder.check_target`); exit 2 otherwise."""
    from planner.outputs.runfolder import check_target

    return check_target(Path(out), kind)


def _report(plan, out, args=None) -> None:
    """The terminal lines after a solve or simulate (:func:`planner.outputs.report.terminal_lines`):
    the run, the decisions to take now, the headline KPIs, the report's path; warnings on stderr.
    ``--quiet``: only the warnings."""
    from planner.outputs.report import terminal_lines

    for w in plan.kpis["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    if not getattr(args, "quiet", False):
        print("\n".join(terminal_lines(plan, out, getattr(args, "lang", "en"))))


def _choose(args) -> int:
    from planner.instance.loading import load_raw, validate_dict
    from planner.instance.overrides import apply_assignments
    from planner.solver.choose import choose_and_report

    if args.package:
        raise InputError("--package", "--choose-measures picks the package itself; leave --package out")
    if args.polish_cost:
        raise InputError("--polish-cost", "not with --choose-measures; solve the chosen package again with --package and --polish-cost")
    path = Path(args.instance)
    raw = load_raw(path)
    if args.set:
        raw = apply_assignments(validate_dict(raw, path).instance.model_dump(), args.set)
    names = [n.strip() for n in args.measures.split(",") if n.strip()] if args.measures else None
    out = Path(args.out) if args.out else _check_out(Path("results") / f"{validate_dict(raw, path).name}-chosen", "run")
    plan = choose_and_report(raw, path, names, args.time_limit, args.mip_gap, args.commit_periods)
    plan.write(out, args.command_line, args.outputs, lang=args.lang)
    _report(plan, out, args)
    if not args.quiet:
        print("\n".join(choose_lines(plan.kpis["choose_measures"], args.lang)))
    return 0


def choose_lines(c: dict, lang: str = "en") -> list[str]:
    """What each candidate measure buys, in the KPIs' own units: the plan with the measure minus
    the plan without it (one of them is the chosen plan, the other has the measure switched the
    other way), so that a minus is what the measure saves and a plus on cost what it costs."""
    from planner.outputs import labels as L
    from planner.outputs.report import fmt

    lines = [L.t("term.chosen", lang, names=", ".join(c["chosen"]) or L.t("none", lang))]
    for name, v in c["values"].items():
        effects = v.get("effects") or {}
        words = "; ".join(f"{L.kpi_label(k, lang)} {'+' if d > 0 else ''}{fmt(d / L.scale(k))} {L.unit(k, lang)}" for k, d in effects.items() if abs(d) >= 0.5)
        lead = L.t("term.adopted" if v["adopted"] else "term.not_adopted", lang)
        lines.append(f"  {name}: {lead} {words or L.t('none', lang)}")
    for name, why in c["refused"].items():
        lines.append(f"  {name}: {L.t('term.refused', lang, why=why)}")
    return lines


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got '{text}'") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1 (exclusive), got '{text}'")
    return value


def _count(text: str) -> int:
    return _whole_at_least(text, 0)


def _stochastic(args) -> int:
    """``planner solve INSTANCE --scenarios N``: the two-stage stochastic solve (planner.studies.stochastic)."""
    from planner.instance.load import load_instance
    from planner.instance.uncertainty import check_uncertainty

    for flag, given in (("--diagnose", args.diagnose), ("--polish-cost", args.polish_cost), ("--commit-periods", args.commit_periods)):
        if given:
            raise InputError(flag, "not with --scenarios (the first stage is --first-stage)")
    if args.objective == "lexicographic":
        raise InputError("--objective", "--scenarios solves the weighted objective only")
    if args.scenarios < 1:
        raise InputError("--scenarios", f"expected a whole number >= 1, got {args.scenarios}")
    d = load_instance(args.instance, overrides=args.set, package=args.package)
    check_uncertainty(d)
    out = Path(args.out) if args.out else _check_out(Path("results") / f"{_run_name(d, args.package)}-stochastic", "stochastic")
    kwargs = dict(
        n=args.scenarios, seed=args.seed, periods=args.first_stage, cvar_alpha=args.cvar, cvar_weight=args.cvar_weight or 0.0,
        out_of_sample=args.out_of_sample, out_of_sample_seed=args.out_of_sample_seed, time_limit=args.time_limit, mip_gap=args.mip_gap,
        integer_recourse=args.integer_recourse,
    )
    if args.extensive_gap is not None:
        if args.engine == "mpi-sppy":
            raise InputError("--extensive-gap", "not with --engine mpi-sppy (there is no extensive form)")
        kwargs["extensive_gap"] = args.extensive_gap
    if args.engine == "mpi-sppy":
        from planner.studies.sppy import run_sppy

        result = run_sppy(d, processes=args.processes, overrides=args.set, package=args.package, **kwargs)
    else:
        from planner.studies.stochastic import run_stochastic

        result = run_stochastic(d, **kwargs)
    from planner.studies.stochasticout import write_stochastic

    write_stochastic(result, d, out, args.command_line)
    print(stochastic_summary(result.summary, out))
    return 0


def stochastic_summary(s: dict, out) -> str:
    """The terminal lines of a stochastic solve."""
    fmt = lambda x: "n/a" if x is None else f"{x:,.2f}"  # noqa: E731
    lines = [
        f"{s['solver_status']}: {s['scenarios']} scenarios (seed {s['seed']}), first stage {s['first_stage_periods']} periods "
        f"({s['first_stage_decisions']} decisions); expected objective {fmt(s['expected_objective'])}",
        f"mean-forecast plan: {fmt(s['mean_plan_objective'])} on the mean, {fmt(s['mean_plan_expected_objective'])} expected "
        f"with its first stage; wait and see {fmt(s['wait_and_see_objective'])}; VSS {fmt(s['vss'])}; EVPI {fmt(s['evpi'])}",
    ]
    o = s.get("out_of_sample")
    if o:
        st, mp, diff = o["stochastic"], o["mean_plan"], o["mean_plan_minus_stochastic"]
        lines.append(
            f"out of sample ({o['scenarios']} scenarios, seed {o['seed']}): stochastic {fmt(st['mean'])} [{fmt(st['low'])}, {fmt(st['high'])}], "
            f"mean plan {fmt(mp['mean'])} [{fmt(mp['low'])}, {fmt(mp['high'])}], difference {fmt(diff['mean'])} [{fmt(diff['low'])}, {fmt(diff['high'])}]"
        )
    na = s.get("nonanticipativity_recount")
    if na:
        lines.append(f"non-anticipativity (recount of every scenario): {'identical first stage' if na['identical'] else 'FIRST STAGES DIFFER'}")
    lines += [f"warning: {w}" for w in s.get("warnings", [])]
    lines.append(f"written to {out}")
    return "\n".join(lines)


def _cmd_simulate(args) -> int:
    from planner.check.simulate import simulate
    from planner.instance.load import load_instance

    if args.out:
        _check_out(args.out, "run")  # before anything is loaded
    d = load_instance(args.instance, overrides=args.set, package=args.package)
    start = _start(d, args)
    out = Path(args.out) if args.out else _check_out(Path("results") / f"{_run_name(d, args.package)}-status-quo{_at_suffix(args)}", "run")
    if start is not None:
        plan = simulate(start.data, commit_periods=args.commit_periods, prepare=start.fix)
    else:
        plan = simulate(d, commit_periods=args.commit_periods)
    plan.write(out, args.command_line, args.outputs, lang=args.lang)
    _report(plan, out, args)
    return 0


def _cmd_rolling(args) -> int:
    from planner.instance.load import load_instance
    from planner.studies.realised import read_realised
    from planner.studies.rolling import rolling
    from planner.studies.rollingreport import comparison, write_rolling

    if args.out:
        _check_out(args.out, "rolling")
    d = load_instance(args.instance, overrides=args.set, package=args.package)
    realised = read_realised(args.realised, d)

    def index(label, option, default):
        if label is None:
            return default
        t = d.grid.index(label)
        if t is None or t >= d.horizon_T + (option == "--to"):
            raise InputError(option, f"expected a period of the horizon {d.horizon_labels[0]}..{d.horizon_labels[-1]}, got '{label}'")
        return t + (option == "--to")

    start, to = index(args.from_, "--from", 0), index(args.to, "--to", d.horizon_T)
    if to <= start:
        raise InputError("--to", f"expected a period after --from ({d.grid.labels[start]})")
    out = Path(args.out) if args.out else _check_out(Path("results") / f"{_run_name(d, args.package)}-rolling", "rolling")
    kw = {"objective": args.objective, "time_limit": args.time_limit, "mip_gap": args.mip_gap}
    res = rolling(d, realised, every=args.every, start=start, to=to, forecast=args.forecast, solve_kw=kw, progress=lambda line: print(line, flush=True))
    write_rolling(res, out, args.every, args.forecast, args.command_line)
    from planner.studies.compare import terminal_table

    print(terminal_table(comparison(res)))
    print(f"written to {out}")
    return 0


def _cmd_evaluate(args) -> int:
    from planner.check.evaluate import evaluate_run, report, summary_line

    comparison, violations, ok = evaluate_run(args.run_dir)
    print(report(args.run_dir, comparison, violations, ok))
    if not ok:
        print(f"error: {args.run_dir}: {summary_line(comparison, violations)}", file=sys.stderr)
    return 0 if ok else 1


def _cmd_compare(args) -> int:
    from planner.studies.compare import compare, terminal_table

    packages = [p.strip() for p in args.packages.split(",") if p.strip()]
    if not packages:
        raise InputError("--packages", "expected a comma-separated list of packages, e.g. none,letter,all")
    out = _check_out(Path(args.out) if args.out else Path("results") / f"{Path(args.instance).stem}-compare", "compare")
    kwargs = {"time_limit": args.time_limit, "mip_gap": args.mip_gap, "polish_seconds": args.polish_cost}
    table, _ = compare(args.instance, packages, out, status_quo=not args.no_status_quo, solve_kwargs=kwargs, command=args.command_line, lang=args.lang)
    if not args.quiet:
        print(terminal_table(table))
        print(f"written to {out}/comparison.html")
    return 0


def _cmd_kpis(args) -> int:
    from planner.outputs.kpitable import markdown, side_by_side

    print(markdown(side_by_side(args.runs)))
    return 0


def _cmd_batch(args) -> int:
    from planner.studies.batch import BatchError, describe_batch, report_line, run_batch
    from planner.studies.batchsummary import terminal_summary

    if args.list:
        print(describe_batch(args.batch))
        return 0

    try:
        report = run_batch(args.batch, workers=args.workers, scheduler=args.scheduler, out=args.out, resume=args.resume, command=args.command_line, lang=args.lang, progress=not args.quiet)
    except BatchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; finished scenarios are in the store, run again with --resume to finish", file=sys.stderr)
        return 130
    if not args.quiet:
        print(terminal_summary(report.table, report.differences, args.lang))
    print(report_line(report))
    return 0


def _cmd_schema(args) -> int:
    from planner.instance.schema import Instance

    print(json.dumps(Instance.model_json_schema(), indent=2))
    return 0


def _stochastic_options(s) -> None:
    g = s.add_argument_group("two-stage stochastic (the instance's 'uncertainty' section)")
    g.add_argument("--scenarios", type=_whole, metavar="N", help="solve for N scenarios drawn from the uncertainty: one first stage shared by all (default folder results/<name>-stochastic/)")
    g.add_argument("--seed", type=int, default=0, help="with --scenarios: the draws' seed (default 0; the same seed draws the same scenarios)")
    g.add_argument("--first-stage", type=_whole, metavar="PERIODS", help="with --scenarios: periods whose decisions are shared (default: the commit periods, a quarter)")
    g.add_argument("--cvar", type=_share, metavar="ALPHA", help="with --scenarios: add W x CVaR_ALPHA of crisis + unsheltered person-nights to the objective")
    g.add_argument("--cvar-weight", type=_positive, metavar="W", help="with --cvar: objective units per person-night of the CVaR")
    g.add_argument("--out-of-sample", type=_count, default=100, metavar="M", help="with --scenarios: evaluate both first stages on M fresh scenarios (default 100; 0 skips)")
    g.add_argument("--out-of-sample-seed", type=int, metavar="S", help="the fresh scenarios' seed (default --seed + 1)")
    g.add_argument("--integer-recourse", action="store_true", help="with --scenarios: keep the later periods' site decisions binary (default: relaxed to [0, 1], the first stage integer)")
    g.add_argument("--extensive-gap", type=_positive, metavar="G", help="with --scenarios: relative MIP gap of the extensive form alone (default --mip-gap, else 0.001); the single-scenario solves keep --mip-gap")
    g.add_argument("--engine", choices=["extensive", "mpi-sppy"], default="extensive", help="extensive form in HiGHS (default) or progressive hedging with mpi-sppy over MPI")
    g.add_argument("--processes", type=_whole, default=2, metavar="K", help="with --engine mpi-sppy: MPI processes (mpiexec -n K)")


def _outputs(text: str) -> tuple:
    from planner.outputs.results import parse_outputs

    try:
        return parse_outputs(text)
    except InputError as e:
        raise argparse.ArgumentTypeError(e.message) from None


def _ui_options(p) -> None:
    """--lang, -v/--verbose, -q/--quiet: every command that solves and reports."""
    g = p.add_argument_group("terminal and reports")
    g.add_argument("--lang", choices=["en", "nl"], default="en", help="language of the reports, workbooks and terminal summaries (default en); the instance's own names stay as written")
    g.add_argument("-v", "--verbose", action="store_true", help="show HiGHS's log of every solve")
    g.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors (no progress, no summary)")


def _outputs_option(p) -> None:
    p.add_argument(
        "--outputs",
        type=_outputs,
        default=None,
        metavar="csv,xlsx,html",
        help="which outputs to write (default all): csv the tables' CSV files and state.json, xlsx plan.xlsx, html report.html "
        "with its figures; run.json, kpis.json, timings.json and instance.resolved.yaml are always written",
    )


def _rolling_parser(sub) -> None:
    ro = sub.add_parser("rolling", help="re-plan every few periods against realised data; compare with the status quo and hindsight")
    ro.add_argument("instance")
    ro.add_argument("--realised", required=True, metavar="FILE", help="CSV: a period column and one column per changed series by dotted path (case_types.NAME.inflow)")
    ro.add_argument("--every", type=_whole, default=3, help="periods between re-planning dates; the periods committed each time (default 3)")
    ro.add_argument("--from", dest="from_", metavar="PERIOD", help="first re-planning date (default the horizon's start)")
    ro.add_argument("--to", metavar="PERIOD", help="last period played (default the horizon's last)")
    ro.add_argument("--forecast", choices=["instance", "last-quarter"], default="instance", help="the instance's forecast, or scaled by the last window's realised/forecast ratio")
    ro.add_argument("--out", help="output folder (default results/<instance-name>-rolling/)")
    ro.add_argument("--time-limit", type=_positive, help="solver seconds per solve")
    ro.add_argument("--mip-gap", type=_positive, help="relative MIP gap per solve")
    ro.add_argument("--objective", choices=["weighted", "lexicographic"], help="as for solve")
    ro.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="as for solve")
    ro.add_argument("--package", help="as for solve")
    _ui_options(ro)
    ro.set_defaults(func=_cmd_rolling)


def _start_options(p) -> None:
    p.add_argument("--start-from", metavar="RUN_DIR", help="start from the state of a run folder (its state.json) or a state file; with --at")
    p.add_argument("--at", metavar="PERIOD", help="with --start-from: the period to start at (the state at the end of the period before)")


def _solve_parser(sub) -> None:
    s = sub.add_parser("solve", help="build and solve the plan, write a run folder")
    s.add_argument("instance")
    s.add_argument("--out", help="run folder (default results/<instance-name>/)")
    s.add_argument(
        "--time-limit",
        type=_positive,
        help="solver seconds for the whole solve (all stages); a MIP stopped at the limit keeps its best plan and reports its gap",
    )
    s.add_argument(
        "--mip-gap",
        type=_positive,
        help="relative MIP gap at which to stop, e.g. 0.001 (lexicographic: the last stage's gap, default 0.02; "
        "the earlier stages at most 1e-4)",
    )
    s.add_argument("--objective", choices=["weighted", "lexicographic"], help="default: the instance's objective.mode")
    s.add_argument(
        "--polish-cost",
        type=_positive,
        metavar="SECONDS",
        help="weighted objective: then minimise cost with the outcomes held, for at most SECONDS (cost only breaks "
        "ties in the weighted objective, so a MIP stopped at its gap is not cost-minimal)",
    )
    s.add_argument(
        "--diagnose",
        action="store_true",
        help="only diagnose feasibility: which budgets or IND hours must give and by how much, and HiGHS's "
        "irreducible infeasible subset; writes no run folder (exit 0 feasible, 3 infeasible)",
    )
    s.add_argument("--iis-file", metavar="PATH", help="with --diagnose: write every IIS row and bound, one per line, to PATH")
    s.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override an instance value by dotted path: PATH=VALUE, PATH*=FACTOR or PATH+=AMOUNT (repeatable)",
    )
    s.add_argument("--commit-periods", type=_whole, help="first periods whose decisions go to plan_quarter.csv (default 3 on a month grid, 13 on a week grid)")
    s.add_argument("--package", help="put a package of measures (or one measure) in force, e.g. letter")
    _start_options(s)
    s.add_argument("--choose-measures", action="store_true", help="let the optimiser choose which measures to adopt (binary decisions inside the budget)")
    s.add_argument("--measures", help="with --choose-measures: the candidates, comma-separated (default: every measure that is not a risk)")
    _stochastic_options(s)
    s.add_argument("--explain", action="store_true", help="also write sensitivities.csv and explanations.csv (as planner explain; re-solves the plan many times)")
    s.add_argument("--workers", type=_whole, help="with --explain: worker processes for the re-solves (default: one per core)")
    _outputs_option(s)
    _ui_options(s)
    s.set_defaults(func=_cmd_solve)


def make_parser() -> argparse.ArgumentParser:
    from planner.outputs.runfolder import tool_version

    p = _Parser(prog="planner", description="Capacity planner for an asylum chain (Pyomo + HiGHS).")
    p.add_argument("--version", action="version", version=f"planner {tool_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    v = sub.add_parser("validate", help="check an instance and summarise it")
    v.add_argument("instance")
    v.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override an instance value (as for solve)")
    v.add_argument("--package", help="as for solve")
    v.set_defaults(func=_cmd_validate)

    _solve_parser(sub)

    sim = sub.add_parser("simulate", help="the status quo: decisions by the instance's rules, same accounting and outputs as solve")
    sim.add_argument("instance")
    sim.add_argument("--out", help="run folder (default results/<instance-name>-status-quo/)")
    sim.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override an instance value (as for solve)")
    sim.add_argument("--commit-periods", type=_whole, help="as for solve")
    sim.add_argument("--package", help="as for solve")
    _start_options(sim)
    _outputs_option(sim)
    _ui_options(sim)
    sim.set_defaults(func=_cmd_simulate)

    _rolling_parser(sub)

    ev = sub.add_parser("evaluate", help="recount a run folder's consequences from its decisions (cohort simulation, no optimiser)")
    ev.add_argument("run_dir", help="a run folder written by solve or simulate")
    ev.set_defaults(func=_cmd_evaluate)

    xp = sub.add_parser("explain", help="what one more of each resource buys, and why each decision of the quarter (re-solves a solve's run folder)")
    xp.add_argument("run_dir", help="a run folder written by planner solve (weighted objective)")
    xp.add_argument("--workers", type=_whole, help="worker processes for the re-solves (default: one per core)")
    xp.set_defaults(func=_cmd_explain)

    cp = sub.add_parser("compare", help="solve measure packages side by side (and the status quo)")
    cp.add_argument("instance")
    cp.add_argument("--packages", required=True, help="comma-separated packages (or single measures), e.g. none,letter,all")
    cp.add_argument("--out", help="output folder (default results/<instance>-compare/)")
    cp.add_argument("--time-limit", type=_positive, help="seconds per solver call")
    cp.add_argument("--mip-gap", type=_positive, help="relative MIP gap")
    cp.add_argument("--polish-cost", type=_positive, metavar="SECONDS", help="as for solve: minimise each package's cost with its outcomes held")
    cp.add_argument("--no-status-quo", action="store_true", help="skip the status-quo column")
    _ui_options(cp)
    cp.set_defaults(func=_cmd_compare)

    kp = sub.add_parser("kpis", help="print the headline KPIs of run folders side by side")
    kp.add_argument("runs", nargs="+", metavar="RUN_DIR")
    kp.set_defaults(func=_cmd_kpis)

    b = sub.add_parser("batch", help="solve every scenario of a batch file (re-solving one model per worker) into a resumable store")
    b.add_argument("batch", help="a batch file (YAML): the base instance and its scenarios, grid and/or samples")
    b.add_argument("--workers", type=_whole, help="worker processes (default: one per core)")
    b.add_argument("--scheduler", metavar="ADDRESS", help="run on a dask.distributed cluster, e.g. tcp://host:8786")
    b.add_argument("--out", help="batch folder (default results/<batch-name>/)")
    b.add_argument("--resume", action="store_true", help="solve only the scenarios the batch folder's store does not hold yet")
    b.add_argument("--list", action="store_true", help="validate and expand the batch file, list its variants, solve nothing")
    _ui_options(b)
    b.set_defaults(func=_cmd_batch)

    sc = sub.add_parser("schema", help="print the instance format as JSON Schema")
    sc.set_defaults(func=_cmd_schema)
    return p


FAST_EXIT = ("solve", "simulate")
"""Commands whose process ends with ``os._exit`` once their run folder is written (:func:`console`)."""


def console() -> None:
    """The ``planner`` command (and ``python -m planner.cli``): :func:`main`, then the exit.

    After a ``solve`` or ``simulate`` whose run folder is written (each file flushed to disk, the
    folder renamed into place), the process ends with ``os._exit`` once stdout and stderr are
    flushed: the interpreter's own exit would first free the model object by object (1.5 s for
    nl-2022's model on a busy machine, more for larger ones), which nothing needs. Other commands
    (batches: dask's clean-up at exit) and errors exit normally."""
    argv = sys.argv[1:]
    code = main(argv)
    if code == 0 and argv and argv[0] in FAST_EXIT:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    sys.exit(code)


def _terminal(args) -> None:
    """Progress lines (logger ``planner``, on stderr) unless --quiet; HiGHS's log with -v."""
    import logging

    for name in ("lang", "quiet", "verbose"):
        if not hasattr(args, name):
            setattr(args, name, "en" if name == "lang" else False)
    log = logging.getLogger("planner")
    for h in [h for h in log.handlers if getattr(h, "planner_cli", False)]:
        log.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.planner_cli = True
    log.addHandler(handler)
    log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    log.propagate = False
    from planner.solver import highs

    highs.HIGHS_OPTIONS.update({"output_flag": bool(args.verbose), "log_to_console": bool(args.verbose)})


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = make_parser().parse_args(argv)
    args.command_line = ["planner", *argv]  # kept in the run folder's run.json
    try:
        _terminal(args)  # imports HiGHS's wrapper: a Ctrl-C while it loads is an interruption like any other
        return args.func(args)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SolveError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; no run folder written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `planner solve --diagnose ... | head`: stop quietly
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the interpreter flushes it at exit
        except OSError:
            pass
        return 141


if __name__ == "__main__":
    console()
