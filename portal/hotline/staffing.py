"""How many seats a hotline shift needs and when shifts run: what the roster page, the check-in and the
sweeps (jobs.py) all count with. The seats are the policy's per-mille of the users of every unit under
maintenance (the standard's 2‰), rounded up, at least one."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from portal.core.enums import MaintenanceStatus
from portal.core.policy import policy_for
from portal.core.timeutil import from_local, to_local, utcnow
from portal.customers.models import CustomerUnit
from portal.extensions import db

HALF_KEYS = ("am", "pm")
# 签到 opens this long before a shift starts (the standard: staff ready 10 minutes before it)
CHECK_IN_OPENS = timedelta(minutes=30)


def shift_start(day: date, half: str) -> datetime:
    p = policy_for(None)
    return from_local(datetime.combine(day, p.shift_am_start if half == "am" else p.shift_pm_start))


def shift_end(day: date, half: str) -> datetime:
    p = policy_for(None)
    return from_local(datetime.combine(day, p.shift_am_end if half == "am" else p.shift_pm_end))


def users_served() -> int:
    """The users of every unit under maintenance: what the seats figure is computed from."""
    return db.session.scalar(select(func.coalesce(func.sum(CustomerUnit.user_count), 0)).where(
        CustomerUnit.maintenance_status != MaintenanceStatus.STOPPED.value)) or 0


def seats_needed(users: int | None = None) -> int:
    """The policy's per-mille of the users of every unit under maintenance, rounded up (at least one seat)."""
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


def check_in_open(day: date, half: str, now: datetime | None = None) -> bool:
    """签到 is possible from a little before the shift starts until it ends."""
    now = now or utcnow()
    return shift_start(day, half) - CHECK_IN_OPENS <= now < shift_end(day, half)
