"""planner: an optimisation-based capacity planner for an asylum chain.

Pipeline: load -> validate -> build -> solve -> extract -> write, one subpackage per stage, each
importing only the stages before it (tests/test_layout.py holds this):

    errors      the exceptions every stage raises (planner/errors.py)
    instance/   reading and checking the user's files: schema, series, --set, measures
    model/      the Pyomo model, one module per subsystem of the chain
    outputs/    a solved model's tables, KPIs, run folder, report, plots
    solver/     HiGHS: solves, diagnosis, marginal values, choice of measures, re-solves
    check/      the status quo by rules, and the independent recount of a run folder
    studies/    compare packages, batches of what-ifs
    cli         the command line (planner/cli.py)

    import planner
    data = planner.load_instance("instances/nl-2022.yaml")
    plan = planner.solve(data)
    plan.kpis["overdue_case_months"]; plan.tables["ind_cases"]; plan.write("results/nl")
"""

import importlib

_API = {  # name -> module: imported on first use (PEP 562), so `planner` on the command line starts
    # at once and a Ctrl-C while Pyomo loads is the CLI's "interrupted", not a traceback
    "evaluate_run": "planner.check.evaluate",
    "simulate": "planner.check.simulate",
    "InputError": "planner.errors",
    "SolveError": "planner.errors",
    "load_instance": "planner.instance.load",
    "InstanceData": "planner.instance.loading",
    "Plan": "planner.outputs.results",
    "solve": "planner.solver.solve",
    "rolling": "planner.studies.rolling",
}

__all__ = ["InputError", "SolveError", "InstanceData", "Plan", "evaluate_run", "load_instance", "rolling", "simulate", "solve"]


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'planner' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))
