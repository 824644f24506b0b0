"""In a real browser: 市场部 asks for the 维护到期通知函 from the unit page; the status component
polls by itself and shows the download link once a worker has made the file; the archive and
the handover page are in Chinese. Screenshots go to test-artifacts/documents/."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import _csrf_on, live_server, module_browser, page, pytest_runtest_makereport  # noqa: F401
from tests.browser.ui import CJK, login, release_db
from tests.documents.helpers import all_documents, run_burst_worker
from tests.documents.test_artefacts import ARTEFACTS

browser = module_browser  # one Chromium per module (see tests/browser/conftest.py)


def shot(pg, name: str) -> None:
    """caret="initial": Playwright's caret-hiding style would be refused by the portal's CSP (a
    console error) when the page is being swapped by htmx at that moment."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTEFACTS / f"screen-{name}.png"), full_page=True, caret="initial")


def test_expiry_notice_from_the_unit_page_polls_until_ready(page, users, letterhead, vip_unit):  # noqa: F811
    unit_id, contract_id = vip_unit.id, vip_unit.contracts[0].id
    release_db()
    login(page, "market")
    page.goto(f"/customers/{unit_id}")
    expect(page.locator("#documents h2")).to_have_text("文件与归档")
    page.click(f"a[href='/documents/contracts/{contract_id}/expiry-notice']")
    page.fill("input[name=fax]", "0571-87654321")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    status = page.locator(".doc-status")
    expect(status).to_have_class(re.compile(r"s-pending"))
    expect(status).to_contain_text("正在生成")
    shot(page, "document-pending")

    run_burst_worker()  # a worker makes the file; the page finds out by itself
    expect(page.locator(".doc-status")).to_have_class(re.compile(r"s-ready"), timeout=8000)
    link = page.locator(".doc-status a", has_text="下载")
    expect(link).to_have_attribute("href", f"/documents/{all_documents()[0].public_id}/download")
    expect(page.locator("#revisions a", has_text="下载")).to_have_count(1)  # the list refreshed itself
    release_db()
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith("维护到期通知函-第1版.pdf")
    shot(page, "document-ready")

    page.goto("/documents")
    expect(page.locator("table.documents tbody tr")).to_have_count(1)
    assert CJK.search(page.locator("h1").inner_text())
    shot(page, "archive")


def test_handover_page_in_chinese(page, users, letterhead, vip_unit):  # noqa: F811
    from portal.extensions import db

    vip_unit.is_project = True
    db.session.commit()
    unit_id = vip_unit.id
    release_db()
    login(page, "cs")
    page.goto("/handover")
    expect(page.locator("h1")).to_have_text("售后移交")
    page.goto(f"/handover/units/{unit_id}")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page.locator("#contacts tbody tr")).to_have_count(2)
    run_burst_worker()
    expect(page.locator("#contacts .doc-status.s-ready")).to_have_count(2, timeout=8000)
    page.goto(f"/customers/{unit_id}")
    expect(page.locator("#handover")).to_contain_text("移交进行中")
    shot(page, "unit-page")
    page.goto(f"/handover/units/{unit_id}")
    expect(page.locator("#progress")).to_contain_text("通知函已归档：2 / 2")
    shot(page, "handover")
