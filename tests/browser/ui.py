"""What a user does in the portal, as Playwright steps the browser tests share.

Elements are found by form field names, form targets and state classes (s-<state key>), not by
their Chinese labels, so a reworded translation does not break a test; the tests check the
Chinese wording separately where the spec fixes it.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.conftest import PASSWORD, ROOT

VIEWPORT = {"width": 1366, "height": 768}
ARTIFACTS = ROOT / "test-artifacts"
SCREENS = ARTIFACTS / "screens"
NUMBER = re.compile(r"SH-\d{4}-\d{6}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def release_db() -> None:
    """End the test's own transaction before the browser writes.

    On SQLite every transaction outside a GET request starts with BEGIN IMMEDIATE (see
    portal/core/database.py), so a test that merely read a row after a commit would hold the
    write lock and the live server's POST would wait for it. Read the ids you need first; after
    this the test's objects are detached, so touching them again fails loudly instead of locking.
    """
    from portal.extensions import db

    db.session.commit()
    db.session.close()


def login(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through /login as `username`, as if at another desk: the previous user's cookies are dropped.

    A page may still be loading a fragment (相关知识 loads after the ticket page); its answer would be a
    401 once the cookies are gone, so the previous user's page is left first, when htmx has nothing in flight.
    """
    if page.url.startswith("http"):
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        page.goto("about:blank")
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert urlsplit(page.url).path == "/", f"signing in as {username} did not reach the home page: {page.url}"


def local_input(days: int) -> str:
    """A value for <input type=datetime-local>, `days` from now in Shanghai time."""
    return (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def open_from_queue(page, queue_key: str, number: str) -> None:
    """From the home page (待办), open the ticket listed in one queue."""
    if urlsplit(page.url).path != "/":
        page.goto("/")
    link = page.locator(f"#q-{queue_key} a", has_text=number)
    expect(link).to_be_visible()
    with page.expect_navigation():
        link.click()
    assert urlsplit(page.url).path == f"/tickets/{number}"


def state_chip(page):
    return page.locator("#ticket .chips .state")


def offered(page, action: str):
    """The <details> section of one action on the ticket page (absent if the user may not take it)."""
    return page.locator(f"#ticket details.action:has(form[hx-post$='/actions/{action}'])")


def act(page, action: str, values: dict, *, to_state: str) -> None:
    """Expand an action, fill its form, submit it (htmx swaps #ticket) and wait for the new state."""
    box = offered(page, action)
    expect(box).to_have_count(1)
    if not box.evaluate("d => d.open"):
        box.locator("summary").click()
    form = box.locator("form")
    for name, value in values.items():
        _fill(form, f"{action}-{name}", value)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/actions/{action}")) as info:
        form.locator("button[type=submit]").click()
    response = info.value
    assert response.request.resource_type in ("xhr", "fetch"), "the action form was not sent by htmx"
    assert response.request.header_value("x-csrftoken"), "htmx did not send the CSRF token header"
    assert response.status == 200, f"{action} answered {response.status}: {response.text()[:500]}"
    expect(state_chip(page)).to_have_class(re.compile(rf"\bs-{to_state}\b"))


def _fill(form, name: str, value) -> None:
    field = form.locator(f"[name='{name}']")
    kind = field.first.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
    if kind.startswith("select"):
        field.select_option(str(value))
    elif kind == "input:radio":
        form.locator(f"[name='{name}'][value='{value}']").check()
    elif kind == "input:checkbox":
        field.set_checked(bool(value))
    else:
        field.fill(str(value))


def register_problem(page, *, unit_query: str, unit_id: int, type: str, summary: str, channel: str = "hotline",
                     image: Path | None = None) -> str:
    """客服 fills in /tickets/new and submits; returns the new ticket's number (the page it lands on)."""
    page.goto("/tickets/new")
    page.select_option("select[name=channel]", channel)
    page.select_option("select[name=type]", type)
    # The htmx lookup offers the matching units as radio buttons; choose one with the keyboard:
    # Tab from the search box into the group, Space to choose, arrow keys to move to the unit.
    search = page.locator("#customer_q")
    search.press_sequentially(unit_query, delay=20)
    option = page.locator(f"#unit-options input[name=customer_id][value='{unit_id}']")
    expect(option).to_be_visible()
    search.press("Tab")
    page.keyboard.press("Space")
    for _ in range(page.locator("#unit-options input[name=customer_id]").count()):
        if option.is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(option).to_be_checked()
    page.fill("input[name=reporter_name]", "刘建国")
    page.fill("input[name=reporter_dept]", "信息科")
    page.fill("input[name=reporter_phone]", "010-65123456-8001")
    page.fill("input[name=summary]", summary)
    page.fill("textarea[name=description]", f"{summary}。每次操作都会出现，已重启电脑仍然如此。")
    if image is not None:
        page.set_input_files("input[name=attachments]", str(image))
    with page.expect_navigation():
        page.click("form.intake button[type=submit]")
    path = urlsplit(page.url).path
    assert re.fullmatch(r"/tickets/SH-\d{4}-\d{6}", path), f"registering did not open the new ticket: {page.url}"
    number = path.rsplit("/", 1)[1]
    expect(page.locator("#ticket h1 .number")).to_have_text(number)
    return number


def no_horizontal_overflow(page) -> None:
    scroll, client = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client <= VIEWPORT["width"], (
        f"{page.url} overflows horizontally at {VIEWPORT['width']}px: scrollWidth {scroll} > clientWidth {client}")


# Draws each distinct non-ASCII character of the page in the page's font on a canvas and compares it
# with a code point no font has (U+10FFFD): identical pixels mean the browser drew the "missing glyph"
# box (tofu) for that character.
_MISSING_GLYPHS_JS = r"""
() => {
  const chars = [...new Set(document.body.innerText)].filter(ch => ch.codePointAt(0) > 0x7f && ch.trim());
  const font = getComputedStyle(document.body).font;
  const canvas = document.createElement("canvas"); canvas.width = 48; canvas.height = 48;
  const g = canvas.getContext("2d", {willReadFrequently: true});
  const draw = ch => { g.clearRect(0, 0, 48, 48); g.font = font; g.fillText(ch, 4, 32);
                       return g.getImageData(0, 0, 48, 48).data.join(","); };
  const missing = draw("\u{10FFFD}");
  return chars.filter(ch => draw(ch) === missing);
}
"""


def no_missing_glyphs(page) -> None:
    """Every character on the page has a glyph in the installed fonts: no tofu boxes."""
    tofu = page.evaluate(_MISSING_GLYPHS_JS)
    assert not tofu, f"{page.url} shows characters the fonts cannot draw (tofu): {tofu!r}"


def screenshot(page, name: str) -> list[Path]:
    """<name>.png (the 1366×768 viewport) and <name>-full.png (the whole page)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    shot, full = SCREENS / f"{name}.png", SCREENS / f"{name}-full.png"
    page.screenshot(path=str(shot))
    page.screenshot(path=str(full), full_page=True)
    # Playwright's screenshot leaves an empty style="" on every input (it hides the caret and restores it); a
    # later htmx swap copies `style` onto the new elements, which the CSP (style-src 'self') refuses loudly.
    page.evaluate("() => document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))")
    return [shot, full]
