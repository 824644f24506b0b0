"""The hotline duty roster must be set half a day ahead (值班经理必须提前半天安排好热线值班工作):
when the next shift is within the lead time and nobody is on it, remind the duty manager."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from portal.core.enums import Role
from portal.core.policy import is_workday, policy_for
from portal.core.timeutil import from_local, to_local, utcnow
from portal.extensions import db
from portal.hotline.models import DutyShift
from portal.jobs.runtime import job
from portal.notifications import reminders
from portal.notifications.jobs import announce
from portal.notifications.models import Reminder


def shift_start(day: date, half: str) -> datetime:
    p = policy_for(None)
    return from_local(datetime.combine(day, p.shift_am_start if half == "am" else p.shift_pm_start))


def upcoming_shifts(now: datetime, horizon: timedelta) -> list[tuple[date, str]]:
    """Working-day shifts starting after `now` and within `horizon` of it."""
    out = []
    day = to_local(now).date()
    while len(out) < 4 and day <= to_local(now + horizon).date():
        if is_workday(day):
            for half in ("am", "pm"):
                start = shift_start(day, half)
                if now < start <= now + horizon:
                    out.append((day, half))
        day += timedelta(days=1)
    return out


def sweep(now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    lead = timedelta(hours=policy_for(None).duty_roster_lead_hours)
    shifts = upcoming_shifts(now, lead)
    staffed = set()
    if shifts:
        staffed = set(db.session.execute(
            select(DutyShift.day, DutyShift.half).where(DutyShift.day.in_({d for d, _ in shifts}))).all())
    rows = [dict(key=f"duty_roster:{d.isoformat()}{h}", kind="duty_roster", role=Role.DUTY_MANAGER.value,
                 period=f"{d.isoformat()}{h}", due_at=shift_start(d, h) - lead)
            for d, h in shifts if (d, h) not in staffed]
    created = reminders.open_many(rows)
    # Settle every open roster reminder whose shift now has someone on it.
    open_rows = db.session.execute(select(Reminder.period).where(
        Reminder.kind == "duty_roster", Reminder.closed_at.is_(None))).scalars().all()
    done = []
    if open_rows:
        filled = {f"{d.isoformat()}{h}" for d, h in db.session.execute(select(DutyShift.day, DutyShift.half).where(
            DutyShift.day.in_({date.fromisoformat(p[:10]) for p in open_rows}))).all()}
        done = [p for p in open_rows if p in filled]
    settled = reminders.settle(Reminder.kind == "duty_roster", Reminder.period.in_(done), note="roster set") if done else 0
    # A shift that has started can no longer be arranged (roster.py refuses it): its reminder is over, and
    # stays on record, closed, as a shift that started with nobody on it.
    missed = [p for p in open_rows if p not in done and shift_start(date.fromisoformat(p[:10]), p[10:]) <= now]
    if missed:
        settled += reminders.settle(Reminder.kind == "duty_roster", Reminder.period.in_(missed),
                                    note="shift started unstaffed")
    return {"duty_roster": created, "settled": settled}


@job
def check_duty_roster() -> dict[str, int]:
    created = sweep()
    announce([("duty_roster", Role.DUTY_MANAGER.value, created.get("duty_roster", 0))])
    return created
