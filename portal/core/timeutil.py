"""Time: stored as naive UTC in the database, shown in Asia/Shanghai."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
_SET_CLOCK: ContextVar[datetime | None] = ContextVar("portal_set_clock", default=None)


def utcnow() -> datetime:
    return _SET_CLOCK.get() or datetime.now(timezone.utc).replace(tzinfo=None)


@contextmanager
def clock_set_to(moment: datetime) -> Iterator[None]:
    """Run the enclosed code as if it were `moment` (naive UTC) for everything that asks utcnow() or
    today_local(): the demo data replays a year of history through the real operations at the times it
    would have happened. Never in a request or a job."""
    token = _SET_CLOCK.set(moment)
    try:
        yield
    finally:
        _SET_CLOCK.reset(token)


def today_local() -> date:
    """Today's date in Shanghai (the portal's one local day: deadlines, periods, contracts)."""
    return to_local(utcnow()).date()


def to_local(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ)


# CLDR patterns made only of numeric fields print the same digits in every locale the portal speaks
# (zh_CN, en: Latin digits), so strftime can render them. Babel's format_datetime costs about ten times as
# much per call — it adds up on pages that show a time in each of 50 rows or 30 history entries.
_NUMERIC_PATTERNS = {
    "yyyy-MM-dd HH:mm": "%Y-%m-%d %H:%M",
    "yyyy-MM-dd HH:mm:ss": "%Y-%m-%d %H:%M:%S",
    "yyyy-MM-dd": "%Y-%m-%d",
    "MM-dd HH:mm": "%m-%d %H:%M",
    "HH:mm": "%H:%M",
}


def format_local(dt: datetime, pattern: str) -> str | None:
    """Naive-UTC `dt` as Shanghai wall-clock text for an all-numeric CLDR `pattern` (fast path of the
    `local_dt` template filter); None for any other pattern (month names, weekdays…: use Babel)."""
    fmt = _NUMERIC_PATTERNS.get(pattern)
    if fmt is None:
        return None
    return dt.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ).strftime(fmt)


def from_local(dt: datetime) -> datetime:
    """A wall-clock time typed by a user in Shanghai → naive UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=LOCAL_TZ)
    return dt.astimezone(timezone.utc).replace(tzinfo=None)
