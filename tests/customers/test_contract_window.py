"""Contract expiry seen from the window's first day (issue 15 item 5): 市场部 sees every contract in its 90-day
window on its home page, with the customer list's 即将到期 filter and on the notifications page — from day 1,
not only in the last 31 days; a contract that lapses without renewal reminds 市场部经理, once, to set the unit's
maintenance status, until the status is set or the contract renewed (never a silent change, never silence)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.core.enums import MaintenanceStatus
from portal.core.policy import policy
from portal.core.timeutil import clock_set_to
from portal.customers import expiry
from portal.customers import operations as ops
from portal.customers.models import CustomerUnit
from portal.extensions import db
from tests.jobs.helpers import local, reminders

END = date(2027, 3, 1)


def day_one() -> date:
    return END - timedelta(days=policy().contract_expiry_window_days)


def contract(unit, start: date, end: date):
    c = ops.add_contract(unit, start_date=start, end_date=end, fee=Decimal("12000"))
    db.session.commit()
    return c


def sweep(today: date) -> dict:
    result = expiry.sweep(today)
    db.session.commit()
    return result


def at(day: date):
    return clock_set_to(local(day.year, day.month, day.day, 9))


def test_a_contract_is_on_markets_home_the_filter_and_notifications_from_the_first_day(auth, unit_factory):
    assert policy().contract_expiry_window_days == 90
    unit = unit_factory(name="即将到期的测试医院")
    quiet = unit_factory(name="合同还长的测试医院")
    contract(unit, END - timedelta(days=364), END)
    contract(quiet, END - timedelta(days=200), END + timedelta(days=200))
    market = auth.client_for("market")
    with at(day_one() - timedelta(days=1)):
        assert sweep(day_one() - timedelta(days=1))["contract_expiry"] == 0
        assert unit.name not in market.get("/").get_data(as_text=True)
        assert unit.name not in market.get("/customers?contract=expiring").get_data(as_text=True)
    with at(day_one()):
        assert sweep(day_one())["contract_expiry"] == 1
        home = market.get("/").get_data(as_text=True)
        assert "90 天内到期的维护合同" in home and unit.name in home and quiet.name not in home
        listed = market.get("/customers?contract=expiring").get_data(as_text=True)
        assert unit.name in listed and quiet.name not in listed and "即将到期" in listed
        everyone = market.get("/customers").get_data(as_text=True)
        assert unit.name in everyone and quiet.name in everyone
        # the reminder is due 90 days ahead, and still listed (the page used to look 31 days ahead only)
        notes = market.get("/notifications").get_data(as_text=True)
        assert "维护合同即将到期" in notes and unit.name in notes
    for role in ("market_manager",):
        with at(day_one()):
            assert unit.name in auth.client_for(role).get("/").get_data(as_text=True)


def test_the_home_panel_is_market_s_alone(auth, unit_factory):
    unit = unit_factory(name="即将到期的测试医院")
    contract(unit, END - timedelta(days=364), END)
    with at(day_one()):
        for role in ("cs", "dev_manager", "engineer", "admin"):
            assert "q-expiring" not in auth.client_for(role).get("/").get_data(as_text=True), role


def test_the_filter_pages_by_keyset_and_skips_renewed_and_stopped_units(unit_factory):
    names = [f"到期单位{i:02d}" for i in range(5)]
    for n in names:
        contract(unit_factory(name=n), END - timedelta(days=364), END)
    renewed = unit_factory(name="到期单位已续签")
    contract(renewed, END - timedelta(days=364), END)
    contract(renewed, END + timedelta(days=1), END + timedelta(days=365))
    stopped = unit_factory(name="到期单位停保", status=MaintenanceStatus.STOPPED)
    contract(stopped, END - timedelta(days=364), END)
    seen, cursor = [], ""
    while True:
        page = ops.list_units("", "", cursor, page_size=2, expiring_on=day_one())
        seen += [u.name for u in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == names


def test_a_lapsed_contract_reminds_the_market_manager_once_until_the_status_is_set(users, unit_factory):
    unit = unit_factory(name="合同到期未续签医院")
    c = contract(unit, END - timedelta(days=364), END)
    assert sweep(END)["contract_lapsed"] == 0  # its last day: not lapsed yet
    assert sweep(END + timedelta(days=1))["contract_lapsed"] == 1
    assert sweep(END + timedelta(days=2))["contract_lapsed"] == 0  # a second sweep: nothing new
    [r] = reminders(kind="contract_lapsed")
    assert (r.role, r.customer_id, r.contract_id, r.closed_at) == ("market_manager", unit.id, c.id, None)
    assert db.session.get(CustomerUnit, unit.id).maintenance_status == "ordinary"  # never a silent change
    ops.change_status(unit, MaintenanceStatus.STOPPED, "客户未续签", users["market_manager"])
    db.session.commit()
    [r] = reminders(kind="contract_lapsed")
    assert r.closed_at is not None and r.closed_note == "status set"
    assert sweep(END + timedelta(days=3))["contract_lapsed"] == 0  # stopped: nothing more to decide


def test_a_renewal_after_the_lapse_settles_its_reminder(users, unit_factory):
    unit = unit_factory(name="晚续签医院")
    c = contract(unit, END - timedelta(days=364), END)
    sweep(END + timedelta(days=5))
    ops.renew_contract(c, start_date=END + timedelta(days=10), end_date=END + timedelta(days=375),
                       fee=Decimal("12000"), actor=users["market"])
    db.session.commit()
    [r] = reminders(kind="contract_lapsed")
    assert r.closed_note == "renewed"
    assert sweep(END + timedelta(days=11)) == {"contract_expiry": 0, "contract_lapsed": 0, "settled": 0}


def test_the_lapse_reminder_is_on_the_market_managers_notifications_page(auth, unit_factory):
    unit = unit_factory(name="到期医院甲")
    contract(unit, END - timedelta(days=364), END)
    with at(END + timedelta(days=1)):
        sweep(END + timedelta(days=1))
        page = auth.client_for("market_manager").get("/notifications").get_data(as_text=True)
        assert "合同已到期未续签" in page and unit.name in page
        assert "合同已到期未续签" not in auth.client_for("market").get("/notifications").get_data(as_text=True)


@pytest.mark.parametrize("value", ["expiring", "bogus", ""])
def test_the_filter_value_is_bounded(auth, value):
    r = auth.client_for("market").get(f"/customers?contract={value}")
    assert r.status_code == 200
