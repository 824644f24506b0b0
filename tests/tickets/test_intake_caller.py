"""Intake that knows the caller (issue 14, item 2): the unit's saved contacts, lookup by phone number, the
caller saved as a contact on request, the hotline record every hotline-channel ticket leaves, and the
'told whom' / 'spoke with' fields prefilled from the reporter."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.core.timeutil import utcnow
from portal.customers.models import Contact
from portal.customers.operations import add_contact
from portal.extensions import db
from portal.hotline.models import HotlineRecord
from portal.hotline.operations import AlreadyLinked, RecordInput, create_record
from portal.tickets import operations as ops
from portal.tickets.models import Ticket


def intake(unit, **over):
    data = {"channel": "email", "customer_id": str(unit.id), "type": "maintenance", "reporter_name": "刘建国",
            "reporter_dept": "信息科", "reporter_phone": "13800138000", "summary": "打印机无法打印",
            "description": "点击打印后无反应"}
    data.update(over)
    return data


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def unit_with_contact(unit_factory):
    unit = unit_factory(name="西安市第三人民医院", phone="029-85201234")
    contact = add_contact(unit, name="王芳", department="药剂科", phone="139 1111 2222")
    db.session.commit()
    return unit, contact


# --- a picked contact fills the title ------------------------------------------------------------------

def test_posting_only_the_picked_contact_fills_reporter_department_and_phone(auth, unit_with_contact):
    unit, contact = unit_with_contact
    r = auth.client_for("cs").post("/tickets/new", data=intake(unit, contact_id=str(contact.id), reporter_name="",
                                                               reporter_dept="", reporter_phone=""))
    assert r.status_code == 302
    assert db.session.scalar(select(Ticket)).title == "王芳 / 药剂科 / 13911112222 / 打印机无法打印"


def test_posting_the_typed_fields_without_a_contact_uses_them_and_typed_fields_win_over_a_contact(
        auth, unit_with_contact):
    unit, contact = unit_with_contact
    cs = auth.client_for("cs")
    assert cs.post("/tickets/new", data=intake(unit, summary="其一")).status_code == 302
    assert cs.post("/tickets/new", data=intake(unit, contact_id=str(contact.id), reporter_phone="",
                                               summary="其二")).status_code == 302
    titles = [t.title for t in db.session.scalars(select(Ticket).order_by(Ticket.id))]
    assert titles == ["刘建国 / 信息科 / 13800138000 / 其一", "刘建国 / 信息科 / 13911112222 / 其二"]


@pytest.mark.parametrize("contact_id", ["other-unit", "999999", "abc", "9" * 30])
def test_a_contact_that_is_not_the_chosen_units_is_refused_and_nothing_saved(auth, unit_factory, unit_with_contact,
                                                                             contact_id):
    unit, contact = unit_with_contact
    other = unit_factory()
    target = other if contact_id == "other-unit" else unit
    raw = str(contact.id) if contact_id == "other-unit" else contact_id
    r = auth.client_for("cs").post("/tickets/new", data=intake(target, contact_id=raw, reporter_name=""))
    assert r.status_code == 422
    assert "不是所选单位的联系人" in r.get_data(as_text=True)
    assert count(Ticket) == 0


# --- who is calling: the unit search takes a phone number ---------------------------------------------

def test_phone_lookup_finds_the_unit_and_contact_in_any_spelling_of_the_number(auth, unit_with_contact):
    unit, _ = unit_with_contact
    cs = auth.client_for("cs")
    for typed in ("13911112222", "139 1111 2222", "+86 139-1111-2222"):
        page = cs.get("/customers/lookup", query_string={"customer_q": typed}).get_data(as_text=True)
        assert f'name="customer_id" value="{unit.id}"' in page and "西安市第三人民医院" in page, typed
        assert "王芳（药剂科）" in page, typed


def test_phone_lookup_finds_a_unit_by_its_own_number_also_from_an_extension(auth, unit_with_contact):
    unit, _ = unit_with_contact
    page = auth.client_for("cs").get("/customers/lookup", query_string={"customer_q": "029-85201234-801"})
    text = page.get_data(as_text=True)
    assert f'value="{unit.id}"' in text and "单位总机" in text


def test_an_unknown_number_says_so_and_a_bad_one_says_it_is_no_number(auth, unit_with_contact):
    cs = auth.client_for("cs")
    text = cs.get("/customers/lookup", query_string={"customer_q": "13700000000"}).get_data(as_text=True)
    assert 'name="customer_id"' not in text and "没有单位或联系人使用号码 13700000000" in text
    text = cs.get("/customers/lookup", query_string={"customer_q": "1234567"}).get_data(as_text=True)
    assert 'name="customer_id"' not in text and "不是有效的电话号码" in text


def test_phone_lookup_is_bounded(auth, unit_factory):
    for i in range(15):
        add_contact(unit_factory(), name=f"张{i}", phone="13812345678")
    db.session.commit()
    text = auth.client_for("cs").get("/customers/lookup?customer_q=13812345678").get_data(as_text=True)
    assert text.count('name="customer_id"') == 10


def test_choosing_the_unit_offers_its_contacts_and_picks_the_one_whose_number_was_typed(auth, unit_with_contact):
    unit, contact = unit_with_contact
    cs = auth.client_for("cs")
    text = cs.get("/tickets/new/customer", query_string={"customer_id": unit.id, "customer_q": "13911112222"},
                  headers={"HX-Request": "true"}).get_data(as_text=True)
    assert (f'name="contact_id" value="{contact.id}" data-name="王芳" data-dept="药剂科" data-phone="13911112222"'
            f' checked') in text
    assert 'id="customer-history"' in text and 'hx-swap-oob="true"' in text
    picked = (f'name="contact_id" value="{contact.id}" data-name="王芳" data-dept="药剂科" data-phone="13911112222"'
              f' checked')
    # … or whose number is already in the phone field (a hotline record's caller).
    text = cs.get("/tickets/new/customer", query_string={"customer_id": unit.id, "customer_q": unit.name,
                                                         "reporter_phone": "139-1111-2222"}).get_data(as_text=True)
    assert picked in text
    text = cs.get("/tickets/new/customer", query_string={"customer_id": unit.id}).get_data(as_text=True)
    assert f'value="{contact.id}" data-name="王芳"' in text and picked not in text


def test_intake_lookups_are_customer_services(auth, unit_with_contact):
    unit, _ = unit_with_contact
    for role in ("engineer", "dev_manager", "market"):
        c = auth.client_for(role)
        assert c.get(f"/tickets/new/customer?customer_id={unit.id}").status_code == 403, role
        # the unit search also serves the managers' ticket correction (更正问题单): only they besides 客服
        expected = 200 if role == "dev_manager" else 403
        assert c.get("/customers/lookup?customer_q=13911112222").status_code == expected, role


# --- the caller saved as a contact ----------------------------------------------------------------------

def test_save_as_contact_creates_the_contact_once_not_again_on_a_repeat(auth, unit_with_contact):
    unit, _ = unit_with_contact
    cs = auth.client_for("cs")
    for summary in ("第一次来电", "第二次来电"):
        r = cs.post("/tickets/new", data=intake(unit, reporter_name="赵敏", reporter_dept="财务科",
                                                 reporter_phone="0755 12345678转8001", summary=summary,
                                                 save_contact="y"))
        assert r.status_code == 302
        assert "反馈人已保存为该单位的联系人" in cs.get(r.headers["Location"]).get_data(as_text=True)
    saved = list(db.session.scalars(select(Contact).where(Contact.customer_id == unit.id, Contact.name == "赵敏")))
    assert [(c.department, c.phone) for c in saved] == [("财务科", "0755-12345678-8001")]
    assert count(Ticket) == 2


def test_without_the_checkbox_no_contact_is_saved(auth, unit_with_contact):
    unit, _ = unit_with_contact
    assert auth.client_for("cs").post("/tickets/new", data=intake(unit, reporter_name="赵敏")).status_code == 302
    assert count(Contact, Contact.name == "赵敏") == 0


def test_a_refused_intake_saves_no_contact(auth, unit_with_contact):
    unit, _ = unit_with_contact
    r = auth.client_for("cs").post("/tickets/new", data=intake(unit, reporter_name="赵敏", summary="",
                                                               save_contact="y"))
    assert r.status_code == 422
    assert count(Contact, Contact.name == "赵敏") == 0


# --- the hotline record of a hotline-channel ticket ----------------------------------------------------

def test_a_hotline_channel_intake_writes_exactly_one_linked_hotline_record(auth, unit_with_contact):
    unit, _ = unit_with_contact
    cs = auth.client_for("cs")
    assert cs.post("/tickets/new", data=intake(unit, channel="hotline")).status_code == 302
    assert cs.post("/tickets/new", data=intake(unit, channel="email", summary="邮件来的")).status_code == 302
    hotline_ticket = db.session.scalar(select(Ticket).where(Ticket.channel == "hotline"))
    records = list(db.session.scalars(select(HotlineRecord)))
    assert len(records) == 1
    r = records[0]
    assert (r.ticket_id, r.customer_id, r.unit_name, r.contact_name, r.phone) == (
        hotline_ticket.id, unit.id, "西安市第三人民医院", "刘建国", "13800138000")
    assert r.content.startswith("打印机无法打印") and r.recorded_by.username == "cs"
    # … and it is listed among the hotline records with its ticket.
    assert hotline_ticket.number in cs.get("/hotline").get_data(as_text=True)


def test_a_hotline_record_turned_into_a_ticket_links_both_ways_and_adds_no_second_record(auth, users,
                                                                                        unit_with_contact):
    unit, _ = unit_with_contact
    record = create_record(users["cs"], RecordInput(unit_name="", customer_id=unit.id, phone="13911112222",
                                                    contact_name="王芳", content="登录提示密码过期"))
    db.session.commit()
    record_id = record.id
    cs = auth.client_for("cs")
    r = cs.post(f"/tickets/new?hotline_record_id={record_id}",
                data=intake(unit, channel="hotline", hotline_record_id=str(record_id)))
    assert r.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert count(HotlineRecord) == 1
    assert db.session.get(HotlineRecord, record_id).ticket_id == ticket.id  # record → ticket
    panel = cs.get(f"/tickets/{ticket.number}/history").get_data(as_text=True)  # ticket → record
    assert f'href="/hotline/{record_id}"' in panel
    assert ticket.number in cs.get(f"/hotline/{record_id}").get_data(as_text=True)


def test_a_record_already_linked_is_never_linked_to_a_second_ticket(users, unit_factory, ticket_factory):
    unit = unit_factory()
    record = create_record(users["cs"], RecordInput(unit_name="", customer_id=unit.id, phone="13911112222",
                                                    contact_name="王芳", content="打印失败"))
    db.session.commit()
    first = ops.register_ticket(users["cs"], ops.Intake(
        channel="hotline", customer_id=unit.id, type="maintenance", reporter_name="王芳", reporter_dept="药剂科",
        reporter_phone="13911112222", summary="打印失败", hotline_record_id=record.id))
    db.session.commit()
    with pytest.raises(AlreadyLinked):
        ops.register_ticket(users["cs"], ops.Intake(
            channel="hotline", customer_id=unit.id, type="maintenance", reporter_name="王芳", reporter_dept="药剂科",
            reporter_phone="13911112222", summary="又一次", hotline_record_id=record.id))
    db.session.rollback()
    assert count(Ticket) == 1 and db.session.get(HotlineRecord, record.id).ticket_id == first.id


# --- whom the deadline is told, whom the callback reaches ------------------------------------------------

def test_told_whom_and_spoke_with_are_prefilled_from_the_reporter(auth, users, ticket_factory):
    t = ticket_factory(reporter_name="马超")
    ops.take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                         "deadline": utcnow() + timedelta(days=2)})
    db.session.commit()
    cs = auth.client_for("cs")
    page = cs.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="notify_deadline-whom"[^>]*value="马超"', page)
    ops.take_action(t, "notify_deadline", users["cs"], {"whom": "马超", "method": "phone"})
    ops.take_action(t, "resolve", users["engineer"], {"process": "查", "result": "好", "hours_spent": 1})
    db.session.commit()
    page = cs.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="callback-contact_person"[^>]*value="马超"', page)


@pytest.mark.parametrize("raw", ["", "abc", "-1", "0", "99999999999999999999", "1\x00"])
def test_a_bad_unit_id_gets_the_empty_panel_never_an_error(auth, raw):
    r = auth.client_for("cs").get("/tickets/new/customer", query_string={"customer_id": raw})
    if "\x00" in raw:  # a NUL anywhere in a request is refused outright, in Chinese (portal/core/params.py)
        assert r.status_code == 400 and "NUL" in r.get_data(as_text=True)
        return
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert 'id="customer-history"' in text and "history-open" not in text


@pytest.mark.parametrize("q", ["\x00", "医院\x00", "138\x000013\x008000", "1" * 200, "%_\\"])
def test_odd_unit_searches_answer_without_an_error(auth, unit_with_contact, q):
    status = auth.client_for("cs").get("/customers/lookup", query_string={"customer_q": q}).status_code
    assert status == (400 if "\x00" in q else 200)  # NUL: refused outright, like anywhere in a request


def test_a_refused_intake_keeps_the_picked_contact_for_the_next_try(auth, unit_with_contact):
    unit, contact = unit_with_contact
    r = auth.client_for("cs").post("/tickets/new", data=intake(unit, contact_id=str(contact.id), summary=""))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert f'<input type="hidden" name="contact_id" value="{contact.id}">' in page  # sent with the panel's request
    assert f'name="customer_id" value="{unit.id}" checked' in page
    assert re.search(r'<input[^>]*name="reporter_name"[^>]*value="刘建国"', page)  # what was typed stays
    assert count(Ticket) == 0
