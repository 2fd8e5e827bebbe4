"""The status quo of nl-2022 reproduces the letter (shared/seed/kamerbrief-migratieketen-2022-07-01.txt).

`planner simulate instances/nl-2022.yaml` follows the instance's rules (production at capacity,
planned hires, housing at the municipal pace, no measures, and reception that reacts: emergency
sites opened with their lead time and within the pace limits when occupancy exceeds the places at
the norm, then crisis shelter). Each test cites the letter's line; the tolerances are the ones
the project set for calibration.
"""

from pathlib import Path

import pytest

from planner.check.evaluate import evaluate_run

NL = Path(__file__).parents[1] / "instances" / "nl-2022.yaml"


@pytest.fixture(scope="module")
def status_quo(nl2022_status_quo):
    return nl2022_status_quo


def _by(table, key, value):
    return table[table[key] == value].set_index("period")


def test_spoor4_production_and_stock_2022(status_quo):
    """L337-L347: maximum production 22,000 in 2022; 18,000 + 31,300 - 22,000 = 27,300 at the end.

    The inflow column counts the returns too (failed Dublin transfers, annulled appeals), which
    the instance's series nets out of the letter's 31,300 (footnote 4, L427-L431) at the status
    quo's decisions; those decisions are the rules' up to ties of the stages' LPs, which move the
    returns of 2022 by fractions of a case (0.44 in all with the 30-month tail): the letter's
    figure is held to half a case."""
    s4 = _by(status_quo.tables["ind_cases"], "case_type", "spoor4")
    assert s4.loc["2022-01":"2022-12"].inflow.sum() == pytest.approx(31_300, abs=0.5)
    assert s4.loc["2022-01":"2022-12"].decided_internal.sum() == pytest.approx(22_000, rel=0.01)
    assert s4.loc["2022-12", "stock"] == pytest.approx(27_300, rel=0.01)


def test_coa_occupancy_week_16(status_quo):
    """L770-L772: week 16 of 2022: 38,880 = 13,580 permit holders + 25,300 in the asylum process
    (week 16 ends on 24 April: the end of April is the nearest month end)."""
    rec = status_quo.tables["reception"].set_index("period")
    april = rec.loc["2022-04"]
    assert april.occupancy == pytest.approx(38_880, rel=0.05)
    assert april.permit_holders == pytest.approx(13_580, rel=0.05)
    assert april.occupancy - april.permit_holders == pytest.approx(25_300, rel=0.05)


def test_occupancy_and_places_end_2022(status_quo):
    """L782-L786: end occupancy 2022 'ruim 46.000', which needs 'ruim 51.000' places."""
    dec = status_quo.tables["reception"].set_index("period").loc["2022-12"]
    assert dec.occupancy == pytest.approx(46_000, rel=0.05)
    assert dec.places_needed == pytest.approx(51_000, rel=0.05)


def test_everyone_sheltered_end_2022(status_quo):
    """L782-L786: the 46,000 residents at the end of 2022 are given a place ('iedereen met recht op
    opvang een opvangplek'): the reacting status quo leaves fewer than 1 % of them unsheltered,
    with crisis shelter within its capacity and places opened within the pace limits."""
    dec = status_quo.tables["reception"].set_index("period").loc["2022-12"]
    assert dec.unsheltered < 0.01 * 46_000
    d = status_quo.data
    assert dec.crisis <= sum(d.s(f"regions.{r}.crisis_capacity")[11] for r in d.instance.regions) + 1e-6
    locs = status_quo.tables["locations"]
    opened = locs[locs.opened]
    assert set(opened.type) <= set(d.instance.reception.status_quo_location_types)
    per_month = opened.groupby("open_from").places.sum()
    assert (per_month <= d.instance.reception.max_new_places + 1e-6).all()


def test_status_quo_recounts_clean(status_quo, tmp_path):
    """planner evaluate agrees with the status quo and finds no violated constraint (pace limits,
    extensions, lead times, minimum terms included)."""
    comparison, violations, ok = evaluate_run(status_quo.write(tmp_path / "sq"))
    assert violations == []
    assert ok, comparison[~comparison.agree].to_string()


def test_permit_holders_mid_2022(status_quo):
    """L841: 14,000 permit holders in COA now (the letter is of 1 July 2022)."""
    june = status_quo.tables["reception"].set_index("period").loc["2022-06"]
    assert june.permit_holders == pytest.approx(14_000, rel=0.05)


def test_nareis_follows_90_percent_of_grants(status_quo):
    """L449: 90% of grants are followed by a nareis application, after the instance's lag."""
    d = status_quo.data
    fo = d.instance.case_types["nareis"].follow_on
    lag = d.follow_on_lag("nareis")
    ind = status_quo.tables["ind_cases"]
    grants = sum(
        (_by(ind, "case_type", k).decided_internal + _by(ind, "case_type", k).decided_outsourced)
        * d.instance.case_types[k].grant_share
        for k in fo.source_types
    )
    nareis = _by(ind, "case_type", "nareis").inflow
    base = d.s("case_types.nareis.inflow")
    assert fo.share_of_grants == 0.9
    for t in range(lag, d.horizon_T):
        assert nareis.iloc[t] - base[t] == pytest.approx(0.9 * grants.iloc[t - lag], rel=1e-9)


def test_quota_realisation_reported(status_quo):
    """L813-L823: quota 10,000 + 3,750 backlog in H1 2022, 13,500 in H2 2022; realisation reported."""
    q = status_quo.kpis["quota_realisation"]
    assert q["2022-H1"]["quota"] == 13_750 and q["2022-H2"]["quota"] == 13_500
    assert 0 < q["2022-H1"]["realisation"] < 1  # the pace was not met (L823-L831)
    housed_h1 = status_quo.tables["placement"].query("period <= '2022-06'").housed_regular.sum()
    assert q["2022-H1"]["housed"] == pytest.approx(housed_h1)


def test_nidos_wards_march_2022(status_quo):
    """L673-L677: 4,210 wards in March 2022 against a forecast average of 3,092."""
    chain = status_quo.tables["chain"]
    wards = chain[(chain.partner == "Nidos") & (chain.measure == "wards")].set_index("period").value
    assert wards.loc["2022-03"] == pytest.approx(4_210, rel=0.05)
    forecast = chain[(chain.partner == "Nidos") & (chain.measure == "forecast_average")].value
    assert forecast.iloc[0] == 3_092
