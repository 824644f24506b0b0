"""Hotline duty records (热线值班记录): customer service only; validation; list; detail."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.hotline.models import HotlineRecord
from tests.conftest import ROLE_KEYS


def record_form(**over) -> dict:
    data = {"unit_name": "西安市雁塔区住建局", "address": "西安市雁塔区小寨东路 1 号", "phone": "136 1234 5678",
            "contact_name": "钱进", "content": "系统登录时提示密码过期，无法修改密码", "handling": "已指导用户清除缓存，待观察"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def record_count() -> int:
    db.session.expire_all()
    return db.session.query(HotlineRecord).count()


def make_record(cs_user, **over) -> HotlineRecord:
    data = record_form(**over)
    data["phone"] = "13612345678"
    record = HotlineRecord(recorded_by_id=cs_user.id, **data)
    db.session.add(record)
    db.session.commit()
    return record


@pytest.mark.parametrize("role", [k for k in ROLE_KEYS if k != "cs"])
def test_hotline_pages_are_for_customer_service_only(auth, users, role):
    record = make_record(users["cs"])
    c = auth.client_for(role)
    for method, url in [("GET", "/hotline"), ("GET", "/hotline?open=1"), ("GET", "/hotline/new"),
                        ("POST", "/hotline/new"), ("GET", f"/hotline/{record.id}")]:
        r = c.open(url, method=method, data=record_form() if method == "POST" else None)
        assert r.status_code == 403, (role, method, url)
    assert record_count() == 1


def test_cs_records_a_hotline_call_and_sees_it(auth, users):
    c = auth.client_for("cs")
    assert c.get("/hotline/new").status_code == 200
    r = c.post("/hotline/new", data=record_form())
    assert r.status_code == 302
    record = db.session.query(HotlineRecord).one()
    assert r.headers["Location"].endswith(f"/hotline/{record.id}")
    assert record.phone == "13612345678"  # normalised
    assert record.recorded_by_id == users["cs"].id and record.ticket_id is None and record.customer_id is None
    page = c.get(f"/hotline/{record.id}").get_data(as_text=True)
    for text in ("西安市雁塔区住建局", "小寨东路", "钱进", "13612345678", "密码过期", "清除缓存", "登记为问题单"):
        assert text in page
    assert f"/tickets/new?hotline_record_id={record.id}" in page


@pytest.mark.parametrize("missing", ["phone", "contact_name", "content", "unit_name"])
def test_each_missing_required_field_is_refused_in_chinese_and_nothing_saved(auth, users, missing):
    r = auth.client_for("cs").post("/hotline/new", data=record_form(**{missing: ""}))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert ("请填写单位名称或选择客户单位" if missing == "unit_name" else "此项必填") in page
    assert record_count() == 0


@pytest.mark.parametrize("phone", ["12345", "1380013800", "010-123", "+1 415 555 0100", "电话号码"])
def test_bad_phone_is_refused_with_the_chinese_phone_message(auth, users, phone):
    r = auth.client_for("cs").post("/hotline/new", data=record_form(phone=phone))
    assert r.status_code == 422
    assert "请输入大陆手机号" in r.get_data(as_text=True)
    assert record_count() == 0


def test_landline_with_extension_is_accepted_and_normalised(auth, users):
    r = auth.client_for("cs").post("/hotline/new", data=record_form(phone="029 85201234 转 801"))
    assert r.status_code == 302
    assert db.session.query(HotlineRecord).one().phone == "029-85201234-801"


def test_record_may_link_a_customer_unit_whose_name_and_address_fill_the_blanks(auth, users, unit_factory):
    unit = unit_factory(name="成都市武侯区社保中心", address="成都市武侯区科华北路 12 号")
    r = auth.client_for("cs").post("/hotline/new", data=record_form(unit_name="", address="",
                                                                     customer_id=str(unit.id)))
    assert r.status_code == 302
    record = db.session.query(HotlineRecord).one()
    assert record.customer_id == unit.id
    assert record.unit_name == "成都市武侯区社保中心" and record.address == "成都市武侯区科华北路 12 号"


def test_unknown_customer_unit_is_refused(auth, users):
    r = auth.client_for("cs").post("/hotline/new", data=record_form(customer_id="999999"))
    assert r.status_code == 422 and "该客户单位不存在" in r.get_data(as_text=True)
    assert record_count() == 0


def test_form_offers_the_customer_lookup(auth, users, unit_factory):
    unit_factory(name="北京市第一人民医院")
    c = auth.client_for("cs")
    page = c.get("/hotline/new").get_data(as_text=True)
    assert 'hx-get="/customers/lookup"' in page and 'hx-target="#unit-options"' in page
    options = c.get("/customers/lookup?customer_q=bjs", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'name="customer_id"' in options and "北京市第一人民医院" in options


def test_user_text_is_escaped(auth, users):
    auth.client_for("cs").post("/hotline/new", data=record_form(content="<script>alert(1)</script>"))
    record = db.session.query(HotlineRecord).one()
    page = auth.client_for("cs").get(f"/hotline/{record.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_list_is_newest_first_bounded_and_pages_on(auth, users):
    for i in range(55):
        db.session.add(HotlineRecord(unit_name=f"单位{i:02d}", phone="13612345678", contact_name="钱进",
                                     content=f"问题{i:02d}", recorded_by_id=users["cs"].id))
    db.session.commit()
    c = auth.client_for("cs")
    page = c.get("/hotline").get_data(as_text=True)
    assert page.index("单位54") < page.index("单位53")
    assert "单位05" in page and "单位04" not in page  # 50 rows per page
    oldest_shown = db.session.query(HotlineRecord).filter_by(unit_name="单位05").one().id
    assert f"before={oldest_shown}" in page
    page2 = c.get(f"/hotline?before={oldest_shown}").get_data(as_text=True)
    assert "单位04" in page2 and "单位00" in page2 and "单位05" not in page2
    assert c.get("/hotline/999999").status_code == 404


def test_not_yet_a_ticket_filter_hides_converted_records(auth, users, ticket_factory):
    ticket = ticket_factory()
    make_record(users["cs"], unit_name="已转单位", content="已转问题")
    db.session.query(HotlineRecord).filter_by(unit_name="已转单位").one().ticket_id = ticket.id
    make_record(users["cs"], unit_name="待转单位", content="待转问题")
    db.session.commit()
    c = auth.client_for("cs")
    everything = c.get("/hotline").get_data(as_text=True)
    assert "已转单位" in everything and "待转单位" in everything and ticket.number in everything
    open_only = c.get("/hotline?open=1").get_data(as_text=True)
    assert "待转单位" in open_only and "已转单位" not in open_only
