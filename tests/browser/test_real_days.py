"""Issue 14 in the browser (1366×768): the development manager reassigns a ticket with a new deadline and
later moves the deadline again; each time the ticket comes back into 客服's queue of deadlines to tell,
with the new deadline on the page, and telling the customer takes it out again."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.ui import act, local_input, login, no_horizontal_overflow, offered, open_from_queue, release_db

pytestmark = pytest.mark.browser


def tell(page, number: str, note: str) -> None:
    login(page, "cs")
    open_from_queue(page, "cs_tell_deadline", number)
    expect(page.locator("#ticket .flash.warn")).to_contain_text("客户尚未被告知解决时限")
    act(page, "notify_deadline", {"whom": "刘建国", "method": "phone", "text": note}, to_state="assigned")
    expect(page.locator("#ticket .flash.warn")).to_have_count(0)
    page.goto("/")
    expect(page.locator("#q-cs_tell_deadline a", has_text=number)).to_have_count(0)


def test_reassigned_with_a_new_deadline_and_the_deadline_moved_again_the_customer_is_told_each_time(
        page, users, ticket_factory):
    number = ticket_factory(summary="挂号窗口打印机卡纸").number
    engineer_id, engineer2_id = users["engineer"].id, users["engineer2"].id
    release_db()

    login(page, "dev_manager")
    page.goto(f"/tickets/{number}")
    act(page, "assign", {"assignee_id": engineer_id, "deadline": local_input(2), "analysis": "驱动问题"},
        to_state="assigned")
    tell(page, number, "已告知两天内解决")

    login(page, "dev_manager")
    page.goto(f"/tickets/{number}")
    no_horizontal_overflow(page)
    new_deadline = local_input(5)
    act(page, "reassign", {"assignee_id": engineer2_id, "deadline": new_deadline, "reason": "原工程师病假"},
        to_state="assigned")
    side = page.locator("#ticket .ticket-side")
    expect(side).to_contain_text("engineer2")
    expect(side).to_contain_text(new_deadline.replace("T", " "))
    entry = page.locator("#ticket ol.timeline > li").last
    expect(entry).to_contain_text("改派")
    expect(entry).to_contain_text("engineer → ")
    no_horizontal_overflow(page)

    tell(page, number, "已告知新的处理人和期限")

    login(page, "dev_manager")
    page.goto(f"/tickets/{number}")
    later = local_input(7)
    act(page, "change_deadline", {"deadline": later, "reason": "等待硬件到货"}, to_state="assigned")
    expect(page.locator("#ticket .ticket-side")).to_contain_text(later.replace("T", " "))
    expect(page.locator("#ticket ol.timeline > li").last).to_contain_text("修改期限")

    login(page, "cs")
    open_from_queue(page, "cs_tell_deadline", number)
    expect(page.locator("#ticket .ticket-side")).to_contain_text(later.replace("T", " "))
    no_horizontal_overflow(page)
    tell(page, number, "已告知延期")

    login(page, "engineer2")
    open_from_queue(page, "mine", number)
    expect(offered(page, "resolve")).to_have_count(1)
    expect(offered(page, "hand_back")).to_have_count(1)
    expect(offered(page, "request_deadline_change")).to_have_count(1)
    expect(offered(page, "change_deadline")).to_have_count(0)  # the engineer asks; the manager decides
    assert re.search(r"改派", page.locator("#ticket ol.timeline").inner_text())


def test_customer_service_corrects_the_unit_and_phone_and_a_stopped_units_ticket_goes_to_market(
        page, ticket_factory, unit_factory):
    from portal.core.enums import MaintenanceStatus

    number = ticket_factory(summary="药房发药机报错").number
    stopped_id = unit_factory(name="温州市鹿城区停保医院", status=MaintenanceStatus.STOPPED).id
    release_db()

    login(page, "cs")
    page.goto(f"/tickets/{number}")
    box = offered(page, "edit")
    box.locator("summary").click()
    form = box.locator("form")
    expect(form.locator("[name='edit-reporter_phone']")).to_have_value("13800138000")  # the ticket as it is
    form.locator("#edit-customer_q").press_sequentially("鹿城", delay=20)
    option = form.locator(f"#edit-unit-options input[name='edit-customer_id'][value='{stopped_id}']")
    expect(option).to_be_visible()
    option.check()
    act(page, "edit", {"reporter_phone": "0577-88123456", "reason": "登记时选错单位"}, to_state="awaiting_market")
    entry = page.locator("#ticket ol.timeline > li").last
    expect(entry).to_contain_text("更正问题单")
    expect(entry).to_contain_text("温州市鹿城区停保医院")
    expect(entry.locator("del").first).to_be_visible()
    expect(page.locator("#ticket .ticket-side")).to_contain_text("温州市鹿城区停保医院")
    no_horizontal_overflow(page)
