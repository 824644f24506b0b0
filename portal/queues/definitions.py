"""Each role's work queues (待办): what is waiting for them, urgent first.

A queue is a named WHERE clause over tickets; the home page shows the first rows and a
bounded count of each, and /tickets?queue=<key> lists all of it with the list's filters.

The home page is three statements whatever the number of queues (`home_sections`): every queue's
bounded count in one, every queue's first ids in one (each answered from an index, no table rows
read), then those tickets with their unit and assignee in one. Each WHERE clause is written so an
index range applies: open states are listed (`state IN (...)`), never `state != 'closed'` (98 % of a
mature database is closed; a "not equal" walks all of it).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, cast, func, literal, null, select, union_all
from sqlalchemy.orm import defaultload
from sqlalchemy.sql import ColumnElement

from portal.auth.models import User
from portal.core.enums import Role, State
from portal.core.kernel import kernel
from portal.extensions import db
from portal.tickets import access
from portal.tickets.models import Ticket

COUNT_CAP = 999  # counts stop here ("999+"): no unbounded COUNT(*) on a page view


@dataclass(frozen=True)
class Queue:
    key: str
    title: object
    roles: frozenset[Role]
    where: Callable[[User], ColumnElement]
    order: str = "urgent"  # urgent | deadline
    empty: object = _l("Nothing waiting.")
    # Few tickets match (urgent ones in open states): read them all through the (urgent, state, id) index and
    # sort them, instead of walking every urgent ticket ever — 98 % closed — in id order until 10 turn up.
    sort_matches: bool = False


def open_in(*states: State) -> Callable[[User], ColumnElement]:
    return lambda u: Ticket.state.in_([s.value for s in states])


# The engineers' own queues: the same for 开发部's engineers and 实施部's (both desks list them).
MINE = Queue("mine", _l("Assigned to me"), frozenset({Role.ENGINEER, Role.IMPL_ENGINEER}),
             lambda u: and_(Ticket.assignee_id == u.id, Ticket.state == State.ASSIGNED.value), order="deadline")
MINE_RESOLVED = Queue("mine_resolved", _l("Resolved by me, awaiting callback"),
                      frozenset({Role.ENGINEER, Role.IMPL_ENGINEER}),
                      lambda u: and_(Ticket.assignee_id == u.id, Ticket.state == State.RESOLVED.value))

MINE_WAITING = Queue("mine_waiting", _l("Mine, waiting for the customer"),
                     frozenset({Role.ENGINEER, Role.IMPL_ENGINEER}),
                     lambda u: and_(Ticket.assignee_id == u.id, Ticket.state == State.WAITING_CUSTOMER.value),
                     order="deadline")


def waiting_in(department: str) -> Callable[[User], ColumnElement]:
    """Paused tickets of a department (its manager watches them; no clock runs)."""
    return lambda u: and_(Ticket.state == State.WAITING_CUSTOMER.value, Ticket.handling_department == department)


class _QueueIndex(Mapping):
    """Every desk's queues by key (the desks declare them; portal/desks)."""

    def _all(self) -> dict[str, Queue]:
        return {q.key: q for q in kernel.queues()}

    def __getitem__(self, key: str) -> Queue:
        return self._all()[key]

    def __iter__(self):
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


BY_KEY = _QueueIndex()


def queues_for(user: User) -> list[Queue]:
    return [q for q in kernel.queues() if user.roles & q.roles]


def _ordered(stmt, queue: Queue):
    if queue.order == "deadline":
        return stmt.order_by(Ticket.urgent.desc(), Ticket.deadline.asc(), Ticket.id.asc())
    # "id + 0" is the same order, but no index can provide it: the planner then picks the index that fits
    # the WHERE clause best (SQLite plans without statistics and would otherwise prefer any index in id order)
    return stmt.order_by(Ticket.urgent.desc(), (Ticket.id + 0) if queue.sort_matches else Ticket.id.asc())


def _sort_key(queue: Queue, urgent: bool, deadline, ticket_id: int) -> tuple:
    """The queue's ORDER BY in Python (for rows that came back through a UNION ALL)."""
    if queue.order == "deadline":
        return (not urgent, deadline is None, deadline or 0, ticket_id)
    return (not urgent, ticket_id)


def queue_select(queue: Queue, user: User):
    return _ordered(access.restrict(select(Ticket).where(queue.where(user)), user), queue)


def _ids(queue: Queue, user: User, *columns):
    return access.restrict(select(Ticket.id, *columns).where(queue.where(user)), user)


def _bounded(queue: Queue, user: User):
    return select(func.count()).select_from(_ids(queue, user).limit(COUNT_CAP + 1).subquery())


def home_sections(user: User, queues: list[Queue] | None = None, limit: int = 10
                  ) -> list[tuple[Queue, int, list[Ticket]]]:
    """(queue, bounded count, first `limit` tickets) for each of the user's queues, in three statements."""
    queues = queues_for(user) if queues is None else queues
    if not queues:
        return []
    counts = db.session.execute(select(*[_bounded(q, user).scalar_subquery() for q in queues])).one()
    firsts, null_deadline = [], cast(null(), Ticket.deadline.type)
    for n, q in enumerate(queues):
        if not counts[n]:
            continue
        # the ORDER BY's columns come along (from the index) so the merged rows can be put back in order
        if q.order == "deadline":
            sub = _ordered(_ids(q, user, Ticket.urgent, Ticket.deadline), q).limit(limit).subquery()
            deadline = sub.c.deadline
        else:
            sub = _ordered(_ids(q, user, Ticket.urgent), q).limit(limit).subquery()
            deadline = null_deadline
        firsts.append(select(literal(n).label("q"), sub.c.id, sub.c.urgent, deadline.label("deadline")))
    order: dict[int, list[tuple]] = {n: [] for n in range(len(queues))}
    if firsts:
        stmt = firsts[0] if len(firsts) == 1 else union_all(*firsts)
        for n, ticket_id, urgent, deadline in db.session.execute(stmt):
            order[n].append((_sort_key(queues[n], urgent, deadline, ticket_id), ticket_id))
    wanted = {i for rows in order.values() for _, i in rows}
    tickets = _load(wanted)
    return [(q, counts[n], [tickets[i] for _, i in sorted(order[n]) if i in tickets]) for n, q in enumerate(queues)]


def _load(ids: set[int]) -> dict[int, Ticket]:
    """These tickets with their unit and assignee (joined), one statement. The assignee's roles are not
    loaded: a queue row shows only the name."""
    if not ids:
        return {}
    stmt = (select(Ticket).where(Ticket.id.in_(sorted(ids)))
            .options(defaultload(Ticket.assignee).lazyload(User.role_rows)))
    return {t.id: t for t in db.session.scalars(stmt)}
