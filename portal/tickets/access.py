"""Who may see which ticket (SPEC §1) — the one place that decides it.

客服, 市场部, 开发部经理, 实施部经理 and admins see every ticket. Engineers and
implementation engineers see the tickets they are or were assigned to, the tickets waiting
in their department's queue, and closed tickets for reference with the customer's personal
fields masked. A ticket the user may not see is a 404, exactly like a missing one.
"""
from __future__ import annotations

from typing import Iterable

from flask import abort
from sqlalchemy import and_, exists, false, or_, select, union_all
from sqlalchemy.sql import ColumnElement

from portal.auth.models import User
from portal.core.enums import State
from portal.core.kernel import kernel
from portal.extensions import db
from portal.tickets.models import Ticket, TicketAssignee

def sees_everything(user: User) -> bool:
    return kernel.allows(user, "tickets.view_all")


def _queue_condition(user: User) -> ColumnElement:
    conds = []
    if kernel.allows(user, "tickets.view_dev_queue"):
        conds.append(and_(Ticket.handling_department == "dev",
                          Ticket.state.in_([State.REGISTERED.value, State.READY_TO_ASSIGN.value])))
    if kernel.allows(user, "tickets.view_impl_queue"):
        conds.append(Ticket.state == State.IMPL_QUEUE.value)
    return or_(*conds) if conds else false()


def _was_assigned(user: User, user_id=None) -> ColumnElement:
    return exists().where(TicketAssignee.ticket_id == Ticket.id,
                          TicketAssignee.user_id == (user.id if user_id is None else user_id))


def visibility_filter(user: User, *, user_id=None) -> ColumnElement | None:
    """A WHERE clause limiting tickets to those the user may see; None means all of them.

    `user_id` (a column, e.g. User.id) states the rule for every person of a query who holds the user's
    roles — the rule depends on nothing else — so that many people are checked in one statement."""
    if sees_everything(user):
        return None
    if not kernel.allows(user, "tickets.view_assigned"):
        return false()
    return or_(_was_assigned(user, user_id), _queue_condition(user), Ticket.state == State.CLOSED.value)


def restrict(query, user: User):
    cond = visibility_filter(user)
    return query if cond is None else query.where(cond)


def get_ticket_or_404(number: str, user: User, *, for_update: bool = False) -> Ticket:
    if "\x00" in number or len(number) > 20:  # never a ticket number (and PostgreSQL refuses NUL in text)
        abort(404)
    q = restrict(select(Ticket).where(Ticket.number == number), user)
    ticket = db.session.scalar(q)
    if ticket is None:
        abort(404)
    return ticket


def who_may_see(ticket_id: int, users: Iterable[User]) -> set[int]:
    """The ids of those among `users` (active or not: the caller decides) who may see the ticket, for mentions
    and followers: each person by visibility_filter, the people who hold the same roles together, in one
    statement whatever their number (none when they all see every ticket)."""
    by_roles: dict[frozenset, list[User]] = {}
    for user in users:
        by_roles.setdefault(user.roles, []).append(user)
    seeing: set[int] = set()
    parts = []
    for people in by_roles.values():
        cond = visibility_filter(people[0], user_id=User.id)
        if cond is None:
            seeing.update(u.id for u in people)
            continue
        parts.append(select(User.id).join(Ticket, Ticket.id == ticket_id)
                     .where(User.id.in_([u.id for u in people]), cond))
    if parts:
        seeing.update(db.session.scalars(parts[0] if len(parts) == 1 else union_all(*parts)))
    return seeing


def personal_data_masked(user: User, ticket: Ticket) -> bool:
    """Reference access to someone else's closed ticket shows no personal data."""
    if sees_everything(user):
        return False
    if db.session.get(TicketAssignee, (ticket.id, user.id)) is not None:
        return False
    if ticket.state != State.CLOSED.value:
        return False  # only visible at all because it waits in the user's department queue
    return True


def masked_condition(user: User) -> ColumnElement:
    """personal_data_masked as an SQL expression, for a whole list in one query (the same rule)."""
    if sees_everything(user):
        return false()
    return and_(Ticket.state == State.CLOSED.value, ~_was_assigned(user))


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if len(digits) >= 7:
        return digits[:3] + "****" + digits[-4:]
    return "****"


def mask_name(name: str) -> str:
    return (name[:1] + "*" * max(1, len(name) - 1)) if name else ""
