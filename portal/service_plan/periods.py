"""Calendar periods of the service plan (local dates in Asia/Shanghai)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from portal.core.timeutil import from_local


@dataclass(frozen=True)
class Period:
    key: str      # 2026-11 | 2026Q4 | 2026
    start: date   # first day
    end: date     # first day of the next period

    @property
    def start_utc(self) -> datetime:
        return from_local(datetime.combine(self.start, time.min))

    @property
    def end_utc(self) -> datetime:
        return from_local(datetime.combine(self.end, time.min))

    def contains(self, d: date) -> bool:
        return self.start <= d < self.end


def month(d: date) -> Period:
    start = d.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return Period(f"{d.year}-{d.month:02d}", start, end)


def quarter(d: date) -> Period:
    q = (d.month - 1) // 3
    start = date(d.year, 3 * q + 1, 1)
    end = date(d.year + 1, 1, 1) if q == 3 else date(d.year, 3 * q + 4, 1)
    return Period(f"{d.year}Q{q + 1}", start, end)


def year(d: date) -> Period:
    return Period(f"{d.year}", date(d.year, 1, 1), date(d.year + 1, 1, 1))


def previous(p: Period, kind) -> Period:
    return kind(p.start - timedelta(days=1))


OF_KIND = {"month": month, "quarter": quarter, "year": year}
MONTHS = {"month": 1, "quarter": 3, "year": 12}
# SQL LIKE patterns of each kind's keys (2026-05, 2026Q2, 2026)
KEY_PATTERN = {"month": "____-__", "quarter": "____Q_", "year": "____"}


def of(kind: str, d: date) -> Period:
    """The period of this kind ("month", "quarter", "year") that contains `d`."""
    return OF_KIND[kind](d)
