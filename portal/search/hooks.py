"""Keeping the index in step with every ORM write, in the same transaction.

after_flush notes which tickets changed in a way the document shows (a ticket's indexed columns, a new
comment, a callback); before_commit rebuilds those tickets' documents once, however many flushes the
transaction had. A rolled-back transaction forgets its notes (and its index writes roll back with it).
Writes that bypass the ORM (bench/seed.py's bulk load) are not seen: run `flask search-reindex` after them.
"""
from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from portal.search import documents
from portal.tickets.models import Callback, Event, Ticket

_KEY = "search_dirty_tickets"


def _ticket_changed(obj: Ticket) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in documents.INDEXED_ATTRIBUTES)


def _after_flush(session: Session, _flush_context) -> None:
    dirty = session.info.setdefault(_KEY, set())
    for obj in session.new:
        if isinstance(obj, Ticket):
            dirty.add(obj.id)
        elif isinstance(obj, Event) and obj.action == documents.COMMENT:
            dirty.add(obj.ticket_id)
        elif isinstance(obj, Callback) and obj.ticket_id is not None:
            dirty.add(obj.ticket_id)
    for obj in session.dirty:
        if isinstance(obj, Ticket) and _ticket_changed(obj):
            dirty.add(obj.id)
        elif isinstance(obj, Callback) and obj.ticket_id is not None:
            dirty.add(obj.ticket_id)
    dirty.discard(None)


def _before_commit(session: Session) -> None:
    session.flush()  # so that after_flush has seen everything this transaction wrote
    ids = session.info.pop(_KEY, None)
    if ids:
        documents.write(session.connection(), documents.load(session, sorted(ids)))


def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)


def _forget_unless_savepoint(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # a savepoint's rollback keeps the outer transaction's notes
        _forget(session)


def register() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _forget)
        event.listen(Session, "after_soft_rollback", _forget_unless_savepoint)
