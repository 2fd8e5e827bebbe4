"""Solve from a state: the plan of a :class:`planner.instance.state.Start`.

The start's instance is an ordinary instance whose horizon begins at the state's period; its
fixed decisions (sites decided before it, decided keep-opens) are fixed on the built model before
the solve, and ``fix_more(m)`` may fix more (the rolling study fixes committed decisions). The run
folder is an ordinary one (``planner evaluate`` recounts it from its ``instance.resolved.yaml``): a
carried site keeps its own type ``TYPE@SITE`` there, and ``plan_quarter.csv`` lists a site in
preparation as decided at the start (its decision lies before the state).
"""

from __future__ import annotations

import time

from planner.errors import InfeasibleError, LimitError
from planner.instance.load import check_before_build
from planner.model import build_model
from planner.outputs.results import Plan
from planner.solver.marginal import marginal_values
from planner.solver.solve import solve_model


def solve_start(
    start,
    objective: str | None = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    commit_periods: int | None = None,
    polish_seconds: float | None = None,
    fix_more=None,
    marginal: bool = True,
) -> Plan:
    """Build the start's model, fix its decisions (and ``fix_more``'s), solve; a :class:`Plan`."""
    d = start.data
    mode = objective or d.instance.objective.mode
    check_before_build(d)
    t0 = time.perf_counter()
    m = build_model(d)
    build_seconds = time.perf_counter() - t0

    def prepare(model):
        start.fix(model)
        if fix_more is not None:
            fix_more(model)

    prepare(m)
    try:
        info = solve_model(m, mode, time_limit, mip_gap, None, polish_seconds)
    except InfeasibleError as e:
        from planner.solver.diagnose import diagnose

        try:
            diagnosis = diagnose(d, time_limit=time_limit, prepare=prepare)
        except LimitError:
            raise InfeasibleError(f"{e} (starting from the state at {start.at})") from None
        raise InfeasibleError(diagnosis.message(fallback=str(e)), diagnosis=diagnosis) from None
    info.build_seconds = build_seconds
    info.warnings = list(start.warnings) + list(info.warnings)
    plan = Plan.from_model(m, d, info, mode, commit_periods, marginal=_marginal if marginal else None)
    return plan


def _marginal(m, d):
    """:func:`marginal_values` with the fixed integer decisions made continuous (HiGHS gives no
    duals while an integer variable remains, fixed or not)."""
    import pyomo.environ as pyo

    fixed = [v for v in m.component_data_objects(pyo.Var) if v.fixed and (v.is_binary() or v.is_integer())]
    saved = [(v, v.domain) for v in fixed]
    for v in fixed:
        v.domain = pyo.Reals
    try:
        return marginal_values(m, d)
    finally:
        for v, domain in saved:
            v.domain = domain


STRATEGIC = ("hires", "external", "retrain", "dec_out", "accelerated")
"""Per-period decisions a plan commits (``plan_quarter.csv``), besides its site decisions."""

OPERATIONAL = ("dec_int", "housed")
"""Per-period decisions that follow from the committed ones (production, regular housing)."""


def decisions_of(m, periods, offset: int = 0, names=STRATEGIC + OPERATIONAL) -> list:
    """``(variable, index, value)`` of model ``m``'s per-period decisions in ``periods`` (its own
    period indices), re-indexed to a model that starts ``offset`` periods later (``t - offset``)."""
    out = []
    periods = set(periods)
    for name in names:
        var = m.component(name)
        for index in var:
            t = index[-1]
            if t in periods:
                out.append((name, (*index[:-1], t - offset), float(var[index].value or 0.0)))
    return out


def site_decisions_of(m, periods, offset: int = 0, last_open: dict | None = None) -> list:
    """Sites of model ``m`` whose opening is decided in ``periods`` (decision = first use - lead),
    as ``("start", (site, first use - offset), 1)``, and keep-open decisions ``("keep", site, 1)`` of
    existing sites whose planned close falls in ``periods`` (the decision cannot wait)."""
    out = []
    periods = set(periods)
    lead = {}
    for l, t in m.start:
        if (m.start[l, t].value or 0) > 0.5:
            lead.setdefault(l, t)
    for l, first in lead.items():
        decided = first - (min(t for (q, t) in m.start if q == l))
        if decided in periods:
            out.append(("start", (l, first - offset), 1.0))
    for l, last in (last_open or {}).items():
        if l in m.keep and (m.keep[l].value or 0) > 0.5 and last + 1 <= max(periods):
            out.append(("keep", l, 1.0))
    return out


def fix_all(m, fixed: list) -> None:
    """Fix ``(variable, index, value)`` on ``m`` (indices the model lacks are skipped)."""
    for name, index, value in fixed:
        var = m.component(name)
        if index in var:
            var[index].fix(max(0.0, value) if name not in ("start", "serve", "keep") else round(value))
