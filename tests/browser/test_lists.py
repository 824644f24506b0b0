"""The ticket list for people, in the browser at 1366×768 (issue 14, item 4): bulk assignment of five tickets,
one of them changed by someone else meanwhile (four done, one refused and said why), and a saved view that
appears in its owner's menu."""
from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from portal.auth.models import User
from portal.extensions import db
from portal.tickets.models import Ticket
from portal.tickets import operations as ops
from tests.browser.ui import local_input, login, release_db


def test_bulk_assign_five_one_stale_four_done_one_refused(page, users, ticket_factory):
    tickets = [ticket_factory(summary=f"批量分派{i}") for i in range(5)]
    numbers = [t.number for t in tickets]
    stale_id, engineer_id, market_id = tickets[2].id, users["engineer"].id, users["market"].id
    release_db()
    login(page, "dev_manager")
    page.goto("/tickets?state=registered&sort=oldest")
    page.check("input[data-check-all=bulk-form]")  # tick all on this page: exactly these five
    for n in numbers:
        expect(page.locator(f"input[type=checkbox][name=t][value^='{n}:']")).to_be_checked()
    expect(page.locator("input[type=checkbox][name=t]:checked")).to_have_count(5)
    # meanwhile 市场部 approves one as urgent: the version the list showed is no longer the ticket's
    ops.take_action(db.session.get(Ticket, stale_id), "approve_urgent", db.session.get(User, market_id),
                    {"request": "客户邮件要求加急"})
    release_db()
    page.select_option("#bulk-action", "assign")
    page.select_option("#bulk-assignee", str(engineer_id))
    page.fill("#bulk-deadline", local_input(3))
    with page.expect_navigation():
        page.click("#bulk-form button[type=submit]")
    assert urlsplit(page.url).path == "/tickets/bulk"
    expect(page.locator(".bulk-summary")).to_contain_text("完成 4 张，拒绝 1 张")
    done = page.locator(".bulk-done li")
    expect(done).to_have_count(4)
    refused = page.locator(".bulk-refused li")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text(numbers[2])
    expect(refused).to_contain_text("他人已作修改")


def test_a_saved_view_appears_in_the_navigation(page, users, ticket_factory):
    ticket_factory(channel="email", summary="邮件来的问题")
    release_db()
    login(page, "cs")
    page.goto("/tickets")
    page.select_option("#f-channel", "email")
    page.wait_for_url("**/tickets?*channel=email*")
    page.fill("#view-name", "邮件渠道")
    with page.expect_navigation():
        page.click("form.save-view button[type=submit]:not([form])")
    nav_link = page.locator("header nav .saved-views a", has_text="邮件渠道")
    expect(nav_link).to_be_visible()
    page.goto("/")
    expect(nav_link).to_be_visible()
    with page.expect_navigation():
        nav_link.click()
    assert "channel=email" in page.url
    expect(page.locator("#f-channel")).to_have_value("email")


def test_unit_filter_picked_by_name_and_live_search_reacts_to_pasted_text(page, ticket_factory, unit_factory):
    a, b = unit_factory(name="北京积水潭医院"), unit_factory(name="上海瑞金医院")
    ta, tb = ticket_factory(unit=a, summary="积水潭的打印机"), ticket_factory(unit=b, summary="瑞金的扫描仪")
    na, nb = ta.number, tb.number
    release_db()
    login(page, "cs")
    page.goto("/tickets")
    page.fill("#f-unit-q", "积水潭")
    option = page.locator("#f-unit-options input[name=customer_id]")
    expect(option).to_have_count(1)
    option.check()
    page.wait_for_url("**/tickets?*customer_id=*")
    expect(page.locator("#results")).to_contain_text(na)
    expect(page.locator("#results")).not_to_contain_text(nb)
    assert "customer_q" not in page.url  # the look-up box is not part of the list's address
    # live search on `input`: text put in without a key press (as a mouse paste does) still searches
    page.goto("/tickets")
    page.locator("#q").evaluate("el => { el.value = '扫描仪'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_url("**/tickets?*q=*")
    expect(page.locator("#results")).to_contain_text(nb)
    expect(page.locator("#results")).not_to_contain_text(na)
