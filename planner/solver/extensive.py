"""The two-stage stochastic problem as one model (the extensive form), solved by HiGHS.

With scenarios ``s`` of probability ``p_s``, each the ordinary model built on the scenario's
instance (a block ``scen_<i>`` of one ConcreteModel, its own objective deactivated), first-stage
decisions ``x`` (:func:`planner.model.stages.first_stage`: the decisions of the first ``F``
periods) and the scenario's weighted objective ``f_s(x, y_s)``:

    min  sum_s p_s f_s(x_s, y_s)  [+ W CVaR_alpha(L)]
    s.t. every scenario's constraints on (x_s, y_s)
         x_s[j] = z[j]   for every scenario s and first-stage decision j   (non-anticipativity)

``z`` is the shared copy (``ef.shared``): it carries the decisions' domains (binary sites), the
scenarios' copies ``x_s`` are continuous within the same bounds, so the model holds the first
stage's integers once however many scenarios it has (:func:`_share_first_stage`). The optional risk term is the conditional value at risk
of ``L_s`` = crisis + unsheltered person-nights of scenario s (horizon and look-ahead), linearised
(Rockafellar-Uryasev):

    CVaR_alpha(L) = eta + 1 / (1 - alpha) sum_s p_s u_s,   u_s >= L_s - eta,  u_s >= 0

at its optimum ``eta`` is the alpha-quantile (value at risk) of ``L`` and ``CVaR`` the mean of
its worst ``1 - alpha`` tail.

The same model answers the two reference problems of the value of the stochastic solution:
:func:`fix_shared` fixes ``z`` (the mean-forecast plan's first stage: EEV) and
:func:`solve_wait_and_see` drops the non-anticipativity rows (each scenario optimised with
perfect information: WS). ``RP`` is the stochastic optimum; ``VSS = EEV - RP >= 0`` and
``EVPI = RP - WS >= 0`` (up to the MIP gaps). Without a risk term the scenarios of EEV and WS
do not share a row, so :class:`ScenarioSolver` solves them one scenario at a time on one live model
(as the out-of-sample check does): much faster than the joint model's branch and bound.

Recourse: by default the binaries decided after the first stage (``start`` / ``serve`` of later
periods) are relaxed to [0, 1] (:func:`planner.model.stages.relax_recourse`), the first stage stays
integer; ``integer_recourse=True`` keeps them binary. On nl-2022 with 5 scenarios the integer
extensive form had a 28 % gap after 300 s (2 nodes), the relaxed one was optimal in 68 s
(benchmarks/README.md).

MIP start (:func:`mip_start`, :class:`StartedHighs`): the mean-forecast plan's first stage with
each scenario's recourse re-solved (the EEV problems, solved before the extensive form) is a
feasible plan of the extensive form; HiGHS gets it before it runs, checks it and starts from it
as its first incumbent (``stochastic.json``: ``mip_start``), so a solve stopped at a limit still
returns a plan at least as good as the mean plan's. HiGHS's log of the solve is kept
(``ef.highs_log``, the run folder's ``highs_extensive.log``).
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo

from planner.errors import InfeasibleError, InputError
from planner.instance.load import check_before_build
from planner.model import build_model
from planner.model.stages import first_stage, relax_recourse
from planner.solver.highs import PlannerHighs, SolveInfo, run_highs
from planner.solver.persistent import Outcome, Resolver, quiet_near_bounds

ROUND = 1e-9
"""First-stage values within this of an integer (binaries) or of 0 are rounded when fixed."""


def risk_measure(m):
    """``L``: crisis + unsheltered person-nights of one scenario's model (horizon and tail)."""
    return m.crisis_person_nights + m.unsheltered_person_nights


def quiet_relaxed() -> None:
    """Silence Pyomo's warning for a relaxed binary a round-off outside [0, 1] (once)."""
    quiet_near_bounds("UnitInterval", 1e-6)


def build_extensive(scenarios, periods: int, cvar_alpha: float | None = None, cvar_weight: float = 0.0, integer_recourse: bool = False):
    """The extensive form of ``scenarios`` (a list of :class:`planner.instance.uncertainty.Scenario`)
    with the decisions of the first ``periods`` periods shared (module docstring). Returns the
    model; ``ef.blocks`` lists the scenario blocks, ``ef.keys`` the first-stage keys,
    ``ef.relaxed`` how many recourse binaries were relaxed (0 with ``integer_recourse``),
    ``ef.integers`` how many integer variables the model has (the shared first stage's: the
    scenarios' copies are continuous, :func:`_share_first_stage`)."""
    quiet_relaxed()
    ef = pyo.ConcreteModel(name="extensive_form")
    ef.blocks, ef.keys, ef.first, ef.relaxed = [], None, [], 0
    for i, sc in enumerate(scenarios):
        check_before_build(sc.data)
        m = build_model(sc.data)
        if not integer_recourse:
            ef.relaxed += relax_recourse(m, sc.data, periods)
        m.weighted_objective.deactivate()
        ef.add_component(f"scen_{i}", m)
        fs = first_stage(m, sc.data, periods)
        keys = [k for k, _ in fs]
        if ef.keys is None:
            ef.keys = keys
        elif keys != ef.keys:  # pragma: no cover - the uncertainty scales series only
            raise InputError("uncertainty", f"scenario {sc.name} has other first-stage decisions than {scenarios[0].name}")
        ef.blocks.append(m)
        ef.first.append([v for _, v in fs])
    _share_first_stage(ef)
    ef.S = pyo.RangeSet(0, len(scenarios) - 1)
    ef.nonant = pyo.Constraint(ef.S, ef.J, rule=lambda e, s, j: e.first[s][j] == e.shared[j])
    ef.prob = {s: sc.probability for s, sc in enumerate(scenarios)}
    ef.expected = pyo.Expression(expr=sum(ef.prob[s] * m.weighted_objective.expr for s, m in enumerate(ef.blocks)))
    risk = 0.0
    if cvar_alpha is not None and cvar_weight > 0:
        ef.var_level = pyo.Var(doc="eta: the value at risk of crisis + unsheltered person-nights")
        ef.excess = pyo.Var(ef.S, within=pyo.NonNegativeReals)
        ef.excess_row = pyo.Constraint(ef.S, rule=lambda e, s: e.excess[s] >= risk_measure(e.blocks[s]) - e.var_level)
        ef.cvar = pyo.Expression(expr=ef.var_level + sum(ef.prob[s] * ef.excess[s] for s in ef.S) / (1.0 - cvar_alpha))
        risk = cvar_weight * ef.cvar
    ef.objective = pyo.Objective(expr=ef.expected + risk, sense=pyo.minimize)
    ef.integers = sum(1 for v in ef.component_data_objects(pyo.Var, descend_into=True) if v.is_integer() or v.is_binary())
    return ef


def _share_first_stage(ef) -> None:
    """One set of first-stage variables ``z = ef.shared`` with the decisions' domains and bounds
    (binary sites, integer where the model says so), and the scenarios' copies ``x_s`` made
    continuous within the same bounds: ``x_s = z`` makes them integer, so the model has the first
    stage's integers once, not once per scenario (HiGHS's presolve merged the copies too, but
    branching, heuristics and a MIP start see one set). ``ef.copy_domains`` keeps the copies'
    domains for :func:`solve_wait_and_see`, where each scenario has its own first stage."""
    n = len(ef.keys)
    ef.J = pyo.RangeSet(0, n - 1) if n else pyo.Set(initialize=[])
    ef.shared = pyo.Var(ef.J, doc="first-stage decisions shared by every scenario")
    ef.copy_domains = []
    for j, v in enumerate(ef.first[0] if ef.first else []):
        ef.shared[j].domain = v.domain
        ef.shared[j].setlb(v.lb)
        ef.shared[j].setub(v.ub)
    for xs in ef.first:
        for v in xs:
            if v.is_integer() or v.is_binary():
                ef.copy_domains.append((v, v.domain))
                lb, ub = v.lb, v.ub
                v.domain = pyo.Reals
                v.setlb(lb)
                v.setub(ub)


def _copies_integer(ef, integer: bool) -> None:
    """The scenarios' first-stage copies back to their own domains (``integer``: wait and see)
    or continuous again (:func:`_share_first_stage`)."""
    for v, domain in ef.copy_domains:
        if integer:
            v.domain = domain
        else:
            lb, ub = v.lb, v.ub
            v.domain = pyo.Reals
            v.setlb(lb)
            v.setub(ub)


class StartedHighs(PlannerHighs):
    """HiGHS (:class:`PlannerHighs`) handed a MIP start before it runs: ``mip_start_values`` is a
    list of ``(variable, value)``; HiGHS checks it (a feasible start becomes the first incumbent,
    source ``X`` in its log, :func:`start_accepted`); ``handed`` counts the values passed."""

    mip_start_values: list = []  # set after construction: Pyomo's set_instance re-runs __init__ (Highs._reinit)
    handed = 0

    def _solve(self):
        if self.mip_start_values:
            vmap = self._pyomo_var_to_solver_var_map
            pairs = [(vmap[id(v)], float(x)) for v, x in self.mip_start_values if id(v) in vmap and x is not None]
            idx = np.fromiter((i for i, _ in pairs), dtype=np.int32, count=len(pairs))
            val = np.fromiter((x for _, x in pairs), dtype=np.float64, count=len(pairs))
            self._solver_model.setSolution(len(pairs), idx, val)
            self.handed = len(pairs)
        return super()._solve()


def solve_extensive(ef, time_limit=None, mip_gap=None, start=None) -> SolveInfo:
    """Solve ``ef`` as it stands (variables hold the plan afterwards); ``start``: a MIP start
    (:func:`mip_start`), reported in ``info.stage_values["mip_start"]``."""
    info = SolveInfo()
    t0 = time.perf_counter()
    opt = StartedHighs()
    opt.mip_start_values = start or []
    res = run_highs(opt, ef, time_limit, mip_gap, info, {"output_flag": True, "log_to_console": True})  # captured by Pyomo, not shown
    info.objective = pyo.value(ef.objective)
    info.solve_seconds = time.perf_counter() - t0
    ef.highs_log = getattr(res, "solver_log", "") or ""
    if start:
        info.stage_values["mip_start"] = {"values": opt.handed, "accepted": start_accepted(ef.highs_log)}
    return info


def start_accepted(log: str) -> bool:
    """HiGHS's log of a solve says that the MIP start is feasible (HiGHS 1.16: "Assessing
    feasibility of MIP solution using primal feasibility and integrality tolerances of 1e-06:
    feasible"; it is then the first incumbent)."""
    return any("feasibility of MIP solution" in line and line.rstrip().endswith(": feasible") for line in log.splitlines())


def var_values(m) -> dict:
    """Every variable value of model ``m`` keyed by ``(component name, index)`` (names local to
    ``m``): one scenario's plan, to be put on the same scenario's block of the extensive form."""
    return {(c.local_name, i): v.value for c in m.component_objects(pyo.Var, descend_into=True) for i, v in c.items()}


def mip_start(ef, first, plans: list[dict]) -> list:
    """A MIP start for ``ef``: the shared first stage at ``first`` and scenario ``s``'s variables
    at ``plans[s]`` (:func:`var_values` of the same scenario's model solved with that first stage
    fixed, e.g. the EEV re-solves: feasible for the extensive form)."""
    start = [(ef.shared[j], x) for j, x in zip(ef.J, first)]
    for m, plan in zip(ef.blocks, plans):
        for c in m.component_objects(pyo.Var, descend_into=True):
            name = c.local_name
            start.extend((v, plan.get((name, i))) for i, v in c.items())
    return start


def shared_values(ef) -> list[float]:
    """The first-stage decisions of the plan in ``ef`` (scenario 0's; equal in all when solved
    with the non-anticipativity rows)."""
    return [_clean(pyo.value(v)) for v in ef.first[0]]


def _clean(x: float | None) -> float:
    x = 0.0 if x is None else float(x)
    r = round(x)
    return float(r) if abs(x - r) < ROUND else x


def fix_shared(ef, values) -> None:
    """Fix the shared first stage at ``values`` (None: release it)."""
    for j in ef.J:
        if values is None:
            ef.shared[j].unfix()
        else:
            ef.shared[j].fix(values[j])


def solve_wait_and_see(ef, time_limit=None, mip_gap=None) -> SolveInfo:
    """Solve ``ef`` without its non-anticipativity rows (every scenario with perfect information,
    its first-stage copies integer again), then put them back."""
    ef.nonant.deactivate()
    ef.shared.fix(0.0)  # no row uses it: keep it out of the solve
    _copies_integer(ef, True)
    try:
        return solve_extensive(ef, time_limit, mip_gap)
    finally:
        _copies_integer(ef, False)
        ef.shared.unfix()
        ef.nonant.activate()


def scenario_objectives(ef) -> list[float]:
    """Each scenario's weighted objective at the plan in ``ef``."""
    return [pyo.value(m.weighted_objective) for m in ef.blocks]


def first_stage_of(m, d, periods: int) -> tuple[list, list[float]]:
    """``(keys, values)`` of the first stage of an ordinary solved model ``m`` of instance ``d``."""
    fs = first_stage(m, d, periods)
    return [k for k, _ in fs], [_clean(pyo.value(v)) for _, v in fs]


def fix_first_stage(m, d, periods: int, keys: list, values: list[float]) -> None:
    """Fix the first-stage decisions of an ordinary model ``m`` at ``values`` (keyed by ``keys``,
    as :func:`first_stage_of` returns them)."""
    fs = first_stage(m, d, periods)
    if [k for k, _ in fs] != list(keys):  # pragma: no cover - scenarios scale series only
        raise InputError("uncertainty", "the scenario's first-stage decisions differ from the plan's")
    for (_, v), x in zip(fs, values):
        v.fix(x)


class ScenarioSolver(Resolver):
    """One scenario at a time with the first stage fixed at ``values`` (None: free, wait and see):
    one live model re-solved for each scenario through the batch machinery
    (:class:`planner.solver.persistent.Resolver`: the scenario's parameters pushed into the same
    HiGHS object, which restarts from its last basis; a scenario of another structure is built
    anew). The recourse is relaxed unless ``integer_recourse`` (with a fixed first stage the
    model is then an LP). :meth:`solve` returns ``(objective, crisis + unsheltered
    person-nights)`` or None when the first stage is infeasible in the scenario; with ``keep``
    the scenario's whole plan (:func:`var_values`) is in ``last_plan`` afterwards (a MIP start)."""

    def __init__(self, periods: int, keys, values=None, integer_recourse: bool = False, time_limit=None, mip_gap=None, keep: bool = False):
        super().__init__({}, {"time_limit": time_limit, "mip_gap": mip_gap})
        quiet_relaxed()
        self.periods, self.keys, self.values, self.integer_recourse = periods, keys, values, integer_recourse
        self._data, self.keep, self.last_plan = None, keep, None

    def _install(self, m, sig) -> None:
        if self.values is not None:
            fix_first_stage(m, self._data, self.periods, self.keys, self.values)
        if not self.integer_recourse:
            relax_recourse(m, self._data, self.periods, fixed_too=True)
        super()._install(m, sig)

    def _extract(self, m, d, info, mode, timings, objective_values=False) -> Outcome:
        self.last_plan = var_values(m) if self.keep else None
        return Outcome(info.status, kpis={"objective": pyo.value(m.weighted_objective), "risk": pyo.value(risk_measure(m))})

    def solve(self, sc) -> tuple[float, float] | None:
        check_before_build(sc.data)
        self._data = sc.data
        timings = dict.fromkeys(("validate_seconds", "params_seconds", "build_seconds", "solve_seconds", "extract_seconds"), 0.0)
        try:
            out = self._solve_persistent(sc.data, timings)
        except InfeasibleError:
            return None
        return out.kpis["objective"], out.kpis["risk"]
