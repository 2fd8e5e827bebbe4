"""planner: an optimisation-based capacity planner for an asylum chain.

Pipeline: load -> validate -> build -> solve -> extract -> write.

    import planner
    data = planner.load_instance("instances/nl-2022.yaml")
    plan = planner.solve(data)
    plan.kpis["overdue_case_months"]; plan.tables["ind_cases"]; plan.write("results/nl")
"""

from planner.errors import InputError, SolveError
from planner.instance.load import load_instance
from planner.instance.loading import InstanceData

__all__ = ["InputError", "SolveError", "InstanceData", "load_instance"]
from planner.outputs.results import Plan
from planner.solver.solve import solve

__all__ += ["Plan", "solve"]
