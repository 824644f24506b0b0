"""The service-level policy page as an administrator sees it on the demo data (issue 15 item 4): the per-level
table with the demo's changes marked, the history with reasons, a refused value answered in Chinese with nothing
changed, an accepted one shown at once; Chinese, no overflow at 1366×768."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.demo import load_demo_data
from tests.browser.test_screens import assert_chinese_page
from tests.browser.ui import login, no_horizontal_overflow, no_missing_glyphs, release_db, screenshot

pytestmark = pytest.mark.browser


def _changes() -> int:
    from portal.core.policy_store import PolicyChange
    from portal.extensions import db

    n = db.session.scalar(select(func.count()).select_from(PolicyChange))
    release_db()
    return n


def test_admin_reads_and_changes_the_policy(page, http_errors_expected):
    from portal.extensions import db

    load_demo_data()
    db.session.commit()
    release_db()
    login(page, "admin", "demo-pass-2026")
    page.goto("/admin/policy")
    assert_chinese_page(page)
    row = page.locator("#policy-onsite_within_hours")
    expect(row.locator("strong")).to_have_text("12")  # the demo's VIP change, marked
    expect(page.locator("main")).to_contain_text("12小时内到达现场")  # its reason in the history
    no_horizontal_overflow(page)
    no_missing_glyphs(page)
    screenshot(page, "admin-policy")
    before = _changes()

    http_errors_expected.add(422)
    page.select_option("select[name=field]", "satisfaction_target")
    page.select_option("select[name=level]", "all")
    page.fill("input[name=value]", "120")
    page.fill("textarea[name=reason]", "试一试")
    with page.expect_navigation():
        page.click("#policy-edit button[type=submit]")
    expect(page.locator("#policy-edit [role=alert]").first).to_contain_text("请输入")
    screenshot(page, "admin-policy-refused")
    assert _changes() == before

    page.fill("input[name=value]", "88")
    page.fill("textarea[name=reason]", "年度质量目标")
    with page.expect_navigation():
        page.click("#policy-edit button[type=submit]")
    expect(page.locator("#policy-satisfaction_target strong")).to_have_text("88")
    assert _changes() == before + 1
