"""Which changes of an instance alter the model's structure, and which only its parameter values.

A persistent re-solve (:mod:`planner.solver.persistent`) copies a variant's parameter values into a
built model only when the variant's structure equals the model's; ``--choose-measures``
(:mod:`planner.solver.choose`) can choose only measures that leave the structure as it is. Both compare
their signatures (:func:`signature`).

What is structural
------------------
A change is structural when it alters which variables and constraints exist or a number that the
model code writes into a constraint as a constant instead of a mutable parameter. In the model
today (``planner/model/*.py``) these are:

* the horizon (``start``, ``periods``, ``grain``): the time set, nights and months per period,
  the calendar year of each period (budget rows);
* the members of every set: regions, case types, staff pools, location types, locations, other
  occupancy groups, budget years, the number of start cohorts / start trainees / pre-horizon
  grants (their index sets);
* per case type: ``pool``, ``waits_in_coa``, ``grants_need_housing``, ``deadline_months`` (the
  FIFO window and its fractional weight), ``follow_on.source_types`` and ``follow_on.lag_months``,
  ``appeal.months``, the targets and ``lag_months`` of ``rejections_to``, ``arrival.lag_months``
  (the return flows' lags, planner.model.returns), the length of ``pre_horizon_decided`` (an index set);
* ``reception.departure_lag_months`` (the departure track's lag);
* per staff pool: ``training_months`` (the pipeline's delay), ``integer_hires`` (the domain);
* per location type: ``lead_months``, ``min_open_months``, ``extension_months``; per location: ``region``, ``type``,
  ``status``, ``open_until``, ``can_keep_open``;
* ``placement.norm_weeks`` (the FIFO window of the housing norm);
* whether an optional field is given at all (``budget.total_eur`` adds a constraint).

The rule is applied the safe way round: :data:`PARAM_FIELDS` lists the instance fields that only
feed mutable parameters (or only the reports); a change to any other field (one added to the
schema later included) counts as structural and rebuilds. The sets and the parameters' names and
index sets are compared as well, so a new set or a conditional parameter is caught too (the model
modules build a component conditionally only on a set or a structural field: see
``planner/model/__init__.py``).
"""

from __future__ import annotations

# --- which instance fields are parameters -------------------------------------------------

PARAM_FIELDS = (
    # names and texts: no effect on the model
    "name",
    "description",
    "*.*.name",
    # regions
    "regions.*.population",  # quota shares (place_quota_share, place_housing_supply)
    "regions.*.quota_share",
    "regions.*.housing_supply",
    "regions.*.accelerated_capacity",
    "regions.*.crisis_capacity",
    "regions.*.crisis_eur_per_person_night",
    "regions.*.max_new_places",  # values; given <-> not given adds the region's pace row
    # case types
    "case_types.*.inflow",
    "case_types.*.persons_per_case",
    "case_types.*.hours_per_case",
    "case_types.*.grant_share",
    "case_types.*.start_stock",  # start cohorts: values; their count is a set (compared)
    "case_types.*.pre_horizon_inflow",
    "case_types.*.start_stock_by_age",
    "case_types.*.outsourcing_capacity",
    "case_types.*.outsourcing_eur_per_case",
    "case_types.*.outsourcing_ind_hours_per_case",
    "case_types.*.planned_production",  # simulate only
    "case_types.*.overdue_weight",
    "case_types.*.max_decision_increase",  # a number -> another; given <-> not given changes K_ramp
    "case_types.*.decisions_before",
    "case_types.*.follow_on.share_of_grants",
    "case_types.*.follow_on.pre_horizon_grants",
    "case_types.*.penalties.applies",  # case_penalty_on (0/1 parameter)
    "case_types.*.penalties.notice_share_per_period",
    "case_types.*.penalties.eur_per_notice",
    "case_types.*.penalties.ind_hours_per_notice",
    "case_types.*.penalties.max_eur_per_notice",  # reported only (chain.csv)
    # return flows (planner/model/returns.py): shares are parameters, lags are structure
    "case_types.*.appeal.share_of_rejections",
    "case_types.*.appeal.annulled_share",
    "case_types.*.appeal.court_capacity",  # values; given <-> not given changes the set K_court
    "case_types.*.appeal.start_queue",
    "case_types.*.rejections_to.*.share_of_rejections",
    "case_types.*.arrival.coa_share",
    "case_types.*.pre_horizon_decided",  # values (ret_pre_decided); its length is a set (compared)
    # staff pools
    "staff_pools.*.start_fte",
    "staff_pools.*.start_trainees",
    "staff_pools.*.start_retraining",  # values (staff_start_retraining); its length is a set (compared)
    "staff_pools.*.hours_per_fte_year",
    "staff_pools.*.eur_per_fte_year",
    "staff_pools.*.attrition_per_month",
    "staff_pools.*.coaching_hours_per_trainee_year",
    "staff_pools.*.max_hires",
    "staff_pools.*.planned_hires",  # simulate only
    "staff_pools.*.eur_per_hire",
    "staff_pools.*.external_fte_max",
    "staff_pools.*.external_hours_per_fte_year",
    "staff_pools.*.external_eur_per_fte_year",
    # locations
    "location_types.*.eur_per_place_year",
    "location_types.*.opening_eur_per_place",
    "location_types.*.keep_open_eur_per_place",
    "locations.*.places",
    # reception
    "reception.occupancy_norm",
    "reception.start_awaiting_departure",
    "reception.start_departure_track",  # values (ret_pre_track); its length is a set (compared)
    "reception.departure_rate_per_month",
    "reception.rejected_stay_share",
    "reception.other_groups.*",  # values; the groups themselves are a set (compared)
    "reception.crisis_eur_per_person_night",
    "reception.max_new_places",  # values; given <-> not given adds the national pace rows
    "reception.max_extensions",  # a number -> another; given <-> not given adds the cap
    "reception.status_quo_location_types",  # simulate only
    # placement
    "placement.start_waiting",
    "placement.pre_horizon_linked",
    "placement.start_waiting_by_age",
    "placement.housing_supply",
    "placement.accelerated_total",
    "placement.accelerated_eur_per_person",
    "placement.accelerated_ready_share",
    "placement.quota",  # reported only
    # chain partners: counted from the plan, no constraints (planner/model/chain.py)
    "chain",
    # measures: their effects reach the model through the fields they change (compared on their
    # own) and their costs through the parameter measure_cost
    "measures",
    "packages",
    "in_force",
    # uncertainty: read by planner solve --scenarios only (planner/instance/uncertainty.py)
    "uncertainty",
    # budget and objective
    "budget.total_eur",  # a number -> another number; given <-> not given is structural
    "budget.by_year_eur.*",  # values; the years are a set (compared)
    "objective.*",
)
"""Dotted paths (``*``: any one key) of the instance fields whose changes only alter mutable
parameter values or the reports. Whether such a field is given (``None`` or not) still counts as
structure: an optional field can add a component."""

def _pattern_tree(patterns) -> dict:
    """The patterns as a tree of path parts (``*`` matches any key); a leaf is marked ``None``."""
    tree: dict = {}
    for pattern in patterns:
        node = tree
        for part in pattern.split("."):
            node = node.setdefault(part, {})
        node[None] = True
    return tree


_PARAM_TREE = _pattern_tree(PARAM_FIELDS)


def structural_view(node, trees=(_PARAM_TREE,)):
    """The instance (as ``model_dump()``) with every parameter field replaced by a placeholder.

    ``trees`` are the pattern subtrees that still match the path walked so far.
    """
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            sub = [t[key] for t in trees for key in (str(k), "*") if key in t]
            if any(None in t for t in sub):
                out[k] = None if v is None else "<param>"
            else:
                out[k] = structural_view(v, sub) if sub else v
        return out
    return node


def first_difference(a, b, path: str = "") -> str | None:
    """The first dotted path at which two structural views differ, with the two values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path + '.' if path else ''}{k} {'added' if k not in a else 'removed'}"
            diff = first_difference(a[k], b[k], f"{path + '.' if path else ''}{k}")
            if diff:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff = first_difference(x, y, f"{path}.{i}")
            if diff:
                return diff
        return None
    if a != b:
        return f"{path} changed ({_short(a)} -> {_short(b)})"
    return None


def _short(x) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."




def signature(d, md) -> dict:
    """The structure of instance ``d`` with model data ``md`` (:func:`planner.model.model_data`):
    the instance's structural fields, the members of every set, the parameters and their index
    sets."""
    return {
        "instance": structural_view(d.instance.model_dump()),
        "sets": {name: tuple(members) for name, members in md.sets.items()},
        "params": tuple((name, index) for name, (index, _values) in md.params.items()),
    }


def signature_difference(old: dict, new: dict) -> str | None:
    """Why two signatures differ (None if they do not)."""
    diff = first_difference(old["instance"], new["instance"])
    if diff:
        return f"structural field {diff}"
    for name in old["sets"].keys() | new["sets"].keys():
        if old["sets"].get(name) != new["sets"].get(name):
            return f"set {name} changed"
    if old["params"] != new["params"]:
        return "the model's parameters differ"
    return None
