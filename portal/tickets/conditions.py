"""What a ticket "is" for the figures: solved, responded to, deadline kept or missed, of a department or
a maintenance level — each defined once, as a WHERE condition on Ticket.

The ticket list's filters (portal.tickets.listing, and so the list's export) and the metrics
pre-aggregate the dashboard counts (portal.metrics.refresh) both use these, so following a number on
the dashboard to the list shows exactly the tickets that number counted.

Each is cheap at a million tickets: a drill-down always carries the period's date range (an index on
created_at), and these are tested on the rows that range selects.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, or_
from sqlalchemy.sql import ColumnElement

from portal.core.enums import MaintenanceStatus, State
from portal.core.timeutil import utcnow
from portal.customers.models import CustomerUnit
from portal.tickets.models import Ticket

DEPARTMENTS = ("dev", "impl")  # the departments that handle tickets (Ticket.handling_department)
DEADLINE_OUTCOMES = ("kept", "missed")


def of_department(department: str) -> ColumnElement:
    """Handled by this department (dev | impl)."""
    return Ticket.handling_department == department


def of_maintenance_level(level: str) -> ColumnElement:
    """About a unit whose maintenance status is now `level` (stopped | ordinary | vip).

    A correlated EXISTS (one primary-key look-up per ticket the other filters leave), not
    `customer_id IN (units of that level)`: SQLite would answer the IN from ix_tickets_customer, walking
    every ticket of thousands of units whatever the date range — 10× slower for a month's drill-down."""
    return exists().where(CustomerUnit.id == Ticket.customer_id, CustomerUnit.maintenance_status == level)


def solved() -> ColumnElement:
    """Stands resolved now (a ticket reopened after its callback is not, until it is resolved again)."""
    return Ticket.resolved_at.is_not(None)


def responded() -> ColumnElement:
    """Has been assigned to an engineer at least once (the response time runs until then)."""
    return Ticket.first_assigned_at.is_not(None)


def deadline_kept() -> ColumnElement:
    """Resolved by its deadline."""
    return and_(Ticket.resolved_at.is_not(None), Ticket.deadline.is_not(None), Ticket.resolved_at <= Ticket.deadline)


def deadline_missed(now: datetime | None = None) -> ColumnElement:
    """Resolved after its deadline, or still unresolved with the deadline past (`now`, naive UTC) — unless
    it waits for the customer: its clock has stopped, and resuming moves the deadline on."""
    now = now or utcnow()
    return and_(Ticket.deadline.is_not(None),
                or_(Ticket.resolved_at > Ticket.deadline,
                    and_(Ticket.resolved_at.is_(None), Ticket.deadline < now,
                         Ticket.state != State.WAITING_CUSTOMER.value)))


def valid_level(value: str) -> bool:
    return value in MaintenanceStatus._value2member_map_
