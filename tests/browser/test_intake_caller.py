"""Issue 14: 客服 registers a call from a known caller at 1366×768 with the keyboard — the unit chosen, a saved
contact picked, the title filled, the unit's open ticket in the history panel — and the ticket page shows the
same panel. Screenshots: test-artifacts/screens/intake-caller*.png, ticket-history*.png."""
import pytest
from playwright.sync_api import expect

from tests.browser.ui import (NUMBER, act, login, no_horizontal_overflow, no_missing_glyphs, release_db,
                              screenshot)

pytestmark = pytest.mark.browser


def test_cs_picks_unit_and_contact_by_keyboard_sees_the_units_open_ticket_and_registers(page, users, unit_factory,
                                                                                       ticket_factory):
    from portal.customers.operations import add_contact
    from portal.extensions import db

    unit_factory(name="北京市第一人民医院")
    unit = unit_factory(name="北京市第二人民医院", phone="010-65123456")
    add_contact(unit, name="王芳", department="药剂科", phone="13911112222")
    add_contact(unit, name="赵敏", department="财务科", phone="13922223333")
    db.session.commit()
    earlier = ticket_factory(unit=unit, summary="报表导出为空白")
    unit_id, earlier_number = unit.id, earlier.number
    release_db()

    login(page, "cs")
    page.goto("/tickets/new")
    page.select_option("select[name=channel]", "hotline")
    page.select_option("select[name=type]", "maintenance")
    search = page.locator("#customer_q")
    search.press_sequentially("人民医院", delay=20)
    option = page.locator(f"#unit-options input[name=customer_id][value='{unit_id}']")
    expect(option).to_be_visible()
    # Keyboard: Tab into the unit radios, Space chooses the first, arrows move to ours.
    search.press("Tab")
    page.keyboard.press("Space")
    for _ in range(page.locator("#unit-options input[name=customer_id]").count()):
        if option.is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(option).to_be_checked()

    # The unit's history arrives beside the form, with its open ticket; its contacts arrive to pick from.
    history = page.locator("#customer-history")
    expect(history.locator(".history-open")).to_contain_text(earlier_number)
    expect(history).to_contain_text("北京市第二人民医院")
    zhao = page.locator("#caller-contacts input[name=contact_id][data-name='赵敏']")
    expect(zhao).to_be_visible()

    # Tab from the chosen unit into the contacts, arrow to 赵敏: reporter, department and phone fill in.
    option.focus()
    page.keyboard.press("Tab")
    for _ in range(page.locator("#caller-contacts input[name=contact_id]").count()):
        if zhao.is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(zhao).to_be_checked()
    expect(page.locator("input[name=reporter_name]")).to_have_value("赵敏")
    expect(page.locator("input[name=reporter_dept]")).to_have_value("财务科")
    expect(page.locator("input[name=reporter_phone]")).to_have_value("13922223333")
    expect(page.locator("input[name=summary]")).to_have_value("")  # the summary is still to type
    page.fill("input[name=summary]", "工资条打印乱码")
    no_horizontal_overflow(page)
    no_missing_glyphs(page)
    screenshot(page, "intake-caller")

    with page.expect_navigation():
        page.click("form.intake button[type=submit]")
    number = page.locator("#ticket h1 .number").inner_text()
    assert NUMBER.fullmatch(number)
    expect(page.locator("#ticket h1")).to_contain_text("赵敏 / 财务科 / 13922223333 / 工资条打印乱码")

    # The ticket page loads the same history: the earlier open ticket, linked; not the ticket itself.
    panel = page.locator("#customer-history .history-open")
    expect(panel.locator(f"a[href='/tickets/{earlier_number}']")).to_be_visible()
    expect(panel).not_to_contain_text(number)
    expect(page.locator("#customer-history .history-contacts")).to_contain_text("王芳")
    # From the hotline channel: the ticket leaves its hotline record, linked from the panel.
    expect(page.locator("#customer-history a[href^='/hotline/']")).to_be_visible()
    # An action redraws the ticket, and the panel with it.
    act(page, "comment", {"text": "客户来电补充：仅工资条模板乱码"}, to_state="registered")
    expect(page.locator("#ticket .timeline")).to_contain_text("仅工资条模板乱码")
    expect(panel.locator(f"a[href='/tickets/{earlier_number}']")).to_be_visible()
    no_horizontal_overflow(page)
    no_missing_glyphs(page)
    screenshot(page, "ticket-history")


def test_a_phone_number_typed_in_the_unit_search_finds_the_unit_and_fills_the_caller(page, users, unit_factory):
    from portal.customers.operations import add_contact
    from portal.extensions import db

    unit = unit_factory(name="西安市第三人民医院")
    add_contact(unit, name="王芳", department="药剂科", phone="13911112222")
    db.session.commit()
    unit_id = unit.id
    release_db()

    login(page, "cs")
    page.goto("/tickets/new")
    page.locator("#customer_q").press_sequentially("139 1111 2222", delay=20)
    option = page.locator(f"#unit-options input[name=customer_id][value='{unit_id}']")
    expect(option).to_be_checked()  # the only match is chosen
    expect(page.locator("#unit-options")).to_contain_text("王芳（药剂科）")
    expect(page.locator("#caller-contacts input[data-name='王芳']")).to_be_checked()
    expect(page.locator("input[name=reporter_name]")).to_have_value("王芳")
    expect(page.locator("input[name=reporter_phone]")).to_have_value("13911112222")

    page.locator("#customer_q").fill("")
    page.locator("#customer_q").press_sequentially("13700000000", delay=10)
    expect(page.locator("#unit-options")).to_contain_text("没有单位或联系人使用号码 13700000000")


def test_an_engineer_sees_the_panel_without_what_they_may_not_open(page, users, unit_factory, ticket_factory):
    from datetime import timedelta

    from portal.complaints import operations as complaints
    from portal.core.timeutil import utcnow
    from portal.customers.operations import add_contact
    from portal.extensions import db
    from portal.tickets import operations as ops

    unit = unit_factory(name="西安市第三人民医院")
    add_contact(unit, name="王芳", department="药剂科", phone="13911112222")
    deadline = utcnow() + timedelta(days=2)
    mine = ticket_factory(unit=unit, summary="我的问题")
    ops.take_action(mine, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id, "deadline": deadline})
    theirs = ticket_factory(unit=unit, summary="别人的问题")
    ops.take_action(theirs, "assign", users["dev_manager"], {"assignee_id": users["engineer2"].id,
                                                             "deadline": deadline})
    done = ticket_factory(unit=unit, summary="早先的问题")
    ops.take_action(done, "reject", users["dev_manager"], {"reason": "重复"})
    complaints.register(users["cs"], customer_id=unit.id, channel="phone", complainant="孙丽",
                        complainant_phone="13911112222", content="报表问题反映三次仍未解决",
                        handler_id=users["dev_manager"].id)
    db.session.commit()
    mine_number, theirs_number, done_number = mine.number, theirs.number, done.number
    release_db()

    login(page, "engineer")
    page.goto(f"/tickets/{mine_number}")
    panel = page.locator("#customer-history")
    expect(panel.locator(f".history-closed a[href='/tickets/{done_number}']")).to_be_visible()
    expect(panel).not_to_contain_text(theirs_number)
    expect(panel.locator(".history-complaints li")).to_have_count(1)
    expect(panel.locator(".history-complaints a")).to_have_count(0)
    expect(panel).not_to_contain_text("报表问题")
    expect(panel.locator(".history-contacts")).to_have_count(0)
    expect(page.locator(".ticket-side a[href^='/customers/']")).to_have_count(0)
    no_horizontal_overflow(page)
    no_missing_glyphs(page)
    screenshot(page, "ticket-history-engineer")
