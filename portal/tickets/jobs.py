"""Ticket reminders swept from the database (SPEC §4): tickets past their deadline (the
assignee, then their manager). The standard's promises — emergency response, first reply within N working
days, deadline told, callback — are service-level clocks (portal/sla: started from when the customer asked,
reminded before they breach and escalated when they do, by `portal.sla.sweep`), not sweeps here. A ticket
waiting for the customer is not overdue: its clock has stopped (resuming moves its deadline on). Each reminder is keyed so that a second sweep creates nothing new, and
closes itself once the ticket has moved on. Every step is one set-based statement per limit in use.

Each ticket is held to the limits in force when it was registered (its policy snapshot; a ticket from
before snapshots takes its customer's level's values today): a step runs once for each distinct limit
among the tickets it looks at — a handful, however many tickets there are."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, case, cast, func, literal, select

from portal.core.enums import MaintenanceStatus, Role, State
from portal.core.policy import policy_for
from portal.core.timeutil import utcnow
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.jobs.runtime import job
from portal.notifications import reminders
from portal.notifications.models import Reminder
from portal.tickets.models import Ticket

COLUMNS = ["key", "kind", "role", "user_id", "ticket_id", "period", "due_at", "created_at"]


def _stamp(col):
    """A datetime column as YYYYMMDDHHMM text, in SQL (the key of one deadline)."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(col, "YYYYMMDDHH24MI")
    return func.strftime("%Y%m%d%H%M", col)


def _key(kind: str, *parts):
    expr = literal(f"{kind}:") + cast(Ticket.id, String)
    for part in parts:
        expr = expr + literal(":") + part
    return expr


def ticket_limit(field: str):
    """A ticket's limit `field` in SQL: its snapshot's value, else its customer's level's value today."""
    level = select(CustomerUnit.maintenance_status).where(CustomerUnit.id == Ticket.customer_id).scalar_subquery()
    today = case(*[(level == s.value, float(getattr(policy_for(s), field))) for s in MaintenanceStatus],
                 else_=float(getattr(policy_for(None), field)))
    return func.coalesce(Ticket.policy_snapshot[field].as_float(), today)


def limits_in_use(field: str, *where) -> list[tuple[float, object]]:
    """(each distinct value of the limit among the tickets `where` selects, the condition "this ticket's limit
    is that value")."""
    expr = ticket_limit(field)
    return [(v, expr == v) for v in db.session.scalars(select(expr).where(*where).distinct()) if v is not None]


def _manager_role():
    return case((Ticket.handling_department == "impl", Role.IMPL_MANAGER.value), else_=Role.DEV_MANAGER.value)


def sweep(now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    none = literal(None)
    created: dict[str, int] = {}
    overdue = (Ticket.state == State.ASSIGNED.value, Ticket.deadline < now)

    # 1. Past the deadline: the assignee; after overdue_escalate_hours their manager too. A ticket
    #    that was resolved and came back (unsolved callback, reopened) with the same deadline is
    #    overdue again: its reminder, closed when it was resolved, opens again.
    overdue_key = _key("overdue", _stamp(Ticket.deadline))
    manager_key = _key("overdue_manager", _stamp(Ticket.deadline))
    created["overdue"] = reminders.reopen(Reminder.key.in_(select(overdue_key).where(*overdue)), at=now) \
        + reminders.open_from_select(
            select(overdue_key, literal("overdue"), cast(none, String), Ticket.assignee_id,
                   Ticket.id, _stamp(Ticket.deadline), Ticket.deadline, literal(now)).where(*overdue), COLUMNS)
    created["overdue_manager"] = 0
    for hours, held_to in limits_in_use("overdue_escalate_hours", *overdue):
        escalated = (*overdue, held_to, Ticket.deadline < now - timedelta(hours=hours))
        created["overdue_manager"] += reminders.reopen(Reminder.key.in_(select(manager_key).where(*escalated)),
                                                       at=now) \
            + reminders.open_from_select(
                select(manager_key, literal("overdue_manager"), _manager_role(),
                       cast(none, db.Integer), Ticket.id, _stamp(Ticket.deadline), Ticket.deadline, literal(now))
                .where(*escalated), COLUMNS)

    # Close what the tickets have moved past.
    t = select(Ticket.id)
    created["settled"] = reminders.settle(Reminder.kind.in_(["overdue", "overdue_manager"]),
                                          Reminder.ticket_id.not_in(t.where(*overdue)), note="moved on")
    return created


@job
def sweep_ticket_reminders() -> dict[str, int]:
    from portal.notifications.jobs import announce, deliver_reminder_notifications  # jobs import tickets

    now = utcnow()
    created = sweep(now)
    if reminders.notify_people(now):  # the assignee's own reminders reach them in person
        deliver_reminder_notifications(now)
    announce([("overdue_manager", "managers", created.get("overdue_manager", 0))])
    return created
