"""Stage 3, the outputs: a solved model's tables, KPIs and files.

Owns :class:`~planner.outputs.results.Plan` (tables and KPIs read from a solved model, and
``write``), the run folder's atomic writing (:mod:`runfolder`), the decisions to take now
(:mod:`quarter`), ``report.html`` and ``plan.xlsx`` (:mod:`report`), the figures (:mod:`plots`)
and side-by-side KPI tables (:mod:`kpitable`). May import :mod:`planner.errors`,
:mod:`planner.instance` and :mod:`planner.model` (each model module owns its result table); it
never calls the solver: what needs a solve (marginal values) is passed in by the solve stage.
"""
