"""Re-planning against what really happened: ``planner rolling``.

At each re-planning date ``p`` (from ``--from``, every ``--every`` periods, up to ``--to``):

1. **plan**: solve from the current state with the forecast, the instance's own or (``last-quarter``)
   each realised series scaled by ``r = realised / forecast`` over the ``every`` periods before
   ``p`` (:func:`planner.studies.realised.last_ratios`), from ``p`` on;
2. **commit** the first ``w = min(every, to - p)`` periods' decisions, what ``plan_quarter.csv``
   lists: hires, external staff, retraining, outsourcing, accelerated placement per period, the
   sites whose opening is decided in the window, and keep-opens whose planned close falls in it;
3. **play** the window with the realised values: the same model from the same state, the
   window's series replaced by the realised ones, the committed decisions fixed, and the rest
   (production per case type, regular housing, crisis shelter; later periods on the step's
   forecast) re-optimised with the plan's objective. Why not the status quo's rules: with rules,
   a window played on data equal to the forecast would not give the plan back (the rules decide
   production and housing otherwise), so rolling could not reproduce the one-shot plan; the
   operational decisions see only the realised window and the forecast after it, never the
   realised future;
4. **carry** the state at ``p + w`` (:mod:`planner.outputs.statefile`) on to the next step.

After ``to``, the periods left (the look-ahead tail) are solved from the last state knowing the
realised data (the *end value*), so the rolling objective covers the same periods as hindsight's:

    J_rolling   = sum_{t in [from, to)} J_t(played) + J(end value)
    J_hindsight = J(plan solved from the state at ``from`` on the realised data)
    regret      = KPI_rolling - KPI_hindsight   (per KPI, over the reported periods [from, to))

with ``J_t`` the weighted objective's terms of period t (:func:`period_objective`). Hindsight is
solved to :data:`HINDSIGHT_GAP` (its gap stated, :func:`hindsight_note`) and is never above
rolling: the rolling trajectory is a plan of its model, taken when HiGHS finds none better
(:func:`hindsight`). The status quo is ``simulate`` on the realised data. Without ``--from`` the
start is the instance's own; with it, the periods before are the status quo's on the realised data.

The realised trajectory is also a run folder (``realised/``): the model from the start with every
decision of the played windows and the end value fixed, so ``planner evaluate`` recounts it from
its decisions and the realised data, and its objective equals ``J_rolling``: every step's play is
checked against its window of the replay (:func:`_check_steps`; a difference means a quantity the
state did not carry). A start anchors the production ramp (up and down) at the decisions of the
period before, so the replay holds every ramp row. Every integer variable the trajectory leaves
free is fixed at 0 there (:func:`replay_prepare`): the replay takes no decision of its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
import pyomo.environ as pyo

from planner.errors import LimitError
from planner.instance.state import Start, parse_sections, start_from_sections
from planner.model.common import val
from planner.outputs.results import horizon_rows
from planner.outputs.statefile import Values, state_at
from planner.solver.fromstate import STRATEGIC, decisions_of, fix_all, site_decisions_of, solve_start
from planner.studies.realised import last_ratios, scaled, with_values

TABLES = ("ind_cases", "staff", "retraining", "reception", "placement", "costs", "chain")
"""The tables of the realised trajectory (the window rows of every played step)."""


@dataclass
class Step:
    at: str
    window: list
    forecast: dict
    committed: list
    plan_objective: float
    played_objective: float
    seconds: float
    replay_objective: float | None = None


@dataclass
class RollingResult:
    steps: list = field(default_factory=list)
    tables: dict = field(default_factory=dict)
    objective: float = 0.0
    end_objective: float = 0.0
    replay: object = None
    hindsight: object = None
    hindsight_is_rolling: bool = False
    status_quo: object = None
    forecast_rows: list = field(default_factory=list)
    periods: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def period_objective(m, d, t: int) -> float:
    """The weighted objective's terms of period ``t`` (:mod:`planner.model.objective`):

    W_u n_t U_t + W_c n_t sum_r C_rt + W_o sum_k w_k mu O_kt + W_p mu sum_r P_rt
    + sum_k v_k mu persons_k S_kt + W_cost sum_c cost_ct.
    """
    mu = d.grid.months_per_period
    n = d.grid.nights[t]
    return (
        val(m.w_unsheltered) * n * val(m.unsheltered[t])
        + val(m.w_crisis) * n * sum(val(m.crisis[r, t]) for r in m.R)
        + val(m.w_overdue) * sum(val(m.case_overdue_weight[k]) * mu * val(m.overdue[k, t]) for k in m.K)
        + val(m.w_permit_holder) * mu * sum(val(m.ph_overdue[r, t]) for r in m.R)
        + sum(val(m.w_waiting[k]) * mu * val(m.case_persons[k]) * val(m.stock[k, t]) for k in m.K)
        + val(m.w_cost) * sum(val(m.cost[c, t]) for c in m.C)
    )


def start_at(d, sections, p: int, tail: bool = False) -> Start:
    """``d`` from the state ``sections`` at period index ``p`` (``p = 0``: the instance itself)."""
    if p == 0:
        return Start(data=d, at=d.grid.labels[0], offset=0)
    return start_from_sections(d, sections, d.grid.labels[p], tail=tail)


def carry(d, start: Start, m, w: int, before: dict | None) -> dict:
    """The parsed state at ``start.offset + w`` of a played model ``m``: spent money and
    accelerated placements add to what was spent before ``start``; sites the start dropped
    (closed) stay closed."""
    raw = state_at(Values(m, start.data), w)
    if before is not None:
        raw["budget"]["spent_eur"] += before["budget"].spent_eur
        years = dict(before["budget"].spent_by_year_eur)
        for y, v in raw["budget"]["spent_by_year_eur"].items():
            years[y] = years.get(y, 0.0) + v
        raw["budget"]["spent_by_year_eur"] = years
        raw["placement"]["accelerated_used"] += before["placement"].accelerated_used
        raw["reception"]["extensions_used"] += before["reception"].extensions_used
    for l in d.instance.locations:
        raw["reception"]["locations"].setdefault(l, {"status": "closed"})
    return parse_sections(raw, f"state at {raw['at']}")


def _window_rows(plan, labels) -> dict:
    return {name: plan.tables[name][plan.tables[name].period.isin(labels)] for name in TABLES}


def _committed_rows(at: str, committed: list, d, offset: int) -> list:
    rows = []
    names = {"hires": "hire", "external": "external_staff", "retrain": "retrain", "dec_out": "outsource", "accelerated": "place_accelerated", "start": "open_location", "keep": "keep_open"}
    units = {"hires": "FTE", "external": "FTE", "retrain": "FTE", "dec_out": "cases", "accelerated": "persons", "start": "places", "keep": "places"}
    for name, index, value in committed:
        if abs(value) < 1e-9:
            continue
        if name in ("start", "keep"):
            l = index[0] if name == "start" else index
            loc = d.instance.locations[l]
            period = d.grid.labels[index[1]] if name == "start" and index[1] < d.grid.T else ""
            rows.append({"step": at, "decision": names[name], "item": l, "region": loc.region, "period": period, "value": loc.places, "unit": units[name]})
        else:
            *item, t = index
            region = item[0] if name == "accelerated" else ""
            rows.append({"step": at, "decision": names[name], "item": " -> ".join(item), "region": region, "period": d.grid.labels[t], "value": value, "unit": units[name]})
    return rows


def play_step(d_fc, d_real, realised, sections, p, w, solve_kw) -> tuple:
    """Plan from the state at ``p`` on the forecast, commit ``w`` periods, play them on the
    realised values; returns (plan, committed, played plan, its start)."""
    st = start_at(d_fc, sections, p)
    plan = solve_start(st, marginal=False, **solve_kw)
    window = range(w)
    last_open = {l: st.data.existing_last_period(l) for l in st.data.instance.locations if st.data.instance.locations[l].status == "existing"}
    committed = decisions_of(plan.model, window, 0, STRATEGIC)
    committed += [c for c in site_decisions_of(plan.model, window, 0, last_open) if (c[1][0] if c[0] == "start" else c[1]) not in st.carried_sites]
    d_play = with_values(d_fc, realised, periods=set(range(p, p + w)))
    st_play = start_at(d_play, sections, p)
    played = solve_start(st_play, marginal=False, fix_more=lambda m: fix_all(m, committed + uncommitted(m, st_play, committed, w)), **solve_kw)
    return plan, committed, played, st_play


def uncommitted(m, st, committed: list, w: int) -> list:
    """The site decisions of the window the plan did not commit, fixed to 0 in the play: no
    opening decided in the window, no keep-open whose close falls in it."""
    taken = {(c[0], c[1]) for c in committed}
    out = []
    for l, t in m.start:
        if l not in st.carried_sites and t - st.data.location_first_period(l) < w and ("start", (l, t)) not in taken:
            out.append(("start", (l, t), 0.0))
    for l in m.keep:
        if st.data.existing_last_period(l) + 1 < w and ("keep", l) not in taken and ("keep", l, 1) not in st.fixed:
            out.append(("keep", l, 0.0))
    return out


def rolling(d, realised: dict, every: int = 3, start: int = 0, to: int | None = None, forecast: str = "instance", solve_kw=None, progress=print) -> RollingResult:
    """The rolling study of instance ``d`` against the ``realised`` series (module docstring).

    ``start``/``to``: period indices (the first re-planning date, the end of the last window);
    ``solve_kw``: objective, time_limit, mip_gap for every solve."""
    from planner.check.simulate import simulate

    solve_kw = dict(solve_kw or {})
    to = d.horizon_T if to is None else to
    d_real = with_values(d, realised)
    res = RollingResult(periods=list(d.grid.labels[start:to]))
    first = sections = sections0(d_real, start) if start > 0 else None
    p, windows, trajectory = start, [], []
    free = unanchored_ramps(d) if start == 0 else []
    if free:
        res.warnings.append(
            f"{', '.join(free)}: a production ramp but no decisions_before, so in the first period hindsight and the first step may "
            "set any production (e.g. none) while every later step starts from a state anchored at the decisions before; give "
            "case_types.NAME.decisions_before to anchor the start too"
        )
        progress(f"warning: {res.warnings[-1]}")
    while p < to:
        t0 = time.perf_counter()
        w = min(every, to - p)
        ratios = last_ratios(d, realised, p, every) if forecast == "last-quarter" else {k: 1.0 for k in realised}
        d_fc = scaled(d, ratios, p) if forecast == "last-quarter" else d
        plan, committed, played, st_play = play_step(d_fc, d_real, realised, sections, p, w, solve_kw)
        labels = d.grid.labels[p : p + w]
        windows.append(_window_rows(played, labels))
        trajectory.append((p, w, st_play, played))
        j = sum(period_objective(played.model, st_play.data, t) for t in range(w))
        res.objective += j
        for path in realised:
            for t in range(p, min(d.grid.T, p + max(every, 12))):
                res.forecast_rows.append({"step": d.grid.labels[p], "series": path, "period": d.grid.labels[t], "forecast": d_fc.series[path][t], "realised": d_real.series[path][t]})
        step = Step(d.grid.labels[p], list(labels), ratios, _committed_rows(d.grid.labels[p], committed, st_play.data, p), plan.kpis["objective"], j, time.perf_counter() - t0)
        res.steps.append(step)
        sections = carry(d, st_play, played.model, w, sections)
        progress(_progress_line(len(res.steps), step, forecast))
        p += w
    res.tables = {name: pd.concat([wnd[name] for wnd in windows], ignore_index=True) for name in TABLES}
    _end_value(res, d_real, sections, to, trajectory, solve_kw, progress)
    st0 = start_at(d_real, first, start)
    res.replay = solve_start(st0, marginal=False, fix_more=lambda m: replay_prepare(m, trajectory, start), **solve_kw)
    _check_steps(res, d, start, progress)
    res.hindsight, res.hindsight_is_rolling = hindsight(st0, res.replay, solve_kw)
    res.status_quo = simulate(st0.data, prepare=st0.fix)
    progress(f"hindsight objective {res.hindsight.kpis['objective']:,.2f} ({hindsight_note(res)}); status quo {res.status_quo.kpis['objective']:,.2f}; rolling {res.objective:,.2f}")
    return res


HINDSIGHT_GAP = 0.10
"""HiGHS's relative MIP gap for the hindsight solve unless ``mip_gap`` says otherwise.

Knowing a high realised inflow, hindsight needs new places as fast as the pace limits allow:
on nl-2022 with ``nl-2022-realised-high.csv`` (measured before nl-2022 anchored its ramps at
``decisions_before``; anchored, hindsight stops at 9.69 % in about 4 minutes) the LP relaxation fills the national 1,500 new
places a month exactly, every month from 2022-02 to 2024-01, with fractions of sites (a 1,000-place
park half opened in March and half in April), which no plan of whole sites can; its bound (8.55
million) hardly moves in branch and bound (8.59 million after 1,500 s) while the plans found come
down slowly (13 % above it after 250 s, 10 % after 510 s, 6 % after 1,500 s at load 5-7 on 2
cores), so HiGHS's default gap of 0.01 % is out of reach. The plan returned is stated with its
gap (:func:`hindsight_note`). Not a MIP start from the rolling trajectory (a plan 10 times worse there): with it HiGHS was at
10.2 % after 868,539 simplex iterations, without it at 9.95 % after 230,905."""


def hindsight(st0, replay, solve_kw: dict) -> tuple:
    """The plan from ``st0`` knowing the realised data, at ``mip_gap`` or :data:`HINDSIGHT_GAP`,
    and whether it is the rolling trajectory: that (``replay``) is a plan of the same model, so
    when HiGHS stops at its gap (or a limit) with a worse plan, or with none, it is the better
    plan known."""
    kw = dict(solve_kw)
    kw["mip_gap"] = kw.get("mip_gap") or HINDSIGHT_GAP
    try:
        plan = solve_start(st0, marginal=False, **kw)
    except LimitError:  # no plan within --time-limit
        return replay, True
    if _rank(plan) > _rank(replay):
        return replay, True
    return plan, False


def _rank(plan) -> tuple:
    """What the objective minimises: the weighted objective, or the lexicographic stages in order."""
    k = plan.kpis
    return tuple(k["stage_values"].values()) if k.get("objective_mode") == "lexicographic" else (k["objective"],)


def hindsight_note(res: RollingResult) -> str:
    """How good the hindsight plan is: HiGHS's gap, and what it bounds (no plan knowing the
    realised data does better than ``J_h (1 - gap)``, so the regret in objective lies in
    ``[J_rolling - J_h, J_rolling - J_h (1 - gap)]``)."""
    if res.hindsight_is_rolling:
        return "HiGHS found no plan better than the rolling trajectory within its gap or limit, so hindsight is the rolling trajectory"
    k = res.hindsight.kpis
    gap = k.get("mip_gap") or 0.0
    if k.get("objective_mode") == "lexicographic":  # the gap is the stages' largest, not the objective's
        return f"HiGHS gap {gap:.2%} (the largest of the lexicographic stages')"
    bound = k["objective"] * (1 - gap)
    return (
        f"HiGHS gap {gap:.2%}: no plan knowing the realised data has an objective below {bound:,.0f}, "
        f"so the regret in objective is {res.objective - k['objective']:,.0f} to {res.objective - bound:,.0f}"
    )


def unanchored_ramps(d) -> list:
    """Case types of ``d`` with a production ramp (up or down) and no ``decisions_before``: their
    first period is free (:mod:`planner.model.cases`), so the plans from the instance's own start
    (hindsight, the first step) may change their production at once, which a step from a state
    (anchored at the decisions before) cannot: the comparison then favours hindsight."""
    cts = d.instance.case_types
    return [k for k, ct in cts.items() if ct.decisions_before is None and (ct.max_decision_increase is not None or ct.max_decision_decrease is not None)]


def _check_steps(res: RollingResult, d, start: int, progress) -> None:
    """Each step's share of the replay's objective (its window's periods); a step whose play differs
    from it (relative 1e-6) did not carry its state exactly, said in the progress."""
    m, data = res.replay.model, res.replay.data
    for s in res.steps:
        p = d.grid.index(s.at) - start
        s.replay_objective = sum(period_objective(m, data, t) for t in range(p, p + len(s.window)))
        if abs(s.replay_objective - s.played_objective) > 1e-6 * max(1.0, abs(s.played_objective)):
            progress(f"warning: step {s.at}: played objective {s.played_objective:,.2f}, the replay's for its window {s.replay_objective:,.2f}")


def sections0(d_real, start: int):
    """The state at ``start`` of the status quo on the realised data (``--from`` after the first period)."""
    from planner.check.simulate import simulate

    sq = simulate(d_real)
    return parse_sections(state_at(Values(sq.model, d_real), start), "status quo state")


def _progress_line(i: int, step: Step, forecast: str) -> str:
    c = pd.DataFrame(step.committed, columns=["decision", "value"]) if step.committed else pd.DataFrame(columns=["decision", "value"])
    tot = c.groupby("decision").value.sum() if len(c) else {}
    sites = sum(1 for r in step.committed if r["decision"] == "open_location")
    ratio = ", ".join(f"{k.split('.')[-2]} x{v:.2f}" for k, v in step.forecast.items() if abs(v - 1) > 1e-9) or "instance"
    return (
        f"step {i}: {step.window[0]}..{step.window[-1]}: forecast {ratio if forecast == 'last-quarter' else 'instance'}; "
        f"committed {tot.get('hire', 0):,.1f} FTE hired, {tot.get('external_staff', 0):,.1f} external FTE-periods, "
        f"{tot.get('outsource', 0):,.0f} cases outsourced, {sites} sites; played objective {step.played_objective:,.2f} ({step.seconds:.1f} s)"
    )


def _end_value(res: RollingResult, d_real, sections, to: int, trajectory: list, solve_kw, progress) -> None:
    """Solve the periods after ``to`` from the last state on the realised data; then replay the
    whole trajectory with every decision fixed (:func:`replay`)."""
    if to < d_real.grid.T:
        st = start_at(d_real, sections, to, tail=True)
        end = solve_start(st, marginal=False, **solve_kw)
        res.end_objective = end.kpis["objective"]
        res.objective += res.end_objective
        trajectory.append((to, d_real.grid.T - to, st, end))
        progress(f"end value {d_real.grid.labels[to]}..{d_real.grid.labels[-1]} (realised data): objective {res.end_objective:,.2f}")


def replay_prepare(m, trajectory: list, start: int) -> None:
    """Fix the trajectory's decisions (:func:`replay_fixed`) on the replay model (a start anchors
    the production ramp down at the state's decisions before, so every row of it holds), and
    every integer variable they leave free at 0: a site the steps did not open, a period of use
    a step's model did not have (before the site's first period there), a keep-open not taken.
    Left free, the replay, which knows the realised data, could take a decision no step took (on
    nl-2022 with the realised-high file 3,739 were left: 3,425 openings, 309 periods of use, 5
    keep-opens; HiGHS's presolve removed them, 0.1 s). So the replay has nothing left to search."""
    fix_all(m, replay_fixed(trajectory, start))
    for v in m.component_data_objects(pyo.Var):
        if v.is_integer() and not v.fixed:
            v.fix(0)


def replay_fixed(trajectory: list, start: int) -> list:
    """Every decision of the played windows (and the end value), indexed from ``start``."""
    fixed = []
    first_use = {}
    for p, w, st, plan in trajectory:
        m = plan.model
        fixed += decisions_of(m, range(w), start - p, names=("hires", "external", "retrain", "dec_out", "accelerated", "dec_int", "housed", "serve"))
        for l, t in m.start:  # sites whose opening the step decided (a later opening of its model was not committed)
            if l not in st.carried_sites and (m.start[l, t].value or 0) > 0.5 and t - st.data.location_first_period(l) < w:
                first_use.setdefault(l, p + t)
        for l in m.keep:
            if (m.keep[l].value or 0) > 0.5:
                fixed.append(("keep", l, 1.0))
    fixed += [("start", (l, t - start), 1.0) for l, t in first_use.items()]
    return [f for f in fixed if f[0] != "serve" or f[1][1] >= 0]


def horizon_tables(plan, labels) -> dict:
    return {name: horizon_rows(frame, plan.data)[lambda f: f.period.isin(labels)] if "period" in frame.columns else frame for name, frame in plan.tables.items()}
