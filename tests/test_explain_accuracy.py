"""planner explain's accuracy rule: each row's objective difference is known to ACCURACY (5 %) of
itself or to the plan's own MIP gap, with its proven lower bound in ``objective_bound``.

Derived by hand: the rule on numbers, and a tiny instance whose LP relaxation opens a tenth of a
site, so a row's bound lies strictly below its plan.
"""

import pytest
from conftest import plan_of, tiny

from planner.outputs.explainreport import sentence
from planner.studies.explain import ACCURACY, note_of, tolerance


def test_tolerance():
    """[100, 104]: 5 % of 100 = 5; [-110, -100] (a saving): 5 % of the smaller size, 5; ends of
    opposite sign, or 5 % below the floor: the floor."""
    assert ACCURACY == 0.05
    assert tolerance(100, 104, 1) == pytest.approx(5)
    assert tolerance(-110, -100, 1) == pytest.approx(5)
    assert tolerance(-3, 2, 1) == 1
    assert tolerance(10, 11, 1) == 1


def test_note_says_the_bound_or_flags_the_row():
    """Floor 1: [100, 104] is known to 4 <= 5: no note. [100, 110]: 10 > 5: flagged with both
    numbers. [-0.5, 0.2]: within the floor: no measurable difference."""
    assert note_of({"objective_bound": 100.0, "objective": 104.0}, {}, 1.0) == ""
    flagged = note_of({"objective_bound": 100.0, "objective": 110.0}, {}, 1.0)
    assert flagged == "not known to 5%: the objective difference lies between 100.0 and 110.0 (solver stopped at a limit)"
    assert note_of({"objective_bound": -0.5, "objective": 0.2}, {}, 1.0) == "no measurable difference: within +-1 objective units, the plan's own MIP gap"
    row = {"what": "without opening C: 100 places, 2024-01", "status": "time_limit_feasible", "objective_bound": 100.0, "objective": 110.0,
           "unsheltered_person_nights": 3.0, "note": flagged}
    assert sentence(row) == "Without opening C: 100 places, 2024-01: +3 unsheltered person-nights. (" + flagged + ".)"


def fractional_instance() -> dict:
    """60 persons of another group in COA every month, norm 1, 4 months (31, 29, 31, 30 nights);
    existing site E, 50 places, all horizon; candidate C, 100 places, no lead time, no minimum
    term; places EUR 10 a month (120 a year); cost weight 1 per EUR (1e6 per million), so costs
    show in the objective; unsheltered 1,000 a person-night.

    The plan opens C in month 0 (10 persons without it: 10 x 31 x 1,000 a month against C's
    EUR 1,000): cost E 2,000 + C 4,000 = objective 6,000. Its LP relaxation opens a tenth of C
    (10 places): 2,000 + 400."""
    return tiny(
        reception={"occupancy_norm": 1, "other_groups": {"g": 60}},
        location_types={"t": {"eur_per_place_year": 120}},
        locations={"E": {"region": "A", "type": "t", "places": 50, "status": "existing"},
                   "C": {"region": "A", "type": "t", "places": 100, "status": "candidate"}},
        objective={"cost_per_million_eur": 1e6},
        explain={"housing_regions": 0},
    )


@pytest.fixture(scope="module")
def fractional_plan():
    from planner.studies.explain import explain_plan

    plan = plan_of(fractional_instance())
    assert plan.kpis["objective"] == pytest.approx(6000, abs=0.6) and plan.kpis["unsheltered_person_nights"] == 0
    plan.explain_out = explain_plan(plan, workers=1)
    return plan


def test_bound_below_the_plan(fractional_plan):
    """C withheld in months 0-2: 10 unsheltered, 10 x (31 + 29 + 31) = 910 person-nights
    (910,000), C from month 3 (EUR 1,000): objective 913,000, +907,000 against the plan, cost
    -EUR 3,000. The LP relaxation opens a tenth of C in month 3 (EUR 100): bound 912,100, so
    objective_bound +906,100; 907,000 - 906,100 = 900 <= 5 % of 906,100: accurate, no note."""
    e = fractional_plan.tables["explanations"]
    row = e[e.decision == "open_location"].iloc[0].to_dict()
    assert row["item"] == "C" and row["status"] == "optimal" and row["note"] == ""
    assert row["unsheltered_person_nights"] == pytest.approx(910)
    assert row["cost_eur"] == pytest.approx(-3000)
    assert row["objective"] == pytest.approx(907_000, abs=1e-3)
    assert row["objective_bound"] == pytest.approx(906_100, abs=1e-3)
    for c in ("overdue_person_months", "waiting_person_months", "crisis_person_nights", "permit_holder_months_over_norm"):
        assert row[c] == pytest.approx(0, abs=1e-6)


def test_no_difference_proven_by_the_full_mip(fractional_plan):
    """One more FTE in pool p (no cases, no salary) changes nothing: objective 0. The LP bound
    alone (2,400 - 6,000 = -3,600) does not show that to the floor (1e-4 x 6,000 = 0.6), so the
    full MIP proves it: objective_bound within 0.6 of 0, note 'no measurable difference'. (The
    plan's own bound does not apply: one more FTE relaxes the plan's problem.)"""
    s = fractional_plan.tables["sensitivities"]
    row = s[s.resource == "fte"].iloc[0].to_dict()
    assert row["status"] == "optimal"
    assert row["objective"] == pytest.approx(0, abs=0.6) and row["cost_eur"] == pytest.approx(0, abs=0.6)
    assert -0.6 - 1e-9 <= row["objective_bound"] <= row["objective"] + 1e-9
    assert row["note"] == "no measurable difference: within +-0.6 objective units, the plan's own MIP gap"
    settled = {(kind, item): method for _g, kind, item, _s, _st, method, _sw in fractional_plan.explain_out["task_seconds"]}
    assert settled[("fte", "p")] == "full"
    assert sentence(row) == "1 more FTE in p from the start: no measurable difference (an alternative does as well, to within the plan's own optimality gap)."


def twin_fractional_instance() -> dict:
    """The fractional instance with a twin of C: candidate D (100 places, same type and region).

    The plan opens one of C and D, X, in month 0 (they tie: HiGHS's choice): objective 6,000 as
    above, proven optimal (gap 0), so the plan's bound is 6,000. X withheld in months 0-2: Y
    (the twin) opened in month 0 instead is the same plan, objective difference 0. The row's LP
    relaxation opens a tenth of Y (E 2,000 + 400): 2,400, difference -3,600."""
    raw = fractional_instance()
    raw["locations"]["D"] = {"region": "A", "type": "t", "places": 100, "status": "candidate"}
    raw["explain"] = {"housing_regions": 0, "decisions": ["open_location"]}
    return raw


@pytest.mark.parametrize("with_bound", [True, False])
def test_the_plans_bound_settles_a_withheld_site_by_its_swap(monkeypatch, with_bound):
    """X withheld: the swap (Y in X's place) gives difference 0. Against the LP bound (-3,600) that
    is not within the floor (1e-4 x 6,000 = 0.6): the restricted MIP finds 0 again without a
    better bound, so the full MIP proves it ('full'). Withholding only restricts the plan's
    problem, so its optimum is at least the plan's proven bound, 6,000 - (0 + 1e-9) x 6,000 -
    1e-6 = 6,000 - 7e-6: the swap is within the floor of that, settled by it ('swap', Y),
    objective_bound -7e-6."""
    from planner.studies import explain

    if not with_bound:
        monkeypatch.setattr(explain, "plan_bound_of", lambda kpis: None)
    plan = plan_of(twin_fractional_instance())
    assert plan.kpis["objective"] == pytest.approx(6000, abs=1e-6) and plan.kpis["mip_gap"] == 0
    x = next(name for name in ("C", "D") if plan.model.serve[name, 0].value > 0.5)
    y = "D" if x == "C" else "C"
    out = explain.explain_plan(plan, workers=1)
    row = plan.tables["explanations"].iloc[0].to_dict()
    assert row["item"] == x and row["objective"] == pytest.approx(0, abs=1e-6) and row["cost_eur"] == pytest.approx(0, abs=1e-6)
    settled = {item: (method, swap) for _g, _k, item, _s, _st, method, swap in out["task_seconds"]}
    if with_bound:
        assert settled[x] == ("swap", y)
        assert row["objective_bound"] == pytest.approx(-7e-6, abs=1e-9)
    else:
        assert settled[x] == ("full", "")
        assert -0.6 - 1e-9 <= row["objective_bound"] <= 1e-6


def test_plan_bound_of():
    """Objective 6,000 at gap 1e-4: 6,000 - (1e-4 + 1e-9) x 6,000 - 1e-6 = 5,999.399993. No gap,
    or a plan --polish-cost changed after the gap was proved: no bound."""
    from planner.studies.explain import plan_bound_of

    assert plan_bound_of({"objective": 6000.0, "mip_gap": 1e-4}) == pytest.approx(5999.399993, abs=1e-9)
    assert plan_bound_of({"objective": 6000.0}) is None
    assert plan_bound_of({"objective": 6000.0, "mip_gap": 0.0, "cost_polish": {}}) is None


def test_only_narrowed_bounds_restrict():
    """Columns 0 and 1 in [0, 1] and [0, 10]: fixing 0 at 0 and capping 1 at 5 narrows (a
    restriction of the plan's problem); raising 1's upper bound to 20 widens (a relaxation: the
    plan's bound says nothing of it)."""
    import numpy as np

    from planner.studies.explain import _narrows

    saved = (np.array([0, 1], dtype=np.int32), np.array([0.0, 0.0]), np.array([1.0, 10.0]))
    assert _narrows(saved, {0: (0.0, 0.0), 1: (0.0, 5.0)})
    assert not _narrows(saved, {0: (0.0, 0.0), 1: (0.0, 20.0)})
    assert _narrows(None, {})


def test_the_restricted_mip_stops_at_the_first_plan_that_settles_the_row(monkeypatch):
    """The twin instance's withheld X without its swaps: the restricted MIP runs (Y's binaries
    free: the LP opens a tenth of Y). Told the row's optimum is at least +1,000 (a bound as if
    proven), its target is 1,000 + 5 % x 1,000 = +1,050 above the plan: the first plan HiGHS has
    (the start, X's binaries closed: 10 unsheltered in months 0-2, +907,000) is above it; Y
    opened in month 0 (difference 0) is below it, so HiGHS stops there, at its objective target
    (explain_stop 'target'), status optimal, no warning, and the row is settled by the restricted
    MIP. (HiGHS's presolve is off: with it, this tiny MIP is solved to optimality before the
    first plan is checked against the target.) With the plan's real bound (-7e-6) the target is
    0.6 above the bound: HiGHS closes its gap first or stops at the target (either settles the
    row: restricted)."""
    from dataclasses import replace

    from planner.solver.highs import HIGHS_OPTIONS
    from planner.studies.explain import ExplainResolver, build_tasks, plain_instance, plan_bound_of, plan_start

    plan = plan_of(twin_fractional_instance())
    monkeypatch.setitem(HIGHS_OPTIONS, "presolve", "off")
    start = plan_start(plan.model)
    _, expl = build_tasks(plan.data, plan.tables, plan.kpis, start)
    task = replace(expl[0], swaps=[])
    ref = plan.kpis["objective"]
    for bound, stops in ((ref + 1000, ("target",)), (plan_bound_of(plan.kpis), ("target", "gap"))):
        r = ExplainResolver(plain_instance(plan.data), {}, start, ref, bound)
        out = r.run_task(task)
        assert out.status == "optimal" and not out.kpis.get("warnings"), out.kpis.get("warnings")
        assert out.kpis["objective"] - ref == pytest.approx(0, abs=1e-6)
        assert r.last["explain_method"] == "restricted" and r.last["explain_stop"] in stops
