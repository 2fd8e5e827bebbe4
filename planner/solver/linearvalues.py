"""The values of a solved model's named expressions, from HiGHS's column values in one numpy pass.

The report tables read about 1,400 named expressions on nl-2022 (costs per component and period,
occupancy, places open, linked permit holders ...); Pyomo evaluates each by walking its tree,
about 25 ms per plan. A persistent re-solve (:mod:`planner.solver.persistent`) keeps one model for many
variants, so every expression is turned into its linear form once,

    e = c_e + sum_j a_ej x_j        (x: the LP's column values),

with every coefficient that involves mutable parameters kept as its expression of them. After a
solve all values are one gather-multiply-sum:

    values = c + bincount(row, a * x[col])

and after a variant's parameter change only the coefficients that depend on a changed parameter
are evaluated again. An expression that is not linear, or that holds a variable HiGHS does not
have (one in no constraint and not in the objective), is evaluated by Pyomo as before.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.visitor import identify_mutable_parameters, identify_variables
from pyomo.repn import generate_standard_repn


class LinearExpressionValues:
    """Linear forms of every named expression of model ``m``; ``columns``: id(variable) -> column."""

    def __init__(self, m, columns: dict[int, int]):
        self.expressions = list(m.component_data_objects(pyo.Expression, descend_into=True))
        self.compiled: list[int] = []  # positions in self.expressions
        self.by_pyomo: list[int] = []
        rows, cols, coefs, consts = [], [], [], []
        self._coef_exprs: dict[int, object] = {}  # flat position -> coefficient expression
        self._const_exprs: dict[int, object] = {}  # compiled row -> constant expression
        self._depends: dict[int, list[tuple[str, int]]] = defaultdict(list)  # id(ParamData) -> ("coef"|"const", position)
        for i, e in enumerate(self.expressions):
            repn = generate_standard_repn(e.expr, compute_values=False, quadratic=False)
            if not self._compilable(repn, columns):
                self.by_pyomo.append(i)
                continue
            row = len(self.compiled)
            self.compiled.append(i)
            consts.append(self._number(repn.constant, "const", row, self._const_exprs))
            for v, a in zip(repn.linear_vars, repn.linear_coefs):
                pos = len(coefs)
                rows.append(row)
                cols.append(columns[id(v)])
                coefs.append(self._number(a, "coef", pos, self._coef_exprs))
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        self.coefs = np.asarray(coefs, dtype=float)
        self.consts = np.asarray(consts, dtype=float)

    @staticmethod
    def _compilable(repn, columns) -> bool:
        """Linear, every variable a HiGHS column, and no fixed variable hidden in a coefficient."""
        if repn.nonlinear_expr is not None or any(id(v) not in columns for v in repn.linear_vars):
            return False
        for x in [repn.constant, *repn.linear_coefs]:
            if hasattr(x, "is_expression_type") and any(True for _ in identify_variables(x)):
                return False
        return True

    def _number(self, x, kind: str, pos: int, exprs: dict) -> float:
        """The value of a coefficient or constant; one that involves parameters is remembered."""
        if hasattr(x, "is_expression_type") and not x.is_constant():
            exprs[pos] = x
            for p in identify_mutable_parameters(x):
                self._depends[id(p)].append((kind, pos))
        return float(pyo.value(x))

    def parameters_changed(self, changed) -> None:
        """Evaluate again the coefficients and constants that depend on the ParamData ``changed``."""
        for p in changed:
            for kind, pos in self._depends.get(id(p), ()):
                if kind == "coef":
                    self.coefs[pos] = pyo.value(self._coef_exprs[pos])
                else:
                    self.consts[pos] = pyo.value(self._const_exprs[pos])

    def values(self, column_values) -> np.ndarray:
        """Values of the compiled expressions (in the order of ``self.compiled``)."""
        x = np.asarray(column_values, dtype=float)
        return self.consts + np.bincount(self.rows, weights=self.coefs * x[self.cols], minlength=len(self.compiled))

    @contextmanager
    def frozen(self, column_values):
        """Every named expression holds its value (a number) while the block runs; restored after.

        Compiled expressions take their value from ``column_values``; the others are evaluated by
        Pyomo, in declaration order, after them (a nested named expression is then a number).
        """
        saved = [(e, e.expr) for e in self.expressions]
        try:
            for i, v in zip(self.compiled, self.values(column_values).tolist()):
                self.expressions[i].set_value(v)
            for i in self.by_pyomo:
                e = self.expressions[i]
                e.set_value(pyo.value(e.expr, exception=False))
            yield
        finally:
            for e, expr in saved:
                e.set_value(expr)
