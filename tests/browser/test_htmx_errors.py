"""Issue 12: an htmx action that fails is never a click that silently vanishes.

A form whose CSRF token expired reloads the page and puts back what the clerk typed; an error answer
(a 413, the database down) is shown as an alert inside the form that was sent, focused and dismissable
from the keyboard, and leaves the ticket and the typed text in place; a route's own 409/422/403 answer
(the ticket as it is now, with the reason) is swapped in and the keyboard put on the reason.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy.exc import OperationalError

from portal.auth.models import User
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.tickets import operations
from portal.tickets.models import Event, Ticket
from tests.browser.ui import login, offered, release_db
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

NOTE = "客户来电补充：\n打印时报错 0x0000011b，\n换了驱动也一样。"


def open_action(page, number: str, action: str):
    page.goto(f"/tickets/{number}")
    box = offered(page, action)
    expect(box).to_have_count(1)
    if not box.evaluate("d => d.open"):
        box.locator("summary").click()
    return box.locator("form")


def send(page, form, action: str):
    """Click the form's button; return the answer htmx received."""
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/actions/{action}")) as info:
        form.locator("button[type=submit]").click()
    return info.value


def events_of(number: str) -> list[str]:
    db.session.expire_all()
    ticket = db.session.query(Ticket).filter_by(number=number).one()
    # (a form sends a textarea's line breaks as CRLF)
    events = db.session.query(Event).filter_by(ticket_id=ticket.id).order_by(Event.id)
    texts = [e.text.replace("\r\n", "\n") for e in events]
    release_db()
    return texts


def test_an_expired_form_reloads_the_page_and_puts_back_what_the_clerk_typed(page, users, ticket_factory,
                                                                            http_errors_expected):
    http_errors_expected.add(400)
    number = ticket_factory().number
    release_db()
    login(page, "cs")
    form = open_action(page, number, "comment")
    form.locator("[name='comment-text']").fill(NOTE)

    # Meanwhile the clerk signs in again in another tab: the browser's session, and with it the CSRF
    # token the server expects, is new; this page still carries the old one.
    other = page.context.new_page()
    login(other, "cs")
    other.close()

    with page.expect_event("load"):  # the page reloads by itself…
        answer = send(page, form, "comment")
    assert answer.status == 400 and answer.headers.get("x-portal-error") == "expired-form"
    form = offered(page, "comment").locator("form")
    alert = form.locator(".htmx-error[role=alert]")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("表单已过期，页面已重新载入")
    expect(alert).to_be_focused()
    expect(form.locator("[name='comment-text']")).to_have_value(NOTE)  # …and what was typed is back
    assert NOTE not in events_of(number)  # nothing was sent twice behind the clerk's back

    answer = send(page, form, "comment")  # the clerk sends it again, now with the fresh token
    assert answer.status == 200
    expect(page.locator("#ticket ol.timeline")).to_contain_text("打印时报错 0x0000011b")
    assert events_of(number).count(NOTE) == 1


def test_a_database_outage_is_shown_in_the_form_that_was_sent_and_dismissed_with_escape(
        page, users, ticket_factory, monkeypatch, http_errors_expected):
    http_errors_expected.add(503)
    number = ticket_factory().number
    release_db()
    login(page, "cs")
    form = open_action(page, number, "comment")
    form.locator("[name='comment-text']").fill(NOTE)

    def database_gone(*args, **kwargs):
        raise OperationalError("UPDATE tickets", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(operations, "take_action", database_gone)
    answer = send(page, form, "comment")
    assert answer.status == 503
    alert = form.locator(".htmx-error[role=alert]")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("数据库")
    expect(alert).to_be_focused()
    expect(page.locator("#ticket h1 .number")).to_have_text(number)  # the ticket is still there…
    expect(form.locator("[name='comment-text']")).to_have_value(NOTE)  # …and so is the note

    page.keyboard.press("Escape")
    expect(alert).to_have_count(0)
    expect(form.locator("button[type=submit]")).to_be_focused()  # back on the button that was clicked

    monkeypatch.undo()
    assert send(page, form, "comment").status == 200  # the database is back: the same click works


def test_an_upload_too_large_for_the_request_is_shown_at_the_form_with_a_close_button(
        app, page, users, ticket_factory, monkeypatch, http_errors_expected):
    http_errors_expected.add(413)
    number = ticket_factory().number
    release_db()
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    login(page, "cs")
    form = open_action(page, number, "comment")
    form.locator("[name='comment-text']").fill(NOTE)
    form.locator("input[type=file]").set_input_files(
        files=[{"name": "full.log", "mimeType": "text/plain", "buffer": b"line of the log\n" * 20_000}])
    answer = send(page, form, "comment")
    assert answer.status == 413
    alert = form.locator(".htmx-error[role=alert]")
    expect(alert).to_contain_text("上传的内容过大")
    expect(form.locator("[name='comment-text']")).to_have_value(NOTE)
    alert.locator("button").click()
    expect(alert).to_have_count(0)


def test_a_ticket_changed_meanwhile_409_shows_it_as_it_is_now_with_the_note_kept(page, users, ticket_factory,
                                                                                 http_errors_expected):
    http_errors_expected.add(409)
    number = ticket_factory().number
    manager, engineer = users["dev_manager"].id, users["engineer"].id
    release_db()
    login(page, "cs")
    form = open_action(page, number, "comment")
    form.locator("[name='comment-text']").fill(NOTE)

    t = db.session.query(Ticket).filter_by(number=number).one()  # meanwhile the manager assigns it
    operations.take_action(t, "assign", db.session.get(User, manager),
                           {"assignee_id": engineer, "deadline": utcnow() + timedelta(days=2)})
    release_db()

    answer = send(page, form, "comment")
    assert answer.status == 409
    error = page.locator("#ticket > .flash.error[role=alert]")
    expect(error).to_be_visible()
    expect(error).to_be_focused()
    expect(page.locator("#ticket .chips .state")).to_have_class("state s-assigned")  # the ticket as it is now
    expect(offered(page, "comment").locator("[name='comment-text']")).to_have_value(NOTE)


def test_an_action_on_a_ticket_reassigned_meanwhile_409_and_a_missing_field_422_are_shown_with_the_reason(
        page, users, ticket_factory, http_errors_expected):
    http_errors_expected.update({409, 422})
    ticket = ticket_factory()
    number = ticket.number
    operations.take_action(ticket, "assign", users["dev_manager"],
                           {"assignee_id": users["engineer"].id, "deadline": utcnow() + timedelta(days=2)})
    engineer2, manager_id = users["engineer2"].id, users["dev_manager"].id
    release_db()
    login(page, "engineer")
    form = open_action(page, number, "resolve")
    form.locator("[name='resolve-process_text']").fill("重装驱动")
    answer = send(page, form, "resolve")  # no result, no hours: refused with the fields marked
    assert answer.status == 422
    expect(page.locator("#ticket > .flash.error[role=alert]")).to_be_focused()
    expect(page.locator("#ticket [aria-invalid=true]")).to_have_count(2)  # result and hours
    expect(offered(page, "resolve").locator("[name='resolve-process_text']")).to_have_value("重装驱动")

    # Meanwhile the manager gives the ticket to another engineer (the reassign action): the clerk's form is
    # stale, and the answer says so — the real reason — rather than "only the assignee may".
    t = db.session.query(Ticket).filter_by(number=number).one()
    operations.take_action(t, "reassign", db.session.get(User, manager_id),
                           {"assignee_id": engineer2, "reason": "工程师请假"})
    release_db()
    form = offered(page, "resolve").locator("form")
    form.locator("[name='resolve-result']").fill("已恢复打印")
    form.locator("[name='resolve-hours_spent']").fill("1")
    answer = send(page, form, "resolve")
    assert answer.status == 409
    error = page.locator("#ticket > .flash.error[role=alert]")
    expect(error).to_contain_text("他人已作修改")
    expect(error).to_be_focused()


def test_signed_out_from_another_device_the_clerk_signs_in_again_and_finds_the_page_and_the_note_again(
        browser, live_server, page, users, ticket_factory, http_errors_expected):
    http_errors_expected.add(401)
    number = ticket_factory().number
    release_db()
    login(page, "cs")
    form = open_action(page, number, "comment")
    form.locator("[name='comment-text']").fill(NOTE)

    # On another device the clerk signs out every other session: this browser's session is dead.
    phone = browser.new_context(base_url=live_server)
    try:
        other = phone.new_page()
        other.goto("/login")
        other.fill("input[name=username]", "cs")
        other.fill("input[name=password]", PASSWORD)
        with other.expect_navigation():
            other.click("main form button[type=submit]")
        other.goto("/account")
        with other.expect_navigation():
            other.click("form[action$='/account/sessions/end-others'] button[type=submit]")
    finally:
        phone.close()

    with page.expect_navigation(url=lambda url: urlsplit(url).path == "/login"):
        answer = send(page, form, "comment")
    assert answer.status == 401
    page.fill("input[name=username]", "cs")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert urlsplit(page.url).path == f"/tickets/{number}"  # back where they were…
    form = offered(page, "comment").locator("form")
    expect(form.locator(".htmx-error[role=alert]")).to_contain_text("重新登录前填写的内容已放回")
    expect(form.locator("[name='comment-text']")).to_have_value(NOTE)  # …with the note they had typed
    assert NOTE not in events_of(number)


def test_an_answer_that_is_not_ours_still_shows_a_message_with_its_status(
        app, page, users, ticket_factory, monkeypatch, http_errors_expected):
    http_errors_expected.add(500)
    number = ticket_factory().number
    release_db()
    login(page, "cs")
    form = open_action(page, number, "comment")
    form.locator("[name='comment-text']").fill(NOTE)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    # The test app lets exceptions through, so the server's bare 500 page (not our fragment) comes back:
    # what a proxy's error page would look like to the browser.
    monkeypatch.setattr(operations, "take_action", broken)
    answer = send(page, form, "comment")
    assert answer.status == 500 and "x-portal-error" not in answer.headers
    alert = form.locator(".htmx-error[role=alert]")
    expect(alert).to_contain_text("服务器未能完成此操作（错误 500）")
    expect(form.locator("[name='comment-text']")).to_have_value(NOTE)
