"""Creating and editing units, contacts and contracts: who may, and bad input refused in Chinese with 422."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.customers.models import Contact, Contract, CustomerUnit, MaintenanceStatusChange
from portal.extensions import db

from .helpers import counts

EDITORS = ["cs", "market", "market_manager", "admin"]
NOT_EDITORS = ["dev_manager", "impl_manager", "engineer", "impl_engineer"]
GOOD_UNIT = {"name": "成都市武侯区社保中心", "address": "成都市武侯区科华北路 12 号", "phone": "028-85551234",
             "user_count": "350", "status": "ordinary"}


@pytest.mark.parametrize("role", EDITORS)
def test_editors_create_a_unit_and_its_first_history_entry_names_them(auth, users, role):
    r = auth.client_for(role).post("/customers/new", data=GOOD_UNIT)
    assert r.status_code == 302
    unit = db.session.scalar(select(CustomerUnit).where(CustomerUnit.name == GOOD_UNIT["name"]))
    assert (unit.name_initials, unit.phone, unit.user_count) == ("cdswhqsbzx", "028-85551234", 350)
    change = db.session.scalar(select(MaintenanceStatusChange).where(MaintenanceStatusChange.customer_id == unit.id))
    assert (change.from_status, change.to_status, change.changed_by_id) == (None, "ordinary", users[role].id)


@pytest.mark.parametrize("role", NOT_EDITORS)
def test_other_roles_may_not_create_or_edit(auth, unit_factory, role):
    unit = unit_factory()
    client = auth.client_for(role)
    before = counts()
    assert client.get("/customers/new").status_code == 403
    assert client.post("/customers/new", data=GOOD_UNIT).status_code == 403
    assert client.post(f"/customers/{unit.id}/edit", data=GOOD_UNIT).status_code == 403
    assert client.post(f"/customers/{unit.id}/contacts/new", data={"name": "张三", "phone": "13800138000"}
                       ).status_code == 403
    assert client.post(f"/customers/{unit.id}/contracts/new", data={"start_date": "2026-01-01",
                       "end_date": "2026-12-31", "fee": "100"}).status_code == 403
    assert counts() == before


@pytest.mark.parametrize("data, message", [
    ({**GOOD_UNIT, "name": ""}, "此项必填"),
    ({**GOOD_UNIT, "phone": "12345"}, "请输入大陆手机号"),
    ({**GOOD_UNIT, "user_count": "-3"}, "用户数不能为负数"),
    ({**GOOD_UNIT, "user_count": "很多"}, "请输入用户数（整数）"),
])
def test_bad_unit_input_is_refused_in_chinese_and_nothing_saved(auth, data, message):
    before = counts()
    r = auth.client_for("cs").post("/customers/new", data=data)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert counts() == before


def test_a_second_unit_with_the_same_name_is_refused(auth, unit_factory):
    unit_factory(name=GOOD_UNIT["name"])
    before = counts()
    r = auth.client_for("cs").post("/customers/new", data={**GOOD_UNIT, "name": " " + GOOD_UNIT["name"] + " "})
    assert r.status_code == 422
    assert "已有同名单位" in r.get_data(as_text=True)
    assert counts() == before


def test_editing_a_unit_renames_it_and_updates_its_initials_but_not_its_status(auth, unit_factory):
    unit = unit_factory(name="旧名称医院", status="vip")
    r = auth.client_for("market").post(f"/customers/{unit.id}/edit",
                                       data={"name": "新名称医院", "address": "新地址", "phone": "13800138000",
                                             "user_count": "12", "status": "stopped"})
    assert r.status_code == 302
    db.session.expire_all()
    unit = db.session.get(CustomerUnit, unit.id)
    assert (unit.name, unit.name_initials, unit.maintenance_status) == ("新名称医院", "xmcyy", "vip")


def test_renaming_to_another_units_name_is_refused(auth, unit_factory):
    unit_factory(name="甲医院")
    other = unit_factory(name="乙医院")
    r = auth.client_for("cs").post(f"/customers/{other.id}/edit", data={**GOOD_UNIT, "name": "甲医院"})
    assert r.status_code == 422 and "已有同名单位" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CustomerUnit, other.id).name == "乙医院"


def test_a_contact_is_added_with_its_phone_in_canonical_form(auth, unit_factory):
    unit = unit_factory()
    r = auth.client_for("cs").post(f"/customers/{unit.id}/contacts/new",
                                   data={"name": "孙丽", "department": "财务科", "phone": "138 0013 8000",
                                         "email": "sun@example.cn"})
    assert r.status_code == 302
    contact = db.session.scalar(select(Contact).where(Contact.customer_id == unit.id))
    assert (contact.name, contact.department, contact.phone, contact.email) == (
        "孙丽", "财务科", "13800138000", "sun@example.cn")


@pytest.mark.parametrize("data, message", [
    ({"name": "孙丽", "phone": "12345"}, "请输入大陆手机号"),
    ({"name": "孙丽", "phone": ""}, "此项必填"),
    ({"name": "", "phone": "13800138000"}, "此项必填"),
    ({"name": "孙丽", "phone": "13800138000", "email": "不是邮箱"}, "请输入有效的电子邮箱"),
])
def test_bad_contact_input_is_refused_in_chinese_and_nothing_saved(auth, unit_factory, data, message):
    unit = unit_factory()
    before = counts()
    r = auth.client_for("cs").post(f"/customers/{unit.id}/contacts/new", data=data)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert counts() == before


def test_a_contact_is_edited_and_a_bad_phone_leaves_it_unchanged(auth, unit_factory):
    unit = unit_factory()
    client = auth.client_for("cs")
    client.post(f"/customers/{unit.id}/contacts/new", data={"name": "孙丽", "phone": "13800138000"})
    contact = db.session.scalar(select(Contact).where(Contact.customer_id == unit.id))
    r = client.post(f"/customers/{unit.id}/contacts/{contact.id}/edit", data={"name": "孙丽", "phone": "999"})
    assert r.status_code == 422
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).phone == "13800138000"
    r = client.post(f"/customers/{unit.id}/contacts/{contact.id}/edit",
                    data={"name": "孙丽", "department": "办公室", "phone": "010-12345678-801"})
    assert r.status_code == 302
    db.session.expire_all()
    assert (db.session.get(Contact, contact.id).department, db.session.get(Contact, contact.id).phone) == (
        "办公室", "010-12345678-801")


def test_a_contact_is_only_reachable_through_its_own_unit(auth, unit_factory):
    a, b = unit_factory(), unit_factory()
    client = auth.client_for("cs")
    client.post(f"/customers/{a.id}/contacts/new", data={"name": "孙丽", "phone": "13800138000"})
    contact = db.session.scalar(select(Contact).where(Contact.customer_id == a.id))
    assert client.get(f"/customers/{b.id}/contacts/{contact.id}/edit").status_code == 404


def test_a_contract_is_added(auth, unit_factory):
    unit = unit_factory()
    r = auth.client_for("market").post(f"/customers/{unit.id}/contracts/new",
                                       data={"start_date": "2026-01-01", "end_date": "2026-12-31",
                                             "fee": "20000.50", "free_year": "y", "note": "首年免费"})
    assert r.status_code == 302
    k = db.session.scalar(select(Contract).where(Contract.customer_id == unit.id))
    assert (k.start_date, k.end_date, str(k.fee), k.free_year, k.note) == (
        date(2026, 1, 1), date(2026, 12, 31), "20000.50", True, "首年免费")


@pytest.mark.parametrize("data, message", [
    ({"start_date": "2026-06-01", "end_date": "2026-05-31", "fee": "100"}, "结束日期不能早于开始日期"),
    ({"start_date": "2026-01-01", "end_date": "2026-12-31", "fee": "-1"}, "费用不能为负数"),
    ({"start_date": "", "end_date": "2026-12-31", "fee": "1"}, "请填写日期"),
    ({"start_date": "2026-01-01", "end_date": "2026-12-31", "fee": ""}, "请填写费用"),
])
def test_bad_contract_input_is_refused_in_chinese_and_nothing_saved(auth, unit_factory, data, message):
    unit = unit_factory()
    before = counts()
    r = auth.client_for("market").post(f"/customers/{unit.id}/contracts/new", data=data)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert counts() == before


def test_forms_render_in_chinese(auth, unit_factory):
    unit = unit_factory()
    client = auth.client_for("cs")
    assert "新建客户单位" in client.get("/customers/new").get_data(as_text=True)
    assert "新增联系人" in client.get(f"/customers/{unit.id}/contacts/new").get_data(as_text=True)
    assert "新增维护合同" in client.get(f"/customers/{unit.id}/contracts/new").get_data(as_text=True)
