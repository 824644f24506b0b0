"""关注: anyone who may see a ticket may follow it and is then told of each of its events.

A follower is told only while they may still see the ticket (access.who_may_see, each person's own
visibility rule): an engineer who follows a ticket waiting in the development queue stops hearing of it
once it is assigned to someone else. Following is idempotent both ways. The workflow's notify step adds
`audience(ticket)` to each event's recipients (deduplicated there, never the actor).
"""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.auth.models import User
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.tickets import access
from portal.tickets.models import Ticket, TicketFollower


def _insert_ignore():
    """INSERT … ON CONFLICT DO NOTHING: a double click or two tabs follow once, without an error."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(TicketFollower.__table__).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(TicketFollower.__table__).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database {dialect}")


def follow(ticket: Ticket, user: User) -> None:
    """The caller has checked that the user may see the ticket (get_ticket_or_404)."""
    db.session.execute(_insert_ignore().values(ticket_id=ticket.id, user_id=user.id, created_at=utcnow()))


def unfollow(ticket: Ticket, user: User) -> None:
    db.session.execute(delete(TicketFollower).where(TicketFollower.ticket_id == ticket.id,
                                                    TicketFollower.user_id == user.id))


def followers(ticket: Ticket) -> list[User]:
    """The active followers who may still see the ticket — the ones its events reach — by name."""
    people = list(db.session.scalars(
        select(User).join(TicketFollower, TicketFollower.user_id == User.id)
        .where(TicketFollower.ticket_id == ticket.id, User.active.is_(True)).order_by(User.display_name, User.id)))
    seeing = access.who_may_see(ticket.id, people)
    return [u for u in people if u.id in seeing]


def audience(ticket: Ticket) -> set[int]:
    """The user ids an event of the ticket is told to because they follow it."""
    return {u.id for u in followers(ticket)}


def page_context(ticket: Ticket, user: User) -> dict:
    """What the ticket page shows: the followers and whether the reader is one of them."""
    people = followers(ticket)
    return {"followers": people, "following": any(u.id == user.id for u in people)}
