"""Choosing measures inside the model: ``planner solve --choose-measures``.

Every candidate measure m gets a binary adoption variable ``adopt[m]``. A measure changes
mutable parameters; comparing the model of the base instance with the model of the instance with
only m in force gives, for every changed parameter value, its change ``delta[m, p]``. In every
constraint and in the objective each such parameter is replaced by

    p  ->  p + sum_m delta[m, p] * adopt[m]

(effects of several measures on one parameter add up: scale factors 0.95 and 0.97 give 0.92,
not 0.9215). A parameter that multiplies a variable x gives products ``adopt[m] * x``; each is
replaced by a new variable w with the exact linearisation for a binary and ``0 <= x <= U``:

    w <= U * adopt,   w <= x,   w >= x - U * (1 - adopt),   w >= 0

where U is an upper bound of x derived from the instance (all cases that can ever be in the
system for case variables, all staff that can ever be hired for staff variables, ...). The
measures' costs enter through the same mechanism (their cost component is a parameter), so the
budget constrains adoption.

Measures whose changes alter the model's structure (a horizon, a set, a deadline) cannot be
chosen this way; they are reported as such. Risks (``kind: risk``) are never candidates.

The choice is then checked and reported by solving the chosen package the ordinary way (its
tables and KPIs are exact) and, for every candidate, the objective with it switched the other
way (what the measure buys, or what it would have bought).
"""

from __future__ import annotations

import logging

import pyomo.environ as pyo
from pyomo.core.expr.visitor import replace_expressions
from pyomo.repn import generate_standard_repn

from planner.errors import InputError

log = logging.getLogger("planner")
EFFECT_KPIS = ("overdue_case_months", "waiting_person_months", "crisis_person_nights", "unsheltered_person_nights", "permit_holder_months_over_norm", "total_cost_eur")
"""The KPIs in which a measure's value is reported (each in its own unit: case-months,
person-months, person-nights, EUR)."""
from planner.instance.loading import InstanceData, validate_dict
from planner.instance.measures import apply_measures
from planner.instance.structure import signature, signature_difference
from planner.model import build_model, model_data

CASE_VARS = ("dec_int", "dec_out", "stock", "overdue")
PERSON_VARS = ("housed", "accelerated", "waiting", "ph_overdue", "awaiting", "crisis", "unsheltered")
STAFF_VARS = ("hires", "productive", "external")


def candidates(d: InstanceData, names: list[str] | None = None) -> list[str]:
    measures = d.instance.measures
    if names:
        for n in names:
            if n not in measures:
                raise InputError("--measures", f"unknown measure '{n}'; expected one of {sorted(measures)}")
        return list(names)
    return [n for n, m in measures.items() if m.kind == "measure"]


def _case_bound(d: InstanceData) -> float:
    """No case variable can exceed every case that is ever in the system (follow-on included)."""
    total = 0.0
    for k, ct in d.instance.case_types.items():
        total += sum(d.case_start_cohorts(k)) + sum(d.s(f"case_types.{k}.inflow"))
        if ct.follow_on is not None:
            total += sum(ct.follow_on.pre_horizon_grants)
    followers = sum(1 for ct in d.instance.case_types.values() if ct.follow_on is not None)
    return total * (1 + followers)  # each follow-on type adds at most one case per decided case


def _person_bound(d: InstanceData) -> float:
    persons = max((ct.persons_per_case for ct in d.instance.case_types.values()), default=1.0)
    other = sum(max(d.s(f"reception.other_groups.{g}")) for g in d.instance.reception.other_groups)
    start = sum(d.placement_start_cohorts()) + d.instance.reception.start_awaiting_departure
    return persons * _case_bound(d) + other + start


def _staff_bound(d: InstanceData) -> float:
    total = 0.0
    for p, pool in d.instance.staff_pools.items():
        total += pool.start_fte + sum(pool.start_trainees) + sum(d.s(f"staff_pools.{p}.max_hires"))
        total += max(d.s(f"staff_pools.{p}.external_fte_max"))
    return total


def variable_bound(var, datas: list[InstanceData]) -> float:
    name = var.parent_component().name
    if var.ub is not None:
        return float(var.ub)
    if name in CASE_VARS:
        return max(_case_bound(d) for d in datas)
    if name in PERSON_VARS:
        return max(_person_bound(d) for d in datas)
    if name in STAFF_VARS:
        return max(_staff_bound(d) for d in datas)
    raise InputError("--choose-measures", f"a measure multiplies '{var.name}', for which no upper bound is known; choose it by comparing packages instead")


def parameter_deltas(m, base: InstanceData, raw: dict, names: list[str], source) -> tuple[dict, list[InstanceData], dict]:
    """{id(param data): (param data, [(measure, delta)])}, the variant datas, structural refusals.

    Each measure's parameter values come from :func:`planner.model.model_data` (no model built);
    a measure whose instance has another structure (:mod:`planner.instance.structure`) is refused."""
    deltas, datas, refused = {}, [base], {}
    base_signature = signature(base, model_data(base))
    params = {p.local_name: p for p in m.component_objects(pyo.Param) if p.mutable}
    for name in names:
        dm = apply_measures(raw, [name], source)
        md = model_data(dm)
        reason = signature_difference(base_signature, signature(dm, md))
        if reason:
            refused[name] = f"it changes the model's structure ({reason})"
            continue
        datas.append(dm)
        for pname, (index, values) in md.params.items():
            for idx, pdata in params[pname].items():
                v0 = pdata.value
                v1 = values.get(idx, 0.0) if index else values
                if abs(v1 - v0) > 1e-12 * max(1.0, abs(v0)):
                    entry = deltas.setdefault(id(pdata), (pdata, []))
                    entry[1].append((name, v1 - v0))
    return deltas, datas, refused


def linearise(m, deltas: dict, names: list[str], datas: list[InstanceData]) -> None:
    """Replace changed parameters by their adoption-dependent values in place; linearise products."""
    m.adopt = pyo.Var(names, within=pyo.Binary, doc="measure adopted")
    sub = {key: pdata + sum(delta * m.adopt[name] for name, delta in changes) for key, (pdata, changes) in deltas.items()}
    m.choose_products = pyo.VarList(within=pyo.NonNegativeReals)
    m.choose_mccormick = pyo.ConstraintList()
    m.choose_rows = pyo.ConstraintList()
    products = {}

    def linear(expr):
        new = replace_expressions(expr, substitution_map=sub, descend_into_named_expressions=True, remove_named_expressions=True)
        repn = generate_standard_repn(new, compute_values=True, quadratic=True)
        if repn.nonlinear_expr is not None:
            raise InputError("--choose-measures", "a measure makes the model nonlinear beyond products with adoption")
        out = repn.constant + sum(c * v for c, v in zip(repn.linear_coefs, repn.linear_vars))
        for (v1, v2), coef in zip(repn.quadratic_vars, repn.quadratic_coefs):
            out += coef * product(v1, v2)
        return out

    def product(v1, v2):
        y, x = (v1, v2) if v1.parent_component() is m.adopt else (v2, v1)
        if y.parent_component() is not m.adopt:
            raise InputError("--choose-measures", f"unexpected product {v1.name} x {v2.name}")
        key = (id(y), id(x))
        if key not in products:
            U = 1.0 if x.parent_component() is m.adopt else variable_bound(x, datas)
            w = m.choose_products.add()
            m.choose_mccormick.add(w <= U * y)
            m.choose_mccormick.add(w <= x)
            m.choose_mccormick.add(w >= x - U * (1 - y))
            products[key] = w
        return products[key]

    touched = set(deltas)

    def uses_changed(expr) -> bool:
        from pyomo.core.expr.visitor import identify_mutable_parameters

        return any(id(p) in touched for p in identify_mutable_parameters(expr))

    for con in list(m.component_data_objects(pyo.Constraint, active=True)):
        parts = [e for e in (con.body, con.lower, con.upper) if e is not None]
        if not any(uses_changed(e) for e in parts):
            continue
        body = linear(con.body)
        if con.equality:
            m.choose_rows.add(body == linear(con.upper))
        else:
            if con.lower is not None:
                m.choose_rows.add(body >= linear(con.lower))
            if con.upper is not None:
                m.choose_rows.add(body <= linear(con.upper))
        con.deactivate()
    obj = m.weighted_objective
    m.choose_objective = pyo.Objective(expr=linear(obj.expr), sense=pyo.minimize)
    obj.deactivate()


def choose(raw: dict, source=None, names: list[str] | None = None, time_limit=None, mip_gap=None):
    """Pick the measures to adopt; returns (chosen, refused, objective of the choice model)."""
    base = validate_dict(raw, source)
    cands = candidates(base, names)
    m = build_model(base)
    deltas, datas, refused = parameter_deltas(m, base, raw, cands, source)
    usable = [c for c in cands if c not in refused]
    linearise(m, deltas, usable, datas)
    # the stage expressions of a lexicographic solve still use the base parameters: weighted only
    info = solve_model_choose(m, time_limit, mip_gap)
    chosen = [n for n in usable if pyo.value(m.adopt[n]) > 0.5]
    return chosen, refused, info


def solve_model_choose(m, time_limit, mip_gap):
    from pyomo.contrib.solver.solvers.highs import Highs

    from planner.solver.highs import SolveInfo, run_highs

    info = SolveInfo()
    run_highs(Highs(), m, time_limit, mip_gap, info)
    info.objective = pyo.value(m.choose_objective)
    return info


def choose_and_report(raw: dict, source=None, names=None, time_limit=None, mip_gap=None, commit_periods=None):
    """Choose, then solve the chosen package the ordinary way; each candidate's value is the
    objective of the chosen package with that measure switched the other way, minus the chosen
    objective (positive: the switch makes the plan worse, i.e. what the measure buys if adopted)."""
    from planner.solver.solve import solve

    log.info("choosing measures (one model with a binary per candidate) ...")
    chosen, refused, info = choose(raw, source, names, time_limit, mip_gap)
    kwargs = {"time_limit": time_limit, "mip_gap": mip_gap}
    log.info("chosen: %s; solving the chosen package ...", ", ".join(chosen) or "none")
    plan = solve(apply_measures(raw, chosen, source), commit_periods=commit_periods, **kwargs)
    best = plan.kpis["objective"]
    values = {}
    todo = [n for n in candidates(validate_dict(raw, source), names) if n not in refused]
    for i, name in enumerate(todo, 1):
        log.info("candidate %d/%d: %s switched %s ...", i, len(todo), name, "off" if name in chosen else "on")
        other = [n for n in chosen if n != name] if name in chosen else chosen + [name]
        flipped_kpis = solve(apply_measures(raw, other, source), **kwargs).kpis
        flipped = flipped_kpis["objective"]
        with_, without = (plan.kpis, flipped_kpis) if name in chosen else (flipped_kpis, plan.kpis)
        values[name] = {
            "adopted": name in chosen,
            "objective_with": best if name in chosen else flipped,
            "objective_without": flipped if name in chosen else best,
            "buys": (flipped - best) if name in chosen else (best - flipped),
            # with the measure minus without it, in each KPI's own unit (a minus: what it saves)
            "effects": {k: round(float(with_[k]) - float(without[k]), 6) for k in EFFECT_KPIS if k in with_ and k in without},
        }
    plan.kpis["choose_measures"] = {
        "chosen": chosen,
        "refused": refused,
        "choice_objective": info.objective,
        "values": values,
    }
    return plan
