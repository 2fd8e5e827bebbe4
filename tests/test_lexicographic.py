"""The lexicographic solve's shortcuts (weighted start, stages at their bound held without a solve,
MIP starts) give the plan of the plain stage sequence, and its hold rows are as tight as
planner.solver.solve.hold_rhs documents."""

import importlib

import pyomo.environ as pyo
import pytest
from conftest import tiny
from test_objective import _tradeoff_instance

from planner.instance.loading import validate_dict
from planner.model import build_model, cases, reception
from planner.solver.highs import SolveInfo

solve_mod = importlib.import_module("planner.solver.solve")  # the module (planner.solver.solve is also the function)


def _solve(raw, warm: bool, monkeypatch=None):
    """Solve ``raw`` lexicographically (warm or plain); returns the model, info and the objectives
    HiGHS was called with, in order."""
    d = validate_dict(raw)
    m = build_model(d)
    calls = []
    real_run = solve_mod.run_highs

    def run(opt, m, time_limit, mip_gap, info, solver_options=None):
        calls.append(next(o.name for o in m.component_data_objects(pyo.Objective, active=True)))
        return real_run(opt, m, time_limit, mip_gap, info, solver_options)

    monkeypatch.setattr(solve_mod, "run_highs", run)
    info = SolveInfo()
    solve_mod.solve_lexicographic(solve_mod._StartedHighs(), m, None, None, info, warm=warm)
    monkeypatch.setattr(solve_mod, "run_highs", real_run)
    return m, d, info, calls


def test_warm_start_and_skipped_stage_give_the_plain_plan(monkeypatch):
    """test_objective._tradeoff_instance, solved both ways.

    Plain: four MIPs, unsheltered, crisis, overruns, cost (test_objective derives the plan: the
    candidate serves all 4 months, EUR 2 million, crisis 0; the last 0.5 million outsources 1 case
    in period 2: overdue 0, 0, 4, 9 = 13 case-months; cost 4 + 2 + 0.5 = EUR 6.5 million).

    Warm: the weighted start spends the 2.5 million on 5 cases in period 2 (overdue 0, 0, 0, 5;
    crisis 10 persons every month). Nobody is unsheltered in it (30 + 0 persons, 20 places and 10
    crisis places), and unsheltered person-nights are a sum of nonnegative terms, so the stage is
    at its bound 0: held at 0 + 1e-6 with no solve. Crisis (1,210 person-nights > 0), overruns and
    cost are solved, each from the plan in hand, and end where the plain sequence ends: the
    stages' optima do not depend on where the search starts. So the calls are the weighted
    objective, then crisis, overruns, cost, and the plan is the plain one."""
    plain_m, d, plain, plain_calls = _solve(_tradeoff_instance(), warm=False, monkeypatch=monkeypatch)
    warm_m, _, warm, warm_calls = _solve(_tradeoff_instance(), warm=True, monkeypatch=monkeypatch)

    assert plain_calls == [f"lex_objective_{s}" for s in ("unsheltered", "crisis", "overruns", "cost")]
    assert warm_calls == ["weighted_objective", "lex_objective_crisis", "lex_objective_overruns", "lex_objective_cost"]
    assert warm.stage_seconds["unsheltered"] == 0.0 and "weighted_start" in warm.stage_seconds

    for m in (plain_m, warm_m):
        assert reception.table(m, d).crisis.sum() == pytest.approx(0, abs=1e-6)
        assert cases.table(m, d).overdue.tolist() == pytest.approx([0, 0, 4, 9], abs=1e-5)
        assert cases.table(m, d).decided_outsourced.tolist() == pytest.approx([0, 0, 1, 0], abs=1e-5)
        assert pyo.value(m.total_cost) == pytest.approx(6.5, rel=1e-6)  # million EUR
    for stage in ("unsheltered", "crisis", "overruns", "cost"):
        assert warm.stage_values[stage] == pytest.approx(plain.stage_values[stage], rel=1e-6, abs=1e-6)
    assert warm.status == plain.status == "optimal"


def test_nothing_to_do_is_held_without_a_solve(monkeypatch):
    """conftest.tiny with nobody in reception and no cases: every stage expression is 0 at the
    weighted start, their lower bound, so only the weighted start calls HiGHS."""
    m, _, info, calls = _solve(tiny(), warm=True, monkeypatch=monkeypatch)
    assert calls == ["weighted_objective"]
    assert info.status == "optimal" and all(v == pytest.approx(0, abs=1e-9) for v in info.stage_values.values())
    assert m.component("lex_hold") is None and m.weighted_objective.active


def test_hold_rhs_is_as_documented():
    """The slack of a hold row: the stage's gap clamped to [LEX_REL_TOL, LEX_STAGE_GAP] of the
    value, plus LEX_ABS_TOL. Loosening a constant or the clamp fails here."""
    assert (solve_mod.LEX_REL_TOL, solve_mod.LEX_ABS_TOL, solve_mod.LEX_STAGE_GAP) == (1e-7, 1e-6, 1e-4)
    assert solve_mod.hold_rhs(13.0, 0.0) == pytest.approx(13 + 13e-7 + 1e-6, rel=0, abs=1e-12)
    assert solve_mod.hold_rhs(13.0, None) == pytest.approx(13 + 13e-7 + 1e-6, rel=0, abs=1e-12)
    assert solve_mod.hold_rhs(100.0, 5e-5) == pytest.approx(100.005 + 1e-6, rel=0, abs=1e-9)
    assert solve_mod.hold_rhs(100.0, 0.3) == pytest.approx(100.01 + 1e-6, rel=0, abs=1e-9)  # a stage stopped at a limit
    assert solve_mod.hold_rhs(0.0, 0.0) == pytest.approx(1e-6, rel=0, abs=1e-15)


def test_the_cost_stage_uses_no_more_slack_than_documented(monkeypatch):
    """In the trade-off instance the cost stage sits on the overruns hold: every case-month of
    overrun slack lets it outsource half a case less in period 2 (EUR 0.25 million), so it takes
    all the slack there is. The overruns stage is proven optimal at 13 (gap 0), so the slack is
    LEX_REL_TOL * 13 + LEX_ABS_TOL = 2.3e-6 weighted case-months: the final plan's overruns lie in
    [13, 13 + 2.3e-6] (plus HiGHS's primal feasibility tolerance, 1e-7). A slack of even 1e-6
    relative would let them reach 13.000014 and fail; the brief's 1e-4 would give 13.0013."""
    for warm in (False, True):
        m, _, info, _ = _solve(_tradeoff_instance(), warm=warm, monkeypatch=monkeypatch)
        assert info.stage_values["overruns"] == pytest.approx(13, abs=1e-7)
        final = pyo.value(m.stage_expr["overruns"])
        assert 13 - 1e-7 <= final <= solve_mod.hold_rhs(13.0, 0.0) + 1e-7
        assert pyo.value(m.crisis_person_nights) <= 1e-6 + 1e-7


def test_stage_gaps():
    """Every stage but the last at LEX_STAGE_GAP (or a smaller --mip-gap); the last at --mip-gap,
    default LEX_LAST_STAGE_GAP."""
    last = solve_mod.LEX_LAST_STAGE_GAP
    assert solve_mod.stage_gaps(None, 4) == [1e-4, 1e-4, 1e-4, last]
    assert solve_mod.stage_gaps(1e-6, 4) == [1e-6, 1e-6, 1e-6, 1e-6]
    assert solve_mod.stage_gaps(0.05, 3) == [1e-4, 1e-4, 0.05]
