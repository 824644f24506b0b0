"""热线值班安排: the duty roster. The duty manager (值班经理) arranges half-day shifts at least
half a day ahead, from everyone with hotline duty (客服 and engineers by default); the standard asks for
hotline seats at 2‰ of the customers' users. A person is added to a shift with one htmx request that answers
with that shift's cell; "copy last week" repeats the previous week's arrangement."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.auth.models import User, UserRole
from portal.core import htmx
from portal.core.enums import MaintenanceStatus
from portal.core.kernel import can, kernel
from portal.core.params import BoundedDateField, QueryForm, parse_date, parse_id
from portal.core.policy import is_workday, policy_for
from portal.core.timeutil import to_local, today_local, utcnow
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


def users_served() -> int:
    """The users of every unit under maintenance: what the seats figure is computed from."""
    return db.session.scalar(select(func.coalesce(func.sum(CustomerUnit.user_count), 0)).where(
        CustomerUnit.maintenance_status != MaintenanceStatus.STOPPED.value)) or 0


def seats_needed(users: int | None = None) -> int:
    """2‰ (policy) of the users of every unit under maintenance, rounded up (at least one seat)."""
    users = users_served() if users is None else users
    return max(1, math.ceil(users * policy_for(None).hotline_seats_per_mille / 1000))


def current_shift(now: datetime | None = None) -> tuple[date, str] | None:
    now = now or utcnow()
    p = policy_for(None)
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
        UserRole.role.in_([r.value for r in kernel.roles_with("hotline.duty")]), User.active.is_(True))
        .distinct().order_by(User.display_name)))


def add_to_shift(day: date, half: str, user_id: int, actor: User) -> DutyShift:
    if not kernel.allows(actor, "hotline.roster_edit"):
        raise RosterError(_l("Only the duty manager arranges the roster."), 403)
    if half not in ("am", "pm"):
        raise RosterError(_l("Unknown shift."))
    if shift_start(day, half) <= utcnow():
        raise RosterError(_l("This shift has already started."), 409)
    user = db.session.get(User, user_id)
    if user is None or not user.active or not kernel.allows(user, "hotline.duty"):
        raise RosterError(_l("Only active staff with hotline duty can be put on a shift."))
    if db.session.scalar(select(DutyShift.id).where(DutyShift.day == day, DutyShift.half == half,
                                                    DutyShift.user_id == user_id)):
        raise RosterError(_l("Already on this shift."), 409)
    shift = DutyShift(day=day, half=half, user_id=user_id, created_by_id=actor.id)
    db.session.add(shift)
    reminders.settle(Reminder.kind == "duty_roster", Reminder.period == f"{day.isoformat()}{half}", note="roster set")
    return shift


def copy_previous_week(monday: date, actor: User) -> int:
    """Repeat the week before `monday`'s shifts in the week from `monday`: only shifts not yet started, only
    people who still may take duty, none that is already there — so running it again adds nothing."""
    if not kernel.allows(actor, "hotline.roster_edit"):
        raise RosterError(_l("Only the duty manager arranges the roster."), 403)
    week = timedelta(days=7)
    source = list(db.session.scalars(select(DutyShift).where(DutyShift.day >= monday - week,
                                                             DutyShift.day < monday)))
    present = {tuple(row) for row in db.session.execute(select(DutyShift.day, DutyShift.half, DutyShift.user_id)
                                                        .where(DutyShift.day >= monday, DutyShift.day < monday + week))}
    now, added = utcnow(), 0
    for s in source:
        key = (s.day + week, s.half, s.user_id)
        if key in present or shift_start(key[0], key[1]) <= now:
            continue
        if not s.user.active or not kernel.allows(s.user, "hotline.duty"):
            continue
        present.add(key)
        db.session.add(DutyShift(day=key[0], half=key[1], user_id=key[2], created_by_id=actor.id))
        reminders.settle(Reminder.kind == "duty_roster", Reminder.period == f"{key[0].isoformat()}{key[1]}",
                         note="roster set")
        added += 1
    return added


def remove_from_shift(shift_id: int, actor: User) -> tuple[date, str]:
    if not kernel.allows(actor, "hotline.roster_edit"):
        raise RosterError(_l("Only the duty manager arranges the roster."), 403)
    shift = db.session.get(DutyShift, shift_id)
    if shift is None:
        abort(404)
    if shift_start(shift.day, shift.half) <= utcnow():
        raise RosterError(_l("This shift has already started."), 409)
    db.session.delete(shift)
    return shift.day, shift.half


class RosterArgs(QueryForm):
    week = BoundedDateField(_l("Week of"))  # any day of the week shown; none or unusable: this week


def _shared_context(monday: date) -> dict:
    """What the whole grid and a single cell are drawn with."""
    users = users_served()
    return dict(seats=seats_needed(users), users_served=users, per_mille=policy_for(None).hotline_seats_per_mille,
                lead_hours=policy_for(None).duty_roster_lead_hours,
                staff=duty_staff(), monday=monday, can_edit=can("hotline.roster_edit"), now_shift=current_shift(),
                started=lambda d, h: shift_start(d, h) <= utcnow())


@bp.get("")
def index(error: str | None = None, status: int = 200):
    args = RosterArgs()
    d = args.week.data or today_local()
    monday = d - timedelta(days=d.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    shifts = list(db.session.scalars(select(DutyShift).where(DutyShift.day >= days[0], DutyShift.day <= days[-1])
                                     .order_by(DutyShift.id)))
    grid = {(d, h): [s for s in shifts if s.day == d and s.half == h] for d in days for h, _t in HALVES}
    return render_template("hotline/roster.html", days=days, workday={d: is_workday(d) for d in days},
                           halves=HALVES, grid=grid, error=error, timedelta_7=timedelta(days=7),
                           ignored_titles=args.ignored_titles(), **_shared_context(monday)), status


def _cell(day: date, half: str, error: str | None = None, status: int = 200):
    """One shift's cell, for the htmx request that changed it (the rest of the grid did not change)."""
    people = list(db.session.scalars(select(DutyShift).where(DutyShift.day == day, DutyShift.half == half)
                                     .order_by(DutyShift.id)))
    return htmx.response(render_template("hotline/_roster_cell.html", d=day, half=half, people=people,
                                         is_workday=is_workday(day), cell_error=error,
                                         **_shared_context(day - timedelta(days=day.weekday()))), status)


@bp.post("/add")
def add():
    day, user_id = parse_date(request.form.get("day")), parse_id(request.form.get("user_id"))
    half = request.form.get("half", "")
    try:
        if day is None or user_id is None:
            raise ValueError("no day or person")
        add_to_shift(day, half, user_id, current_user)
        db.session.commit()
    except (ValueError, TypeError):
        db.session.rollback()
        error, status = _("Choose a day, a shift and a person."), 422
    except RosterError as e:
        db.session.rollback()
        error, status = str(e.message), e.status
    except IntegrityError:  # the same person added twice at the same moment
        db.session.rollback()
        error, status = _("Already on this shift."), 409
    else:
        if htmx.is_fragment_request():
            return _cell(day, half)
        return redirect(url_for("hotline.roster.index", week=request.form.get("week")))
    if htmx.is_fragment_request() and day is not None and half in ("am", "pm"):
        return _cell(day, half, error=error, status=status)
    return index(error=error, status=status)


@bp.post("/copy")
def copy_week():
    d = parse_date(request.form.get("week")) or today_local()
    monday = d - timedelta(days=d.weekday())
    try:
        added = copy_previous_week(monday, current_user)
        db.session.commit()
    except RosterError as e:
        db.session.rollback()
        return index(error=str(e.message), status=e.status)
    except IntegrityError:  # copied at the same moment by someone else: what they copied stands
        db.session.rollback()
        added = 0
    flash(_("%(n)d shifts copied from the week before.", n=added) if added
          else _("Nothing to copy: every shift of the week before is already here or has started."))
    return redirect(url_for("hotline.roster.index", week=monday.isoformat()))


@bp.post("/<int:shift_id>/remove")
def remove(shift_id: int):
    try:
        day, half = remove_from_shift(shift_id, current_user)
        db.session.commit()
    except RosterError as e:
        db.session.rollback()
        return index(error=str(e.message), status=e.status)
    if htmx.is_fragment_request():
        return _cell(day, half)
    return redirect(url_for("hotline.roster.index", week=request.form.get("week")))
