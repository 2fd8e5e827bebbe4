"""Reception at a real pace: places first used per period within national and regional limits,
extensions of temporary sites as a capped decision of limited length, closures that cannot be
undone, and the status quo that reacts to occupancy (planner/model/reception.py,
planner/check/simulate.py, planner/check/recount/reception.py).

Every trajectory below is derived by hand in its test's docstring; each run is also recounted by
``planner evaluate`` (the independent recount), and each new recount check is fed a broken run.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import plan_of, tiny

from planner.check.evaluate import evaluate_run
from planner.check.simulate import react, simulate
from planner.instance.loading import validate_dict


def _pace_instance(national=None, regional=None) -> dict:
    """4 months from 2024-01, norm 1, one occupancy group g = 0, 300, 300, 300. Three candidates
    a, b, c of 100 places in region A, type t: lead 1 month, no cost. Crisis capacity 1,000 in A."""
    raw = tiny(
        regions={"A": {"population": 1, "crisis_capacity": 1000}},
        location_types={"t": {"eur_per_place_year": 0, "lead_months": 1}},
        locations={l: {"region": "A", "type": "t", "places": 100, "status": "candidate"} for l in "abc"},
        reception={"occupancy_norm": 1, "other_groups": {"g": [0, 300, 300, 300]}},
    )
    if national is not None:
        raw["reception"]["max_new_places"] = national
    if regional is not None:
        raw["regions"]["A"]["max_new_places"] = regional
    return raw


def _check_recount(plan, folder):
    """The run folder recounts without a violation and with every KPI and table equal."""
    comparison, violations, ok = evaluate_run(plan.write(folder))
    assert violations == []
    assert ok, comparison[~comparison.agree].to_string()
    return folder


@pytest.mark.parametrize("where", ["national", "regional"])
def test_pace_limit_binding(where, tmp_path):
    """300 places are needed from February (period 1); the sites have a lead time of one month
    (first use from period 1 at the earliest) and at most 100 places may be first used a month.

    Without the limit all three sites serve from February: no crisis. With it one site a month:
    places 0, 100, 200, 300; crisis 0, 200, 100, 0 (capacity 1,000); no unsheltered. Crisis
    person-nights: 200 x 29 (February 2024) + 100 x 31 (March) = 8,900. The limit binds in the
    same way nationally and for the region (all sites are in A).
    """
    free = plan_of(_pace_instance())
    assert free.tables["reception"].crisis.sum() == pytest.approx(0, abs=1e-6)
    raw = _pace_instance(**{where: 100})
    plan = plan_of(raw)
    rec = plan.tables["reception"]
    assert rec.places_open.tolist() == pytest.approx([0, 100, 200, 300], abs=1e-6)
    assert rec.crisis.tolist() == pytest.approx([0, 200, 100, 0], abs=1e-6)
    assert rec.unsheltered.sum() == pytest.approx(0, abs=1e-6)
    assert plan.kpis["crisis_person_nights"] == pytest.approx(8_900)
    locs = plan.tables["locations"]
    assert sorted(locs.open_from) == ["2024-02", "2024-03", "2024-04"]
    assert sorted(locs.decided) == ["2024-01", "2024-02", "2024-03"]
    _check_recount(plan, tmp_path / "run")


def test_recount_flags_a_broken_pace(tmp_path):
    """The paced run with all three sites moved to first use in February: 300 places first used
    in 2024-02 against limits of 100, national and regional; the recount names both."""
    raw = _pace_instance(national=100, regional=100)
    folder = plan_of(raw).write(tmp_path / "run")
    locs = pd.read_csv(folder / "locations.csv")
    locs["open_from"] = "2024-02"
    locs["decided"] = "2024-01"
    locs.to_csv(folder / "locations.csv", index=False)
    _, violations, ok = evaluate_run(folder)
    assert not ok
    assert any("places first used in 2024-02 (reception.max_new_places): 300 exceeds 100" in v for v in violations), violations
    assert any("places first used in 2024-02 in region A (regions.A.max_new_places): 300 exceeds 100" in v for v in violations)


def _extension_instance(cap=1, months=1) -> dict:
    """4 months from 2024-01, norm 1, occupancy 100 every month, no crisis capacity. Existing
    temporary sites a (100 places) and b (60 places), type t, both planned to close after 2024-02;
    an extension costs EUR 1,000 a place and lasts ``months``; at most ``cap`` extensions."""
    site = {"region": "A", "type": "t", "status": "existing", "open_until": "2024-02"}
    t = {"eur_per_place_year": 0, "keep_open_eur_per_place": 1000}
    if months is not None:
        t["extension_months"] = months
    return tiny(
        location_types={"t": t},
        locations={"a": {**site, "places": 100}, "b": {**site, "places": 60}},
        reception={"occupancy_norm": 1, "max_extensions": cap, "other_groups": {"g": 100}},
    )


def test_extension_decision(tmp_path):
    """Both sites close after February; one extension of one month may be decided.

    Extending a (100 places) houses everyone in March, extending b (60) leaves 40 unsheltered, so
    a is extended: places 160, 160, 100, 0; in April nobody has a place: 100 unsheltered x 30
    nights = 3,000 person-nights. The extension costs 100 places x EUR 1,000 = EUR 100,000, paid
    in March (the first month past the planned close). The site's row: kept open until 2024-03.
    """
    plan = plan_of(_extension_instance())
    rec = plan.tables["reception"]
    assert rec.places_open.tolist() == pytest.approx([160, 160, 100, 0], abs=1e-6)
    assert rec.unsheltered.tolist() == pytest.approx([0, 0, 0, 100], abs=1e-6)
    assert plan.kpis["unsheltered_person_nights"] == pytest.approx(3_000)
    costs = plan.tables["costs"]
    keep = costs[costs.component == "locations_keep_open"].set_index("period").eur
    assert keep.tolist() == pytest.approx([0, 0, 100_000, 0])
    locs = plan.tables["locations"].set_index("location")
    assert bool(locs.loc["a", "kept_open"]) and not bool(locs.loc["b", "kept_open"])
    assert locs.loc["a", "open_until"] == "2024-03" and locs.loc["b", "open_until"] == "2024-02"
    _check_recount(plan, tmp_path / "run")


def test_extension_without_a_length_lasts_to_the_end():
    """extension_months absent: the extended site a stays open through April, nobody is unsheltered."""
    plan = plan_of(_extension_instance(months=None))
    assert plan.tables["reception"].places_open.tolist() == pytest.approx([160, 160, 100, 100], abs=1e-6)
    assert plan.kpis["unsheltered_person_nights"] == pytest.approx(0, abs=1e-6)


def test_recount_flags_broken_extensions(tmp_path):
    """The extension run altered: a kept open through April (its extension lasts one month, until
    March) and b kept open too (two extensions, the cap is 1)."""
    folder = plan_of(_extension_instance()).write(tmp_path / "run")
    locs = pd.read_csv(folder / "locations.csv")
    locs["open_until"] = "2024-04"
    locs["kept_open"] = True
    locs.to_csv(folder / "locations.csv", index=False)
    _, violations, ok = evaluate_run(folder)
    assert not ok
    assert "location a: kept open until 2024-04; an extension lasts 1 months, until 2024-03" in violations
    assert any("locations kept open past their planned close (reception.max_extensions): 2 exceeds 1" in v for v in violations)


def test_closed_site_cannot_reopen():
    """A candidate c of 100 places (lead 0, minimum term one month, EUR 12,000 a place-year, i.e.
    EUR 100,000 a month) is needed in January and April only (occupancy 100, 0, 0, 100; no crisis
    capacity, unsheltered weighs 1,000 a night). Closing it in February and opening it again in
    April would save two months' running; a site opens once and serves one unbroken run, so the
    plan keeps it open through the gap and pays 4 x EUR 100,000."""
    raw = tiny(
        location_types={"t": {"eur_per_place_year": 12000}},
        locations={"c": {"region": "A", "type": "t", "places": 100, "status": "candidate"}},
        reception={"other_groups": {"g": [100, 0, 0, 100]}},
    )
    plan = plan_of(raw)
    assert plan.tables["reception"].places_open.tolist() == pytest.approx([100, 100, 100, 100])
    assert plan.kpis["unsheltered_person_nights"] == pytest.approx(0, abs=1e-6)
    assert plan.kpis["cost_by_component"]["locations_running"] == pytest.approx(400_000)


def _reactive_instance() -> dict:
    """5 months from 2024-01, norm 1, occupancy g = 100, 200, 400, 400, 400; an existing site of
    100 places open throughout. Candidates, in instance order: s1, s2 (type e, opening EUR 20 a
    place), s3 (type e2, opening EUR 10 a place), all 100 places with lead 1 month; reg (type r,
    lead 0, 500 places) that the status quo may not use. At most 100 places first used a month
    nationally. Crisis capacity 30 at EUR 100 a person-night."""
    e = {"eur_per_place_year": 0, "lead_months": 1}
    cand = {"region": "A", "places": 100, "status": "candidate"}
    return tiny(
        horizon={"periods": 5},
        regions={"A": {"population": 1, "crisis_capacity": 30}},
        location_types={"e": {**e, "opening_eur_per_place": 20}, "e2": {**e, "opening_eur_per_place": 10}, "r": {"eur_per_place_year": 0}},
        locations={
            "old": {"region": "A", "type": "e", "places": 100, "status": "existing"},
            "s1": {**cand, "type": "e"},
            "s2": {**cand, "type": "e"},
            "s3": {**cand, "type": "e2"},
            "reg": {**cand, "type": "r", "places": 500},
        },
        reception={"occupancy_norm": 1, "crisis_eur_per_person_night": 100, "max_new_places": 100,
                   "status_quo_location_types": ["e", "e2"], "other_groups": {"g": [100, 200, 400, 400, 400]}},
    )


def test_reactive_status_quo(tmp_path):
    """The rule, month by month (tau: month of the decision, s = tau + 1: first use; order s3
    (EUR 10 a place), then s1, s2 (EUR 20, instance order); reg is not a status-quo type):

    * tau 0: occupancy 100 <= places in s=1 (100): nothing;
    * tau 1: 200 > 100 in s=2: s3 opens for March; then 200 <= 200: stop;
    * tau 2: 400 > 200 in s=3: s1 opens for April; 400 > 300 still, but s2 would put 200 places
      first used in April against the pace of 100: skipped;
    * tau 3: 400 > 300 in s=4: s2 opens for May;
    * tau 4: s = 5 is past the horizon.

    Places 100, 100, 200, 300, 400 against occupancy 100, 200, 400, 400, 400: short 0, 100, 200,
    100, 0; crisis (capacity 30) 0, 30, 30, 30, 0; unsheltered 0, 70, 170, 70, 0.
    Crisis cost 30 x EUR 100 x (29 + 31 + 30 nights) = EUR 270,000; opening s3 EUR 1,000 (March),
    s1 and s2 EUR 2,000 each (April, May).
    """
    d = validate_dict(_reactive_instance())
    assert react(d, [100, 200, 400, 400, 400]) == {"s3": 2, "s1": 3, "s2": 4}
    plan = simulate(d)
    rec = plan.tables["reception"]
    assert rec.places_open.tolist() == pytest.approx([100, 100, 200, 300, 400], abs=1e-6)
    assert rec.crisis.tolist() == pytest.approx([0, 30, 30, 30, 0], abs=1e-6)
    assert rec.unsheltered.tolist() == pytest.approx([0, 70, 170, 70, 0], abs=1e-6)
    cost = plan.kpis["cost_by_component"]
    assert cost["crisis_shelter"] == pytest.approx(270_000)
    assert cost["locations_opening"] == pytest.approx(5_000)
    locs = plan.tables["locations"].set_index("location")
    assert locs.loc[["s3", "s1", "s2"], "open_from"].tolist() == ["2024-03", "2024-04", "2024-05"]
    assert locs.loc[["s3", "s1", "s2"], "decided"].tolist() == ["2024-02", "2024-03", "2024-04"]
    assert not locs.loc["reg", "opened"]
    _check_recount(plan, tmp_path / "run")


def test_status_quo_without_types_opens_nothing():
    """No status_quo_location_types: the status quo opens no site (places 100 throughout)."""
    raw = _reactive_instance()
    raw["reception"]["status_quo_location_types"] = []
    plan = simulate(validate_dict(raw))
    assert plan.tables["reception"].places_open.tolist() == pytest.approx([100] * 5)
    assert plan.kpis["locations_opened"] == 0
