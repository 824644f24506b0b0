"""The metrics pre-aggregate (rebuilt by portal.metrics.refresh, never edited by hand).

`metrics_workdays` — one row per calendar day: whether it is a working day in China and how many
working days came before it, so working time between two instants is a subtraction in SQL.
`metrics_ticket_facts` — one narrow row per ticket: what the dashboard measures about it (working
seconds to first assignment and to resolution, deadline kept or missed, hours). Medians and
percentiles are read from here.
`metrics_daily` — the additive figures per local day, department, engineer and maintenance level:
sums of the facts, of the callbacks and of the service plan; `metrics_monthly` — the same per month.
Totals and trends are read from these.
`metrics_clock_daily` — the service-level clocks (portal.sla) counted per local day their limit falls
on, promise, department, engineer and maintenance level: kept, broken, still running; `metrics_clock_monthly`
— the same per month. The compliance tiles, tables and trend are read from these.
`metrics_refresh` — one row: how far the pre-aggregate has read (watermarks) and when.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.notifications.models import Reminder
from portal.sla.models import ServiceClock
from portal.tickets.models import Callback

# Indexes on other areas' tables that only the metrics need: the refresh recomputes the callbacks
# and the service plan of given days.
METRICS_INDEXES = (
    Index("ix_metrics_callbacks_made_at", Callback.made_at),
    Index("ix_metrics_reminders_due", Reminder.kind, Reminder.due_at),
    # the clocks of given days (by their limit), those changed since the last refresh, one unit's clocks
    Index("ix_metrics_clocks_due", ServiceClock.due_at),
    Index("ix_metrics_clocks_updated", ServiceClock.updated_at),
    Index("ix_metrics_clocks_customer", ServiceClock.customer_id, ServiceClock.due_at),
)


class WorkCalendarDay(db.Model):
    __tablename__ = "metrics_workdays"
    day: Mapped[date] = mapped_column(primary_key=True)
    workday: Mapped[int]  # 1 on a working day (make-up Saturdays included), 0 on weekends and holidays
    workdays_before: Mapped[int]  # working days from CALENDAR_EPOCH up to, not including, this day


class TicketFact(db.Model):
    __tablename__ = "metrics_ticket_facts"
    __table_args__ = (
        Index("ix_metrics_facts_day", "day", "department", "level", "assignee_id"),
        Index("ix_metrics_facts_customer", "customer_id", "day"),
        Index("ix_metrics_facts_assignee", "assignee_id", "day"),
        # Percentiles walk these in value order (SQLite has no percentile function).
        Index("ix_metrics_facts_response", "response_s", "day", "department", "level", "assignee_id"),
        Index("ix_metrics_facts_resolution", "resolution_s", "day", "department", "level", "assignee_id"),
    )
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    day: Mapped[date]  # local (Asia/Shanghai) date the ticket was registered
    department: Mapped[str] = mapped_column(String(20))  # handling department: dev | impl
    assignee_id: Mapped[int]  # current (last) assignee; 0 = never assigned
    customer_id: Mapped[int]
    level: Mapped[str] = mapped_column(String(20))  # the unit's maintenance status
    solved: Mapped[int]  # 1 while the ticket stands resolved (resolved_at set); a reopened ticket is 0 again
    response_s: Mapped[int | None]  # working seconds from registration to first assignment
    resolution_s: Mapped[int | None]  # working seconds from registration to (the latest) resolution
    deadline_kept: Mapped[int]  # resolved by its deadline
    deadline_missed: Mapped[int]  # resolved after it, or still open past it
    hours: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class _Figures:
    """The additive figures. Rows for callbacks that are not about a ticket, and for the service
    plan, have department '' and assignee_id 0."""

    day: Mapped[date] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(String(20), primary_key=True)
    assignee_id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(20), primary_key=True)
    raised: Mapped[int]
    solved: Mapped[int]
    responded: Mapped[int]
    response_s_sum: Mapped[int] = mapped_column(BigInteger)
    resolution_s_sum: Mapped[int] = mapped_column(BigInteger)
    deadline_kept: Mapped[int]
    deadline_missed: Mapped[int]
    hours: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    callbacks_scored: Mapped[int]
    callbacks_satisfied: Mapped[int]  # scored 4 or 5
    satisfaction_sum: Mapped[int]
    plan_callbacks_due: Mapped[int]
    plan_callbacks_done: Mapped[int]
    plan_visits_due: Mapped[int]
    plan_visits_done: Mapped[int]


class DailyFigures(_Figures, db.Model):
    __tablename__ = "metrics_daily"


class MonthlyFigures(_Figures, db.Model):
    """The daily figures summed per month (`day` is the month's first day): a year's dashboard and
    its twelve-period trend read a few thousand rows instead of a hundred thousand."""

    __tablename__ = "metrics_monthly"


class _ClockFigures:
    """Service-level clocks whose limit falls on `day` (local): kept, broken (stopped past the limit, or
    still running past it when the figures were computed) and still running within it. Void clocks (the
    promise no longer applied) are not counted. `assignee_id` is the clock's person (0: a role's)."""

    day: Mapped[date] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    department: Mapped[str] = mapped_column(String(20), primary_key=True)
    assignee_id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(20), primary_key=True)
    kept: Mapped[int]
    breached: Mapped[int]
    running: Mapped[int]


class ClockDaily(_ClockFigures, db.Model):
    __tablename__ = "metrics_clock_daily"


class ClockMonthly(_ClockFigures, db.Model):
    """The daily clock figures summed per month (`day` is the month's first day)."""

    __tablename__ = "metrics_clock_monthly"


class RefreshState(db.Model):
    __tablename__ = "metrics_refresh"
    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    refreshed_at: Mapped[datetime | None]  # the figures include every change up to about this time
    rebuilt_at: Mapped[datetime | None]  # last full rebuild
    event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    callback_id: Mapped[int] = mapped_column(BigInteger, default=0)
    reminder_id: Mapped[int] = mapped_column(BigInteger, default=0)
    status_change_id: Mapped[int] = mapped_column(BigInteger, default=0)
