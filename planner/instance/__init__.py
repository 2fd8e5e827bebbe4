"""Stage 1, the instance: reading and checking what the user gives.

Owns the instance format (:mod:`schema`, pydantic, strict), safe YAML and CSV reading
(:mod:`yamlio`), the time grid (:mod:`timegrid`), validation and series resolution into an
:class:`~planner.instance.loading.InstanceData` (:mod:`loading`), dotted-path changes
(:mod:`overrides`), measures and packages (:mod:`measures`), the entry point ``load_instance``
(:mod:`load`), what is structural for a re-solve (:mod:`structure`) and the numeric range a
solve accepts (:mod:`magnitudes`). Everything that can be checked without a model is checked
here. May import only :mod:`planner.errors`; no Pyomo.
"""
