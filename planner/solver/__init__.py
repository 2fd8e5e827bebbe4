"""Stage 4, the solver: HiGHS on the model, and what a solve yields besides the plan.

Owns one HiGHS call and its status rules (:mod:`highs`), the weighted and lexicographic solves
and the cost polish (:mod:`solve`), the infeasibility diagnosis (:mod:`diagnose`), the marginal
values (:mod:`marginal`), the choice of measures inside the model (:mod:`choose`) and re-solves
of a live model for batches (:mod:`persistent`, :mod:`linearvalues`). May import
:mod:`planner.errors`, :mod:`planner.instance`, :mod:`planner.model` and :mod:`planner.outputs`
(a solve returns a :class:`~planner.outputs.results.Plan`).
"""
