"""Where each number leads: the ticket list with the filters that produced it.

The list (portal.tickets.listing.Filters) understands date_from/date_to (registered, local days),
customer_id and assignee_id (current assignee). The dashboard also needs the filters below; until
the list has them, `extra_conditions` is how they are meant — the ticket export applies them, and the
tests check every drill-down against them:

    department=dev|impl      Ticket.handling_department == value
    maintenance=<status>     the unit's current maintenance status (stopped | ordinary | vip)
    solved=1                 Ticket.resolved_at IS NOT NULL (stands resolved now)
    responded=1              Ticket.first_assigned_at IS NOT NULL (has been assigned)
    deadline=kept            resolved_at <= deadline
    deadline=missed          resolved after the deadline, or still open past it
"""
from __future__ import annotations

from sqlalchemy import and_, or_, select
from werkzeug.datastructures import MultiDict

from portal.core.enums import MaintenanceStatus
from portal.core.timeutil import utcnow
from portal.customers.models import CustomerUnit
from portal.tickets.models import Ticket

DEPARTMENTS = ("dev", "impl")


def extra_conditions(args: MultiDict) -> list:
    out = []
    department = args.get("department", "")
    if department in DEPARTMENTS:
        out.append(Ticket.handling_department == department)
    level = args.get("maintenance", "")
    if level in MaintenanceStatus._value2member_map_:
        out.append(Ticket.customer_id.in_(select(CustomerUnit.id).where(CustomerUnit.maintenance_status == level)))
    if args.get("solved") == "1":
        out.append(Ticket.resolved_at.is_not(None))
    if args.get("responded") == "1":
        out.append(Ticket.first_assigned_at.is_not(None))
    deadline = args.get("deadline", "")
    resolved = Ticket.resolved_at
    if deadline == "kept":
        out.append(and_(resolved.is_not(None), Ticket.deadline.is_not(None), resolved <= Ticket.deadline))
    elif deadline == "missed":
        out.append(and_(Ticket.deadline.is_not(None),
                        or_(resolved > Ticket.deadline, and_(resolved.is_(None), Ticket.deadline < utcnow()))))
    return out


def ticket_args(scope, **extra) -> dict:
    """Query arguments of the ticket list for the scope's tickets (plus `extra`)."""
    args = {"date_from": scope.period.start.isoformat(), "date_to": scope.period.last.isoformat()}
    if scope.department:
        args["department"] = scope.department
    if scope.engineer_id:
        args["assignee_id"] = scope.engineer_id
    if scope.customer_id:
        args["customer_id"] = scope.customer_id
    if scope.level:
        args["maintenance"] = scope.level
    args.update(extra)
    return args
