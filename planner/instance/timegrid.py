"""The time grid: period labels, nights per period, and conversions of durations to periods.

Two grains exist: ``month`` (labels ``YYYY-MM``) and ``week`` (ISO weeks, labels ``YYYY-Www``).
Periods are numbered ``0 .. T-1``; every flow is per period and every stock is at the end of a
period.

* ``nights[t]``: calendar nights in period t (28..31 on a month grid, 7 on a week grid); used for
  person-nights (crisis shelter, unsheltered).
* ``year_fraction``: the share of a year one period stands for (1/12 or 7/365.25); converts
  yearly rates (salary, hours, cost per place-year) into per-period ones.
* ``periods_per_month``: 1 on a month grid, 365.25/12/7 on a week grid; converts durations given
  in months (deadlines, training, lead times) into periods.
* ``months_per_period``: the inverse; turns a per-period stock into "case-months".
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from planner.errors import InputError

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
WEEK_RE = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class TimeGrid:
    grain: str
    labels: tuple[str, ...]
    nights: tuple[float, ...]
    years: tuple[int, ...]

    @property
    def T(self) -> int:
        return len(self.labels)

    @property
    def year_fraction(self) -> float:
        return 1 / 12 if self.grain == "month" else 7 / DAYS_PER_YEAR

    @property
    def periods_per_month(self) -> float:
        return 1.0 if self.grain == "month" else DAYS_PER_YEAR / 12 / 7

    @property
    def months_per_period(self) -> float:
        return 1.0 / self.periods_per_month

    def index(self, label: str) -> int | None:
        """Position of ``label`` in the horizon, or None when it lies outside."""
        try:
            return self.labels.index(label)
        except ValueError:
            return None

    def offset(self, label: str) -> int:
        """Periods from the horizon's start to ``label`` (negative before the start)."""
        a, b = _ordinal(self.grain, self.labels[0]), _ordinal(self.grain, label)
        return b - a

    def months_to_periods(self, months: float) -> float:
        return months * self.periods_per_month

    def whole_periods(self, months: float) -> int:
        """A duration in months rounded to whole periods (training, lead times, lags)."""
        return int(round(self.months_to_periods(months) + 1e-9))


def valid_label(grain: str, label: str) -> bool:
    regex = MONTH_RE if grain == "month" else WEEK_RE
    m = regex.match(str(label))
    if not m:
        return False
    if grain == "week":
        try:
            dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            return False
    return True


def _ordinal(grain: str, label: str) -> int:
    if grain == "month":
        y, m = MONTH_RE.match(label).groups()
        return int(y) * 12 + int(m) - 1
    y, w = WEEK_RE.match(label).groups()
    return dt.date.fromisocalendar(int(y), int(w), 1).toordinal() // 7


LAST_YEAR = 9999
"""Periods end with the calendar: Python's dates (and four-digit labels) stop at 31 December 9999."""


def make_grid(grain: str, start: str, periods: int) -> TimeGrid:
    """The grid of ``periods`` periods from ``start``; a horizon that runs past the year
    :data:`LAST_YEAR` is an :class:`~planner.errors.InputError` naming ``horizon``."""
    labels, nights, years = [], [], []
    if grain == "month":
        y, m = (int(x) for x in MONTH_RE.match(start).groups())
        if (y * 12 + m - 1) + periods - 1 > LAST_YEAR * 12 + 11:
            _past_last_year(start, periods, grain, f"{LAST_YEAR}-12")
        for _ in range(periods):
            labels.append(f"{y:04d}-{m:02d}")
            nights.append(float(calendar.monthrange(y, m)[1]))
            years.append(y)
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    else:
        y, w = (int(x) for x in WEEK_RE.match(start).groups())
        first = dt.date.fromisocalendar(y, w, 1).toordinal()
        last_monday = dt.date.fromisocalendar(LAST_YEAR, 52, 1).toordinal()  # 9999 has 52 ISO weeks
        if first + 7 * (periods - 1) > last_monday:
            _past_last_year(start, periods, grain, f"{LAST_YEAR}-W52")
        for i in range(periods):
            iy, iw, _ = dt.date.fromordinal(first + 7 * i).isocalendar()
            labels.append(f"{iy:04d}-W{iw:02d}")
            nights.append(7.0)
            years.append(iy)
    return TimeGrid(grain, tuple(labels), tuple(nights), tuple(years))


def _past_last_year(start: str, periods: int, grain: str, last: str):
    raise InputError(
        "horizon",
        f"{periods} {grain} periods from {start} run past the year {LAST_YEAR}; expected a horizon that ends by {last}",
    )
