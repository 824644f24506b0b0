from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal.complaints.models import Complaint, ComplaintState
from portal.core.enums import Role
from portal.core.kernel import can
from portal.core.policy import policy
from portal.customers import expiry
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.hotline import roster
from portal.hotline.models import HotlineRecord
from portal.notifications.models import Reminder
from portal.queues.definitions import COUNT_CAP, home_sections
from portal.tickets.listing import row_labels

bp = Blueprint("queues", __name__)
HOME_COMPLAINTS = 10  # shown on the home page; the complaints list has the rest


@bp.get("/")
@login_required
def home():
    sections = [(q, count, [(t, False) for t in rows]) for q, count, rows in home_sections(current_user)]
    hotline = None
    if can("hotline.use"):  # unconverted hotline calls wait on the home page of those who keep them
        inner = select(HotlineRecord.id).where(HotlineRecord.ticket_id.is_(None)).limit(COUNT_CAP + 1).subquery()
        hotline = (
            db.session.scalar(select(func.count()).select_from(inner)),
            list(db.session.scalars(select(HotlineRecord).where(HotlineRecord.ticket_id.is_(None))
                                    .order_by(HotlineRecord.id.desc()).limit(10))),
        )
    complaints = None
    if can("complaints.be_handler"):  # complaints waiting for the person named to handle them: one bounded query
        complaints = list(db.session.scalars(
            select(Complaint).where(Complaint.handler_id == current_user.id,
                                    Complaint.state == ComplaintState.RECEIVED.value)
            .order_by(Complaint.received_at).limit(HOME_COMPLAINTS + 1)))
    callbacks = monthly_callbacks() if can("service_plan.record") else None
    # 市场部: every contract in its expiry window, from the window's first day
    expiring = expiry.for_home() if can("customers.expiry_watch") else None
    my_shift = roster.my_shift(current_user) if can("hotline.duty") else None  # 签到 when on duty
    return render_template("queues/home.html", sections=sections, hotline=hotline, cap=COUNT_CAP,
                           row_labels=row_labels(), complaints=complaints, complaints_shown=HOME_COMPLAINTS,
                           callbacks=callbacks, expiring=expiring, my_shift=my_shift,
                           expiry_window=policy().contract_expiry_window_days)


CALLBACK_ROWS = 10


def monthly_callbacks() -> tuple[int, list[tuple]]:
    """客服's open monthly callback reminders as a queue (issue 14): how many (capped) and the first few,
    soonest due first, each with its unit's name — two statements, from the open-reminders index."""
    open_cs = (Reminder.closed_at.is_(None), Reminder.role == Role.CS.value, Reminder.kind == "monthly_callback")
    inner = select(Reminder.id).where(*open_cs).limit(COUNT_CAP + 1).subquery()
    count = db.session.scalar(select(func.count()).select_from(inner))
    rows = db.session.execute(
        select(Reminder.customer_id, Reminder.period, Reminder.due_at, CustomerUnit.name)
        .join(CustomerUnit, CustomerUnit.id == Reminder.customer_id)
        .where(*open_cs).order_by(Reminder.due_at, Reminder.id).limit(CALLBACK_ROWS)).all()
    return count, rows
