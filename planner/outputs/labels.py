"""The words of the reports, workbooks and terminal summaries, in English and Dutch.

Only interface words live here: headers, units, KPI names, sentences around numbers. The
instance's own names (regions, case types, staff pools, sites, packages) are data and stay as the
instance writes them.

:func:`t` looks a word up (``t("unit.persons", "nl")`` -> ``"personen"``), formatting ``{}``
fields with its keyword arguments; a key missing in Dutch falls back to English, a key missing in
both is returned as it is (so a new KPI still shows, under its own name). :func:`kpi_label` and
:func:`unit` name a KPI and its unit.
"""

from __future__ import annotations

LANGS = ("en", "nl")
DEFAULT = "en"

# key -> (English, Dutch)
WORDS: dict[str, tuple[str, str]] = {
    # units
    "unit.objective": ("objective units", "doelfunctie-eenheden"),
    "unit.share": ("share", "aandeel"),
    "unit.periods": ("periods", "perioden"),
    "unit.case_months": ("case-months", "zaakmaanden"),
    "unit.cases": ("cases", "zaken"),
    "unit.notices": ("notices", "ingebrekestellingen"),
    "unit.person_nights": ("person-nights", "persoonsnachten"),
    "unit.person_months": ("person-months", "persoonsmaanden"),
    "unit.persons": ("persons", "personen"),
    "unit.places": ("places", "plaatsen"),
    "unit.eur": ("EUR", "EUR"),
    "unit.meur": ("EUR million", "miljoen EUR"),
    "unit.fte": ("FTE", "fte"),
    "unit.fte_month": ("FTE per month (average)", "fte per maand (gemiddeld)"),
    "unit.locations": ("locations", "locaties"),
    "unit.appeals": ("appeals", "beroepen"),
    "unit.wards": ("wards", "pupillen"),
    "unit.none": ("", ""),
    # KPI names
    "kpi.waiting_person_months": ("waiting for a first decision", "wachten op een eerste beslissing"),
    "kpi.overdue_case_months": ("cases past the legal deadline", "zaken over de wettelijke termijn"),
    "kpi.overdue_person_months": ("persons past the legal deadline", "personen over de wettelijke termijn"),
    "kpi.crisis_person_nights": ("in crisis emergency shelter", "in crisisnoodopvang"),
    "kpi.unsheltered_person_nights": ("without any place", "zonder enige opvangplek"),
    "kpi.permit_holder_months_over_norm": ("permit holders waiting for housing past the norm", "statushouders langer dan de norm wachtend op een woning"),
    "kpi.peak_occupancy": ("peak occupancy (stock)", "piekbezetting (stand)"),
    "kpi.peak_places_needed": ("peak places needed (stock)", "piek benodigde plaatsen (stand)"),
    "kpi.total_cost_eur": ("total cost over the horizon", "totale kosten over de horizon"),
    "kpi.hires_total": ("hires over the horizon", "wervingen over de horizon"),
    "kpi.outsourced_cases_total": ("outsourced cases", "uitbestede zaken"),
    "kpi.locations_opened": ("new locations opened", "nieuwe locaties geopend"),
    "kpi.locations_kept_open": ("existing locations kept open past their planned close", "bestaande locaties langer open dan gepland"),
    "kpi.accelerated_placements_total": ("accelerated placements", "versnelde huisvesting"),
    "kpi.notices_of_default_total": ("notices of default", "ingebrekestellingen"),
    "kpi.penalty_eur_total": ("IND penalty payments", "IND-dwangsommen"),
    "kpi.objective": ("objective value", "waarde doelfunctie"),
    "kpi.mip_gap": ("MIP gap", "MIP-gap"),
    "kpi.budget_eur": ("budget over the horizon", "budget over de horizon"),
    "kpi.decided_total": ("cases decided", "zaken beslist"),
    "kpi.housed_regular_total": ("permit holders housed regularly", "statushouders regulier gehuisvest"),
    "kpi.dtv_new_rejections_total": ("DT&V: new rejections", "DT&V: nieuwe afwijzingen"),
    "kpi.dtv_departures_total": ("DT&V: departures from COA", "DT&V: vertrek uit het COA"),
    "kpi.dtv_caseload_end": ("DT&V: caseload at the end (stock)", "DT&V: caseload aan het eind (stand)"),
    "kpi.nidos_wards_peak": ("Nidos: peak wards (stock)", "Nidos: piek pupillen (stand)"),
    "kpi.nidos_wards_average": ("Nidos: average wards (stock)", "Nidos: gemiddeld pupillen (stand)"),
    "kpi.court_appeals_total": ("courts: appeals against rejections", "rechtspraak: beroepen tegen afwijzingen"),
    "kpi.court_appeals_annulled_total": ("courts: appeals upheld", "rechtspraak: gegronde beroepen"),
    "kpi.returned_to_ind_total": ("IND: cases back (annulled appeals, failed transfers)", "IND: zaken terug (vernietigd, mislukte overdracht)"),
    "kpi.bntb_appeals_total": ("courts: appeals for failure to decide in time", "rechtspraak: beroepen niet tijdig beslissen"),
    "kpi.commit_periods": ("periods committed (decisions to take now)", "vastgelegde perioden (nu te nemen besluiten)"),
    "kpi.periods": ("periods", "perioden"),
    "kpi.tail_periods": ("look-ahead periods (solved, not reported)", "vooruitblik-perioden (berekend, niet gerapporteerd)"),
    "kpi.stage_values": ("lexicographic stages (each in its own unit)", "lexicografische stappen (elk in eigen eenheid)"),
    "kpi.overdue_case_months_by_type": ("cases past the deadline by case type", "zaken over de termijn per zaaktype"),
    "kpi.waiting_person_months_by_type": ("waiting by case type", "wachten per zaaktype"),
    "kpi.end_stock_by_type": ("stock at the end by case type (stock)", "voorraad aan het eind per zaaktype (stand)"),
    "kpi.cost_by_component": ("cost by component", "kosten per component"),
    "kpi.budget_by_year_eur": ("budget by year", "budget per jaar"),
    "kpi.quota_realisation": ("housing quota realisation per half year", "realisatie taakstelling per halfjaar"),
    "stage.unsheltered": ("unsheltered", "zonder opvang"),
    "stage.crisis": ("crisis shelter", "crisisnoodopvang"),
    "stage.overruns": ("weighted overruns", "gewogen overschrijdingen"),
    "stage.cost": ("cost", "kosten"),
    # decisions (plan_quarter)
    "dec.hire": ("hire", "werven"),
    "dec.external_staff": ("external staff", "externe inhuur"),
    "dec.retrain": ("retrain", "omscholen"),
    "dec.outsource": ("outsource", "uitbesteden"),
    "dec.open_location": ("open location", "locatie openen"),
    "dec.keep_open": ("keep open", "langer openhouden"),
    "dec.house_regular": ("house regularly", "regulier huisvesten"),
    "dec.place_accelerated": ("accelerated placement", "versneld huisvesten"),
    # report words
    "run.weighted": ("optimised plan (weighted objective)", "geoptimaliseerd plan (gewogen doelfunctie)"),
    "run.lexicographic": ("optimised plan (lexicographic: unsheltered, crisis shelter, overruns, cost)", "geoptimaliseerd plan (lexicografisch: zonder opvang, crisisnoodopvang, overschrijdingen, kosten)"),
    "run.simulate": ("status quo simulation (nothing optimised)", "simulatie status quo (niets geoptimaliseerd)"),
    "title": ("Capacity plan {name}", "Capaciteitsplan {name}"),
    "horizon": ("Horizon {first} to {last} ({n} {grain}s).", "Horizon {first} t/m {last} ({n} {grain})."),
    "grain.month": ("month", "maanden"),
    "grain.week": ("week", "weken"),
    "status": ("Solver: {status}, gap {gap}.", "Solver: {status}, gap {gap}."),
    "measures_in_force": ("Measures in force: {names}.", "Maatregelen van kracht: {names}."),
    "h.now": ("Decisions to take now ({first} to {last})", "Nu te nemen besluiten ({first} t/m {last})"),
    "h.kpis": ("What the plan gives over the horizon", "Wat het plan oplevert over de horizon"),
    "h.warnings": ("Warnings", "Waarschuwingen"),
    "nav.now": ("Decisions", "Besluiten"),
    "nav.kpis": ("Key figures", "Kerncijfers"),
    "h.figures": ("Figures", "Figuren"),
    "h.detail": ("Detail", "Details"),
    "h.by_region": ("Decisions by region", "Besluiten per regio"),
    "h.all_decisions": ("Every decision of the committed periods, per period", "Alle besluiten van de vastgelegde perioden, per periode"),
    "h.all_kpis": ("Every KPI", "Alle KPI's"),
    "h.chain": ("Consequences for the chain partners", "Gevolgen voor de ketenpartners"),
    "h.assumptions": ("Assumptions of the instance", "Aannames van de instantie"),
    "h.metadata": ("About this run", "Over deze run"),
    "now.hire": ("Hire {value} FTE: {items}.", "Werf {value} fte: {items}."),
    "now.external_staff": ("Hire in external staff: {value} FTE per month on average: {items}.", "Huur extern in: gemiddeld {value} fte per maand: {items}."),
    "now.retrain": ("Retrain {value} FTE: {items}.", "Schoel {value} fte om: {items}."),
    "now.outsource": ("Outsource {value} cases: {items}.", "Besteed {value} zaken uit: {items}."),
    "now.open_location": ("Decide to open {count} locations, {value} places:", "Besluit {count} locaties te openen, {value} plaatsen:"),
    "now.keep_open": ("Keep {count} locations open past their planned close, {value} places:", "Houd {count} locaties langer open dan gepland, {value} plaatsen:"),
    "now.house_regular": ("House {value} permit holders regularly (all regions; by region below).", "Huisvest {value} statushouders regulier (alle regio's; per regio hieronder)."),
    "now.place_accelerated": ("Place {value} permit holders accelerated: {items}.", "Huisvest {value} statushouders versneld: {items}."),
    "now.none": ("No decisions in the committed periods.", "Geen besluiten in de vastgelegde perioden."),
    "now.site": ("{site} ({region}, {type}): {places} places, decide {decided}, in use {first} to {last}", "{site} ({region}, {type}): {places} plaatsen, besluit {decided}, in gebruik {first} t/m {last}"),
    "now.kept": ("{site} ({region}, {type}): {places} places, planned close {close}", "{site} ({region}, {type}): {places} plaatsen, geplande sluiting {close}"),
    "now.more": ("and {n} more (below)", "en {n} meer (hieronder)"),
    "col.kpi": ("KPI", "KPI"),
    "col.value": ("value", "waarde"),
    "col.name": ("name", "naam"),
    "col.unit": ("unit", "eenheid"),
    "col.kind": ("kind", "soort"),
    "col.status_quo": ("status quo", "status quo"),
    "col.this_plan": ("this plan", "dit plan"),
    "col.difference": ("difference", "verschil"),
    "col.region": ("region", "regio"),
    "col.decision": ("decision", "besluit"),
    "col.item": ("item", "onderdeel"),
    "col.period": ("period", "periode"),
    "col.note": ("note", "toelichting"),
    "col.partner": ("partner", "ketenpartner"),
    "col.measure": ("measure", "grootheid"),
    "col.horizon": ("whole horizon", "hele horizon"),
    "col.key": ("setting", "instelling"),
    "col.comment": ("assumption", "aanname"),
    "col.line": ("line", "regel"),
    "col.total": ("total", "totaal"),
    "kind.flow": ("flow, summed", "stroom, opgeteld"),
    "kind.stock": ("stock", "stand"),
    "kind.mean": ("average", "gemiddelde"),
    "status_quo_hint": (
        "The status quo is not run by a solve. To compare: <code>planner compare {instance} --packages none</code> "
        "(or <code>planner simulate {instance}</code> and <code>planner kpis</code>).",
        "Een solve rekent de status quo niet door. Vergelijken: <code>planner compare {instance} --packages none</code> "
        "(of <code>planner simulate {instance}</code> en <code>planner kpis</code>).",
    ),
    "against_status_quo": ("Against the status quo of the same instance (run by planner compare).", "Tegen de status quo van dezelfde instantie (doorgerekend door planner compare)."),
    "flows_note": (
        "Flows are summed over the year (and the horizon); stocks are at the end of the year; averages are averaged. Consequences counted from the plan, not decisions.",
        "Stromen zijn opgeteld over het jaar (en de horizon); standen gelden aan het eind van het jaar; gemiddelden gemiddeld. Gevolgen van het plan, geen besluiten.",
    ),
    "no_chain": ("No chain consequences in this run.", "Geen gevolgen voor de keten in deze run."),
    "description": ("Description", "Beschrijving"),
    "no_description": ("(the instance has no description)", "(de instantie heeft geen beschrijving)"),
    "assumptions_intro": (
        "{n} lines of <code>{file}</code> whose comment states an assumption, grouped by section of the file. Values as written in the file; "
        "<code>--set</code> changes and measures in force are applied in <code>instance.resolved.yaml</code>.",
        "{n} regels van <code>{file}</code> waarvan het commentaar een aanname noemt, per onderdeel van het bestand. Waarden zoals in het bestand; "
        "wijzigingen met <code>--set</code> en maatregelen van kracht staan in <code>instance.resolved.yaml</code>.",
    ),
    "source_unknown": ("The instance was not read from a file, so its assumption comments cannot be listed.", "De instantie is niet uit een bestand gelezen; de aannames kunnen niet worden getoond."),
    "source_unreadable": ("The instance file {file} could not be read ({why}).", "Het instantiebestand {file} kon niet worden gelezen ({why})."),
    "meta.version": ("planner version", "versie planner"),
    "meta.command": ("command", "opdracht"),
    "meta.set": ("--set changes", "wijzigingen met --set"),
    "meta.package": ("package of measures", "maatregelenpakket"),
    "meta.in_force": ("measures in force", "maatregelen van kracht"),
    "meta.hash": ("instance hash (SHA-256 of instance.resolved.yaml)", "hash van de instantie (SHA-256 van instance.resolved.yaml)"),
    "meta.source": ("instance file", "instantiebestand"),
    "meta.run": ("run", "run"),
    "meta.horizon": ("horizon", "horizon"),
    "meta.solver": ("solver status, MIP gap", "solverstatus, MIP-gap"),
    "none": ("none", "geen"),
    "footer": (
        "Written by planner with the CSV files of this run folder (the same numbers, unrounded); kpis.json holds every KPI, instance.resolved.yaml the instance as solved.",
        "Geschreven door planner samen met de CSV-bestanden van deze map (dezelfde getallen, onafgerond); kpis.json bevat elke KPI, instance.resolved.yaml de doorgerekende instantie.",
    ),
    "fig.occupancy": ("Occupancy against places open", "Bezetting tegen open plaatsen"),
    "fig.occupancy.caption": (
        "Persons with a right to reception (black, a stock) against the usable capacity (blue: norm x places open). Orange: crisis shelter; red: no place.",
        "Personen met recht op opvang (zwart, een stand) tegen de bruikbare capaciteit (blauw: norm x open plaatsen). Oranje: crisisnoodopvang; rood: geen plek.",
    ),
    "fig.overdue": ("Cases past the legal deadline", "Zaken over de wettelijke termijn"),
    "fig.overdue.caption": ("IND cases older than their legal deadline at the end of each period (a stock).", "IND-zaken ouder dan de wettelijke termijn aan het eind van elke periode (een stand)."),
    "fig.stocks": ("Case stocks", "Zaakvoorraden"),
    "fig.stocks.caption": ("IND cases waiting for a decision at the end of each period (a stock).", "IND-zaken die op een beslissing wachten aan het eind van elke periode (een stand)."),
    "fig.cost": ("Cost per component", "Kosten per component"),
    "fig.cost.caption": ("Cost per component and calendar year, EUR million; the number above a bar is its total.", "Kosten per component en kalenderjaar, miljoen EUR; het getal boven een staaf is het totaal."),
    "fig.cost.unsheltered": (" Unsheltered persons cost nothing in this accounting: the plan looks cheaper than it is.", " Mensen zonder opvang kosten in deze rekensom niets: het plan lijkt goedkoper dan het is."),
    # plots
    "plot.end_of": ("end of {period}", "eind van de {period}"),
    "plot.overdue_cases": ("overdue cases", "zaken over de termijn"),
    "plot.overdue_all": ("overdue cases, all types", "zaken over de termijn, alle typen"),
    "plot.undecided": ("undecided cases", "onbesliste zaken"),
    "plot.case_type": ("case type", "zaaktype"),
    "plot.overdue_title": ("IND cases past the legal deadline, per case type", "IND-zaken over de wettelijke termijn, per zaaktype"),
    "plot.overdue_run_title": ("IND cases past the legal deadline", "IND-zaken over de wettelijke termijn"),
    "plot.stock_title": ("IND stock of undecided cases, per case type", "IND-voorraad onbesliste zaken, per zaaktype"),
    "plot.persons": ("persons", "personen"),
    "plot.occupancy_title": ("COA occupancy against places open", "COA-bezetting tegen open plaatsen"),
    "plot.crisis": ("in crisis emergency shelter ({peak})", "in crisisnoodopvang ({peak})"),
    "plot.unsheltered": ("unsheltered, no place ({peak})", "zonder opvangplek ({peak})"),
    "plot.peak": ("peak {v}", "piek {v}"),
    "plot.none": ("none", "geen"),
    "plot.places_open": ("places open", "open plaatsen"),
    "plot.places_needed": ("places needed = occupancy / {norm}", "benodigde plaatsen = bezetting / {norm}"),
    "plot.capacity": ("usable capacity = {norm} x places open (persons)", "bruikbare capaciteit = {norm} x open plaatsen (personen)"),
    "plot.occupancy": ("occupancy: persons with a right to reception", "bezetting: personen met recht op opvang"),
    "plot.meur": ("EUR million", "miljoen EUR"),
    "plot.cost_title": ("Cost per component and year", "Kosten per component en jaar"),
    "plot.cost_run_title": ("Cost per component, per run and year", "Kosten per component, per run en jaar"),
    "plot.same_as": ("{name} (= {other})", "{name} (= {other})"),
    "plot.months": ("months", "maanden"),
    "plot.weeks": ("weeks", "weken"),
    "plot.month": ("month", "maand"),
    "plot.week": ("week", "week"),
    # compare and batch pages
    "compare.title": ("Packages of measures compared: {name}", "Maatregelenpakketten vergeleken: {name}"),
    "compare.intro": (
        "Each column is the instance solved with one package of measures (status quo: the instance's own rules, nothing optimised). Each run's folder has its own report.html.",
        "Elke kolom is de instantie doorgerekend met één maatregelenpakket (status quo: de eigen regels van de instantie, niets geoptimaliseerd). Elke map heeft een eigen report.html.",
    ),
    "compare.same": ("Lines that coincide are drawn dashed and with markers: {names}.", "Lijnen die samenvallen zijn gestreept en met markeringen getekend: {names}."),
    "batch.title": ("Batch summary: {name}", "Samenvatting batch: {name}"),
    "batch.intro": ("{ok} of {n} variants have a plan; percentiles over those.", "{ok} van {n} varianten hebben een plan; percentielen daarover."),
    "batch.percentiles": ("Percentiles of the KPIs across the variants", "Percentielen van de KPI's over de varianten"),
    "batch.differences": ("Package minus {ref}, variant by variant", "Pakket min {ref}, per variant"),
    "batch.fig.kpi_histograms": ("Main KPIs across the variants", "Belangrijkste KPI's over de varianten"),
    "batch.fig.fan_occupancy": ("COA occupancy per period (median and bands)", "COA-bezetting per periode (mediaan en banden)"),
    "batch.fig.fan_stock": ("IND case stock per case type (median and bands)", "IND-voorraad per zaaktype (mediaan en banden)"),
    "batch.failures": ("Variants without a plan", "Varianten zonder plan"),
    "batch.no_failures": ("Every variant has a plan.", "Elke variant heeft een plan."),
    "col.package": ("package", "pakket"),
    "col.variant": ("variant", "variant"),
    "col.status": ("status", "status"),
    "col.reason": ("reason", "reden"),
    "col.n": ("variants", "varianten"),
    "col.mean": ("mean", "gemiddelde"),
    # terminal
    "term.now": ("Now ({first}..{last}): {items}", "Nu ({first}..{last}): {items}"),
    "term.hire": ("hire {v} FTE", "werf {v} fte"),
    "term.external": ("external {v} FTE/month", "extern {v} fte/maand"),
    "term.outsource": ("outsource {v} cases", "besteed {v} zaken uit"),
    "term.open": ("open {n} sites ({v} places)", "open {n} locaties ({v} plaatsen)"),
    "term.keep": ("keep {n} sites open ({v} places)", "houd {n} locaties open ({v} plaatsen)"),
    "term.accelerated": ("place {v} accelerated", "huisvest {v} versneld"),
    "term.nothing": ("no decisions", "geen besluiten"),
    "term.kpis": ("Horizon {first}..{last}: ", "Horizon {first}..{last}: "),
    "term.report": ("Report: {path}", "Rapport: {path}"),
    "term.status": ("{status}, gap {gap}", "{status}, gap {gap}"),
    "term.chosen": ("chosen measures: {names}", "gekozen maatregelen: {names}"),
    "term.adopted": ("adopted; with minus without:", "gekozen; met min zonder:"),
    "term.not_adopted": ("not adopted; it would give (with minus without):", "niet gekozen; zou geven (met min zonder):"),
    "term.refused": ("cannot be chosen inside the model ({why})", "kan niet in het model worden gekozen ({why})"),
    "term.written": ("written to {path}", "geschreven naar {path}"),
}

# KPI -> unit key (a nested KPI's unit applies to its entries)
KPI_UNITS = {
    "objective": "objective",
    "mip_gap": "share",
    "periods": "periods",
    "commit_periods": "periods",
    "tail_periods": "periods",
    "overdue_case_months": "case_months",
    "overdue_case_months_by_type": "case_months",
    "end_stock_by_type": "cases",
    "notices_of_default_total": "notices",
    "crisis_person_nights": "person_nights",
    "unsheltered_person_nights": "person_nights",
    "permit_holder_months_over_norm": "person_months",
    "peak_occupancy": "persons",
    "peak_places_needed": "places",
    "total_cost_eur": "meur",
    "budget_eur": "meur",
    "budget_by_year_eur": "meur",
    "cost_by_component": "meur",
    "penalty_eur_total": "meur",
    "hires_total": "fte",
    "waiting_person_months": "person_months",
    "overdue_person_months": "person_months",
    "waiting_person_months_by_type": "person_months",
    "outsourced_cases_total": "cases",
    "decided_total": "cases",
    "locations_opened": "locations",
    "locations_kept_open": "locations",
    "accelerated_placements_total": "persons",
    "housed_regular_total": "persons",
    "dtv_new_rejections_total": "persons",
    "dtv_departures_total": "persons",
    "dtv_caseload_end": "persons",
    "nidos_wards_peak": "wards",
    "nidos_wards_average": "wards",
    "court_appeals_total": "appeals",
    "court_appeals_annulled_total": "persons",
    "returned_to_ind_total": "persons",
    "bntb_appeals_total": "appeals",
}
STAGE_UNITS = {"unsheltered": "person_nights", "crisis": "person_nights", "overruns": "objective", "cost": "meur"}
"""The unit of each lexicographic stage's value (cost in the objective's EUR million)."""
MILLIONS = {"meur"}
"""Units shown as value / 1e6 (the KPI itself is in EUR)."""


def check(lang: str | None) -> str:
    """``lang`` if known (None: the default); ValueError otherwise."""
    lang = lang or DEFAULT
    if lang not in LANGS:
        raise ValueError(f"unknown language '{lang}'; expected one of {', '.join(LANGS)}")
    return lang


def t(key: str, lang: str = DEFAULT, **fields) -> str:
    """The word(s) of ``key`` in ``lang`` with ``fields`` filled in."""
    pair = WORDS.get(key)
    if pair is None:
        text = key
    else:
        text = pair[LANGS.index(lang)] if lang in LANGS else pair[0]
    return text.format(**fields) if fields else text


def kpi_label(key: str, lang: str = DEFAULT) -> str:
    """A KPI's name; an unknown KPI by its key with blanks for underscores."""
    return t(f"kpi.{key}", lang) if f"kpi.{key}" in WORDS else key.replace("_", " ")


def unit_key(key: str) -> str:
    """The unit key of a KPI (or of a dotted entry of a nested one): '' when unknown."""
    top = key.split(".")[0]
    if top == "stage_values" and "." in key:
        return STAGE_UNITS.get(key.split(".")[1], "")
    if top == "quota_realisation":
        return "share" if key.endswith(".realisation") else "persons"
    if top in KPI_UNITS:
        return KPI_UNITS[top]
    return "meur" if top.endswith("_eur") else ""


def unit(key: str, lang: str = DEFAULT) -> str:
    """The unit of a KPI as shown (EUR KPIs in EUR million)."""
    u = unit_key(key)
    return t(f"unit.{u}", lang) if u else ""


def scale(key: str) -> float:
    """What a KPI's value is divided by to be shown in :func:`unit`."""
    return 1e6 if unit_key(key) in MILLIONS and not key.startswith("stage_values") else 1.0
