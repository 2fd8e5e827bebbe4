"""Why a plan is infeasible: an elastic re-solve in the planner's words, and HiGHS's IIS.

Which constraints can make a plan infeasible
--------------------------------------------
With every decision at zero almost every constraint of the model holds: case stocks grow, permit
holders wait, ``unsheltered`` takes whoever has no place (crisis shelter is optional), no location
has to open and nobody has to be hired, outsourced or placed. Every cap (hire absorption, external
staff, outsourcing, crisis capacity, accelerated placement, "open once") limits an optional
decision from above, so none of them can be the cause on its own. What no decision can avoid is

* cost: the existing locations until their planned close, the staff employed and in training at
  the start (the pipeline loses staff only through attrition), penalty payments on cases that are
  overdue whatever the IND does, and the measures in force. These can exceed the budget of the
  horizon (``budget_total_limit``) or of a year (``budget_year_limit[year]``);
* IND hours: coaching the trainees of the start and handling notices of default on cases that are
  overdue anyway take productive hours, which can exceed what a pool has
  (``staff_production[pool, period]``: the hours can even be negative when coaching exceeds them).

The elastic model (:func:`elastic_model`) is the model as built with a penalised slack on every
row of these groups (:data:`GROUPS`); minimising the penalties gives the smallest change of those
limits that makes a plan possible, reported per limit in euros or hours (:class:`Shortfall`).
Penalties: 1 per EUR 1 million of budget, 1 per 1,000 IND hours. If no slack is needed the model
is feasible (a numerical problem of the first solve, or a feasible instance under ``--diagnose``);
if the elastic model is itself infeasible, the conflict lies elsewhere (fixed decisions, e.g. of
``simulate``) and only the IIS can tell.

IIS: HiGHS (1.16) computes an irreducible infeasible subset of rows and bounds on the LP relaxation
(``iis_strategy`` = from the LP, irreducible). :func:`iis_names` writes the model with Pyomo's LP
writer (symbolic labels), reads it into ``highspy`` and maps the IIS rows back to Pyomo names
(``budget_year_limit[2025]``).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field

import pyomo.environ as pyo
from pyomo.common.tee import capture_output

from planner.errors import InfeasibleError
from planner.model import build_model
from planner.model.common import COST_ROW_SCALE, COST_UNIT

EUR_PER_BUDGET_ROW_UNIT = COST_UNIT / COST_ROW_SCALE
"""Budget rows are written in units of EUR 10,000 (model.common.COST_ROW_SCALE)."""


@dataclass(frozen=True)
class Group:
    """A family of rows that may give: its Pyomo component, the EUR/hours per row unit, penalty."""

    component: str
    unit: str  # "EUR" or "hours"
    per_row_unit: float  # natural units (EUR, hours) per unit of the row
    penalty: float  # elastic penalty per natural unit


GROUPS = (
    Group("budget_total_limit", "EUR", EUR_PER_BUDGET_ROW_UNIT, 1e-6),
    Group("budget_year_limit", "EUR", EUR_PER_BUDGET_ROW_UNIT, 1e-6),
    Group("staff_production", "hours", 1.0, 1e-3),
)

SLACK_TOL = 1e-6
"""Slack (in row units) below this is solver round-off, not a shortfall."""

ELASTIC_MIP_GAP = 1e-6
"""Relative MIP gap of the elastic re-solve: the shortfalls are minimal to this precision."""


def money(eur: float) -> str:
    """'EUR 41.2 million' from EUR 1 million up, 'EUR 3,333' below."""
    if abs(eur) >= 1e6:
        return f"EUR {eur / 1e6:,.1f} million"
    return f"EUR {eur:,.0f}"


def hours(h: float, what: str = "hours") -> str:
    """'1,234 hours' (two decimals below one hour)."""
    return f"{h:,.0f} {what}" if abs(h) >= 1 else f"{h:.2f} {what}"


@dataclass
class Shortfall:
    """One row that must give: ``amount`` (EUR or hours) beyond its limit ``limit``."""

    group: str
    index: object
    amount: float
    unit: str
    limit: float | None = None
    period: str | None = None

    @property
    def need(self) -> float | None:
        return None if self.limit is None else self.limit + self.amount


@dataclass
class Diagnosis:
    """The outcome of :func:`diagnose`.

    ``status``: ``infeasible`` (``shortfalls`` says what must give), ``feasible`` (nothing has to
    give) or ``unexplained`` (relaxing budgets and hours is not enough; see ``iis``).
    """

    instance: str
    status: str
    shortfalls: list[Shortfall] = field(default_factory=list)
    iis: list[str] | None = None
    iis_note: str = ""
    seconds: float = 0.0

    @property
    def infeasible(self) -> bool:
        return self.status != "feasible"

    def statements(self) -> list[str]:
        """One statement per limit that must give, in a planner's words."""
        out = []
        for s in self.shortfalls:
            if s.group == "budget_total_limit":
                out.append(
                    f"the budget for the whole horizon is short by {money(s.amount)} "
                    f"(the plan costs at least {money(s.need)}, the budget is {money(s.limit)})"
                )
            elif s.group == "budget_year_limit":
                out.append(
                    f"the budget for {s.index} is short by {money(s.amount)} "
                    f"(the plan costs at least {money(s.need)} in {s.index}, the budget is {money(s.limit)})"
                )
        by_pool: dict[str, list[Shortfall]] = {}
        for s in self.shortfalls:
            if s.group == "staff_production":
                by_pool.setdefault(s.index[0], []).append(s)
        for pool, rows in by_pool.items():
            total = sum(s.amount for s in rows)
            if len(rows) == 1:
                where = f"in {rows[0].period}"
            elif len(rows) <= 4:
                where = "(" + ", ".join(f"{hours(s.amount)} in {s.period}" for s in rows) + ")"
            else:
                worst = max(rows, key=lambda s: s.amount)
                where = (
                    f"over {len(rows)} periods from {rows[0].period} to {rows[-1].period} "
                    f"(most in {worst.period}: {hours(worst.amount)})"
                )
            out.append(f"IND staff pool '{pool}' is short by {hours(total, 'productive hours')} {where}")
        return out

    def message(self, fallback: str = "the plan is infeasible") -> str:
        """One line for the error message (exit code 3)."""
        if self.status == "infeasible":
            return "the plan is infeasible: " + "; ".join(self.statements())
        if self.status == "feasible":
            return (
                f"{fallback}; yet relaxing the budgets and IND hours is not needed and the elastic re-solve "
                "finds a plan, which points to a numerical problem in the solver (try --mip-gap 0.001 or "
                "--objective weighted)"
            )
        text = (
            f"{fallback}; not because of a budget or IND hours: the conflict lies in fixed decisions "
            "or the structure of the instance"
        )
        if self.iis:
            shown = ", ".join(self.iis[:8])
            more = f" and {len(self.iis) - 8} more" if len(self.iis) > 8 else ""
            text += f" (irreducible conflict found by HiGHS: {shown}{more})"
        return text

    def report(self) -> str:
        """Several lines for ``planner solve --diagnose``."""
        lines = [f"Diagnosis of '{self.instance}' (elastic re-solve: budgets and IND hours may give)"]
        if self.status == "feasible":
            lines.append("  feasible: a plan exists within every budget and every pool's hours; nothing has to give")
        elif self.status == "infeasible":
            n = len(self.statements())
            lines.append(f"  infeasible: {n} limit{'s' if n > 1 else ''} must give")
            lines += [f"  - {s}" for s in self.statements()]
        else:
            lines.append(
                "  infeasible, and relaxing the budgets and IND hours is not enough: the conflict lies in "
                "fixed decisions or the structure of the instance"
            )
        if self.iis is not None:
            rows = [n for n in self.iis if not n.startswith("bounds of ")]
            bounds = [n.removeprefix("bounds of ") for n in self.iis if n.startswith("bounds of ")]
            lines.append(
                f"Irreducible infeasible subset (HiGHS IIS on the LP relaxation): {len(rows)} row(s), "
                f"{len(bounds)} variable bound(s)"
            )
            lines += _grouped(rows, "row", IIS_LIST_MAX)
            lines += _grouped(bounds, "bound on", IIS_LIST_MAX)
        elif self.iis_note:
            lines.append(f"IIS: {self.iis_note}")
        return "\n".join(lines)


IIS_LIST_MAX = 20
"""Up to this many IIS rows (or bounds) are listed one by one; more are summarised per component."""


def _grouped(names: list[str], label: str, limit: int) -> list[str]:
    if not names:
        return []
    if len(names) <= limit:
        return [f"  {label}: {n}" for n in names]
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(n.split("[")[0], []).append(n)
    return [f"  {label}: {comp} ({len(items)}, e.g. {items[0]})" for comp, items in groups.items()]


# --- the elastic model ---------------------------------------------------------------------------


def _bound_value(x) -> float | None:
    return None if x is None else float(pyo.value(x))


def elastic_model(m) -> dict:
    """Add a penalised slack to every row of :data:`GROUPS` on the built model ``m`` (in place).

    ``row <= limit`` becomes ``row - slack <= limit`` (the groups are all upper limits). The
    model's objectives are deactivated and replaced by ``minimise sum penalty * slack``. Returns
    ``{(group, index): (slack var, limit in row units)}``.
    """
    for obj in m.component_data_objects(pyo.Objective, active=True):
        obj.deactivate()
    rows = []
    for g in GROUPS:
        comp = m.component(g.component)
        if comp is None:
            continue
        for index, con in comp.items():
            if con.active and con.has_ub() and not con.has_lb():
                rows.append((g, index, con))
    m.elastic_index = pyo.Set(initialize=range(len(rows)))
    m.elastic_slack = pyo.Var(m.elastic_index, within=pyo.NonNegativeReals)
    slacks = {}
    for i, (g, index, con) in enumerate(rows):
        limit = _bound_value(con.upper)
        con.set_value((None, con.body - m.elastic_slack[i], con.upper))
        slacks[(g, index)] = (m.elastic_slack[i], limit)
    m.elastic_objective = pyo.Objective(
        expr=sum(g.penalty * g.per_row_unit * m.elastic_slack[i] for i, (g, _, _) in enumerate(rows)),
        sense=pyo.minimize,
    )
    return slacks


def _shortfalls(d, slacks: dict) -> list[Shortfall]:
    """Rows whose slack is used, in the order of :data:`GROUPS` and of each component's index."""
    labels = d.grid.labels
    out = []
    for (g, index), (var, limit) in slacks.items():
        s = var.value or 0.0
        if s <= SLACK_TOL:
            continue
        if g.component == "staff_production":
            # the row is work + notice hours - available hours <= 0: no limit of its own to quote
            out.append(Shortfall(g.component, index, s * g.per_row_unit, g.unit, None, labels[index[1]]))
        else:
            limit_nat = None if limit is None else limit * g.per_row_unit
            out.append(Shortfall(g.component, index, s * g.per_row_unit, g.unit, limit_nat))
    return out


def diagnose(d, time_limit: float | None = None, prepare=None, with_iis: bool | None = None) -> Diagnosis:
    """Diagnose instance ``d``: which budgets and IND hours must give, and by how much.

    ``prepare(m)``, if given, is applied to the freshly built model first (e.g. the fixed decisions
    of the status quo). ``with_iis``: True computes HiGHS's IIS whenever the plan is infeasible;
    None (default) only when the elastic re-solve cannot explain it; False never.
    ``time_limit``: seconds for each solver call.
    """
    from pyomo.contrib.solver.solvers.highs import Highs

    from planner.instance.load import check_before_build
    from planner.solver.highs import SolveInfo, run_highs

    check_before_build(d)
    t0 = time.perf_counter()
    m = build_model(d)
    if prepare is not None:
        prepare(m)
    slacks = elastic_model(m)
    info = SolveInfo()
    try:
        run_highs(Highs(), m, time_limit, ELASTIC_MIP_GAP, info)
    except InfeasibleError:
        status, shortfalls = "unexplained", []
    else:
        shortfalls = _shortfalls(d, slacks)
        status = "infeasible" if shortfalls else "feasible"
    iis, note = None, ""
    if status != "feasible" and (with_iis or (with_iis is None and status == "unexplained")):
        iis, note = iis_names(_rebuilt(d, prepare), time_limit)  # of the model as built, not the elastic one
    return Diagnosis(d.name, status, shortfalls, iis, note, time.perf_counter() - t0)


def _rebuilt(d, prepare):
    m = build_model(d)
    if prepare is not None:
        prepare(m)
    return m


# --- HiGHS's IIS ---------------------------------------------------------------------------------


def iis_names(m, time_limit: float | None = None) -> tuple[list[str] | None, str]:
    """Names of the rows (and variable bounds) of HiGHS's irreducible infeasible subset of ``m``.

    Returns ``(names, note)``; ``names`` is None when HiGHS finds none (a feasible LP relaxation:
    the conflict then needs the integer decisions) or cannot compute one.
    """
    try:
        import highspy
    except ImportError:  # pragma: no cover - highspy is a dependency
        return None, "highspy is not available"
    if not hasattr(highspy.Highs, "getIis"):
        return None, "this highspy has no getIis (HiGHS >= 1.11 is needed)"
    objectives = list(m.component_data_objects(pyo.Objective, active=True))
    for obj in objectives[1:]:
        obj.deactivate()
    fd, path = tempfile.mkstemp(prefix="planner-iis-", suffix=".lp")
    os.close(fd)
    try:
        _, smap_id = m.write(path, io_options={"symbolic_solver_labels": True})
        smap = m.solutions.symbol_map[smap_id]
        with capture_output(capture_fd=True):  # HiGHS prints its banner when created
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("random_seed", 0)
            h.setOptionValue("threads", 1)
            if time_limit is not None:
                h.setOptionValue("time_limit", float(time_limit))
            h.readModel(path)
            strategy = int(highspy.IisStrategy.kIisStrategyFromLp) | int(highspy.IisStrategy.kIisStrategyIrreducible)
            h.setOptionValue("iis_strategy", strategy)
            status, iis = h.getIis()
        if status == highspy.HighsStatus.kError or not iis.valid_:
            return None, "HiGHS could not compute an IIS"
        lp = h.getLp()
        names = []
        for r in iis.row_index_:
            label = lp.row_names_[r] if r < len(lp.row_names_) else f"row {r}"
            obj = smap.bySymbol.get(label)
            names.append(obj.name if obj is not None else label)
        for c in iis.col_index_:
            label = lp.col_names_[c] if c < len(lp.col_names_) else f"column {c}"
            obj = smap.bySymbol.get(label)
            names.append(f"bounds of {obj.name if obj is not None else label}")
        if not names:
            return None, "HiGHS found no IIS: the LP relaxation is feasible (the conflict involves integer decisions)"
        return names, ""
    except Exception as e:  # noqa: BLE001 - the IIS is an extra; the elastic diagnosis stands without it
        return None, f"HiGHS could not compute an IIS ({type(e).__name__}: {e})"
    finally:
        for obj in objectives[1:]:
            obj.activate()
        try:
            os.unlink(path)
        except OSError:
            pass
