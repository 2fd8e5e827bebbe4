"""Errors the user can act on.

Every problem with input (instance, CSV series, overrides) is an :class:`InputError`: it names the
file, the field path (``case_types.spoor4.deadline_months``) and what was expected, and the CLI
prints it as one line and exits with code 2.

A solve that yields no plan raises a :class:`SolveError` with its exit code: an
:class:`InfeasibleError` (3; its message says which budget or IND hours must give and by how
much, see :mod:`planner.solver.diagnose`) or a :class:`LimitError` (4: the solver stopped at a limit
before it found any plan).
"""

from __future__ import annotations


class InputError(Exception):
    """A problem in user input: one line, naming file, field and expectation."""

    def __init__(self, field: str, message: str, file: str | None = None):
        self.field = field
        self.message = message
        self.file = file
        super().__init__(str(self))

    def with_file(self, file: str) -> "InputError":
        if self.file is None:
            self.file = str(file)
        return self

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        field = f"{self.field}: " if self.field else ""
        text = f"{where}{field}{self.message}"
        return " ".join(text.split())  # always one line


class SolveError(Exception):
    """The solver returned no usable plan (infeasible, unbounded, no incumbent)."""

    def __init__(self, message: str, exit_code: int = 3):
        self.exit_code = exit_code
        super().__init__(" ".join(message.split()))


class InfeasibleError(SolveError):
    """No plan satisfies every constraint (exit code 3).

    ``diagnosis`` (a :class:`planner.solver.diagnose.Diagnosis`, when one was run) says which limits must
    give and by how much; the message is its one-line summary.
    """

    def __init__(self, message: str, diagnosis=None):
        self.diagnosis = diagnosis
        super().__init__(message, 3)


class LimitError(SolveError):
    """The solver stopped at a limit (time, iterations, solutions) before it found any plan (exit code 4)."""

    def __init__(self, message: str):
        super().__init__(message, 4)
