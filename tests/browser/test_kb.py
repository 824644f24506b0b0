"""知识库 in the browser: an engineer writes an article from the ticket they solved (personal data removed),
the development manager publishes it, customer service finds it by typing in the search box (htmx, highlighted).
Screenshots of /kb and an article page at 1366×768."""
from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from portal.demo import DEMO_PASSWORD, load_demo_data
from portal.extensions import db
from portal.tickets.models import Ticket
from tests.browser.ui import login, release_db, screenshot


def test_write_from_a_solved_ticket_publish_and_find_it(page):
    assert load_demo_data() is True
    db.session.commit()
    number = db.session.scalar(select(Ticket.number).where(Ticket.summary == "数据备份任务失败",
                                                           Ticket.state == "resolved").limit(1))
    release_db()

    login(page, "engineer", DEMO_PASSWORD)
    page.goto(f"/tickets/{number}")
    with page.expect_navigation():
        page.locator(".kb-ticket-articles a.button").click()
    assert urlsplit(page.url).path == "/kb/new"
    expect(page.locator(".kb-removed")).to_be_visible()  # what was removed is listed
    assert "马超" not in page.locator("form.kb-form").inner_text()
    page.fill("input[name=title]", "备份磁盘空间不足导致夜间备份失败")
    page.fill("input[name=tags]", "备份, 磁盘空间")
    with page.expect_navigation():
        page.click("form.kb-form button[type=submit]")
    article = urlsplit(page.url).path
    expect(page.locator("h1 .state.kb-draft")).to_be_visible()
    expect(page.locator(".kb-tickets")).to_contain_text(number)

    login(page, "dev_manager", DEMO_PASSWORD)
    page.goto(article)
    page.fill("textarea[name=comment]", "内容准确，发布")
    with page.expect_navigation():
        page.click("button[formaction$='/publish']")
    expect(page.locator("h1 .state.kb-published")).to_be_visible()

    login(page, "cs", DEMO_PASSWORD)
    page.goto("/kb")
    page.fill("#kb-q", "备份失败")
    expect(page.locator("#results .kb-hit").first).to_contain_text("备份磁盘空间不足")
    expect(page.locator("#results mark").first).to_be_visible()
    screenshot(page, "kb-search")
    page.goto(article)
    expect(page.locator(".kb-article")).to_contain_text("清理空间")
    screenshot(page, "kb-article")


def test_kb_home_and_a_demo_article_for_the_engineer(page):
    assert load_demo_data() is True
    db.session.commit()
    release_db()
    login(page, "engineer", DEMO_PASSWORD)
    page.goto("/kb")
    expect(page.locator(".kb-stale-note")).to_be_visible()  # the stale demo article is the engineer's
    screenshot(page, "kb-home")
    with page.expect_navigation():
        page.locator(".kb-hit a.kb-title", has_text="打印月报").click()
    expect(page.locator(".kb-article")).to_contain_text("Print Spooler")
    screenshot(page, "kb-article-demo")
