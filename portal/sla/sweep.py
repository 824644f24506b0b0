"""The clocks' sweep (every minute, portal/jobs/cron_config.py): a reminder before a promise breaches, an
escalation when it does — each once per clock.

- A running clock whose reminder time has passed, still within its limit and not yet reminded: one
  `clock_due_soon` reminder to whoever must keep it (its person, else its role).
- A running clock past its limit and not yet escalated: one `clock_breached` reminder to the manager it
  escalates to (its `escalate_role`; a clock without one: whoever must keep it).

Each reminder is keyed "<kind>:<clock id>" (INSERT … ON CONFLICT DO NOTHING) and the clock remembers it
(`reminded_at`, `escalated_at`), so a second run — or two schedulers — create nothing new. A stopped clock
gets nothing more (stopping settles its reminders: portal.sla.clocks). Every step is one set-based
statement: the number of statements does not grow with the number of clocks.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, case, cast, func, literal, select, update

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.jobs.runtime import job
from portal.notifications import reminders
from portal.notifications.jobs import announce, deliver_reminder_notifications
from portal.sla.models import ServiceClock

COLUMNS = ["key", "kind", "role", "user_id", "customer_id", "ticket_id", "period", "due_at", "created_at"]


def _key(kind: str):
    return literal(f"{kind}:") + cast(ServiceClock.id, String)


def _period():
    """Where the reminder leads (portal.sla.area.clock_link): "v<visit id>" for a visit's clock, else "c<clock id>"."""
    return case((ServiceClock.visit_id.is_not(None), literal("v") + cast(ServiceClock.visit_id, String)),
                else_=literal("c") + cast(ServiceClock.id, String))


def _ticket():
    """The ticket a reminder names (its page is where to act); a visit's clock leads to the visit instead."""
    return case((ServiceClock.visit_id.is_(None), ServiceClock.ticket_id), else_=cast(literal(None), Integer))


def sweep(now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    running = ServiceClock.stopped_at.is_(None)
    created: dict[str, int] = {}

    # 1. About to breach: remind whoever must keep it (a person, else a role), once.
    soon = (running, ServiceClock.reminded_at.is_(None), ServiceClock.remind_at <= now, ServiceClock.due_at > now)
    created["clock_due_soon"] = reminders.open_from_select(
        select(_key("clock_due_soon"), literal("clock_due_soon"),
               case((ServiceClock.user_id.is_(None), ServiceClock.role), else_=cast(literal(None), String)),
               ServiceClock.user_id, ServiceClock.customer_id, _ticket(), _period(), ServiceClock.due_at,
               literal(now)).where(*soon), COLUMNS)
    db.session.execute(update(ServiceClock).where(*soon).values(reminded_at=now)
                       .execution_options(synchronize_session=False))

    # 2. Breached: escalate to the responsible manager, once (a clock past its limit before any sweep saw it
    #    gets only this one: the reminder before would come too late to help).
    breached = (running, ServiceClock.escalated_at.is_(None), ServiceClock.due_at <= now)
    no_manager = ServiceClock.escalate_role.is_(None)
    created["clock_breached"] = reminders.open_from_select(
        select(_key("clock_breached"), literal("clock_breached"),
               func.coalesce(ServiceClock.escalate_role, ServiceClock.role),
               case((no_manager, ServiceClock.user_id), else_=cast(literal(None), Integer)),
               ServiceClock.customer_id, _ticket(), _period(), ServiceClock.due_at, literal(now)).where(*breached),
        COLUMNS)
    db.session.execute(update(ServiceClock).where(*breached).values(escalated_at=now)
                       .execution_options(synchronize_session=False))
    return created


@job
def sweep_service_clocks() -> dict[str, int]:
    now = utcnow()
    created = sweep(now)
    if reminders.notify_people(now):  # a clock kept by one person reaches them in person (bell, e-mail)
        deliver_reminder_notifications(now)
    announce([("clock_breached", "managers", created["clock_breached"])])  # the group robot hears of breaches
    return created
