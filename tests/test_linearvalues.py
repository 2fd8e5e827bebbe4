"""Named expressions valued from column values through their linear forms (planner.solver.linearvalues)."""

import pyomo.environ as pyo

from planner.solver.linearvalues import LinearExpressionValues


def model():
    m = pyo.ConcreteModel()
    m.a = pyo.Param(initialize=2, mutable=True)
    m.b = pyo.Param(initialize=3, mutable=True)
    m.x = pyo.Var()
    m.y = pyo.Var()
    m.z = pyo.Var()  # not a column: in no constraint
    m.e1 = pyo.Expression(expr=m.a * m.x + m.b * m.y + 5)
    m.e2 = pyo.Expression(expr=2 * m.e1 - m.a * m.b)  # nested, and a constant made of parameters
    m.e3 = pyo.Expression(expr=m.x * m.y)  # not linear: Pyomo evaluates it
    m.e4 = pyo.Expression(expr=m.x + m.z)  # a variable HiGHS does not have: Pyomo evaluates it
    return m


def test_values_and_parameter_changes():
    """Columns x = 1, y = 4 (z has no column and holds 7):

    e1 = a x + b y + 5 = 2 + 12 + 5 = 19;  e2 = 2 e1 - a b = 38 - 6 = 32;  e3 = x y = 4;
    e4 = x + z = 8.  After a := 10 (and only after the change is reported):
    e1 = 10 + 12 + 5 = 27;  e2 = 54 - 30 = 24.  Outside the block the expressions are symbolic again.
    """
    m = model()
    m.x.set_value(1)
    m.y.set_value(4)
    m.z.set_value(7)
    lin = LinearExpressionValues(m, {id(m.x): 0, id(m.y): 1})
    assert [m.e1, m.e2] == [lin.expressions[i] for i in lin.compiled]
    assert [m.e3, m.e4] == [lin.expressions[i] for i in lin.by_pyomo]
    with lin.frozen([1.0, 4.0]):
        assert [m.e1.expr, m.e2.expr, m.e3.expr, m.e4.expr] == [19, 32, 4, 8]
    assert m.e1.expr.is_expression_type() and pyo.value(m.e1) == 19

    m.a.set_value(10)
    lin.parameters_changed([m.a])
    with lin.frozen([1.0, 4.0]):
        assert [m.e1.expr, m.e2.expr] == [27, 24]
    # the column values, not the variables' own values, are what count for compiled expressions
    with lin.frozen([0.0, 1.0]):
        assert [m.e1.expr, m.e2.expr] == [8, -14]


def test_unreported_parameter_change_is_not_seen():
    """The contract: the caller reports every changed parameter (planner.solver.persistent does, from the
    values it copies in). A change not reported leaves the compiled coefficient as it was, which
    is what makes the incremental update cheap; this test pins that behaviour down."""
    m = model()
    lin = LinearExpressionValues(m, {id(m.x): 0, id(m.y): 1})
    m.b.set_value(100)
    with lin.frozen([1.0, 4.0]):
        assert m.e1.expr == 19
    lin.parameters_changed([m.b])
    with lin.frozen([1.0, 4.0]):
        assert m.e1.expr == 2 + 400 + 5
