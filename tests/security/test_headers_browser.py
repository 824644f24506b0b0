"""htmx works under the portal's Content-Security-Policy, in a real browser (Debian's Chromium through
Playwright, as in tests/browser), and no page reports a CSP violation.

The browser fixtures (live server, Chromium, a page that fails the test on any console error — Chromium
logs every CSP refusal as one) are those of tests/browser/conftest.py. Each page also records the
`securitypolicyviolation` events it saw, which must be none.
"""
from __future__ import annotations

import pytest

from tests.browser.conftest import _csrf_on, live_server, module_browser, page, pytest_runtest_makereport  # noqa: F401
from tests.browser.ui import login, release_db

browser = module_browser  # one Chromium per module (see tests/browser/conftest.py)

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  e => window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile));
"""
PAGES = {
    "cs": ["/", "/tickets", "/tickets/{number}", "/tickets/new", "/customers", "/customers/{unit_id}", "/hotline",
           "/hotline/new", "/notifications", "/service-plan", "/documents", "/complaints", "/handover", "/account"],
    "dev_manager": ["/", "/tickets/{number}", "/metrics"],
    "admin": ["/admin/users", "/admin/jobs", "/admin/departments", "/metrics"],
}


@pytest.fixture
def world(users, ticket_factory, unit_factory):
    unit = unit_factory(name="北京协和医院")
    ticket = ticket_factory(unit=unit)
    out = {"number": ticket.number, "unit_id": unit.id}
    release_db()
    return out


def violations(pg) -> list[str]:
    return pg.evaluate("window.__cspViolations")


def open_and_wait_for_htmx(pg, url: str) -> None:
    """Open the page and wait for the request htmx makes on load (the notification bell): htmx ran."""
    with pg.expect_response(lambda r: "/notifications/bell" in r.url and r.request.headers.get("hx-request") == "true") as bell:
        resp = pg.goto(url)
    assert resp.status == 200, f"{url}: {resp.status}"
    assert bell.value.status == 200
    pg.wait_for_function("document.querySelector('#bell a.bell') !== null")  # swapped in by htmx
    assert pg.evaluate("typeof htmx === 'object' && htmx.config.allowEval === false "
                       "&& htmx.config.selfRequestsOnly === true && htmx.config.historyCacheSize === 0")


@pytest.mark.parametrize("role", sorted(PAGES))
def test_main_pages_run_htmx_under_the_csp_with_no_violation(page, world, role):
    page.context.add_init_script(RECORD_VIOLATIONS)
    login(page, role)
    for path in PAGES[role]:
        url = path.format(**world)
        open_and_wait_for_htmx(page, url)
        assert violations(page) == [], f"{role} {url}: {violations(page)}"


def test_htmx_search_swaps_results_under_the_csp(page, world):
    page.context.add_init_script(RECORD_VIOLATIONS)
    login(page, "cs")
    open_and_wait_for_htmx(page, "/customers")
    box = page.locator("input[name=q]").first
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/customers")
                              and r.request.headers.get("hx-request") == "true") as search:
        box.fill("协和")
    assert search.value.status == 200
    page.wait_for_function("document.body.innerText.includes('北京协和医院')")
    assert "q=" in page.url  # hx-push-url: history updated by htmx, not a full page load
    assert violations(page) == []
