"""Working time in SQL.

Times are stored as naive UTC; days are local (Asia/Shanghai, UTC+8 all year — China has had no
daylight saving time since 1991, so a fixed offset is exact for every date the portal will see).

Working time counts the whole of every working day and nothing of weekends and holidays (the
official schedule, make-up working days included, from `chinesecalendar` via policy.is_workday).
"3 working days" after Friday 18:00 is therefore Wednesday 18:00. With the table
`metrics_workdays` (one row per day: working day?, working days before it), the working seconds
before an instant t are

    W(t) = workdays_before(day(t)) * 86400 + workday(day(t)) * seconds since local midnight(t)

and the working time between two instants is W(end) - W(start): two joins and a subtraction.
"""
from __future__ import annotations

import functools
from datetime import date, timedelta

from sqlalchemy import Date, Integer, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from portal.core import workcalendar
from portal.core.policy import is_workday
from portal.core.timeutil import to_local, today_local
from portal.extensions import db
from portal.metrics.models import WorkCalendarDay
from portal.tickets.models import Ticket

UTC_OFFSET_S = 8 * 3600
CALENDAR_EPOCH = date(2004, 1, 1)  # the first year chinesecalendar knows
DAY_S = 86400


class local_day(FunctionElement):
    """The local date of a naive-UTC timestamp column, optionally minus whole days."""

    type = Date()
    inherit_cache = True

    def __init__(self, column, minus_days: int = 0):
        self.minus_days = minus_days
        super().__init__(column)


@compiles(local_day, "sqlite")
def _local_day_sqlite(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    shift = f"'-{element.minus_days} days'" if element.minus_days else None
    return f"date({arg}, '+8 hours'{', ' + shift if shift else ''})"


@compiles(local_day, "postgresql")
def _local_day_pg(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    minus = f" - INTERVAL '{element.minus_days} days'" if element.minus_days else ""
    return f"CAST({arg} + INTERVAL '8 hours'{minus} AS DATE)"


class month_start(FunctionElement):
    """The first day of a date column's month."""

    type = Date()
    inherit_cache = True


@compiles(month_start, "sqlite")
def _month_start_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


@compiles(month_start, "postgresql")
def _month_start_pg(element, compiler, **kw):
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


class local_second_of_day(FunctionElement):
    """Seconds since local midnight of a naive-UTC timestamp column (whole seconds)."""

    type = Integer()
    inherit_cache = True


@compiles(local_second_of_day, "sqlite")
def _sod_sqlite(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    return f"((CAST(strftime('%s', {arg}) AS INTEGER) + {UTC_OFFSET_S}) % {DAY_S})"


@compiles(local_second_of_day, "postgresql")
def _sod_pg(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    return f"MOD(CAST(EXTRACT(EPOCH FROM {arg}) AS BIGINT) + {UTC_OFFSET_S}, {DAY_S})"


def working_seconds_before(cal, column) -> ColumnElement:
    """W(column) for a `metrics_workdays` alias `cal` joined on cal.day = local_day(column)."""
    return cal.workdays_before * DAY_S + cal.workday * local_second_of_day(column)


# --- filling the table -------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _rows(first: date, last: date, entered: int = 0) -> tuple[dict, ...]:
    """Calendar rows for [first, last], counting working days from CALENDAR_EPOCH. (The schedule changes
    when chinesecalendar is upgraded, which means a restart, or when an administrator enters days —
    `entered`, the entered days' version, is part of the key: computed once per process and version.)"""
    before = sum(1 for i in range((first - CALENDAR_EPOCH).days) if is_workday(CALENDAR_EPOCH + timedelta(days=i)))
    rows = []
    day = first
    while day <= last:
        w = 1 if is_workday(day) else 0
        rows.append({"day": day, "workday": w, "workdays_before": before})
        before += w
        day += timedelta(days=1)
    return tuple(rows)


def needed_range(first_needed: date | None = None) -> tuple[date, date]:
    """From the first ticket's year (or CALENDAR_EPOCH's) to the end of next year."""
    first_ticket = db.session.scalar(select(func.min(Ticket.created_at)))
    start = to_local(first_ticket).date() if first_ticket else today_local()
    if first_needed:
        start = min(start, first_needed)
    start = max(CALENDAR_EPOCH, date(start.year, 1, 1))
    return start, date(today_local().year + 1, 12, 31)


def ensure(first_needed: date | None = None) -> date | None:
    """Make the table cover every day that tickets can fall on and agree with the official schedule.

    Returns the first day whose row was missing or changed (None if the table was complete and
    current): working times from that day on must be computed again. A year's schedule changes
    when `chinesecalendar` is upgraded after the State Council publishes it.
    """
    start, end = needed_range(first_needed)
    wanted = _rows(start, end, workcalendar.version())
    have = {r.day: (r.workday, r.workdays_before) for r in db.session.execute(
        select(WorkCalendarDay.day, WorkCalendarDay.workday, WorkCalendarDay.workdays_before)
        .where(WorkCalendarDay.day >= start, WorkCalendarDay.day <= end))}
    changed = [r for r in wanted if have.get(r["day"]) != (r["workday"], r["workdays_before"])]
    if not changed:
        return None
    table = WorkCalendarDay.__table__
    dialect = db.engine.dialect.name
    ins = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))
    stmt = ins.on_conflict_do_update(
        index_elements=["day"], set_={"workday": ins.excluded.workday, "workdays_before": ins.excluded.workdays_before})
    for i in range(0, len(changed), 2000):
        db.session.execute(stmt, changed[i:i + 2000])
    return changed[0]["day"]

