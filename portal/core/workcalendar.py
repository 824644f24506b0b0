"""The official working-day schedule as an administrator entered it (法定节假日 and 调休), for the years
`chinesecalendar` does not know yet — or to correct one it does.

`portal.core.policy.is_workday` asks `override(day)` first: True (a make-up working day, 调休上班),
False (a public holiday), or None (not entered: the package, else Monday–Friday). The table is small (a few
dozen days a year), so each process keeps all of it in memory: loaded on first use, forgotten at once in the
process that changes it, and read again after `TTL_S` seconds in every other one (a web worker, the job
worker), so every process counts the same working days within that time.

Changing the table announces `work_calendar_changed(first_day=…)` through the kernel: the metrics area
brings its working-day table up to date, the service-level area moves the due dates of running clocks.
"""
from __future__ import annotations

import csv
import io
import threading
import time as _time
from dataclasses import dataclass
from datetime import date, datetime

import chinese_calendar
from flask import has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.kernel import kernel
from portal.core.timeutil import utcnow
from portal.extensions import db

HOLIDAY, WORKDAY = "holiday", "workday"
KINDS = (HOLIDAY, WORKDAY)
TTL_S = 30.0  # how long another process may count with what it read before
FIRST_YEAR, LAST_YEAR = 2004, 2100  # what a typed date may be


class CalendarDay(db.Model):
    """One day whose kind the administrator set: a public holiday or a make-up working day (调休)."""

    __tablename__ = "work_calendar_days"
    __table_args__ = (CheckConstraint("kind IN ('holiday','workday')", name="kind_known"),)

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(40), default="")  # 春节, 国庆节调休 …
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the per-process copy --------------------------------------------------------------------------

_lock = threading.Lock()
_cache: dict = {"days": None, "loaded": 0.0}


def forget() -> None:
    """Read the table again on next use (this process changed it, or a test emptied it)."""
    with _lock:
        _cache["days"] = None


def prime(conn) -> None:
    """Read the table through `conn` (a caller holding its own write transaction on SQLite, e.g. the bench seed,
    whose session could not begin another one) and keep it as this process's copy."""
    rows = conn.execute(select(CalendarDay.day, CalendarDay.kind)).all()
    with _lock:
        _cache["days"], _cache["loaded"] = {d: kind == WORKDAY for d, kind in rows}, _time.monotonic()


def _days() -> dict[date, bool]:
    days, loaded = _cache["days"], _cache["loaded"]
    if days is not None and _time.monotonic() - loaded < TTL_S:
        return days
    if not has_app_context():
        return days or {}
    rows = db.session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
    days = {d: kind == WORKDAY for d, kind in rows}
    with _lock:
        _cache["days"], _cache["loaded"] = days, _time.monotonic()
    return days


def override(day: date) -> bool | None:
    """True: a working day by the administrator's entry; False: a holiday; None: not entered."""
    return _days().get(day)


def version() -> int:
    """Changes whenever the entered days do (a cache of anything computed from working days keys on it)."""
    return hash(frozenset(_days().items()))


def package_knows(year: int) -> bool:
    """Whether the installed chinesecalendar has the official schedule of this year."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


# --- changing it -----------------------------------------------------------------------------------

class CalendarError(Exception):
    def __init__(self, message, errors: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


@dataclass(frozen=True)
class Entry:
    day: date
    kind: str
    name: str = ""


def for_year(year: int) -> list[CalendarDay]:
    return list(db.session.scalars(select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                             CalendarDay.day <= date(year, 12, 31))
                                   .order_by(CalendarDay.day)))


def years() -> list[int]:
    """The years with entered days (newest first)."""
    return sorted({d.year for d in db.session.scalars(select(CalendarDay.day))}, reverse=True)


def _check(entry: Entry) -> Entry:
    if entry.kind not in KINDS:
        raise CalendarError(_l("The kind is “holiday” or “workday”."))
    if not FIRST_YEAR <= entry.day.year <= LAST_YEAR:
        raise CalendarError(_l("The date must be between %(a)d and %(b)d.", a=FIRST_YEAR, b=LAST_YEAR))
    name = (entry.name or "").strip()
    if len(name) > 40:
        raise CalendarError(_l("The name is at most 40 characters."))
    return Entry(entry.day, entry.kind, name)


def _changed(first_day: date) -> None:
    db.session.flush()
    forget()
    kernel.emit("work_calendar_changed", first_day=first_day)


def put(entries: list[Entry], actor_id: int | None) -> int:
    """Enter (or change) these days; returns how many. The caller commits."""
    entries = [_check(e) for e in entries]
    if not entries:
        return 0
    now = utcnow()
    for e in entries:
        row = db.session.get(CalendarDay, e.day)
        if row is None:
            row = CalendarDay(day=e.day)
            db.session.add(row)
        row.kind, row.name, row.changed_by_id, row.changed_at = e.kind, e.name, actor_id, now
    _changed(min(e.day for e in entries))
    return len(entries)


def remove(day: date) -> bool:
    """Forget one entered day (it counts as the package or Monday–Friday says again)."""
    gone = db.session.execute(delete(CalendarDay).where(CalendarDay.day == day)).rowcount
    if gone:
        _changed(day)
    return bool(gone)


KIND_WORDS = {"holiday": HOLIDAY, "假日": HOLIDAY, "节假日": HOLIDAY, "休": HOLIDAY, "放假": HOLIDAY,
              "workday": WORKDAY, "工作日": WORKDAY, "班": WORKDAY, "上班": WORKDAY, "调休": WORKDAY}


def parse_lines(text: str) -> list[Entry]:
    """`date,kind,name` per line (CSV; the kind in English or Chinese; blank lines and # comments skipped).
    Raises CalendarError with one Chinese message per bad line, and then nothing is entered."""
    entries, errors, seen = [], [], {}
    for n, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in cells]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if n == 1 and cells[0].lower() in ("date", "日期"):
            continue  # a header line
        if len(cells) < 2:
            errors.append(str(_l("Line %(n)d: write date,kind,name.", n=n)))
            continue
        try:
            day = date.fromisoformat(cells[0])
        except ValueError:
            errors.append(str(_l("Line %(n)d: “%(v)s” is not a date (YYYY-MM-DD).", n=n, v=cells[0][:20])))
            continue
        kind = KIND_WORDS.get(cells[1].lower())
        if kind is None:
            errors.append(str(_l("Line %(n)d: the kind is “holiday” or “workday”, not “%(v)s”.", n=n,
                                 v=cells[1][:20])))
            continue
        if day in seen:
            errors.append(str(_l("Line %(n)d: %(d)s is already on line %(m)d.", n=n, d=day.isoformat(),
                                 m=seen[day])))
            continue
        try:
            entries.append(_check(Entry(day, kind, ",".join(cells[2:]))))
        except CalendarError as e:
            errors.append(str(_l("Line %(n)d: %(e)s", n=n, e=e.message)))
            continue
        seen[day] = n
    if errors:
        raise CalendarError(_l("Nothing was imported: correct these lines."), errors)
    if not entries:
        raise CalendarError(_l("No days in the text."))
    return entries
