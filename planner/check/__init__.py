"""Stage 5, the checks: the status quo by rules, and the independent recount.

Owns :mod:`simulate` (the status quo: decisions fixed by the instance's rules, played through the
same model and outputs as a solve) and :mod:`evaluate` (a run folder recounted from its decisions
alone). The recount (:mod:`planner.check.recount`, one module per subsystem as in
:mod:`planner.model`) imports neither Pyomo nor :mod:`planner.model`, :mod:`planner.solver` or
:mod:`planner.outputs`: it is a second route to the same numbers. :mod:`simulate` may import every
stage below this one.
"""
