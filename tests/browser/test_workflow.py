"""Issue 3: the workflow clicked through in the browser, each step by the role SPEC §3 names.

Every action is the inline form on the ticket page, posted by htmx (with its CSRF header) and
answered with the updated #ticket fragment; each role finds the ticket in its own home queue.
"""
import re

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect

from tests.browser.ui import act, local_input, login, offered, open_from_queue, register_problem, release_db, state_chip

pytestmark = pytest.mark.browser


def history(page):
    return page.locator("#ticket ol.timeline > li")


def action_titles(app, *keys: str) -> list[str]:
    """The Chinese titles the history shows for these actions (taken from the catalogue)."""
    with app.test_request_context(), force_locale("zh_CN"):
        title = app.jinja_env.globals["action_title"]
        return [title(k) for k in keys]


def test_maintenance_problem_goes_from_cs_to_dev_manager_engineer_cs_and_market_and_ends_closed(
        page, app, users, unit_factory):
    unit_id = unit_factory(name="广州市天河区教育局").id
    engineer_id = users["engineer"].id
    release_db()

    login(page, "cs")
    number = register_problem(page, unit_query="天河", unit_id=unit_id, type="maintenance",
                              summary="登录后首页加载很慢")
    expect(state_chip(page)).to_have_class("state s-registered")

    login(page, "dev_manager")
    open_from_queue(page, "dev_analyse", number)
    act(page, "assign", {"assignee_id": engineer_id, "deadline": local_input(3), "analysis": "首页统计查询缺少索引"},
        to_state="assigned")
    expect(page.locator("#ticket .ticket-side")).to_contain_text("engineer")

    login(page, "cs")
    open_from_queue(page, "cs_tell_deadline", number)
    untold = page.locator("#ticket .flash.warn")
    expect(untold).to_contain_text("客户尚未被告知解决时限")
    act(page, "notify_deadline", {"whom": "刘建国", "method": "phone", "text": "已电话告知三天内解决"},
        to_state="assigned")
    expect(untold).to_have_count(0)

    login(page, "engineer")
    open_from_queue(page, "mine", number)
    act(page, "resolve", {"process_text": "为统计查询加索引并加缓存", "result": "首页加载降到 2 秒", "hours_spent": "2.5"},
        to_state="resolved")

    login(page, "cs")
    open_from_queue(page, "cs_callback", number)
    act(page, "callback", {"solved": "yes", "satisfaction": "5", "method": "phone", "contact_person": "刘建国",
                           "text": "客户确认已解决，很满意"}, to_state="callback_done")

    login(page, "market")
    open_from_queue(page, "market_close", number)
    act(page, "close", {"note": "回访满意，关闭"}, to_state="closed")

    expect(state_chip(page)).to_contain_text("已关闭")
    expect(state_chip(page)).to_contain_text("已解决")
    steps = ["register", "assign", "notify_deadline", "resolve", "callback", "close"]
    actors = ["cs", "dev_manager", "cs", "engineer", "cs", "market"]
    expect(history(page)).to_have_count(len(steps))
    for i, (title, actor) in enumerate(zip(action_titles(app, *steps), actors)):
        expect(history(page).nth(i)).to_contain_text(title)
        expect(history(page).nth(i).locator("strong")).to_have_text(actor)
    expect(page.locator("#ticket .ticket-side")).to_contain_text("5/5")  # the callback's satisfaction
    expect(offered(page, "reopen")).to_have_count(1)  # 市场部 may still reopen it


def test_new_requirement_is_assigned_only_after_market_records_the_agreed_fee(page, app, users, ticket_factory):
    number = ticket_factory(type="requirement", summary="希望增加按科室导出 Excel 的功能").number
    engineer_id = users["engineer"].id
    release_db()

    login(page, "dev_manager")
    open_from_queue(page, "dev_analyse", number)
    expect(offered(page, "assign")).to_have_count(0)  # the fee gate: no assignment before the fee is agreed
    act(page, "suspend_for_fee", {"analysis": "属于新增需求，需与客户确定费用"}, to_state="pending_fee")
    expect(offered(page, "assign")).to_have_count(0)

    login(page, "market")
    open_from_queue(page, "market_fee", number)
    act(page, "record_fee", {"outcome": "agreed", "fee": "8000", "agreed_requirements": "按科室导出月度汇总 Excel",
                             "text": "客户同意报价 8000 元"}, to_state="ready_to_assign")
    expect(page.locator("#ticket dl.facts")).to_contain_text("¥8000.00")

    login(page, "dev_manager")
    open_from_queue(page, "dev_assign", number)
    act(page, "assign", {"assignee_id": engineer_id, "deadline": local_input(10)}, to_state="assigned")
    steps = ["register", "suspend_for_fee", "record_fee", "assign"]
    expect(history(page)).to_have_count(len(steps))
    for i, title in enumerate(action_titles(app, *steps)):
        expect(history(page).nth(i)).to_contain_text(title)
    expect(history(page).nth(2)).to_contain_text("¥8000")


def test_consultation_answered_by_impl_engineer_is_closed_as_answered_and_its_follow_up_goes_to_dev(
        page, app, users, ticket_factory):
    number = ticket_factory(type="consultation", summary="如何批量导入新员工信息").number
    release_db()

    login(page, "impl_engineer")
    open_from_queue(page, "impl_consult", number)
    act(page, "answer", {"answer": "在“人员管理 → 批量导入”下载模板，填好后上传即可。", "follow_up": True,
                         "follow_up_type": "maintenance", "follow_up_summary": "批量导入时身份证号校验报错"},
        to_state="closed")
    expect(state_chip(page)).to_contain_text("已关闭")
    expect(state_chip(page)).to_contain_text("已解答")
    expect(history(page).last).to_contain_text("批量导入”下载模板")
    # impl_engineer may not open the follow-up (it waits in 开发部's queue): its number is shown, not linked.
    follow_up = page.locator("#ticket .ticket-side ul.plain li", has_text="SH-")
    expect(follow_up).to_have_count(1)
    expect(follow_up.locator("a")).to_have_count(0)
    follow_up_number = re.search(r"SH-\d{4}-\d{6,}", follow_up.inner_text()).group(0)

    # The follow-up is a maintenance problem of its own: it waits for the dev manager's analysis.
    login(page, "dev_manager")
    open_from_queue(page, "dev_analyse", follow_up_number)
    expect(page.locator("#ticket h1")).to_contain_text("批量导入时身份证号校验报错")
    expect(page.locator("#ticket .ticket-side")).to_contain_text(number)  # linked back to the consultation


def test_htmx_action_passes_csrf_with_the_hx_headers_token_alone(page, ticket_factory):
    number = ticket_factory().number
    release_db()

    login(page, "cs")
    page.goto(f"/tickets/{number}")
    # Drop the form's own token field: only the X-CSRFToken header that htmx adds from <body hx-headers> is left.
    page.locator("form[hx-post$='/actions/comment'] input[name='comment-csrf_token']").evaluate("e => e.remove()")
    act(page, "comment", {"text": "客户来电补充：只在月底出现"}, to_state="registered")
    expect(history(page).last).to_contain_text("客户来电补充：只在月底出现")
