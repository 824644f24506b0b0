"""In a real browser: the duty manager puts a person on a shift by choosing them in the shift's cell — one
action, the cell swapped in place, no page load, no second click."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.auth.operations import create_user
from portal.core.enums import Role
from portal.core.timeutil import to_local, utcnow
from portal.extensions import db
from portal.hotline.models import DutyShift
from tests.browser.conftest import (  # noqa: F401
    _csrf_on,
    live_server,
    module_browser,
    page,
    pytest_runtest_makereport,
)
from tests.browser.ui import login, release_db
from tests.conftest import PASSWORD

browser = module_browser  # one Chromium per module (see tests/browser/conftest.py)
pytestmark = pytest.mark.browser


def test_choosing_a_person_puts_them_on_the_shift_without_a_page_load(page, users):  # noqa: F811
    create_user("duty_manager", PASSWORD, "值班经理", [Role.CS, Role.DUTY_MANAGER], "cs")
    today = to_local(utcnow()).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=1)
    day = monday + timedelta(days=1)
    engineer_id = users["engineer"].id
    release_db()
    login(page, "duty_manager")
    page.goto(f"/hotline/roster?week={monday.isoformat()}")
    page.evaluate("window.sameDocument = true")  # gone if the page were loaded again
    cell = page.locator(f"#shift-{day.isoformat()}-am")
    cell.locator("select[name=user_id]").select_option(str(engineer_id))
    expect(cell.locator("li")).to_contain_text("engineer")
    assert page.evaluate("window.sameDocument === true")
    # the person is no longer offered for that shift, and the shift is saved
    expect(cell.locator(f"select[name=user_id] option[value='{engineer_id}']")).to_have_count(0)
    db.session.expire_all()
    assert [(s.day, s.half, s.user_id) for s in db.session.scalars(select(DutyShift))] == [(day, "am", engineer_id)]
