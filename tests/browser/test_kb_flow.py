"""Issue 16 in the browser: a solved problem becomes an article that the next person with the same problem is
offered — the engineer resolves a ticket and writes an article from it, the development manager publishes
it, 客服 typing a similar summary at intake sees it suggested (and reaches it with the keyboard), and the
implementation engineer answers a consultation with it (the history names the article)."""
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.ui import act, login, register_problem, release_db, screenshot

pytestmark = pytest.mark.browser

SUMMARY = "打印报表时提示打印机脱机"
SIMILAR = "打印机脱机无法打印报表"
SOLUTION_START = "在打印设置中取消“脱机使用打印机”"


def test_a_solved_ticket_becomes_an_article_suggested_at_intake_and_sent_as_an_answer(page, users, unit_factory,
                                                                                     ticket_factory):
    from portal.core.timeutil import utcnow
    from portal.extensions import db
    from portal.tickets import operations as ops

    unit = unit_factory(name="杭州市西湖区人民医院")
    unit_id = unit.id
    t = ticket_factory(unit=unit, summary=SUMMARY, description="每次打印报表都提示打印机脱机，重启电脑无效")
    ops.take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                        "deadline": utcnow() + timedelta(days=2)})
    db.session.commit()
    number = t.number
    release_db()

    # 1. the engineer resolves the ticket and writes an article from it (/kb/new?from=<number>)
    login(page, "engineer")
    page.goto(f"/tickets/{number}")
    act(page, "resolve", {"process_text": "检查打印队列，发现打印机被设为脱机使用",
                          "result": SOLUTION_START + "，重新打印成功", "hours_spent": "1"}, to_state="resolved")
    page.goto(f"/kb/new?from={number}")
    page.fill("input[name=title]", "打印报表时提示打印机脱机")
    page.fill("textarea[name=solution]", SOLUTION_START + "，然后重新打印。")
    page.fill("input[name=module]", "打印")
    with page.expect_navigation():
        page.click("form.kb-form button[type=submit]")
    article = urlsplit(page.url).path.rsplit("/", 1)[1]
    assert re.fullmatch(r"KB-\d{5}", article), page.url

    # 2. the development manager publishes it
    login(page, "dev_manager")
    page.goto(f"/kb/{article}")
    with page.expect_navigation():
        page.click(f"form button[formaction='/kb/{article}/publish']")
    expect(page.locator(".page-head .state")).to_have_class(re.compile(r"\bkb-published\b"))

    # 3. 客服 types a similar summary at intake: the article is suggested below the field, Tab reaches it
    login(page, "cs")
    page.goto("/tickets/new")
    summary = page.locator("input[name=summary]")
    summary.press_sequentially(SIMILAR, delay=15)
    link = page.locator(f"#kb-suggestions a[href='/kb/{article}']")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("target", "_blank")
    expect(page.locator("#kb-suggestions")).to_have_attribute("aria-live", "polite")
    summary.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == f"/kb/{article}"
    screenshot(page, "kb-intake-suggestions")

    # …and registers the caller's question as a consultation
    consultation = register_problem(page, unit_query="西湖", unit_id=unit_id, type="consultation", summary=SIMILAR)

    # 4. the engineer sees the article in the ticket's 相关知识 panel
    login(page, "engineer")
    page.goto(f"/tickets/{number}")
    panel = page.locator("#kb-related")
    expect(panel.locator(f"a[href='/kb/{article}']")).to_be_visible()
    expect(panel.locator("h2")).to_have_text("相关知识")
    panel.scroll_into_view_if_needed()
    screenshot(page, "kb-ticket-related")

    # 5. the implementation engineer answers the consultation with the article, by keyboard
    login(page, "impl_engineer")
    page.goto(f"/tickets/{consultation}")
    box = page.locator("#ticket details.action:has(form[hx-post$='/actions/answer'])")
    if not box.evaluate("d => d.open"):
        box.locator("summary").click()
    use = box.locator(f"button[data-kb-number='{article}']")
    expect(use).to_be_visible()
    use.focus()
    page.keyboard.press("Enter")
    expect(box.locator("input[name='answer-article']")).to_have_value(article)
    expect(box.locator("textarea[name='answer-answer']")).to_have_value(re.compile("^" + SOLUTION_START))
    expect(box.locator("#kb-answer-article")).to_contain_text(article)
    act(page, "answer", {}, to_state="closed")
    entry = page.locator("#ticket ol.timeline > li", has_text="以知识解答")
    expect(entry.locator(f"a[href='/kb/{article}']")).to_have_text(article)

    # the article counts the consultation it answered
    page.goto(f"/kb/{article}")
    expect(page.locator("#kb-measures")).to_contain_text("以本文解答的咨询")
    assert page.locator("#kb-measures dt:has-text('以本文解答的咨询') + dd").inner_text().strip() == "1"
