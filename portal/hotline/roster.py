"""热线值班安排: the duty roster. The duty manager (值班经理) arranges half-day shifts at least
half a day ahead; the standard asks for hotline seats at 2‰ of the customers' users."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from portal.auth.models import User, UserRole
from portal.core.enums import MaintenanceStatus
from portal.core.kernel import can, kernel
from portal.core.params import BoundedDateField, QueryForm, parse_date, parse_id
from portal.core.policy import is_workday, policy
from portal.core.timeutil import to_local, utcnow
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.hotline.jobs import shift_start
from portal.hotline.models import DutyShift
from portal.notifications import reminders
from portal.notifications.models import Reminder

# Nested under the hotline blueprint (/hotline/roster, endpoint hotline.roster.*): 客服部 only.
bp = Blueprint("roster", __name__, url_prefix="/roster")
HALVES = (("am", _l("Morning")), ("pm", _l("Afternoon")))


class RosterError(Exception):
    def __init__(self, message, status=422):
        super().__init__(str(message))
        self.message, self.status = message, status


def seats_needed() -> int:
    """2‰ of the users of every unit under maintenance, rounded up (at least one seat)."""
    users = db.session.scalar(select(func.coalesce(func.sum(CustomerUnit.user_count), 0)).where(
        CustomerUnit.maintenance_status != MaintenanceStatus.STOPPED.value)) or 0
    return max(1, math.ceil(users * policy().hotline_seats_per_mille / 1000))


def current_shift(now: datetime | None = None) -> tuple[date, str] | None:
    now = now or utcnow()
    p = policy()
    local = to_local(now)
    t = local.time()
    if p.shift_am_start <= t < p.shift_am_end:
        return local.date(), "am"
    if p.shift_pm_start <= t < p.shift_pm_end:
        return local.date(), "pm"
    return None


def on_duty_now() -> list[User]:
    shift = current_shift()
    if shift is None:
        return []
    return list(db.session.scalars(select(User).join(DutyShift, DutyShift.user_id == User.id)
                                   .where(DutyShift.day == shift[0], DutyShift.half == shift[1])
                                   .order_by(User.display_name)))


def duty_staff() -> list[User]:
    return list(db.session.scalars(select(User).join(UserRole, UserRole.user_id == User.id).where(
        UserRole.role.in_([r.value for r in kernel.roles_with("hotline.use")]), User.active.is_(True))
        .distinct().order_by(User.display_name)))


def add_to_shift(day: date, half: str, user_id: int, actor: User) -> DutyShift:
    if not kernel.allows(actor, "hotline.roster_edit"):
        raise RosterError(_l("Only the duty manager arranges the roster."), 403)
    if half not in ("am", "pm"):
        raise RosterError(_l("Unknown shift."))
    if shift_start(day, half) <= utcnow():
        raise RosterError(_l("This shift has already started."), 409)
    user = db.session.get(User, user_id)
    if user is None or not user.active or not kernel.allows(user, "hotline.use"):
        raise RosterError(_l("Only active customer-service staff can take hotline duty."))
    if db.session.scalar(select(DutyShift.id).where(DutyShift.day == day, DutyShift.half == half,
                                                    DutyShift.user_id == user_id)):
        raise RosterError(_l("Already on this shift."), 409)
    shift = DutyShift(day=day, half=half, user_id=user_id, created_by_id=actor.id)
    db.session.add(shift)
    reminders.settle(Reminder.kind == "duty_roster", Reminder.period == f"{day.isoformat()}{half}", note="roster set")
    return shift


def remove_from_shift(shift_id: int, actor: User) -> None:
    if not kernel.allows(actor, "hotline.roster_edit"):
        raise RosterError(_l("Only the duty manager arranges the roster."), 403)
    shift = db.session.get(DutyShift, shift_id)
    if shift is None:
        abort(404)
    if shift_start(shift.day, shift.half) <= utcnow():
        raise RosterError(_l("This shift has already started."), 409)
    db.session.delete(shift)


class RosterArgs(QueryForm):
    week = BoundedDateField(_l("Week of"))  # any day of the week shown; none or unusable: this week


@bp.get("")
def index(error: str | None = None, status: int = 200):
    args = RosterArgs()
    d = args.week.data or to_local(utcnow()).date()
    monday = d - timedelta(days=d.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    shifts = list(db.session.scalars(select(DutyShift).where(DutyShift.day >= days[0], DutyShift.day <= days[-1])
                                     .order_by(DutyShift.id)))
    grid = {(d, h): [s for s in shifts if s.day == d and s.half == h] for d in days for h, _t in HALVES}
    return render_template("hotline/roster.html", days=days, workday={d: is_workday(d) for d in days}, halves=HALVES, grid=grid, seats=seats_needed(),
                           staff=duty_staff(), monday=monday, can_edit=can("hotline.roster_edit"),
                           now_shift=current_shift(), error=error, ignored_titles=args.ignored_titles(),
                           timedelta_7=timedelta(days=7), started=lambda d, h: shift_start(d, h) <= utcnow()), status


@bp.post("/add")
def add():
    day, user_id = parse_date(request.form.get("day")), parse_id(request.form.get("user_id"))
    try:
        if day is None or user_id is None:
            raise ValueError("no day or person")
        add_to_shift(day, request.form.get("half", ""), user_id, current_user)
        db.session.commit()
    except (ValueError, TypeError):
        db.session.rollback()
        return index(error=_("Choose a day, a shift and a person."), status=422)
    except RosterError as e:
        db.session.rollback()
        return index(error=str(e.message), status=e.status)
    return redirect(url_for("hotline.roster.index", week=request.form.get("week")))


@bp.post("/<int:shift_id>/remove")
def remove(shift_id: int):
    try:
        remove_from_shift(shift_id, current_user)
        db.session.commit()
    except RosterError as e:
        db.session.rollback()
        return index(error=str(e.message), status=e.status)
    return redirect(url_for("hotline.roster.index", week=request.form.get("week")))
