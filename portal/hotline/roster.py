"""热线值班安排: the duty roster. The duty manager (值班经理) arranges half-day shifts at least
half a day ahead, from everyone with hotline duty (客服 and engineers by default); the standard asks for
hotline seats at a per-mille of the customers' users (the policy's number; 2‰ in the standard). A person is
added to a shift with one htmx request that answers with that shift's cell; "copy last week" repeats the
previous week's arrangement. The people on duty check in (签到) from their home page or the roster, and the
roster shows each shift's check-ins."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal.auth.models import User, UserRole
from portal.core import htmx
from portal.core.kernel import can, kernel
from portal.core.redirects import safe_redirect_target
from portal.core.params import BoundedDateField, QueryForm, parse_date, parse_id
from portal.core.policy import is_workday, policy_for
from portal.core.timeutil import to_local, today_local, utcnow
from portal.extensions import db
from portal.hotline.jobs import check_in_key, settle_if_staffed
from portal.hotline.staffing import (CHECK_IN_OPENS, check_in_open, current_shift, seats_needed, shift_start,
                                     users_served)
from portal.hotline.models import DutyShift
from portal.notifications import reminders
from portal.notifications.models import Reminder

# Nested under the hotline blueprint (/hotline/roster, endpoint hotline.roster.*): 客服 and the duty manager
# (hotline.roster_view); the hotline records themselves stay 客服's (hotline.use).
bp = Blueprint("roster", __name__, url_prefix="/roster")
# 签到 (/hotline/duty/…): whoever takes hotline duty, for their own shift only.
duty_bp = Blueprint("duty", __name__, url_prefix="/duty")
HALVES = (("am", _l("Morning")), ("pm", _l("Afternoon")))


class RosterError(Exception):
    def __init__(self, message, status=422):
        super().__init__(str(message))
        self.message, self.status = message, status


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
    db.session.flush()
    settle_if_staffed(day, half)  # a shift short of seats stays reminded until every seat is taken
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
        added += 1
    db.session.flush()
    seats = seats_needed()
    for d, h in {(k[0], k[1]) for k in present}:
        settle_if_staffed(d, h, seats)
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


def check_in(shift_id: int, actor: User, now: datetime | None = None) -> DutyShift:
    """签到: the person on the shift, from a little before it starts until it ends, once. The time is set by one
    conditional UPDATE, so a double click (or two tabs) records one check-in."""
    now = now or utcnow()
    shift = db.session.get(DutyShift, shift_id)
    if shift is None or shift.user_id != actor.id:
        raise RosterError(_l("You can check in only to your own shift."), 404)
    if shift.checked_in_at is not None:
        raise RosterError(_l("You have already checked in to this shift."), 409)
    if not check_in_open(shift.day, shift.half, now):
        raise RosterError(_l("Check-in is open from %(minutes)d minutes before the shift starts until it ends.",
                             minutes=int(CHECK_IN_OPENS.total_seconds() // 60)), 409)
    done = db.session.execute(update(DutyShift).where(DutyShift.id == shift.id, DutyShift.checked_in_at.is_(None))
                              .values(checked_in_at=now).execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise RosterError(_l("You have already checked in to this shift."), 409)
    reminders.settle(Reminder.key == check_in_key(shift.day, shift.half, actor.id), note="checked in")
    db.session.refresh(shift)
    return shift


def my_shift(user: User, now: datetime | None = None) -> DutyShift | None:
    """The person's shift that check-in is open for now (home page's 签到 card), if any."""
    now = now or utcnow()
    today = to_local(now).date()
    for s in db.session.scalars(select(DutyShift).where(DutyShift.user_id == user.id, DutyShift.day == today)
                                .order_by(DutyShift.half)):
        if check_in_open(s.day, s.half, now):
            return s
    return None


class RosterArgs(QueryForm):
    week = BoundedDateField(_l("Week of"))  # any day of the week shown; none or unusable: this week


def _shared_context(monday: date) -> dict:
    """What the whole grid and a single cell are drawn with."""
    users, now = users_served(), utcnow()
    grace = timedelta(minutes=policy_for(None).check_in_grace_minutes)
    return dict(seats=seats_needed(users), users_served=users, per_mille=policy_for(None).hotline_seats_per_mille,
                staff=duty_staff(), monday=monday, can_edit=can("hotline.roster_edit"), now_shift=current_shift(),
                started=lambda d, h: shift_start(d, h) <= now,
                check_in_late=lambda d, h: shift_start(d, h) + grace <= now,
                may_check_in=lambda s: s.user_id == current_user.id and s.checked_in_at is None
                and check_in_open(s.day, s.half, now),
                lead_hours=policy_for(None).duty_roster_lead_hours, grace_minutes=policy_for(None).check_in_grace_minutes,
                check_in_before=int(CHECK_IN_OPENS.total_seconds() // 60))


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


@duty_bp.post("/<int:shift_id>/check-in")
def check_in_route(shift_id: int):
    go = safe_redirect_target(request.form.get("go"), url_for("queues.home"))
    try:
        shift = check_in(shift_id, current_user)
        db.session.commit()
    except RosterError as e:
        db.session.rollback()
        if e.status == 404:
            abort(404)  # someone else's shift looks like no shift
        flash(str(e.message), "error")
        return redirect(go)
    flash(_("Checked in at %(time)s.", time=to_local(shift.checked_in_at).strftime("%H:%M")), "success")
    return redirect(go)
