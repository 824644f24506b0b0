"""Each role's work queues (待办): what is waiting for them, urgent first.

A queue is a named WHERE clause over tickets; the home page shows the first rows and a
bounded count of each, and /tickets?queue=<key> lists all of it with the list's filters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.sql import ColumnElement

from portal.auth.models import User
from portal.core.enums import Role, State, TicketType
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.tickets import access
from portal.tickets.models import Ticket

S = State
COUNT_CAP = 999  # counts stop here ("999+"): no unbounded COUNT(*) on a page view


@dataclass(frozen=True)
class Queue:
    key: str
    title: object
    roles: frozenset[Role]
    where: Callable[[User], ColumnElement]
    order: str = "urgent"  # urgent | deadline
    empty: object = _l("Nothing waiting.")


def _open_in(*states: State) -> Callable[[User], ColumnElement]:
    return lambda u: Ticket.state.in_([s.value for s in states])


QUEUES: list[Queue] = [
    # 开发部经理
    Queue("dev_urgent", _l("Urgent"), frozenset({Role.DEV_MANAGER}),
          lambda u: and_(Ticket.urgent.is_(True), Ticket.state.in_([S.REGISTERED.value, S.READY_TO_ASSIGN.value]))),
    Queue("dev_analyse", _l("To analyse"), frozenset({Role.DEV_MANAGER}), _open_in(S.REGISTERED)),
    Queue("dev_assign", _l("To assign (fee agreed)"), frozenset({Role.DEV_MANAGER}), _open_in(S.READY_TO_ASSIGN)),
    Queue("dev_overdue", _l("Overdue in development"), frozenset({Role.DEV_MANAGER}),
          lambda u: and_(Ticket.state == S.ASSIGNED.value, Ticket.handling_department == "dev",
                         Ticket.deadline < utcnow()), order="deadline"),
    # 工程师 / 实施工程师
    Queue("mine", _l("Assigned to me"), frozenset({Role.ENGINEER, Role.IMPL_ENGINEER}),
          lambda u: and_(Ticket.assignee_id == u.id, Ticket.state == S.ASSIGNED.value), order="deadline"),
    Queue("mine_resolved", _l("Resolved by me, awaiting callback"), frozenset({Role.ENGINEER, Role.IMPL_ENGINEER}),
          lambda u: and_(Ticket.assignee_id == u.id, Ticket.state == S.RESOLVED.value)),
    # 客服
    Queue("cs_tell_deadline", _l("Deadlines to tell the customer"), frozenset({Role.CS}),
          lambda u: and_(Ticket.state.in_([S.ASSIGNED.value, S.RESOLVED.value]), Ticket.deadline_notified_at.is_(None))),
    Queue("cs_callback", _l("Callbacks to make"), frozenset({Role.CS}), _open_in(S.RESOLVED)),
    # 市场部
    Queue("market_contact", _l("Customers to contact (maintenance stopped)"),
          frozenset({Role.MARKET, Role.MARKET_MANAGER}), _open_in(S.AWAITING_MARKET)),
    Queue("market_fee", _l("Fees to agree"), frozenset({Role.MARKET, Role.MARKET_MANAGER}), _open_in(S.PENDING_FEE)),
    Queue("market_close", _l("Tickets to close"), frozenset({Role.MARKET, Role.MARKET_MANAGER}),
          _open_in(S.CALLBACK_DONE)),
    Queue("market_urgent", _l("Urgent tickets in progress"), frozenset({Role.MARKET, Role.MARKET_MANAGER}),
          lambda u: and_(Ticket.urgent.is_(True), Ticket.state != S.CLOSED.value)),
    # 实施部
    Queue("impl_consult", _l("Consultations to answer"), frozenset({Role.IMPL_MANAGER, Role.IMPL_ENGINEER}),
          lambda u: and_(Ticket.state == S.IMPL_QUEUE.value, Ticket.type == TicketType.CONSULTATION.value)),
    Queue("impl_routed", _l("Problems routed to implementation"), frozenset({Role.IMPL_MANAGER}),
          lambda u: and_(Ticket.state == S.IMPL_QUEUE.value, Ticket.type != TicketType.CONSULTATION.value)),
    Queue("impl_overdue", _l("Overdue in implementation"), frozenset({Role.IMPL_MANAGER}),
          lambda u: and_(Ticket.state == S.ASSIGNED.value, Ticket.handling_department == "impl",
                         Ticket.deadline < utcnow()), order="deadline"),
]
BY_KEY = {q.key: q for q in QUEUES}


def queues_for(user: User) -> list[Queue]:
    return [q for q in QUEUES if user.roles & q.roles]


def queue_select(queue: Queue, user: User):
    q = access.restrict(select(Ticket).where(queue.where(user)), user)
    if queue.order == "deadline":
        return q.order_by(Ticket.urgent.desc(), Ticket.deadline.asc(), Ticket.id.asc())
    return q.order_by(Ticket.urgent.desc(), Ticket.id.asc())


def bounded_count(queue: Queue, user: User) -> int:
    inner = access.restrict(select(Ticket.id).where(queue.where(user)), user).limit(COUNT_CAP + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(inner))


def preview(queue: Queue, user: User, limit: int = 10) -> list[Ticket]:
    return list(db.session.scalars(queue_select(queue, user).limit(limit)))
