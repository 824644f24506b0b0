"""The hotline rules the standard sets (热线规范), kept by two sweeps:

- The roster must be set half a day ahead (值班经理必须提前半天安排好热线值班工作), with the seats the policy asks
  for (2‰ of the users): when the next shift is within the lead time and has fewer people than seats — empty
  or merely short — the duty manager is reminded, once per shift; the reminder is settled when every seat is
  taken.
- Staff on duty check in (签到); someone on a shift who has not checked in when the grace time after its start
  has passed (10 minutes) is reported to the duty manager, once per shift and person, and the reminder is
  settled by the check-in (or closed, on record, when the shift ends).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from portal.auth.models import User, UserRole
from portal.core.enums import Role
from portal.core.policy import is_workday, policy_for
from portal.core.timeutil import to_local, utcnow
from portal.extensions import db
from portal.hotline.models import DutyShift
from portal.hotline.staffing import HALF_KEYS, seats_needed, shift_end, shift_start
from portal.jobs.runtime import job
from portal.notifications import reminders
from portal.notifications.jobs import announce
from portal.notifications.models import Notification, Reminder

ROSTER, CHECK_IN = "duty_roster", "duty_check_in"


def upcoming_shifts(now: datetime, horizon: timedelta) -> list[tuple[date, str]]:
    """Working-day shifts starting after `now` and within `horizon` of it."""
    out = []
    day = to_local(now).date()
    while len(out) < 4 and day <= to_local(now + horizon).date():
        if is_workday(day):
            for half in HALF_KEYS:
                start = shift_start(day, half)
                if now < start <= now + horizon:
                    out.append((day, half))
        day += timedelta(days=1)
    return out


def _period(day: date, half: str) -> str:
    return f"{day.isoformat()}{half}"


def _people_on(days) -> dict[str, int]:
    """How many people each shift of these days has, by period ("2026-11-27am")."""
    if not days:
        return {}
    rows = db.session.execute(select(DutyShift.day, DutyShift.half, func.count()).where(DutyShift.day.in_(days))
                              .group_by(DutyShift.day, DutyShift.half)).all()
    return {_period(d, h): n for d, h, n in rows}


def settle_if_staffed(day: date, half: str, seats: int | None = None) -> int:
    """(The roster, after someone is added.) The shift's reminder is over once every seat is taken."""
    seats = seats_needed() if seats is None else seats
    if _people_on([day]).get(_period(day, half), 0) < seats:
        return 0
    return reminders.settle(Reminder.kind == ROSTER, Reminder.period == _period(day, half), note="roster set")


def sweep(now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    lead = timedelta(hours=policy_for(None).duty_roster_lead_hours)
    seats = seats_needed()
    shifts = upcoming_shifts(now, lead)
    people = _people_on({d for d, _ in shifts})
    rows = [dict(key=f"{ROSTER}:{_period(d, h)}", kind=ROSTER, role=Role.DUTY_MANAGER.value,
                 period=_period(d, h), due_at=shift_start(d, h) - lead)
            for d, h in shifts if people.get(_period(d, h), 0) < seats]
    created = reminders.open_many(rows)
    # Settle every open roster reminder whose shift now has all its seats.
    open_periods = db.session.execute(select(Reminder.period).where(
        Reminder.kind == ROSTER, Reminder.closed_at.is_(None))).scalars().all()
    people = _people_on({date.fromisoformat(p[:10]) for p in open_periods})
    done = [p for p in open_periods if people.get(p, 0) >= seats]
    settled = reminders.settle(Reminder.kind == ROSTER, Reminder.period.in_(done), note="roster set") if done else 0
    # A shift that has started can no longer be arranged (roster.py refuses it): its reminder is over, and
    # stays on record, closed, as a shift that started with nobody on it or short of seats.
    started = [p for p in open_periods if p not in done and shift_start(date.fromisoformat(p[:10]), p[10:]) <= now]
    empty = [p for p in started if not people.get(p)]
    short = [p for p in started if people.get(p)]
    if empty:
        settled += reminders.settle(Reminder.kind == ROSTER, Reminder.period.in_(empty),
                                    note="shift started unstaffed")
    if short:
        settled += reminders.settle(Reminder.kind == ROSTER, Reminder.period.in_(short),
                                    note="shift started short of seats")
    return {ROSTER: created, "settled": settled}


def check_in_key(day: date, half: str, user_id: int) -> str:
    return f"{CHECK_IN}:{_period(day, half)}:{user_id}"


def sweep_check_ins(now: datetime | None = None) -> dict[str, int]:
    """Today's running shifts past their grace time: everyone on them not checked in is reported to the duty
    managers (a reminder per shift and person, and a notification naming the person to each duty manager)."""
    now = now or utcnow()
    grace = timedelta(minutes=policy_for(None).check_in_grace_minutes)
    today = to_local(now).date()
    running = [h for h in HALF_KEYS if shift_start(today, h) + grace <= now < shift_end(today, h)]
    created = 0
    if running:
        missing = db.session.execute(
            select(DutyShift.half, DutyShift.user_id, User.display_name).join(User, User.id == DutyShift.user_id)
            .where(DutyShift.day == today, DutyShift.half.in_(running), DutyShift.checked_in_at.is_(None))).all()
        keys = {check_in_key(today, h, uid): (h, name) for h, uid, name in missing}
        created = reminders.open_many([
            dict(key=key, kind=CHECK_IN, role=Role.DUTY_MANAGER.value, period=_period(today, h),
                 due_at=shift_start(today, h) + grace) for key, (h, _name) in keys.items()])
        if created:
            _tell_duty_managers(keys)
    # A shift that has ended can no longer be checked in to: its reminders close, on record.
    ended = [_period(today, h) for h in HALF_KEYS if shift_end(today, h) <= now]
    earlier = Reminder.period < _period(today, "am")
    settled = reminders.settle(Reminder.kind == CHECK_IN, Reminder.period.in_(ended) | earlier,
                               note="shift ended without check-in")
    return {CHECK_IN: created, "settled": settled}


def _tell_duty_managers(keys: dict[str, tuple[str, str]]) -> None:
    """Each new check-in reminder as a notification to every active duty manager, naming who is missing."""
    opened = dict(db.session.execute(select(Reminder.key, Reminder.id).where(Reminder.key.in_(keys))).all())
    managers = list(db.session.scalars(select(User.id).join(UserRole, UserRole.user_id == User.id).where(
        UserRole.role == Role.DUTY_MANAGER.value, User.active.is_(True)).distinct()))
    told = set(db.session.scalars(select(Notification.reminder_id).where(
        Notification.reminder_id.in_(opened.values()))))
    for key, rid in opened.items():
        if rid in told:
            continue
        half, name = keys[key]
        for uid in managers:
            db.session.add(Notification(key=f"reminder:{rid}:{uid}", user_id=uid, kind=CHECK_IN,
                                        text=f"{name} · {key.split(':')[1]}", link="/hotline/roster",
                                        reminder_id=rid))


@job
def check_duty_roster() -> dict[str, int]:
    created = sweep()
    announce([(ROSTER, Role.DUTY_MANAGER.value, created.get(ROSTER, 0))])
    return created


@job
def check_duty_check_ins() -> dict[str, int]:
    created = sweep_check_ins()
    announce([(CHECK_IN, Role.DUTY_MANAGER.value, created.get(CHECK_IN, 0))])
    return created
