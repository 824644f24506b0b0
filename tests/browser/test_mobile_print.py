"""Phone and print (issue 14, item 7): every staff page is usable at 390 px, and a printed ticket is the ticket.

At 390×844 (mobile emulation) each role visits every page of its own menu — the list is read from the rendered
navigation, so a new menu entry is covered without touching this file — plus a ticket page (with every action
form opened), the intake form and a customer page, and then, once per kind of page, where the buttons, sub-menus
and listed records of those pages lead; none may scroll sideways (document scrollWidth ≤ window width ≤ 390).
The menu folds behind a real button at that width, works from the keyboard and is simply shown without
JavaScript; at 1366×768 the navigation is shown as before.
The print preview (media=print) of a ticket shows its title, customer, description and history and no
navigation, forms or buttons. Screenshots and a printed PDF page go to test-artifacts/mobile/ — look at them.
"""
from __future__ import annotations

import re
import subprocess
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.demo import DEMO_PASSWORD, USERS, load_demo_data
from tests.browser.conftest import TIMEOUT_MS, ConsoleWatch
from tests.browser.ui import ARTIFACTS, CJK, VIEWPORT, login, no_missing_glyphs, release_db

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SHOTS = ARTIFACTS / "mobile"
DEMO_ROLES = [username for username, *_ in USERS]  # one demo user per role (and a second engineer)
TICKET_LINK = "main a[href^='/tickets/SH-']"


@pytest.fixture
def demo():
    from portal.extensions import db

    load_demo_data()
    db.session.commit()


def _richest_ticket_and_unit() -> tuple[str, int]:
    """The demo ticket with the longest history, and its customer."""
    from portal.extensions import db
    from portal.tickets.models import Event, Ticket

    row = db.session.execute(
        select(Ticket.number, Ticket.customer_id).join(Event, Event.ticket_id == Ticket.id)
        .group_by(Ticket.id, Ticket.number, Ticket.customer_id).order_by(func.count().desc(), Ticket.id).limit(1)
    ).one()
    return row.number, row.customer_id


def _phone_page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    return page, ConsoleWatch(page)


def _overflow(page) -> str | None:
    """Why the page scrolls sideways at 390 px, or None: the document must be no wider than the window."""
    scroll, inner, client = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth, document.documentElement.clientWidth]")
    if scroll <= inner and inner <= PHONE["width"] and client <= PHONE["width"]:
        return None
    # The outermost elements sticking out past the window that no scrolling box of their own contains.
    culprits = page.evaluate("""w => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > w + 0.5)
        .filter(e => getComputedStyle(e).position !== 'static' || e.parentElement.getBoundingClientRect().right <= w + 0.5)
        .filter(e => { if (getComputedStyle(e).position !== 'static') return true;
                       for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
                         if (/auto|scroll|hidden/.test(getComputedStyle(a).overflowX)) return false;
                       return true; })
        .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                              (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +
                              ' (' + Math.round(e.getBoundingClientRect().right) + ')')""", PHONE["width"])
    return f"scrollWidth {scroll} > innerWidth {inner} (client {client}); widest: {', '.join(culprits)}"


def _visit(page, path: str) -> int:
    response = page.goto(path)
    # Parts a page loads with htmx right after it opens (hx-trigger="load") are measured too: wait until htmx
    # has no request in flight (it marks the element of each one with .htmx-request).
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    return response.status if response else 0


def _open_every_action(page) -> None:
    # The inline action forms are part of the page at 390 px too: open them all before measuring.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")


def _links(page, selector: str) -> list[str]:
    """The same-site page links (path and query) under `selector`, in page order."""
    hrefs = page.locator(selector).evaluate_all("as => as.map(a => a.getAttribute('href'))")
    return [h for h in hrefs if h and h.startswith("/") and not h.startswith("//")]


def _shape(href: str) -> str:
    """A page's kind: its path with numbers and ticket numbers as placeholders (/customers/3/edit → /customers/N/edit)."""
    return re.sub(r"/(SH-\d{4}-\d{6}|\d+)(?=/|$)", "/N", urlsplit(href).path)


def _is_page(href: str) -> bool:
    # Exports and file downloads are not pages (Playwright cannot "open" a download either).
    path = urlsplit(href).path
    return "." not in path.rsplit("/", 1)[-1] and "/export" not in path and "/attachments/" not in path


def test_every_menu_page_ticket_intake_and_customer_page_fits_390_without_sideways_scroll(browser, live_server, demo):
    """Per role: every page of its menu, the first ticket of its queue (every action form opened), the intake
    form and a customer page where its menu leads there; and, once for all roles, the account pages and each
    page a button on those pages leads to (new record, edit, import forms)."""
    rich_ticket, unit_id = _richest_ticket_and_unit()
    release_db()
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    checked: list[str] = []
    shot: set[str] = set()
    followed: set[str] = set()  # kinds of page reached by a link and checked, for whichever role saw them first
    for role in DEMO_ROLES:
        page, watch = _phone_page(browser, live_server)
        try:
            login(page, role, DEMO_PASSWORD)
            menu = _links(page, "header.topbar nav a")
            assert menu, f"{role}: the navigation has no links"
            # the account and notification pages are the same for every role: checked once, like button targets
            account = [h for h in _links(page, "header.topbar .me a") if _is_page(h) and _shape(h) not in followed]
            followed.update(map(_shape, account))
            first_ticket = _links(page, TICKET_LINK)[:1]
            ticket = urlsplit(first_ticket[0]).path if first_ticket else f"/tickets/{rich_ticket}"
            extra = [ticket]
            extra += ["/tickets/new"] if "/tickets/new" in menu else []
            extra += [f"/customers/{unit_id}"] if "/customers" in menu else []
            todo = list(dict.fromkeys(menu + account + extra))  # in order, once each
            seen = {_shape(h) for h in todo}
            while todo:
                href = todo.pop(0)
                path = urlsplit(href).path
                status = _visit(page, href)
                assert status == 200, f"{role}: {href} answered {status}"
                if path == ticket:
                    _open_every_action(page)
                if path == "/tickets/new":
                    lefts = page.locator("form.intake .field").evaluate_all(
                        "fs => fs.map(f => Math.round(f.getBoundingClientRect().left))")
                    if len(set(lefts)) != 1:
                        problems.append(f"{role} {href}: the intake form is not one column (field left edges {lefts})")
                checked.append(f"{role} {href}")
                why = _overflow(page)
                if why:
                    problems.append(f"{role} {href}: {why}")
                # One level further, once per kind of page for all roles: buttons (new, edit, import), sub-menus
                # and the records listed in tables (a complaint, a hotline record, a handover, a document).
                for target in _links(page, "main a.button, main .subnav a, main table a"):
                    kind = _shape(target)
                    if _is_page(target) and kind not in followed and kind not in seen:
                        followed.add(kind)
                        todo.append(target)
                # Pictures to look at, of the 390×844 screen: each role's home, list, ticket and intake form, and
                # every other page once. Whole pages only for the first home, list, ticket and intake form seen:
                # screenshots of long pages at 2× are the slowest step here.
                name = {"/": "home", "/tickets": "tickets", "/tickets/new": "intake", ticket: "ticket"}.get(href)
                if name or path not in shot:
                    shot.add(path)
                    whole = bool(name) and name not in shot
                    shot.add(name)
                    name = f"{role}-{name}" if name else "page" + path.replace("/", "-").rstrip("-")
                    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=whole)
                    try:
                        no_missing_glyphs(page)
                    except AssertionError as e:
                        problems.append(f"{role} {href}: {e}")
        finally:
            page.context.close()
        if watch.problems:
            problems.append(f"{role}: the browser reported errors: " + "; ".join(watch.problems))
    assert len(checked) >= len(DEMO_ROLES) * 3
    (SHOTS / "checked-pages.txt").write_text("\n".join(checked) + "\n", encoding="utf-8")
    assert not problems, f"{len(problems)} of {len(checked)} pages do not fit 390 px:\n" + "\n".join(problems)


def test_menu_button_folds_the_navigation_at_390_works_by_keyboard_is_open_without_js_and_is_absent_at_1366(
        browser, live_server, page, users):
    release_db()
    phone, watch = _phone_page(browser, live_server)
    try:
        login(phone, "cs")
        button = phone.locator("header.topbar button.nav-toggle")
        nav = phone.locator("header.topbar nav")
        expect(button).to_be_visible()
        expect(button).to_have_attribute("aria-expanded", "false")
        assert CJK.search(button.inner_text()), "the menu button is not labelled in Chinese"
        menu_id = button.get_attribute("aria-controls")
        assert menu_id and phone.locator(f"#{menu_id} nav").count() == 1, "aria-controls does not name the menu"
        expect(nav).to_be_hidden()
        header_height = phone.locator("header.topbar").bounding_box()["height"]
        assert header_height <= 64, f"the folded header is {header_height}px tall at 390px"

        # Keyboard: Tab from the skip link and the brand to the button, Enter opens, Tab walks into the menu.
        phone.locator("header.topbar .brand").focus()
        phone.keyboard.press("Tab")
        expect(button).to_be_focused()
        phone.keyboard.press("Enter")
        expect(button).to_have_attribute("aria-expanded", "true")
        expect(nav).to_be_visible()
        expect(phone.locator(f"#{menu_id} .me")).to_be_visible()  # account and sign-out are in the menu too
        phone.keyboard.press("Tab")
        expect(nav.locator("a").first).to_be_focused()
        phone.screenshot(path=str(SHOTS / "cs-menu-open.png"))
        assert not _overflow(phone), _overflow(phone)
        # Escape closes it and puts the focus back on the button; Space (a real <button>) opens it again.
        phone.keyboard.press("Escape")
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(nav).to_be_hidden()
        expect(button).to_be_focused()
        phone.keyboard.press("Space")
        expect(nav).to_be_visible()
        # A tap on a menu entry navigates.
        with phone.expect_navigation():
            nav.locator("a[href='/tickets']").tap()
        expect(phone.locator("main h1")).to_be_visible()
        expect(nav).to_be_hidden()  # a new page starts with the menu folded
        # The list's table is its own scrolling box at this width (display: block): Chromium's accessibility
        # tree must still present it as a table with column headers, as at 1366 px.
        tree = phone.context.new_cdp_session(phone).send("Accessibility.getFullAXTree")["nodes"]
        ax_roles = [n.get("role", {}).get("value") for n in tree if not n.get("ignored")]
        assert ax_roles.count("table") == phone.locator("main table").count() >= 1, ax_roles
        assert ax_roles.count("columnheader") == phone.locator("main table th").count() >= 1
    finally:
        phone.context.close()
    assert not watch.problems, watch.problems

    # Without JavaScript the button could not work: the menu is simply shown, and the sign-in page fits too.
    plain = browser.new_context(base_url=live_server, viewport=PHONE, is_mobile=True, java_script_enabled=False,
                                locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        bare = plain.new_page()
        bare.goto("/login")
        assert not _overflow(bare), _overflow(bare)
        login(bare, "cs")
        expect(bare.locator("header.topbar button.nav-toggle")).to_be_hidden()
        expect(bare.locator("header.topbar nav a").first).to_be_visible()
        assert not _overflow(bare), _overflow(bare)
    finally:
        plain.close()

    # 1366×768: the navigation is in the top bar as before, the button is not shown.
    assert page.viewport_size == VIEWPORT
    login(page, "cs")
    expect(page.locator("header.topbar button.nav-toggle")).to_be_hidden()
    links = page.locator("header.topbar nav a")
    assert links.count() >= 5
    for i in range(links.count()):
        expect(links.nth(i)).to_be_visible()
    expect(page.locator("header.topbar .me button[type=submit]")).to_be_visible()
    assert page.locator("header.topbar").bounding_box()["height"] <= 50, "the desktop top bar is no longer one line"


def _printable_ticket() -> dict:
    """The demo ticket with the longest history: what its printout must show."""
    from portal.extensions import db
    from portal.tickets.models import Event, Ticket

    number, _ = _richest_ticket_and_unit()
    ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
    events = db.session.scalar(select(func.count()).select_from(Event).where(Event.ticket_id == ticket.id))
    return {"number": number, "title": ticket.title, "customer": ticket.customer.name,
            "description": ticket.description, "events": events}


def test_print_preview_of_a_ticket_shows_title_customer_description_history_and_no_navigation_or_forms(page, demo):
    t = _printable_ticket()
    release_db()
    login(page, "cs", DEMO_PASSWORD)
    page.goto(f"/tickets/{t['number']}")
    assert page.locator("#ticket form").count(), "the ticket page offers cs no form: nothing to hide in print"
    page.emulate_media(media="print")

    for hidden in ("header.topbar", "header.topbar nav", ".nav-toggle", ".skip"):
        expect(page.locator(hidden)).to_be_hidden()
    for what in ("form", "button", "details.action", "input", "select", "textarea"):
        items = page.locator(what)
        for i in range(items.count()):
            expect(items.nth(i)).to_be_hidden()
    expect(page.locator("#ticket h1")).to_be_visible()
    expect(page.locator("#ticket h1")).to_contain_text(t["title"])
    expect(page.locator("#ticket .ticket-side a", has_text=t["customer"])).to_be_visible()
    expect(page.get_by_text(t["description"])).to_be_visible()
    entries = page.locator("#ticket ol.timeline > li")
    expect(entries).to_have_count(t["events"])
    for i in range(t["events"]):
        expect(entries.nth(i)).to_be_visible()
    assert entries.first.evaluate("li => getComputedStyle(li).breakInside") == "avoid"

    # The printout itself: a PDF from Chromium's print path, its first page as PNG to look at.
    SHOTS.mkdir(parents=True, exist_ok=True)
    pdf = SHOTS / "ticket-print.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    squashed = "".join(text.split())
    for shown in (t["number"], t["title"], t["customer"], "处理记录"):
        assert "".join(shown.split()) in squashed, f"the printout lacks {shown!r}"
    for absent in ("售后服务门户", "可执行操作", "退出登录"):
        assert absent not in squashed, f"the printout shows {absent!r} (navigation or forms)"
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(SHOTS / "ticket-print")], check=True)
    assert (SHOTS / "ticket-print.png").stat().st_size > 10_000
