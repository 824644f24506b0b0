"""One click turns a hotline record into a ticket, through the intake form, exactly once."""
from __future__ import annotations

from portal.extensions import db
from portal.hotline.models import HotlineRecord
from portal.tickets.models import Ticket


def test_hotline_record_becomes_a_ticket_end_to_end(auth, users, unit_factory):
    unit = unit_factory(name="西安市雁塔区住建局")
    cs = auth.client_for("cs")
    r = cs.post("/hotline/new", data={
        "customer_id": str(unit.id), "unit_name": "", "phone": "13612345678", "contact_name": "钱进",
        "content": "系统登录时提示密码过期，无法修改密码", "handling": "已记录"})
    assert r.status_code == 302
    record = db.session.query(HotlineRecord).one()

    # Listed as waiting, on the hotline page and on customer service's home page.
    link = f"/tickets/new?hotline_record_id={record.id}"
    assert link in cs.get("/hotline?open=1").get_data(as_text=True)
    assert link in cs.get("/").get_data(as_text=True)

    # The intake form comes prefilled from the record.
    page = cs.get(link).get_data(as_text=True)
    assert 'value="钱进"' in page and 'value="13612345678"' in page and "密码过期" in page
    assert f'value="{record.id}"' in page and f'value="{unit.id}" checked' in page

    r = cs.post("/tickets/new", data={
        "hotline_record_id": str(record.id), "channel": "hotline", "customer_id": str(unit.id), "type": "maintenance",
        "reporter_name": "钱进", "reporter_dept": "信息科", "reporter_phone": "13612345678",
        "summary": "登录提示密码过期", "description": "系统登录时提示密码过期，无法修改密码"})
    assert r.status_code == 302
    db.session.expire_all()
    ticket = db.session.query(Ticket).one()
    assert r.headers["Location"].endswith(f"/tickets/{ticket.number}")
    assert db.session.get(HotlineRecord, record.id).ticket_id == ticket.id

    # The record shows its ticket and no longer offers to register one.
    page = cs.get(f"/hotline/{record.id}").get_data(as_text=True)
    assert ticket.number in page and link not in page
    assert link not in cs.get("/hotline").get_data(as_text=True)
    assert "西安市雁塔区住建局" not in cs.get("/hotline?open=1").get_data(as_text=True)
    assert link not in cs.get("/").get_data(as_text=True)

    # Following the old link again leads to the existing ticket; no second ticket.
    r = cs.get(link)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tickets/{ticket.number}")
    cs.post("/tickets/new", data={
        "hotline_record_id": str(record.id), "channel": "hotline", "customer_id": str(unit.id), "type": "maintenance",
        "reporter_name": "钱进", "reporter_dept": "信息科", "reporter_phone": "13612345678", "summary": "再登记一次"})
    db.session.expire_all()
    assert db.session.query(Ticket).count() == 1


def test_failed_intake_leaves_the_record_waiting(auth, users, unit_factory):
    unit = unit_factory()
    cs = auth.client_for("cs")
    cs.post("/hotline/new", data={"customer_id": str(unit.id), "phone": "13612345678", "contact_name": "钱进",
                                  "content": "打印失败"})
    record = db.session.query(HotlineRecord).one()
    r = cs.post("/tickets/new", data={"hotline_record_id": str(record.id), "channel": "hotline",
                                      "customer_id": str(unit.id), "type": "maintenance", "reporter_name": "钱进",
                                      "reporter_dept": "", "reporter_phone": "12345", "summary": "打印失败"})
    assert r.status_code == 422
    db.session.expire_all()
    assert db.session.get(HotlineRecord, record.id).ticket_id is None
    assert db.session.query(Ticket).count() == 0
