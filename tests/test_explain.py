"""planner explain: sensitivities and withheld decisions on tiny instances, derived by hand.

Every row is KPI(re-solve) - KPI(plan); the columns: overdue_person_months,
waiting_person_months, crisis_person_nights, unsheltered_person_nights,
permit_holder_months_over_norm, cost_eur (the horizon's) and objective (weighted), then
objective_bound (the proven lower bound on the objective difference: on these instances the LP
relaxation of every re-solve has the MIP's optimum, so it equals objective) and note.
"""

import io
import json
import math

import pandas as pd
import pytest
from conftest import merge, plan_of, tiny

from planner.cli import main
from planner.outputs.explainreport import sentence
from planner.studies.explain import KPI_COLUMNS, explain_plan

COLS = list(KPI_COLUMNS)


def staff_instance(**over) -> dict:
    """Pool p: 1 FTE at the start, 1200 h/yr = 100 h a month, EUR 12,000/yr = EUR 1,000 a
    FTE-month, no training delay, at most 1 hire a month; external staff at most 1 FTE at EUR
    2,000 a month. Case x: 1,000 old cases (all overdue: deadline 1 month, nothing arrived in the
    month before), no inflow, 10 h a decision (10 decisions per FTE-month); outsourcing at most 5
    a month at EUR 100 a case. Weights: overdue case-month 1, waiting 0, cost 0.001 per EUR
    million. Horizon 4 months, the first 3 committed.

    The plan uses everything (a decision saves a case-month each remaining month, far more than
    its cost): hires 1 a month, productive 2, 3, 4, 5; external 1; outsourced 5; decisions 35, 45,
    55, 65; stock = overdue 965, 920, 865, 800: 3,550 case-months; cost 14 FTE-months x 1,000 +
    4 x 2,000 + 20 x 100 = EUR 24,000."""
    raw = tiny(
        case_types={"x": {"start_stock": 1000, "pre_horizon_inflow": [0], "deadline_months": 1, "outsourcing_capacity": 5, "outsourcing_eur_per_case": 100}},
        staff_pools={"p": {"start_fte": 1, "eur_per_fte_year": 12000, "max_hires": 1, "external_fte_max": 1, "external_eur_per_fte_year": 24000}},
        explain={"hires_months": 2, "housing_regions": 0},
    )
    return merge(raw, over)


def rows(frame, col, key) -> dict:
    got = frame[frame[col] == key]
    assert len(got) == 1, got
    return got.iloc[0].to_dict()


def expect(row: dict, overdue: float, cost: float, **other) -> None:
    """``overdue`` person-months (= waiting person-months here: every case is overdue) and
    ``cost`` EUR; the objective is overdue + 0.001 x cost / 1e6; other columns 0 unless given."""
    want = {c: 0.0 for c in COLS}
    want.update(overdue_person_months=overdue, waiting_person_months=overdue, cost_eur=cost, objective=overdue + 0.001 * cost / 1e6)
    want.update(other)
    want["objective_bound"] = want["objective"]
    for c in [*COLS, "objective_bound"]:
        assert row[c] == pytest.approx(want[c], abs=1e-5), (row["what"], c, row[c], want[c])
    assert row["status"] == "optimal" and row["note"] == ""


@pytest.fixture(scope="module")
def staff_frames():
    plan = plan_of(staff_instance())
    assert plan.kpis["overdue_person_months"] == pytest.approx(3550)
    assert plan.kpis["total_cost_eur"] == pytest.approx(24000)
    explain_plan(plan, workers=1)
    return plan


def test_one_more_fte(staff_frames):
    """start_fte 2: 10 more decisions in each of the 4 months, stock lower by 10, 20, 30, 40:
    -100 case-months; one more FTE paid 4 months: +EUR 4,000."""
    expect(rows(staff_frames.tables["sensitivities"], "resource", "fte"), -100, 4000)


def test_one_more_hire_a_month(staff_frames):
    """max_hires 2 in the first 2 months (explain.hires_months: 2): one more hire in month 0
    (productive in months 0-3: -10-20-30-40) and in month 1 (months 1-3: -10-20-30): -160;
    paid 4 + 3 FTE-months: +EUR 7,000."""
    expect(rows(staff_frames.tables["sensitivities"], "resource", "hires"), -160, 7000)


def test_one_more_external_fte(staff_frames):
    """external_fte_max 2 over the horizon: 10 more decisions a month, -100; 4 months at
    EUR 2,000: +EUR 8,000."""
    expect(rows(staff_frames.tables["sensitivities"], "resource", "external_fte"), -100, 8000)


def test_withheld_hires(staff_frames):
    """No hires in months 0-2 (the hire of month 3 stays): productive 1, 1, 1, 2 against 2, 3,
    4, 5: 10, 20, 30, 30 fewer decisions, stock higher by 10, 30, 60, 90: +190 case-months;
    5 FTE-months paid against 14: -EUR 9,000."""
    row = rows(staff_frames.tables["explanations"], "decision", "hire")
    assert row["amount"] == pytest.approx(3) and row["periods"] == "2024-01..2024-03"
    expect(row, 190, -9000)


def test_withheld_external_staff(staff_frames):
    """No external FTE in months 0-2: 10 fewer decisions in each, stock higher by 10, 20, 30,
    30: +90; 3 months at EUR 2,000: -EUR 6,000."""
    expect(rows(staff_frames.tables["explanations"], "decision", "external_staff"), 90, -6000)


def test_withheld_outsourcing(staff_frames):
    """No outsourcing in months 0-2: 5 fewer decisions in each, stock higher by 5, 10, 15, 15:
    +45; 15 cases at EUR 100: -EUR 1,500."""
    row = rows(staff_frames.tables["explanations"], "decision", "outsource")
    assert row["amount"] == pytest.approx(15) and row["unit"] == "cases"
    expect(row, 45, -1500)
    assert sentence(row) == "Without outsourcing x: 15 cases, 2024-01..2024-03: +45 overdue person-months, +45 person-months waiting for a first decision."


def test_one_row_per_plan_quarter_decision(staff_frames):
    """explanations.csv has a row for every (decision, item, region) of plan_quarter.csv."""
    q = staff_frames.tables["plan_quarter"]
    q = q[q.item != "total"]
    want = sorted(set(zip(q.decision, q.item)))
    e = staff_frames.tables["explanations"]
    assert sorted(zip(e.decision, e.item)) == want == [("external_staff", "p"), ("hire", "p"), ("outsource", "x")]


def test_budget_binding_and_slack():
    """Budget EUR 22,000 (the plan above costs 24,000 unbounded): the plan gives up the EUR 2,000
    that buy least, the external FTE of month 3 (10 case-months; every other euro buys at least
    0.01 case-months, it 0.005): 3,560 case-months. explain.budget_eur 2,000: that FTE comes
    back, -10 case-months, +EUR 2,000. A budget of EUR 30,000 is slack: no row."""
    plan = plan_of(staff_instance(budget={"total_eur": 22000}, explain={"budget_eur": 2000}))
    assert plan.kpis["overdue_person_months"] == pytest.approx(3560)
    explain_plan(plan, workers=1)
    row = rows(plan.tables["sensitivities"], "resource", "budget")
    assert row["item"] == "horizon" and row["amount"] == 2000
    expect(row, -10, 2000)
    slack = plan_of(staff_instance(budget={"total_eur": 30000}))
    explain_plan(slack, workers=1)
    assert "budget" not in set(slack.tables["sensitivities"].resource)


def test_withheld_retraining():
    """Pools p (2 FTE, nothing to do) and q (none) with case y of q: 1,000 old cases, 10 h each;
    p may retrain at most 1 FTE a month for q, no delay, EUR 100 each, salaries 0. The plan
    retrains 1 in months 0 and 1: q decides 10, 20, 20, 20, stock 990, 970, 950, 930. Withheld
    in months 0-2: only 1 FTE in month 3, stock 1,000, 1,000, 1,000, 990: +150 case-months;
    one retraining less: -EUR 100."""
    raw = tiny(
        case_types={"x": None, "y": {"pool": "q", "inflow": 0, "hours_per_case": 10, "grant_share": 0, "waits_in_coa": False, "grants_need_housing": False,
                                     "deadline_months": 1, "start_stock": 1000, "pre_horizon_inflow": [0]}},
        staff_pools={"p": {"start_fte": 2, "retrain_to": {"q": {"months": 0, "max_fte": 1, "eur_per_fte": 100}}},
                     "q": {"start_fte": 0, "hours_per_fte_year": 1200, "eur_per_fte_year": 0}},
        explain={"housing_regions": 0},
    )
    plan = plan_of(raw)
    assert plan.kpis["overdue_person_months"] == pytest.approx(3840)
    explain_plan(plan, workers=1)
    row = rows(plan.tables["explanations"], "decision", "retrain")
    assert row["item"] == "p -> q" and row["amount"] == pytest.approx(2)
    expect(row, 150, -100)


def reception_instance() -> dict:
    """100 persons of another group in COA each month, norm 1, no crisis shelter, 4 months
    (31, 29, 31, 30 nights). Existing site E (50 places) closes after month 0 unless kept open
    (EUR 1 a place once); candidate C (50 places, no lead time, no minimum term). Places cost
    EUR 10 a place-month (EUR 120 a year). The plan keeps E and opens C in month 0: 100 places
    every month, nobody unsheltered; cost E 50 x 10 x 4 + 50 + C 50 x 10 x 4 = EUR 4,050."""
    return tiny(
        reception={"occupancy_norm": 1, "other_groups": {"g": 100}},
        location_types={"t": {"eur_per_place_year": 120, "keep_open_eur_per_place": 1}},
        locations={"E": {"region": "A", "type": "t", "places": 50, "status": "existing", "open_until": "2024-01"},
                   "C": {"region": "A", "type": "t", "places": 50, "status": "candidate"}},
        explain={"housing_regions": 0},
    )


@pytest.fixture(scope="module")
def reception_plan():
    plan = plan_of(reception_instance())
    assert plan.kpis["unsheltered_person_nights"] == 0 and plan.kpis["total_cost_eur"] == pytest.approx(4050)
    explain_plan(plan, workers=1)
    return plan


def test_more_places(reception_plan):
    """100 more places (type t's costs) fixed in use from month 3 (the first after the 3
    committed): +EUR 1,000, and C is no longer needed in month 3 (no minimum term): -EUR 500."""
    row = rows(reception_plan.tables["sensitivities"], "resource", "places")
    assert row["periods"] == "2024-04.." and row["amount"] == 100
    expect(row, 0, 500, waiting_person_months=0)


def test_withheld_site(reception_plan):
    """C not decided in months 0-2: it opens in month 3; 50 unsheltered in months 0-2,
    50 x (31 + 29 + 31) = 4,550 person-nights (weight 1,000); C runs 1 month instead of 4:
    -EUR 1,500."""
    row = rows(reception_plan.tables["explanations"], "decision", "open_location")
    assert row["item"] == "C" and row["amount"] == 50
    expect(row, 0, -1500, unsheltered_person_nights=4550, objective=4_550_000 - 0.001 * 1500 / 1e6)


def test_withheld_extension(reception_plan):
    """E not kept open: 50 unsheltered in months 1-3, 50 x (29 + 31 + 30) = 4,500 person-nights;
    -EUR 50 (keeping) - 1,500 (running)."""
    row = rows(reception_plan.tables["explanations"], "decision", "keep_open")
    assert row["item"] == "E"
    expect(row, 0, -1550, unsheltered_person_nights=4500, objective=4_500_000 - 0.001 * 1550 / 1e6)


def housing_instance() -> dict:
    """Region A: 1,000 permit holders waiting, all past the norm (none linked lately, no new
    ones); regular housing 10 a month; accelerated placement at most 5 a month (EUR 1,000 each,
    100 in all); weight 0.5 a month past the norm; an existing site of 2,000 free places. The
    plan houses 10 and places 5 a month: waiting 985, 970, 955, 940 (3,850 months past the norm)."""
    return tiny(
        regions={"A": {"population": 1, "accelerated_capacity": 5}},
        placement={"start_waiting": 1000, "pre_horizon_linked": [0, 0, 0, 0], "housing_supply": 10, "accelerated_total": 100, "accelerated_eur_per_person": 1000},
        location_types={"t": {"eur_per_place_year": 0}},
        locations={"E": {"region": "A", "type": "t", "places": 2000, "status": "existing"}},
        objective={"permit_holder_month_over_norm": 0.5},
        explain={"housing_months": 2, "housing_regions": 1},
    )


@pytest.fixture(scope="module")
def housing_plan():
    plan = plan_of(housing_instance())
    assert plan.kpis["permit_holder_months_over_norm"] == pytest.approx(3850)
    explain_plan(plan, workers=1)
    return plan


def test_more_housing(housing_plan):
    """100 more housing a month in A in months 0-1: housed 110, 110, 10, 10, waiting 885, 770,
    755, 740: -700 months past the norm (objective -350), no cost."""
    row = rows(housing_plan.tables["sensitivities"], "resource", "housing")
    assert row["item"] == "A"
    expect(row, 0, 0, permit_holder_months_over_norm=-700, objective=-350)


def test_regular_housing_at_its_limit(housing_plan):
    """The plan houses the whole supply (10 a month, 1,000 waiting) in months 0-2: no choice to
    withhold, so the row is not re-solved: status at_limit, every number empty, the reason in
    note and in the sentence."""
    row = rows(housing_plan.tables["explanations"], "decision", "house_regular")
    assert row["amount"] == pytest.approx(30) and row["status"] == "at_limit"
    assert all(math.isnan(row[c]) for c in [*COLS, "objective_bound"])
    assert row["note"] == ("not a choice: the plan houses the whole regular housing supply of A in every committed period "
                           "(what more supply buys: the housing rows of sensitivities.csv)")
    assert sentence(row) == "Without regular housing in A: 30 persons, 2024-01..2024-03: not re-solved, " + row["note"] + "."
    from planner.outputs.explainreport import decision_sentences

    assert decision_sentences(housing_plan.tables["explanations"])[-1] == (
        "Regular housing in A (1 region), 2024-01..2024-03: not re-solved: each houses all the regular housing its supply allows "
        "in every month, so the plan had no choice (what more housing buys: the lines above).")


def test_regular_housing_below_its_limit_is_re_solved():
    """Supply 10 a month; housed 10, 10, 9.5 in the committed months: a choice in month 2, so
    the row is re-solved (no reason); 10, 10, 10 (the 6-decimal rounding of the CSV within
    1e-6): at its limit."""
    from planner.instance.loading import validate_dict
    from planner.studies.explaintasks import housing_at_limit

    d = validate_dict(housing_instance())
    g = pd.DataFrame({"period": ["2024-01", "2024-02", "2024-03"], "value": [10, 10, 9.5]})
    assert housing_at_limit(d, "A", g) == ""
    g["value"] = [10, 10, 9.999999999]
    assert housing_at_limit(d, "A", g).startswith("not a choice")


def test_withheld_accelerated_placement(housing_plan):
    """No accelerated placement in months 0-2: waiting higher by 5, 10, 15, 15: +45 (objective
    +22.5); 15 placements less: -EUR 15,000."""
    row = rows(housing_plan.tables["explanations"], "decision", "place_accelerated")
    expect(row, 0, -15000, permit_holder_months_over_norm=45, objective=22.5 - 0.001 * 15000 / 1e6)


def test_cli_explain_writes_into_the_run_folder(tmp_path, capsys):
    """planner solve, then planner explain RUN_DIR: the two tables, the report's section and the
    nav link are added, every other file stays as it was; a second explain replaces the section."""
    import yaml

    inst = tmp_path / "staff.yaml"
    inst.write_text(yaml.safe_dump(staff_instance()))
    run = tmp_path / "run"
    assert main(["solve", str(inst), "--out", str(run)]) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert main(["explain", str(run), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 more FTE in p from the start: -100 overdue person-months" in out
    after = {p.name: p.read_bytes() for p in run.iterdir()}
    assert set(after) - set(before) == {"sensitivities.csv", "explanations.csv"}
    assert all(after[n] == before[n] for n in before if n not in ("report.html", "plan.xlsx"))
    book = pd.read_excel(run / "plan.xlsx", sheet_name=None)
    assert list(book)[-2:] == ["sensitivities", "explanations"] and set(pd.read_excel(io.BytesIO(before["plan.xlsx"]), sheet_name=None)) < set(book)
    for name in ("sensitivities", "explanations"):
        csv = pd.read_csv(run / f"{name}.csv", keep_default_na=False)
        sheet = book[name].astype(object).where(book[name].notna(), "")  # empty cells: the CSV's empty strings
        pd.testing.assert_frame_equal(sheet, csv.astype(object), check_dtype=False)
    page = after["report.html"].decode()
    assert page.count('id="explain"') == 1 and page.count('href="#explain"') == 1
    assert "Without hiring p: 3 FTE, 2024-01..2024-03: +190 overdue person-months" in page
    assert main(["explain", str(run), "--workers", "1"]) == 0
    again = (run / "report.html").read_text()
    assert again == page and (run / "sensitivities.csv").read_bytes() == after["sensitivities.csv"]
    assert (run / "plan.xlsx").read_bytes() == after["plan.xlsx"]  # the sheets replaced, not added again
    header = (run / "sensitivities.csv").read_text().splitlines()[0].split(",")
    assert header[-9:] == COLS + ["objective_bound", "note"]
    assert json.loads((run / "run.json").read_text())["command"][1] == "solve"


def test_cli_solve_explain(tmp_path):
    """solve --explain writes the same tables as solve followed by explain (up to 1e-6: explain
    compares with the plan solved again)."""
    import yaml

    inst = tmp_path / "staff.yaml"
    inst.write_text(yaml.safe_dump(staff_instance()))
    assert main(["solve", str(inst), "--out", str(tmp_path / "a"), "--explain", "--workers", "1"]) == 0
    assert main(["solve", str(inst), "--out", str(tmp_path / "b")]) == 0
    assert main(["explain", str(tmp_path / "b"), "--workers", "1"]) == 0
    import pandas as pd

    for name in ("sensitivities.csv", "explanations.csv"):  # the same up to the solver's round-off
        a, b = (pd.read_csv(tmp_path / f / name, keep_default_na=False) for f in ("a", "b"))
        pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-5)
    assert 'id="explain"' in (tmp_path / "a" / "report.html").read_text()


def test_cli_explain_refuses(tmp_path, capsys):
    """Exit 2 with one line, nothing written: a folder planner did not write, a status quo run,
    --explain with the lexicographic objective, an unknown region in the explain section."""
    import yaml

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert main(["explain", str(foreign)]) == 2
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    inst = tmp_path / "staff.yaml"
    inst.write_text(yaml.safe_dump(staff_instance()))
    sq = tmp_path / "sq"
    assert main(["simulate", str(inst), "--out", str(sq)]) == 0
    capsys.readouterr()
    assert main(["explain", str(sq)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "status quo" in err and not (sq / "sensitivities.csv").exists()
    assert main(["solve", str(inst), "--out", str(tmp_path / "lex"), "--explain", "--objective", "lexicographic"]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(staff_instance(explain={"housing_regions": ["nowhere"]})))
    assert main(["solve", str(bad), "--out", str(tmp_path / "bad"), "--explain"]) == 2
    assert "explain.housing_regions" in capsys.readouterr().err


def test_folder_start_from_locations(tmp_path):
    """planner explain solves the run's plan again from its site decisions in locations.csv: the
    reception plan above keeps E open (keep E = 1) and opens C in month 0 (start C = 1, 0, 0, 0;
    serve C = 1 in all 4 months)."""
    import yaml

    from planner.studies.explain import folder_start, read_plan_folder

    inst = tmp_path / "reception.yaml"
    inst.write_text(yaml.safe_dump(reception_instance()))
    assert main(["solve", str(inst), "--out", str(tmp_path / "run")]) == 0
    d, _raw, tables, _kpis = read_plan_folder(tmp_path / "run")
    start = folder_start(d, tables["locations"])
    want = [("keep", "E", 1.0)] + [(c, ("C", t), float(c == "serve" or t == 0)) for t in range(4) for c in ("start", "serve")]
    assert sorted(start, key=str) == sorted(want, key=str)


def test_sentence_of_an_infeasible_row():
    """A withheld decision without which no plan exists was re-solved: the report says so (not "not
    re-solved"), with the solver's reason; a row with no result otherwise names its status."""
    row = {"what": "without hiring in external staff for asylum: 244.8 FTE, 2022-01..2022-03", "status": "infeasible",
           "note": "the plan is infeasible: IND staff pool 'asylum' is short by 99 productive hours in 2022-01"}
    assert sentence(row) == ("Without hiring in external staff for asylum: 244.8 FTE, 2022-01..2022-03: no plan without it "
                             "(the plan is infeasible: IND staff pool 'asylum' is short by 99 productive hours in 2022-01).")
    assert sentence({**row, "status": "error", "note": "HiGHS stopped"}).endswith(": no result (error: HiGHS stopped).")


def test_sentence_says_when_the_gain_lies_beyond_the_figures():
    """nl-2022's 'one more Dublin hire a month' row: every figure shown is worse (+4,205 overdue
    person-months, +EUR 35.2 million), the objective falls by 17,535: the sentence says the gain
    lies beyond them. The mirror (nothing worse, objective up) says the loss does. Mixed figures,
    or figures that agree with the objective, add nothing."""
    row = {"what": "1 more hire allowed per period in dublin, 2022-01..2022-12", "status": "optimal", "note": "",
           "overdue_person_months": 4204.53, "waiting_person_months": 4416.9, "crisis_person_nights": 0.0, "unsheltered_person_nights": 0.0,
           "permit_holder_months_over_norm": 1513.7, "cost_eur": 35_247_413.9, "objective": -17_535.3}
    assert sentence(row) == ("1 more hire allowed per period in dublin, 2022-01..2022-12: +4,205 overdue person-months, +4,417 person-months "
                             "waiting for a first decision, +1,514 permit-holder months past the housing norm, +EUR 35.2 million. The "
                             "objective still falls by 17,535 units: the gain lies beyond these figures (in the look-ahead after the "
                             "reported horizon, or the court queue).")
    mirror = {**row, **{c: -abs(row[c]) for c in ("overdue_person_months", "waiting_person_months", "permit_holder_months_over_norm", "cost_eur")},
              "objective": 17_535.3}
    assert sentence(mirror).endswith(" The objective still rises by 17,535 units: the loss lies beyond these figures "
                                     "(in the look-ahead after the reported horizon, or the court queue).")
    assert "beyond" not in sentence({**row, "overdue_person_months": -10.0})
    assert "beyond" not in sentence({**row, "objective": 17_535.3})
