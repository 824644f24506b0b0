from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import and_, func, or_, select, update

from portal.core.kernel import kernel
from portal.core.policy import policy
from portal.core.redirects import safe_redirect_target
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.notifications.models import Notification, Reminder
from portal.customers.models import CustomerUnit
from portal.notifications.texts import kind_title
from portal.tickets.models import Ticket

bp = Blueprint("notifications", __name__)
CAP = 99
LOOK_AHEAD_DAYS = 31


def _due_soon_enough(now):
    """Listed once due within the page's look-ahead — or, for a kind seen long before it is due (a contract's
    whole 90-day expiry window), within the look-ahead its kind declares from the policy."""
    p = policy()
    longer = [and_(Reminder.kind == k.key, Reminder.due_at <= now + timedelta(days=getattr(p, k.shown_ahead_days)))
              for k in kernel.kinds.values() if k.shown_ahead_days]
    return or_(Reminder.due_at <= now + timedelta(days=LOOK_AHEAD_DAYS), *longer)


def _my_reminders():
    roles = [r.value for r in current_user.roles]
    return select(Reminder).where(
        Reminder.closed_at.is_(None),
        or_(Reminder.user_id == current_user.id, Reminder.role.in_(roles)),
        _due_soon_enough(utcnow()),
    )


def reminder_link(r: Reminder, ticket_number: str | None = None) -> str:
    """The page to act on a reminder: its ticket, else what its kind declares, else its unit."""
    if ticket_number:
        return url_for("tickets.show", number=ticket_number)
    kind = kernel.kind(r.kind)
    if kind is not None and kind.link is not None:
        return kind.link(r)
    if r.customer_id:
        return url_for("customers.show", unit_id=r.customer_id)
    return url_for("notifications.index")


def counts() -> tuple[int, int]:
    unread_q = select(Notification.id).where(Notification.user_id == current_user.id,
                                             Notification.read_at.is_(None)).limit(CAP + 1).subquery()
    unread = db.session.scalar(select(func.count()).select_from(unread_q))
    rem_q = _my_reminders().with_only_columns(Reminder.id).where(Reminder.due_at <= utcnow() + timedelta(days=7)).limit(CAP + 1).subquery()
    due = db.session.scalar(select(func.count()).select_from(rem_q))
    return unread, due


@bp.get("/notifications/bell")
@login_required
def bell():
    unread, due = counts()
    return render_template("notifications/_bell.html", unread=unread, due=due, cap=CAP)


@bp.get("/notifications")
@login_required
def index():
    notes = list(db.session.scalars(
        select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.read_at.is_not(None), Notification.id.desc()).limit(100)))
    # One query: each reminder with the unit and ticket it is about.
    rems = db.session.execute(
        _my_reminders().add_columns(CustomerUnit.name, Ticket.number)
        .outerjoin(CustomerUnit, CustomerUnit.id == Reminder.customer_id)
        .outerjoin(Ticket, Ticket.id == Reminder.ticket_id)
        .order_by(Reminder.due_at).limit(200)).all()
    return render_template("notifications/index.html", notes=notes, reminders=rems, kind_title=kind_title,
                           reminder_link=reminder_link)


@bp.post("/notifications/<int:note_id>/read")
@login_required
def mark_read(note_id: int):
    n = db.session.get(Notification, note_id)
    if n is None or n.user_id != current_user.id:
        abort(404)
    if n.read_at is None:
        n.read_at = utcnow()
        db.session.commit()
    return redirect(safe_redirect_target(request.form.get("go"), url_for("notifications.index")))


@bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    db.session.execute(update(Notification).where(Notification.user_id == current_user.id,
                                                  Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()
    return redirect(url_for("notifications.index"))
