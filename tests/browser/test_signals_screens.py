"""Screens of issue 15's signals on the demo data, at 1366×768 (test-artifacts/screens/): the duty roster with
each shift's check-ins as the duty manager sees it, and 市场部's home with every contract in its expiry window."""
import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD, load_demo_data
from tests.browser.test_screens import looks_right
from tests.browser.ui import login, release_db, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo():
    from portal.extensions import db

    load_demo_data()
    db.session.commit()


def test_roster_with_check_ins_and_markets_expiring_contracts(page, demo):
    release_db()
    problems: list[str] = []
    login(page, "duty_manager", DEMO_PASSWORD)
    page.goto("/hotline/roster")
    expect(page.locator("table.roster td .ok").first).to_be_visible()  # ✓ with the check-in time
    screenshot(page, "roster-check-ins-duty_manager")
    looks_right(page, problems, "roster-check-ins-duty_manager")

    login(page, "market", DEMO_PASSWORD)
    expect(page.locator("#q-expiring tbody tr").first).to_be_visible()
    screenshot(page, "market-home-expiring")
    looks_right(page, problems, "market-home-expiring")
    page.goto("/customers?contract=expiring")
    expect(page.locator("table.units tbody tr td a").first).to_be_visible()
    screenshot(page, "customers-expiring-market")
    looks_right(page, problems, "customers-expiring-market")
    assert not problems, "\n".join(problems)
