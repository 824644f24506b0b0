"""Marking notifications read where the user has plainly seen what they were about."""
from __future__ import annotations

from sqlalchemy import exists, select, update

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.notifications.models import Notification


def unread_about(user_id: int, ticket_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(
        Notification.user_id == user_id, Notification.read_at.is_(None), Notification.ticket_id == ticket_id))))


def mark_ticket_read(user_id: int, ticket_id: int) -> int:
    """The user opened the ticket: their unread notifications about it are read (one UPDATE; nobody
    else's). Returns how many were marked."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.ticket_id == ticket_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount or 0
