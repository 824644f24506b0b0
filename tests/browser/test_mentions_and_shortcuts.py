"""Issue 14 (5, 6) in the browser: a mention reaches the person; following from the ticket page; the keyboard
shortcuts and their "?" overlay, none of them firing while the clerk types in a field."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.tickets import operations as ops
from tests.browser.ui import act, login, release_db

pytestmark = pytest.mark.browser


@pytest.fixture
def assigned_to_zhang_wei(users, ticket_factory):
    """A ticket assigned to the engineer 张伟; returns its number (the database released for the browser)."""
    users["engineer"].display_name = "张伟"
    db.session.commit()
    t = ticket_factory(summary="报表导出乱码")
    ops.take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                        "deadline": utcnow() + timedelta(days=2)})
    db.session.commit()
    number = t.number
    release_db()
    return number


def test_a_mention_in_a_note_reaches_the_engineer_who_sees_it_in_the_notifications(page, assigned_to_zhang_wei):
    number = assigned_to_zhang_wei
    login(page, "cs")
    page.goto(f"/tickets/{number}")
    act(page, "comment", {"text": "@张伟 请看一下"}, to_state="assigned")
    expect(page.locator("#ticket .flash.mentions")).to_contain_text("已通知：张伟")
    expect(page.locator("#ticket ol.timeline")).to_contain_text("@张伟 请看一下")

    login(page, "engineer")
    expect(page.locator("#bell")).to_contain_text(re.compile(r"\d"))  # the unread count
    page.goto("/notifications")
    mention = page.locator("ul.notes li.unread", has_text="有人在备注中提到你")
    expect(mention).to_have_count(1)
    expect(mention).to_contain_text("@张伟 请看一下")
    with page.expect_navigation():
        mention.locator("button").click()
    assert urlsplit(page.url).path == f"/tickets/{number}"


def test_following_and_unfollowing_from_the_ticket_page(page, assigned_to_zhang_wei):
    number = assigned_to_zhang_wei
    login(page, "market")
    page.goto(f"/tickets/{number}")
    box = page.locator("#followers")
    expect(box).to_contain_text("还没有人关注此工单")
    box.locator("button.follow-toggle").click()
    expect(box.locator("button.follow-toggle")).to_have_text("取消关注")
    expect(box.locator("button.follow-toggle")).to_have_attribute("aria-pressed", "true")
    expect(box.locator("li")).to_have_text(["market"])
    box.locator("button.follow-toggle").click()
    expect(box.locator("button.follow-toggle")).to_have_text("关注")
    expect(box).to_contain_text("还没有人关注此工单")


def test_question_mark_opens_the_shortcuts_overlay_and_escape_closes_it(page, users):
    release_db()
    login(page, "cs")
    page.goto("/tickets")
    overlay = page.locator("dialog#shortcuts")
    expect(overlay).to_be_hidden()
    page.keyboard.press("?")
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("键盘快捷键")
    expect(overlay.locator("kbd", has_text="/")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()


def test_slash_focuses_the_search_box(page, users):
    release_db()
    login(page, "cs")
    page.goto("/tickets")
    page.locator("h1").click()  # the focus on the page, in no field
    page.keyboard.press("/")
    expect(page.locator("input#q")).to_be_focused()


def test_shortcut_keys_typed_in_a_textarea_are_just_text(page, assigned_to_zhang_wei):
    number = assigned_to_zhang_wei
    login(page, "cs")
    page.goto(f"/tickets/{number}")
    box = page.locator("#ticket details.action:has(form[hx-post$='/actions/comment'])")
    if not box.evaluate("d => d.open"):
        box.locator("summary").click()
    note = box.locator("textarea[name='comment-text']")
    note.click()
    page.keyboard.type("为什么?/jk ga")
    expect(note).to_have_value("为什么?/jk ga")
    expect(page.locator("dialog#shortcuts")).to_be_hidden()
    expect(page.locator("dialog#jump")).to_be_hidden()
    expect(note).to_be_focused()


def test_a_opens_the_first_action_and_ctrl_enter_sends_it(page, assigned_to_zhang_wei):
    number = assigned_to_zhang_wei
    login(page, "cs")
    page.goto(f"/tickets/{number}")
    page.locator("#ticket h1").click()
    page.keyboard.press("a")
    first = page.locator("#ticket details.action").first
    expect(first).to_have_attribute("open", "")
    # the comment form: Ctrl+Enter in its textarea sends it through htmx
    box = page.locator("#ticket details.action:has(form[hx-post$='/actions/comment'])")
    if not box.evaluate("d => d.open"):
        box.locator("summary").click()
    note = box.locator("textarea[name='comment-text']")
    note.fill("用快捷键提交的备注")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/actions/comment")) as info:
        note.press("Control+Enter")
    assert info.value.status == 200
    expect(page.locator("#ticket ol.timeline")).to_contain_text("用快捷键提交的备注")


def test_j_and_k_move_through_a_queue_and_enter_opens_the_row(page, assigned_to_zhang_wei):
    number = assigned_to_zhang_wei
    login(page, "engineer")
    page.goto("/tickets")
    page.locator("h1").click()
    page.keyboard.press("j")
    row = page.locator("main table tbody tr.kb-current")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(number)
    page.keyboard.press("k")  # already the first row: stays
    expect(row).to_contain_text(number)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == f"/tickets/{number}"


def test_g_then_n_jumps_to_a_ticket_by_its_number(page, assigned_to_zhang_wei):
    number = assigned_to_zhang_wei
    login(page, "cs")
    page.keyboard.press("g")
    page.keyboard.press("n")
    box = page.locator("dialog#jump input#jump-number")
    expect(box).to_be_focused()
    box.fill(number.lower())
    with page.expect_navigation():
        box.press("Enter")
    assert urlsplit(page.url).path == f"/tickets/{number}"
