"""Screenshots kept as test artefacts (test-artifacts/screens/) and the layout rules they show:
each role's home queue has work on the demo data, the page is Chinese, and nothing overflows at 1366×768.

The data is `flask demo-data`'s (portal/demo.py): tickets in every state driven through the real
workflow, so the screens show what a first start shows. Look at the PNGs: Chinese must render
(no tofu boxes) and nothing may overlap.
"""
import io

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from portal.demo import DEMO_PASSWORD, load_demo_data
from tests.browser.ui import CJK, login, no_horizontal_overflow, no_missing_glyphs, release_db, screenshot
from tests.conftest import ROLE_KEYS

pytestmark = pytest.mark.browser


@pytest.fixture
def demo():
    from portal.extensions import db

    load_demo_data()
    db.session.commit()


def _ticket_number(state: str, **where) -> str:
    from portal.extensions import db
    from portal.tickets.models import Ticket

    stmt = select(Ticket.number).where(Ticket.state == state).order_by(Ticket.id).limit(1)
    for name, value in where.items():
        stmt = stmt.where(getattr(Ticket, name) == value)
    return db.session.scalar(stmt)


def _attach_screenshot_image(number: str) -> None:
    """An internal note with an image, so the ticket page shows its gallery."""
    from portal.auth.models import User
    from portal.core import uploads
    from portal.extensions import db
    from portal.tickets import operations as ops
    from portal.tickets.models import Ticket

    buf = io.BytesIO()
    Image.new("RGB", (480, 300), (226, 232, 240)).save(buf, "PNG")
    buf.seek(0)
    checked = uploads.check(FileStorage(buf, filename="报错截图.png", content_type="image/png"))
    ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
    cs = db.session.scalar(select(User).where(User.username == "cs"))
    ops.take_action(ticket, "comment", cs, {"text": "客户发来的报错截图"}, files=[checked])
    db.session.commit()


def assert_chinese_page(page, *where_all: str) -> None:
    """The page says it is Chinese, and each navigation link and heading is Chinese text."""
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    for where in where_all or ("header.topbar nav a", "main h1"):
        for text in page.locator(where).all_inner_texts():
            assert not text.strip() or CJK.search(text), f"{page.url}: {where} is not in Chinese: {text!r}"


def looks_right(page, problems: list[str], screen: str, *chinese_where: str) -> None:
    """Layout, glyph and language checks; problems are collected so every screen still gets its shot."""
    for check in (no_horizontal_overflow, no_missing_glyphs, lambda p: assert_chinese_page(p, *chinese_where)):
        try:
            check(page)
        except AssertionError as e:
            problems.append(f"{screen}: {str(e).splitlines()[0]}")


def test_every_role_home_queue_has_demo_work_is_chinese_and_fits_1366(page, demo):
    release_db()
    problems: list[str] = []
    for role in ROLE_KEYS:  # one test, so the demo data is built once; every role is still checked
        login(page, role, DEMO_PASSWORD)
        screenshot(page, f"{role}-home")
        looks_right(page, problems, f"{role}-home")
        has_work = page.locator(".queue-summary .qcount.has").count()
        if role == "admin":
            if page.locator(".queue-summary .qcount").count():
                problems.append("admin: has a work queue, but no queue is defined for admins")
        elif not has_work:
            problems.append(f"{role}: the home queue is empty on demo data")
    assert not problems, "\n".join(problems)


def test_ticket_page_intake_form_and_list_are_chinese_and_fit_1366(page, demo):
    untold = _ticket_number("assigned", deadline_notified_at=None)
    _attach_screenshot_image(untold)
    urgent = _ticket_number("registered", urgent=True)
    release_db()
    problems: list[str] = []

    login(page, "cs", DEMO_PASSWORD)
    page.goto(f"/tickets/{untold}")
    expect(page.locator("#ticket .gallery img")).to_have_count(1)
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    screenshot(page, "ticket-page-cs")
    # (its h1 is the ticket's own title, so the Chinese check looks at the section headings)
    looks_right(page, problems, "ticket-page-cs", "header.topbar nav a", "#ticket h2")

    page.goto("/tickets/new")
    page.locator("#customer_q").press_sequentially("市", delay=10)
    expect(page.locator("#unit-options label.opt").first).to_be_visible()
    screenshot(page, "intake-form")
    looks_right(page, problems, "intake-form", "header.topbar nav a", "main h1", "main form label")

    page.goto("/tickets")
    screenshot(page, "tickets-list")
    looks_right(page, problems, "tickets-list", "header.topbar nav a", "main h1", "table.tickets th")

    login(page, "dev_manager", DEMO_PASSWORD)
    page.goto(f"/tickets/{urgent}")
    assign = page.locator("#ticket details.action:has(form[hx-post$='/actions/assign'])")
    assign.locator("summary").click()  # show an inline action form, as the manager sees it when assigning
    expect(assign.locator("select[name='assign-assignee_id']")).to_be_visible()
    screenshot(page, "ticket-page-dev_manager")
    looks_right(page, problems, "ticket-page-dev_manager", "header.topbar nav a", "#ticket h2",
                "#ticket details.action summary", "#ticket form label")
    assert not problems, "\n".join(problems)
