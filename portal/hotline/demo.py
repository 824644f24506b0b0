"""Demo data for the duty roster (issue 15): this week's shifts, each with a few of the people who take
hotline duty; the shifts already started show their check-ins (签到), one person late, so the roster shows
what the duty manager sees — and, with fewer people than the policy's seats, each shift's shortfall."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from portal.auth.models import User
from portal.core.policy import is_workday
from portal.extensions import db
from portal.hotline.models import DutyShift
from portal.hotline.staffing import HALF_KEYS, shift_start


def seed(people: list[User], manager: User, today: date, now: datetime) -> int:
    monday = today - timedelta(days=today.weekday())
    shifts = [(monday + timedelta(days=i), half) for i in range(7) if is_workday(monday + timedelta(days=i))
              for half in HALF_KEYS]
    started = [s for s in shifts if shift_start(*s) <= now]
    latest = started[-1] if started else None  # its last person has not checked in (yet)
    added = 0
    for n, (day, half) in enumerate(shifts):
        start = shift_start(day, half)
        crew = [people[(n + k) % len(people)] for k in range(min(4, len(people)))]
        for k, person in enumerate(crew):
            checked = None
            if start <= now and not ((day, half) == latest and k == len(crew) - 1):
                checked = start - timedelta(minutes=12 - 3 * k)
            db.session.add(DutyShift(day=day, half=half, user_id=person.id, created_by_id=manager.id,
                                     created_at=start - timedelta(days=2), checked_in_at=checked))
            added += 1
    return added
