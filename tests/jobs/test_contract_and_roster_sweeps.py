"""Contracts ending within the window remind 市场部 until renewed; the hotline duty roster must be
set half a day ahead or the duty manager is reminded."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from portal.core.policy import policy
from portal.customers import jobs as contracts
from portal.customers.operations import add_contract
from portal.extensions import db
from portal.hotline import jobs as roster
from portal.hotline.models import DutyShift
from tests.jobs.helpers import local, reminders


def contract(unit, start: date, end: date):
    c = add_contract(unit, start_date=start, end_date=end, fee=Decimal("12000"))
    db.session.commit()
    return c


def sweep_contracts(today: date) -> dict:
    result = contracts.sweep(today=today)
    db.session.commit()
    return result


def test_contract_ending_within_the_window_gives_one_reminder_to_market(unit_factory):
    unit = unit_factory(status="ordinary")
    c = contract(unit, date(2025, 12, 1), date(2026, 11, 30))
    window = policy().contract_expiry_window_days
    first_day = date(2026, 11, 30) - timedelta(days=window)
    assert sweep_contracts(first_day - timedelta(days=1))["contract_expiry"] == 0
    assert sweep_contracts(first_day)["contract_expiry"] == 1
    for d in (first_day + timedelta(days=1), first_day + timedelta(days=30), date(2026, 11, 30)):
        assert sweep_contracts(d)["contract_expiry"] == 0
    [r] = reminders(kind="contract_expiry")
    assert (r.role, r.customer_id, r.contract_id, r.closed_at) == ("market", unit.id, c.id, None)
    assert r.due_at.date() == date(2026, 11, 30)


def test_renewal_settles_the_expiry_reminder_and_is_not_itself_due(unit_factory):
    unit = unit_factory(status="vip")
    contract(unit, date(2025, 12, 1), date(2026, 11, 30))
    sweep_contracts(date(2026, 10, 1))
    renewal = contract(unit, date(2026, 12, 1), date(2027, 11, 30))
    result = sweep_contracts(date(2026, 10, 15))
    assert result == {"contract_expiry": 0, "contract_lapsed": 0, "settled": 1}
    [r] = reminders(kind="contract_expiry")
    assert r.closed_at is not None and r.closed_note == "renewed"
    assert reminders(contract_id=renewal.id) == []


def test_no_expiry_reminder_for_a_unit_whose_maintenance_has_stopped(unit_factory):
    unit = unit_factory(status="stopped")
    contract(unit, date(2025, 12, 1), date(2026, 11, 30))
    assert sweep_contracts(date(2026, 10, 1))["contract_expiry"] == 0


# --- duty roster ---------------------------------------------------------------------------

def sweep_roster(now) -> dict:
    result = roster.sweep(now=now)
    db.session.commit()
    return result


def staff(users, day: date, half: str):
    db.session.add(DutyShift(day=day, half=half, user_id=users["cs"].id, created_by_id=users["cs"].id))
    db.session.commit()


def test_next_shift_within_twelve_hours_and_unstaffed_reminds_the_duty_manager():
    assert policy().duty_roster_lead_hours == 12
    # Thu 2026-11-26 20:00: Friday's morning shift (08:30) is 12.5 h away — not yet.
    assert sweep_roster(local(2026, 11, 26, 20))["duty_roster"] == 0
    assert sweep_roster(local(2026, 11, 26, 21))["duty_roster"] == 1
    [r] = reminders(kind="duty_roster")
    assert (r.role, r.period, r.closed_at) == ("duty_manager", "2026-11-27am", None)
    assert r.due_at == local(2026, 11, 26, 20, 30)  # half a day before the shift


def test_roster_reminder_is_created_once_and_settled_when_a_shift_is_added(users):
    sweep_roster(local(2026, 11, 26, 21))
    assert sweep_roster(local(2026, 11, 26, 22))["duty_roster"] == 0
    staff(users, date(2026, 11, 27), "am")
    assert sweep_roster(local(2026, 11, 26, 23)) == {"duty_roster": 0, "settled": 1}
    [r] = reminders(kind="duty_roster")
    assert r.closed_at is not None and r.closed_note == "roster set"


def test_roster_reminder_of_a_shift_that_started_unstaffed_closes_and_stays_on_record():
    sweep_roster(local(2026, 11, 26, 21))  # Friday morning's shift, nobody on it
    assert sweep_roster(local(2026, 11, 27, 8, 29))["settled"] == 0  # still time to arrange it
    assert sweep_roster(local(2026, 11, 27, 8, 31))["settled"] == 1  # started: it can no longer be arranged
    [r] = [r for r in reminders(kind="duty_roster") if r.period == "2026-11-27am"]
    assert r.closed_at is not None and r.closed_note == "shift started unstaffed"


def test_a_staffed_shift_needs_no_reminder(users):
    staff(users, date(2026, 11, 27), "am")
    staff(users, date(2026, 11, 27), "pm")
    assert sweep_roster(local(2026, 11, 27, 6)) == {"duty_roster": 0, "settled": 0}


def test_roster_follows_the_chinese_calendar_holidays_and_make_up_days():
    # Fri 10-09 21:00: the next shift is on Saturday 10-10, a make-up workday.
    sweep_roster(local(2026, 10, 9, 21))
    assert [r.period for r in reminders(kind="duty_roster")] == ["2026-10-10am"]
    # Wed 9-30 21:00: 10-01 starts the National Day holiday — no shift to staff.
    assert sweep_roster(local(2026, 9, 30, 21))["duty_roster"] == 0
    # Fri 11-27 21:00: an ordinary weekend follows.
    assert sweep_roster(local(2026, 11, 27, 21))["duty_roster"] == 0


def test_roster_sweep_works_in_a_year_the_chinese_calendar_has_no_data_for_yet():
    assert sweep_roster(local(2026, 12, 31, 21))["duty_roster"] == 0  # 1 January is a holiday
    assert sweep_roster(local(2027, 1, 3, 21))["duty_roster"] == 1
    assert reminders(kind="duty_roster")[0].period == "2027-01-04am"
