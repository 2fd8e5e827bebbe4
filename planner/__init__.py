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

from planner.check.evaluate import evaluate_run
from planner.check.simulate import simulate
from planner.errors import InputError, SolveError
from planner.instance.load import load_instance
from planner.instance.loading import InstanceData
from planner.outputs.results import Plan
from planner.solver.solve import solve
from planner.studies.rolling import rolling

__all__ = ["InputError", "SolveError", "InstanceData", "Plan", "evaluate_run", "load_instance", "rolling", "simulate", "solve"]
