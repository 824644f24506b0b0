"""投诉: received → handled → confirmed with the customer (or handled again), each step by the roles
allowed, recorded in an append-only history; bad input changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.complaints import operations as ops
from portal.complaints.models import Complaint, ComplaintEvent
from portal.extensions import db
from portal.notifications.models import Notification


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def new_complaint(users, unit, ticket=None, **kw) -> Complaint:
    data = dict(customer_id=unit.id, ticket_number=ticket.number if ticket else "", channel="phone",
                complainant="刘建国", complainant_phone="13800138000", content="工程师迟迟不上门",
                handler_id=users["dev_manager"].id)
    data.update(kw)
    c = ops.register(users["cs"], **data)
    db.session.commit()
    return c


def test_the_whole_way_received_handled_confirmed(users, ticket_factory):
    t = ticket_factory()
    c = new_complaint(users, t.customer, t)
    assert (c.state, c.ticket_id, c.customer_id) == ("received", t.id, t.customer_id)
    ops.handle(c, users["dev_manager"], handling="约谈工程师，安排当天上门", outcome="已上门解决并致歉")
    db.session.commit()
    assert c.state == "handled" and c.handled_by_id == users["dev_manager"].id
    ops.confirm(c, users["cs"], accepted=True, confirmation="客户表示满意")
    db.session.commit()
    assert c.state == "confirmed" and c.confirmed_by_id == users["cs"].id
    steps = db.session.scalars(select(ComplaintEvent.action).where(ComplaintEvent.complaint_id == c.id)
                               .order_by(ComplaintEvent.id)).all()
    assert steps == ["register", "handle", "confirm"]


def test_a_customer_who_does_not_accept_sends_it_back_to_be_handled(users, unit_factory):
    c = new_complaint(users, unit_factory())
    ops.handle(c, users["dev_manager"], handling="解释原因", outcome="客户需理解")
    ops.confirm(c, users["cs"], accepted=False, confirmation="客户不接受，要求领导出面")
    db.session.commit()
    assert c.state == "received"
    ops.handle(c, users["dev_manager"], handling="部门经理致电", outcome="同意免费延长维护一个月")
    ops.confirm(c, users["cs"], accepted=True, confirmation="客户接受")
    db.session.commit()
    history = db.session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id)
                                 .order_by(ComplaintEvent.id)).all()
    assert [(e.action, e.from_state, e.to_state) for e in history] == [
        ("register", None, "received"), ("handle", "received", "handled"), ("reopen", "handled", "received"),
        ("handle", "received", "handled"), ("confirm", "handled", "confirmed")]
    assert history[1].text.startswith("解释原因")  # the first attempt stays in the history


def test_the_handler_is_notified(users, unit_factory):
    c = new_complaint(users, unit_factory())
    assert db.session.scalar(select(Notification.user_id).where(Notification.kind == "complaint_to_handle")) \
        == users["dev_manager"].id
    assert c.handler_id == users["dev_manager"].id


def test_the_handler_reads_the_notification_in_chinese_on_their_notifications_page(users, auth, unit_factory):
    new_complaint(users, unit_factory())
    html = auth.client_for("dev_manager").get("/notifications").get_data(as_text=True)
    assert "待处理的投诉" in html and "complaint_to_handle" not in html


@pytest.mark.parametrize("role", ["engineer", "impl_engineer", "dev_manager", "impl_manager"])
def test_only_customer_facing_staff_register_complaints(users, unit_factory, role):
    with pytest.raises(ops.ComplaintError) as e:
        ops.register(users[role], customer_id=unit_factory().id, channel="phone", complainant="刘建国",
                     content="投诉", handler_id=users["dev_manager"].id)
    assert e.value.status == 403


def test_handling_is_for_the_named_handler_or_a_manager(users, unit_factory):
    c = new_complaint(users, unit_factory(), handler_id=users["market_manager"].id)
    for role in ("cs", "engineer", "market"):
        with pytest.raises(ops.ComplaintError) as e:
            ops.handle(c, users[role], handling="x", outcome="y")
        assert e.value.status == 403
    ops.handle(c, users["impl_manager"], handling="代为处理", outcome="已解决")
    assert c.state == "handled"


def test_confirming_is_for_customer_facing_staff_and_only_after_handling(users, unit_factory):
    c = new_complaint(users, unit_factory())
    with pytest.raises(ops.ComplaintError) as e:
        ops.confirm(c, users["cs"], accepted=True, confirmation="好")
    assert e.value.status == 409
    ops.handle(c, users["dev_manager"], handling="处理", outcome="结果")
    with pytest.raises(ops.ComplaintError) as e:
        ops.confirm(c, users["dev_manager"], accepted=True, confirmation="好")
    assert e.value.status == 403


@pytest.mark.parametrize("change, field", [
    ({"customer_id": None}, "customer_id"),
    ({"ticket_number": "SH-2099-999999"}, "ticket_number"),
    ({"channel": "pigeon"}, "channel"),
    ({"complainant": "  "}, "complainant"),
    ({"content": ""}, "content"),
    ({"complainant_phone": "12345"}, "complainant_phone"),
    ({"handler_id": None}, "handler_id"),
])
def test_bad_input_is_refused_field_by_field_and_nothing_is_written(users, unit_factory, change, field):
    unit = unit_factory()
    data = dict(customer_id=unit.id, channel="phone", complainant="刘建国", content="投诉内容",
                handler_id=users["dev_manager"].id)
    data.update(change)
    with pytest.raises(ops.ComplaintError) as e:
        ops.register(users["cs"], **data)
    db.session.rollback()
    assert e.value.status == 422 and field in e.value.errors
    assert count(Complaint) == 0 and count(ComplaintEvent) == 0


def test_an_engineer_cannot_be_named_to_handle_a_complaint(users, unit_factory):
    with pytest.raises(ops.ComplaintError) as e:
        ops.register(users["cs"], customer_id=unit_factory().id, channel="phone", complainant="刘建国",
                     content="投诉", handler_id=users["engineer"].id)
    assert "handler_id" in e.value.errors


def test_a_ticket_of_another_unit_is_refused(users, unit_factory, ticket_factory):
    t = ticket_factory()
    with pytest.raises(ops.ComplaintError) as e:
        ops.register(users["cs"], customer_id=unit_factory().id, ticket_number=t.number, channel="phone",
                     complainant="刘建国", content="投诉", handler_id=users["dev_manager"].id)
    assert "ticket_number" in e.value.errors


# --- the pages ----------------------------------------------------------------------------------

def test_registering_handling_and_confirming_through_the_pages(users, auth, ticket_factory):
    t = ticket_factory()
    cs, manager = auth.client_for("cs"), auth.client_for("dev_manager")
    assert "登记投诉" in cs.get(f"/complaints/new?ticket={t.number}").get_data(as_text=True)
    r = cs.post("/complaints/new", data={"ticket_number": t.number, "channel": "phone", "complainant": "刘建国",
                                         "complainant_phone": "13800138000", "content": "处理太慢",
                                         "handler_id": users["dev_manager"].id})
    assert r.status_code == 302
    url = r.headers["Location"]
    c = db.session.scalar(select(Complaint))
    page = manager.get(url).get_data(as_text=True)
    assert "登记处理情况" in page and "处理太慢" in page
    r = manager.post(f"{url}/handle", data={"handling": "已催办", "outcome": "当天解决", "version": c.version})
    assert r.status_code == 302
    db.session.refresh(c)
    r = cs.post(f"{url}/confirm", data={"accepted": "yes", "confirmation": "客户满意", "version": c.version})
    assert r.status_code == 302
    db.session.refresh(c)
    assert c.state == "confirmed"
    page = cs.get(url).get_data(as_text=True)
    assert "已与客户确认" in page and "客户满意" in page


def test_a_bad_form_is_a_422_with_messages_and_writes_nothing(users, auth, unit_factory):
    r = auth.client_for("cs").post("/complaints/new", data={"customer_id": unit_factory().id, "channel": "phone",
                                                          "complainant": "", "content": "",
                                                          "handler_id": users["dev_manager"].id})
    assert r.status_code == 422
    assert "此项必填" in r.get_data(as_text=True)
    assert count(Complaint) == 0


def test_a_stale_form_is_a_409(users, auth, unit_factory):
    c = new_complaint(users, unit_factory())
    old = c.version
    ops.handle(c, users["dev_manager"], handling="a", outcome="b")
    ops.confirm(c, users["cs"], accepted=False, confirmation="不认可")
    db.session.commit()
    r = auth.client_for("dev_manager").post(f"/complaints/{c.id}/handle",
                                            data={"handling": "x", "outcome": "y", "version": old})
    assert r.status_code == 409
    assert "已被他人修改" in r.get_data(as_text=True)


def test_the_list_filters_and_who_sees_it(users, auth, unit_factory):
    a, b = unit_factory(), unit_factory()
    new_complaint(users, a)
    c = new_complaint(users, b)
    ops.handle(c, users["dev_manager"], handling="x", outcome="y")
    db.session.commit()
    client = auth.client_for("market_manager")
    html = client.get("/complaints").get_data(as_text=True)
    assert "共 2 件投诉" in html
    assert "共 1 件投诉" in client.get("/complaints?state=handled").get_data(as_text=True)
    assert "共 1 件投诉" in client.get(f"/complaints?customer_id={a.id}").get_data(as_text=True)
    assert client.get("/complaints?received_from=bad").status_code == 400
    for role in ("engineer", "impl_engineer"):
        assert auth.client_for(role).get("/complaints").status_code == 403
        assert auth.client_for(role).get(f"/complaints/{c.id}").status_code == 403
    assert auth.client_for("dev_manager").get("/complaints/new").status_code == 403
    assert client.get("/complaints/999999").status_code == 404
