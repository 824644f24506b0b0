"""Issue 16 item 5 in the browser: 客服 records a callback with a standard reply (常用语) chosen from the picker by
keyboard alone, filled from the ticket (customer and engineer), and the text is what the form sends."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.replies import operations as replies
from portal.tickets import operations as ops
from tests.browser.ui import login, release_db, screenshot, state_chip

pytestmark = pytest.mark.browser


@pytest.fixture
def resolved_ticket(users, ticket_factory, unit_factory):
    users["engineer"].display_name = "张伟"
    t = ticket_factory(unit=unit_factory(name="北京市第一人民医院"), reporter_name="刘建国", summary="打印机无法打印")
    ops.take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                        "deadline": utcnow() + timedelta(days=2)})
    ops.take_action(t, "resolve", users["engineer"], {"process": "重装驱动", "result": "已恢复打印", "hours_spent": 1})
    replies.create(users["market_manager"], kind="callback", title="解决后回访",
                   body="{联系人}您好，{客户}反映的问题已由{工程师}处理完毕，请问是否已经解决？", shared=True)
    replies.create(users["market_manager"], kind="callback", title="回访未接通", body="电话未接通，稍后再拨。",
                   shared=True)
    replies.create(users["dev_manager"], kind="deadline", title="告知期限", body="将于{期限}前解决。", shared=True)
    replies.create(users["cs"], kind="general", title="<script>alert(1)</script>", body="<b>加粗</b>", shared=False)
    db.session.commit()
    number = t.number
    release_db()
    return number


def test_cs_inserts_a_filled_callback_reply_with_the_keyboard(page, resolved_ticket):
    number = resolved_ticket
    login(page, "cs")
    page.goto(f"/tickets/{number}")
    box = page.locator("#ticket details.action:has(form[hx-post$='/actions/callback'])")
    if not box.evaluate("d => d.open"):
        box.locator("summary").focus()
        page.keyboard.press("Enter")
    text = page.locator("#callback-text")
    text.focus()
    page.keyboard.type("回访：")

    # Tab from the text box to its 常用语 button, Enter opens the list (loaded by htmx) with the filter focused.
    page.keyboard.press("Tab")
    button = box.locator(".reply-open")
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    listbox = box.locator("[role=listbox]")
    expect(listbox).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(box.locator(".reply-filter")).to_be_focused()
    options = listbox.locator("[role=option]")
    expect(options).to_have_count(3)  # the callback texts and the general one; not the deadline call
    expect(listbox).not_to_contain_text("将于")
    expect(listbox).to_contain_text("<script>alert(1)</script>")  # a stored title shows as text
    screenshot(page, "replies-picker")

    # Escape closes and gives the focus back to the button; Enter opens again.
    page.keyboard.press("Escape")
    expect(listbox).to_have_count(0)
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(box.locator(".reply-filter")).to_be_focused()

    # Typing filters; the arrow keys move; Enter inserts at the cursor — and does not send the form.
    page.keyboard.type("回访")
    expect(options.locator("visible=true")).to_have_count(2)
    selected = box.locator("[role=option][aria-selected=true]")
    expect(selected).to_contain_text("回访未接通")  # the first that matches
    page.keyboard.press("ArrowDown")
    expect(selected).to_contain_text("解决后回访")
    page.keyboard.press("ArrowDown")  # the last stays chosen
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowDown")
    expect(selected).to_contain_text("解决后回访")
    page.keyboard.press("Enter")
    expect(listbox).to_have_count(0)
    expect(text).to_be_focused()
    expect(text).to_have_value("回访：刘建国您好，北京市第一人民医院反映的问题已由张伟处理完毕，请问是否已经解决？")
    expect(state_chip(page)).to_have_class(re.compile(r"\bs-resolved\b"))  # nothing was sent yet

    # The inserted text is what the form sends.
    box.locator("input[name='callback-solved'][value='yes']").check()
    box.locator("select[name='callback-satisfaction']").select_option("5")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/actions/callback")):
        text.press("Control+Enter")
    expect(state_chip(page)).to_have_class(re.compile(r"\bs-callback_done\b"))
    expect(page.locator("#ticket ol.timeline")).to_contain_text("北京市第一人民医院反映的问题已由张伟处理完毕")


def test_the_replies_page_shows_mine_and_the_shared_ones(page, resolved_ticket):
    login(page, "cs")
    page.goto("/replies")
    expect(page.locator("h1")).to_have_text("常用语")
    expect(page.locator("main")).to_contain_text("解决后回访")
    expect(page.locator("main")).to_contain_text("<b>加粗</b>")
    screenshot(page, "replies-index")


def test_a_manager_edits_a_shared_reply_and_an_unknown_placeholder_is_refused_in_chinese(page, resolved_ticket,
                                                                                          http_errors_expected):
    http_errors_expected.add(422)  # the refusal
    login(page, "market_manager")
    page.goto("/replies")
    card = page.locator(".reply-card", has_text="解决后回访")
    with page.expect_navigation():
        card.get_by_role("link", name="编辑").click()
    body = page.locator("textarea[name=body]")
    body.fill("{联系人}您好，{客户名}的问题已解决。")
    with page.expect_navigation():
        body.press("Control+Enter")
    expect(page.locator(".field.has-error .err")).to_contain_text("无法识别的占位符：{客户名}")
    expect(body).to_have_value("{联系人}您好，{客户名}的问题已解决。")  # kept to correct
    screenshot(page, "replies-edit-refused")
    body.fill("{联系人}您好，{客户}的问题已解决。")
    with page.expect_navigation():
        body.press("Control+Enter")
    expect(page.locator(".flash")).to_contain_text("常用语已保存")
    expect(page.locator(".reply-card", has_text="解决后回访")).to_contain_text("v2")
