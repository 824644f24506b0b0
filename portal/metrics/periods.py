"""The dashboard's periods: a month, a quarter, a year (local calendar) or a custom range of days."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _

from portal.core.timeutil import today_local
from portal.core.params import in_calendar
from portal.service_plan import periods as plan_periods

KINDS = ("month", "quarter", "year", "custom")
TREND_LENGTH = 12


@dataclass(frozen=True)
class DashPeriod:
    kind: str
    start: date  # first day
    end: date  # the day after the last one

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def value(self) -> str:
        """What the period picker sends for it."""
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(self.start.year)
        return ""

    @property
    def label(self) -> str:
        y = self.start.year
        if self.kind == "month":
            return _("%(year)d-%(month)02d", year=y, month=self.start.month)
        if self.kind == "quarter":
            return _("Q%(quarter)d %(year)d", year=y, quarter=(self.start.month - 1) // 3 + 1)
        if self.kind == "year":
            return _("Year %(year)d", year=y)
        return _("%(first)s to %(last)s", first=self.start.isoformat(), last=self.last.isoformat())

    @property
    def short(self) -> str:
        """The period on a chart axis (its year goes on a second line, see axis_labels)."""
        if self.kind == "month":
            return _("M%(month)d", month=self.start.month)
        if self.kind == "quarter":
            return f"Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(self.start.year)
        return self.start.strftime("%m-%d")

    @property
    def ended(self) -> bool:
        return self.end <= today_local()

    def earlier(self, n: int) -> "DashPeriod":
        """The period n steps before this one (same kind and, for custom ranges, same length)."""
        p = self
        for _i in range(n):
            if p.kind == "custom":
                length = p.end - p.start
                p = DashPeriod("custom", p.start - length, p.start)
            else:
                p = of_kind(p.kind, p.start - timedelta(days=1))
        return p


def axis_labels(periods: list[DashPeriod]) -> list[tuple[str, str]]:
    """Two lines per period: the period, and its year under the first one and wherever the year changes."""
    out, year = [], None
    for p in periods:
        show_year = p.kind != "year" and p.start.year != year
        out.append((p.short, str(p.start.year) if show_year else ""))
        year = p.start.year
    return out


def of_kind(kind: str, day: date) -> DashPeriod:
    fn = {"month": plan_periods.month, "quarter": plan_periods.quarter, "year": plan_periods.year}[kind]
    p = fn(day)
    return DashPeriod(kind, p.start, p.end)


def trend(p: DashPeriod, count: int = TREND_LENGTH) -> list[DashPeriod]:
    """The `count` periods ending with p, oldest first; for a custom range, the months up to its last day
    (twelve year-long custom windows would read day by day through twelve years)."""
    if p.kind == "custom":
        p = of_kind("month", p.last)
    return [p.earlier(i) for i in range(count - 1, -1, -1)]


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
MAX_CUSTOM_DAYS = 3 * 366


class PeriodError(ValueError):
    pass


def parse(kind: str, value: str, first: date | None, last: date | None, today: date) -> DashPeriod:
    """The period the picker asked for; the current one of its kind when no value is given."""
    kind = kind or "month"
    if kind not in KINDS:
        raise PeriodError(_("Unknown kind of period."))
    value = (value or "").strip()
    if kind == "custom":
        if not first or not last:
            raise PeriodError(_("Choose the first and the last day of the range."))
        if last < first:
            raise PeriodError(_("The last day comes before the first day."))
        if (last - first).days >= MAX_CUSTOM_DAYS:
            raise PeriodError(_("Choose a range of at most three years."))
        return DashPeriod("custom", first, last + timedelta(days=1))
    if not value:
        return of_kind(kind, today)
    try:
        start = None
        if kind == "month" and (m := _MONTH.match(value)):
            start = date(int(m[1]), int(m[2]), 1)
        elif kind == "quarter" and (m := _QUARTER.match(value)):
            start = date(int(m[1]), 3 * int(m[2]) - 2, 1)
        elif kind == "year" and (m := _YEAR.match(value)):
            start = date(int(m[1]), 1, 1)
        # within the calendar the portal computes with: the trend steps back from it, the period's end after it
        if start is not None and in_calendar(start):
            return of_kind(kind, start)
    except ValueError:
        pass
    raise PeriodError(_("“%(value)s” is not a valid period.", value=value[:20]))
