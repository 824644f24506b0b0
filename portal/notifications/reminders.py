"""Opening and settling reminders. Each reminder's unique `key` (what, for whom, which
period) makes opening idempotent: a sweep that runs twice, two schedulers or a restart never
create a second one. All statements are set-based: their number does not grow with the data."""
from __future__ import annotations

from sqlalchemy import String, and_, cast, exists, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.notifications.models import Notification, Reminder
from portal.tickets.models import Ticket


def _insert_ignore(table):
    """INSERT … ON CONFLICT DO NOTHING for the running database."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database {dialect}")


def open_many(rows: list[dict]) -> int:
    """Create the reminders that do not exist yet; return how many were new."""
    if not rows:
        return 0
    now = utcnow()
    for r in rows:
        r.setdefault("created_at", now)
    before = _count_keys([r["key"] for r in rows])
    db.session.execute(_insert_ignore(Reminder.__table__), rows)
    return len(rows) - before


def open_from_select(select_stmt, columns: list[str]) -> int:
    """INSERT INTO reminders (columns) SELECT … — skipping keys that exist. Returns rows inserted."""
    # preserve_rowcount: psycopg forgets an INSERT's row count once SQLAlchemy closes the cursor (→ -1).
    stmt = _insert_ignore(Reminder.__table__).from_select(columns, select_stmt).execution_options(preserve_rowcount=True)
    return db.session.execute(stmt).rowcount or 0


def notify_from_select(select_stmt, columns: list[str]) -> int:
    """INSERT INTO notifications (columns) SELECT … — skipping keys that exist (a notice told once)."""
    stmt = _insert_ignore(Notification.__table__).from_select(columns, select_stmt).execution_options(
        preserve_rowcount=True)
    return db.session.execute(stmt).rowcount or 0


def _count_keys(keys: list[str]) -> int:
    from sqlalchemy import func

    total = 0
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        total += db.session.scalar(select(func.count()).select_from(Reminder).where(Reminder.key.in_(chunk)))
    return total


def settle(*conditions, note: str = "") -> int:
    """Close open reminders matching the conditions (and mark their notifications read)."""
    now = utcnow()
    where = and_(Reminder.closed_at.is_(None), *conditions)
    ids = select(Reminder.id).where(where).scalar_subquery()
    db.session.execute(update(Notification).where(Notification.reminder_id.in_(ids), Notification.read_at.is_(None))
                       .values(read_at=now).execution_options(synchronize_session=False))
    result = db.session.execute(update(Reminder).where(where).values(closed_at=now, closed_note=note or None)
                                .execution_options(synchronize_session=False))
    return result.rowcount or 0


def reopen(*conditions, at=None) -> int:
    """Open again the closed reminders matching the conditions: what they are about is due again
    (e.g. a ticket back with its engineer after an unsolved callback, its deadline long past).
    Their notifications count as unread again."""
    ids = select(Reminder.id).where(Reminder.closed_at.is_not(None), *conditions).scalar_subquery()
    db.session.execute(update(Notification).where(Notification.reminder_id.in_(ids), Notification.read_at.is_not(None))
                       .values(read_at=None).execution_options(synchronize_session=False))
    result = db.session.execute(update(Reminder).where(Reminder.closed_at.is_not(None), *conditions)
                                .values(closed_at=None, closed_note=None, created_at=at or utcnow())
                                .execution_options(synchronize_session=False))
    return result.rowcount or 0


def notify_people(now=None) -> int:
    """Every open reminder addressed to one person (not to a role) becomes that person's notification, once
    (key "reminder:<id>"): it shows in their bell, is e-mailed, and is read once the reminder is settled.
    One statement, whatever the number of reminders."""
    now = now or utcnow()
    sel = (
        select(literal("reminder:") + cast(Reminder.id, String), Reminder.user_id, Reminder.kind, Reminder.ticket_id,
               func.coalesce(func.substr(Ticket.number + literal(" ") + Ticket.summary, 1, 500), literal("")),
               func.coalesce(literal("/tickets/") + Ticket.number, literal("")), literal(now), Reminder.id)
        .select_from(Reminder).outerjoin(Ticket, Ticket.id == Reminder.ticket_id)
        .where(Reminder.user_id.is_not(None), Reminder.closed_at.is_(None),
               ~exists().where(Notification.reminder_id == Reminder.id))
    )
    stmt = _insert_ignore(Notification.__table__).from_select(
        ["key", "user_id", "kind", "ticket_id", "text", "link", "created_at", "reminder_id"], sel
    ).execution_options(preserve_rowcount=True)
    return db.session.execute(stmt).rowcount or 0


def settle_ticket(ticket_id: int, *kinds: str, note: str = "") -> int:
    return settle(Reminder.ticket_id == ticket_id, Reminder.kind.in_(kinds), note=note)
