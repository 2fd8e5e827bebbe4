"""Which variables are decisions, and in which period each is taken (for two-stage solves).

A decision variable is indexed by the period as the last part of its index, except where the
period of use differs from the period of decision:

    hires[p,t], external[p,t], retrain[p,q,t]        decided in t
    dec_out[k,t]                                      outsourcing, decided in t
    housed[r,t], accelerated[r,t]                     placements, decided in t
    start[l,t]                                        first use in t, decided in t - lead_l
    serve[l,t]                                        in use in t (closing after the minimum term), decided in t
    keep[l]                                           keeping an existing site open: decided now (period 0),
                                                      as plan_quarter.csv lists it

The rest are recourse: internal production ``dec_int`` (the teams decide what comes in with the
hours they have) and every state variable (stocks, overdue, productive FTE, waiting permit holders,
awaiting departure, crisis, unsheltered), which follow from the decisions and the data.

The first stage of a two-stage problem with ``F`` first-stage periods is every decision variable
whose decision period is ``< F``: the decisions to take now, the same in every scenario.
"""

from __future__ import annotations

import pyomo.environ as pyo

DECISIONS = ("hires", "external", "retrain", "dec_out", "housed", "accelerated", "start", "serve", "keep")
"""The decision variables' component names (module docstring)."""


def decision_period(m, d, name: str, index) -> int:
    """The period in which ``m.<name>[index]`` is decided (module docstring)."""
    if name == "keep":
        return 0
    t = index[-1] if isinstance(index, tuple) else index
    if name == "start":
        return t - d.location_first_period(index[0])
    return t


def first_stage(m, d, periods: int) -> list[tuple[tuple, object]]:
    """``[((name, index), var_data)]`` of every decision decided in a period ``< periods``, in a
    fixed order (the same keys in every model built from an instance with the same sets)."""
    out = []
    for name in DECISIONS:
        comp = m.component(name)
        if comp is None or not isinstance(comp, pyo.Var):
            continue
        for index in comp:
            if decision_period(m, d, name, index) < periods:
                out.append(((name, index), comp[index]))
    return out


def relax_recourse(m, d, periods: int, fixed_too: bool = False) -> int:
    """Binary decisions decided in a period ``>= periods`` (the recourse's ``start`` / ``serve``
    of later periods) take values in [0, 1]: the LP relaxation of the recourse, in place; the
    first stage stays binary (``fixed_too``: a fixed first stage is relaxed as well, which changes
    nothing but tells HiGHS the model is an LP). Returns how many binaries were relaxed.

    An approximation: a later site may be opened in part. On nl-2022 the weighted objective of
    the mean forecast moves by 2e-7 of itself (README, "Two-stage stochastic")."""
    first = {id(v) for _, v in first_stage(m, d, periods)}
    n = 0
    for v in m.component_data_objects(pyo.Var, descend_into=True):
        if v.is_binary() and (id(v) not in first or (fixed_too and v.fixed)):
            v.domain = pyo.UnitInterval
            n += 1
    return n
