"""Working time is computed in SQL from the Chinese working-day calendar: whole working days count,
weekends and holidays do not, make-up working days (调休) do. Times are local (Asia/Shanghai)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.metrics import refresh
from portal.metrics.models import TicketFact
from tests.metrics.helpers import add_ticket

H = 3600


def response_hours(unit, engineer, registered: str, assigned: str) -> float:
    t = add_ticket(unit, registered, assigned=assigned, deadline="2027-12-31 18:00", engineer=engineer)
    db.session.commit()
    refresh.rebuild(db.session.commit)
    return db.session.scalar(select(TicketFact.response_s).where(TicketFact.ticket_id == t.id)) / H


@pytest.mark.parametrize("registered, assigned, hours", [
    # an ordinary working day
    ("2025-09-01 09:00", "2025-09-01 11:30", 2.5),
    # Friday evening → Monday morning: the weekend does not count (6 h on Friday + 9 h on Monday)
    ("2025-09-05 18:00", "2025-09-08 09:00", 15),
    # over the National Day holiday 2025-10-01…08: 6 h on 30 September + 9 h on 9 October
    ("2025-09-30 18:00", "2025-10-09 09:00", 15),
    # Sunday 2025-09-28 is a make-up working day: it counts in full
    ("2025-09-26 18:00", "2025-09-29 09:00", 6 + 24 + 9),
    # Saturday 2025-10-11 is a make-up working day too
    ("2025-10-11 10:00", "2025-10-11 12:00", 2),
    # registered and assigned on the same ordinary Sunday: no working time at all
    ("2025-10-12 10:00", "2025-10-12 15:00", 0),
    # from a Sunday to Monday 08:00: only Monday's eight hours
    ("2025-10-12 10:00", "2025-10-13 08:00", 8),
    # local midnight is 16:00 UTC: 23:30 → 00:30 local across a holiday is one working hour
    ("2025-09-30 23:30", "2025-10-09 00:30", 1),
    # 2026: Sunday 2026-09-20 is a make-up working day before the mid-autumn/National Day break
    ("2026-09-18 17:00", "2026-09-21 09:00", 7 + 24 + 9),
])
def test_response_time_counts_only_working_days(users, unit_factory, registered, assigned, hours):
    assert response_hours(unit_factory(), users["engineer"], registered, assigned) == pytest.approx(hours)


def test_three_working_days_after_friday_evening_end_on_wednesday_evening(users, unit_factory):
    # the standard's "a first reply within 3 working days" (policy.first_reply_working_days)
    assert response_hours(unit_factory(), users["engineer"], "2025-09-05 18:00", "2025-09-10 18:00") == 72


def test_a_day_the_calendar_package_does_not_know_yet_counts_monday_to_friday(users, unit_factory):
    # chinesecalendar 1.11 knows years up to 2026; 2027 falls back to Mon–Fri minus fixed-date holidays
    # Friday 2027-01-08 18:00 → Monday 2027-01-11 09:00
    assert response_hours(unit_factory(), users["engineer"], "2027-01-08 18:00", "2027-01-11 09:00") == 15
