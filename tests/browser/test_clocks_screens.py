"""Screens of issue 15's clocks at 1366×768: a demo ticket page with its service promises (running, kept, broken
in red) as the development manager sees it, and the working-day calendar with 2027's 春节 entered, as the
administrator sees it. Chinese must render, nothing may overflow; the PNGs are in test-artifacts/screens/."""
from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.core.timeutil import utcnow
from portal.demo import DEMO_PASSWORD, load_demo_data
from tests.browser.ui import login, no_horizontal_overflow, no_missing_glyphs, release_db, screenshot

pytestmark = pytest.mark.browser


def test_a_ticket_page_shows_its_clocks_in_words_and_the_calendar_page_its_days(page):
    from portal.core import workcalendar
    from portal.extensions import db
    from portal.sla.models import ServiceClock
    from portal.tickets.models import Ticket

    load_demo_data()
    from portal.auth.models import User

    admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
    workcalendar.put([workcalendar.Entry(date(2027, 2, d), "holiday", "春节") for d in range(6, 14)]
                     + [workcalendar.Entry(date(2027, 2, 14), "workday", "春节调休")], admin_id)
    db.session.commit()
    # The demo's urgent call: its emergency clock and first reply (running or broken, by the hour of the demo)
    number = db.session.scalar(select(Ticket.number).join(ServiceClock, ServiceClock.ticket_id == Ticket.id)
                               .where(ServiceClock.key == "emergency_response").order_by(Ticket.id.desc()).limit(1))
    assigned = db.session.scalar(select(Ticket.number).join(ServiceClock, ServiceClock.ticket_id == Ticket.id)
                                 .where(ServiceClock.stopped_at.is_(None), ServiceClock.due_at < utcnow(),
                                        Ticket.state == "assigned")
                                 .order_by(Ticket.id.desc()).limit(1))
    release_db()

    login(page, "dev_manager", DEMO_PASSWORD)
    for name, n in (("clocks-urgent-ticket", number), ("clocks-assigned-ticket", assigned)):
        page.goto(f"/tickets/{n}")
        card = page.locator("section.clocks")
        expect(card).to_be_visible()
        expect(card.locator("h2")).to_have_text("服务时限")
        assert card.locator("li.clock").count() >= 2
        no_horizontal_overflow(page)
        no_missing_glyphs(page)
        card.scroll_into_view_if_needed()
        screenshot(page, name)
    expect(page.locator("section.clocks li.breached .overdue").first).to_be_visible()  # an untold deadline: red

    login(page, "admin", DEMO_PASSWORD)
    page.goto("/admin/calendar?year=2027")
    expect(page.locator("main h1")).to_have_text("工作日历")
    expect(page.locator("main table tbody tr")).to_have_count(9)
    no_horizontal_overflow(page)
    no_missing_glyphs(page)
    screenshot(page, "admin-calendar-2027")
