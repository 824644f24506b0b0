"""Browser tests: the real portal served from a thread, driven by Debian's Chromium through Playwright.

The live server serves the session `app` from tests/conftest.py, so the browser and the test share
one database (wiped before each test by the autouse `_clean` fixture). CSRF is switched ON while a
browser test runs, so every form and every htmx request really carries its token.

One browser for the whole package, one fresh context (cookies, storage) per test: fast and isolated.
Any console error or uncaught page error fails the test.
"""
from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.browser.ui import ARTIFACTS, VIEWPORT
from tests.conftest import require_or_skip

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item, so `page` can screenshot a failed test.
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


@pytest.fixture(scope="package")
def live_server(app):
    """The test app on 127.0.0.1:<free port>, in a background thread while the browser tests run."""
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)  # no line per request in the test output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    access_log.setLevel(level)


@pytest.fixture(autouse=True)
def _csrf_on(app):
    """The test app disables CSRF; the browser tests put it back, as in production."""
    before = app.config.get("WTF_CSRF_ENABLED")
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = before


def chromium():
    """Playwright's Chromium for as long as the generator runs. Only one Playwright may run in a thread at a
    time, so a browser fixture must end before the next one starts: package scope here, module scope for the
    browser tests of other folders (which define `browser = module_browser`)."""
    require_or_skip(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="package")
def browser():
    # Package scope: one Chromium for all browser tests, gone (with Playwright's event loop) before other tests run.
    yield from chromium()


@pytest.fixture(scope="module")
def module_browser():
    """For browser tests outside tests/browser: a package-scoped fixture imported into a module of another
    folder is not reliably torn down when that folder ends, and a second Playwright would then refuse to start."""
    yield from chromium()


_FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


class ConsoleWatch:
    """Console errors and uncaught exceptions of one page; any of them fails the test, except Chromium's
    "Failed to load resource" line for an error status the test provokes on purpose (`http_errors_expected`)."""

    def __init__(self, page, expected_statuses: set[int] = frozenset()):
        self.problems: list[str] = []
        self.expected_statuses = expected_statuses
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _console(self, msg):
        failed = _FAILED_LOAD.match(msg.text or "")
        if failed and int(failed.group(1)) in self.expected_statuses:
            return
        if msg.type == "error":
            where = msg.location.get("url", "") if msg.location else ""
            self.problems.append(f"console error: {msg.text} ({where})")


def _expected_statuses(node) -> set[int]:
    # Kept on the test item, so `page` needs no extra fixture (other folders import `page` by name).
    return node.__dict__.setdefault("_http_errors_expected", set())


@pytest.fixture
def http_errors_expected(request) -> set[int]:
    """HTTP statuses a test provokes on purpose (add to the set): Chromium logs every error answer as a
    console error, which would otherwise fail the test."""
    return _expected_statuses(request.node)


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server, viewport=VIEWPORT, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    watch = ConsoleWatch(pg, _expected_statuses(request.node))
    yield pg
    shot = ARTIFACTS / "failures" / f"{_safe(request.node.name)}.png"
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        shot.parent.mkdir(parents=True, exist_ok=True)
        try:
            pg.screenshot(path=str(shot), full_page=True)
        except Exception:  # the page may be gone; the test's own failure says what happened
            pass
    else:
        shot.unlink(missing_ok=True)  # no stale picture of an earlier failure
    context.close()
    if watch.problems:
        pytest.fail("the browser reported errors:\n" + "\n".join(watch.problems), pytrace=False)


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)
