"""When the customer reported the problem (intake) and the ticket page's clocks in a clerk's words."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.core.timeutil import clock_set_to, to_local, utcnow
from portal.extensions import db
from portal.hotline import operations as hotline
from portal.sla.models import ServiceClock
from portal.tickets import operations as ops
from portal.tickets.models import Ticket
from tests.test_query_counts import counting


def _intake(unit, **extra):
    return {"channel": "email", "customer_id": str(unit.id), "type": "maintenance", "reporter_name": "刘建国",
            "reporter_dept": "信息科", "reporter_phone": "13800138000", "summary": "HIS 无法登录", **extra}


def _local(dt) -> str:
    return to_local(dt).strftime("%Y-%m-%dT%H:%M")


def test_intake_keeps_an_earlier_report_time_and_the_clocks_run_from_it(auth, unit_factory):
    unit = unit_factory()
    reported = utcnow().replace(second=0, microsecond=0) - timedelta(hours=5)
    r = auth.client_for("cs").post("/tickets/new", data=_intake(unit, reported_at=_local(reported)))
    assert r.status_code == 302
    t = db.session.scalar(select(Ticket).where(Ticket.customer_id == unit.id))
    assert t.reported_at == reported and t.created_at > reported
    clock = db.session.scalar(select(ServiceClock).where(ServiceClock.ticket_id == t.id))
    assert clock.key == "first_reply" and clock.started_at == reported
    page = auth.client_for("cs").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "客户反映时间" in page and to_local(reported).strftime("%Y-%m-%d %H:%M") in page


def test_intake_refuses_a_report_time_in_the_future_or_long_ago_in_chinese_and_registers_nothing(auth, unit_factory):
    unit = unit_factory()
    for when, words in ((utcnow() + timedelta(hours=2), "不能晚于现在"), (utcnow() - timedelta(days=31), "30 天前")):
        r = auth.client_for("cs").post("/tickets/new", data=_intake(unit, reported_at=_local(when)))
        assert r.status_code == 422 and words in r.get_data(as_text=True)
    assert db.session.scalar(select(Ticket).where(Ticket.customer_id == unit.id)) is None


def test_the_intake_form_starts_from_now_or_from_the_hotline_records_time(auth, users, unit_factory):
    unit = unit_factory()
    with clock_set_to(utcnow() - timedelta(hours=3)):
        record = hotline.create_record(users["cs"], hotline.RecordInput(
            unit_name=unit.name, phone="13800138000", contact_name="刘建国", content="打印机无法打印",
            customer_id=unit.id))
        db.session.commit()
    page = auth.client_for("cs").get(f"/tickets/new?hotline_record_id={record.id}").get_data(as_text=True)
    assert f'value="{_local(record.created_at)}"' in page
    r = auth.client_for("cs").post("/tickets/new", data=_intake(unit, channel="hotline", reported_at="",
                                                                 hotline_record_id=str(record.id)))
    assert r.status_code == 302
    t = db.session.scalar(select(Ticket).where(Ticket.customer_id == unit.id))
    assert t.reported_at == record.created_at


def test_a_hotline_record_older_than_the_intake_window_keeps_its_time_and_nothing_earlier(auth, users, unit_factory):
    unit = unit_factory()
    with clock_set_to(utcnow() - timedelta(days=40)):  # typed into the hotline log 40 days ago, never registered
        record = hotline.create_record(users["cs"], hotline.RecordInput(
            unit_name=unit.name, phone="13800138000", contact_name="刘建国", content="打印机无法打印",
            customer_id=unit.id))
        db.session.commit()
    client = auth.client_for("cs")
    page = client.get(f"/tickets/new?hotline_record_id={record.id}").get_data(as_text=True)
    prefilled = _local(record.created_at)
    assert f'value="{prefilled}"' in page
    earlier = _local(record.created_at - timedelta(days=1))
    r = client.post("/tickets/new", data=_intake(unit, channel="hotline", reported_at=earlier,
                                                 hotline_record_id=str(record.id)))
    assert r.status_code == 422 and "30 天前" in r.get_data(as_text=True)  # the record does not vouch for earlier
    assert db.session.scalar(select(Ticket).where(Ticket.customer_id == unit.id)) is None
    r = client.post("/tickets/new", data=_intake(unit, channel="hotline", reported_at=prefilled,
                                                 hotline_record_id=str(record.id)))
    assert r.status_code == 302  # the time the form offered is accepted: the record says the customer called then
    t = db.session.scalar(select(Ticket).where(Ticket.customer_id == unit.id))
    assert _local(t.reported_at) == prefilled


def _ticket(users, unit_factory, reported_hours_ago: float):
    now = utcnow()
    t = ops.register_ticket(users["cs"], ops.Intake(
        channel="hotline", customer_id=unit_factory().id, type="maintenance", reporter_name="刘建国",
        reporter_dept="信息科", reporter_phone="13800138000", summary="HIS 无法登录",
        reported_at=now - timedelta(hours=reported_hours_ago)))
    db.session.commit()
    return t


def test_the_ticket_page_tells_each_clock_in_words_red_once_broken(auth, users, unit_factory):
    t = _ticket(users, unit_factory, reported_hours_ago=3)
    ops.take_action(t, "approve_urgent", users["market"], {"request": "优先"})  # 2 h from the call: 1 h over
    db.session.commit()
    page = auth.client_for("dev_manager").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "服务时限" in page and "2小时紧急响应" in page and "已超时1小时" in page
    assert 'class="clock-words overdue"' in page
    assert "距3个工作日首次答复时限还有" in page
    ops.take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                        "deadline": utcnow() + timedelta(days=3)})
    db.session.commit()
    page = auth.client_for("dev_manager").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "超时完成（超时1小时）" in page and "已按时完成" in page and "距4小时告知解决时间时限还有" in page


def test_the_ticket_page_reads_its_clocks_in_one_query(auth, users, unit_factory):
    t = _ticket(users, unit_factory, reported_hours_ago=1)
    client = auth.client_for("dev_manager")
    ops.take_action(t, "approve_urgent", users["market"], {"request": "优先"})
    ops.take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                        "deadline": utcnow() + timedelta(days=3)})
    db.session.commit()
    assert len(db.session.scalars(select(ServiceClock).where(ServiceClock.ticket_id == t.id)).all()) == 3
    client.get(f"/tickets/{t.number}")
    with counting() as many:
        client.get(f"/tickets/{t.number}")
    assert sum("service_clocks" in s for s in many) == 1  # three clocks, one query


def test_the_demo_shows_running_and_broken_clocks_and_the_sweeps_reminders():
    from portal.demo import load_demo_data
    from portal.notifications.models import Reminder

    assert load_demo_data() is True
    db.session.commit()
    now = utcnow()
    running = db.session.scalars(select(ServiceClock).where(ServiceClock.stopped_at.is_(None))).all()
    assert any(c.key == "first_reply" and c.due_at > now for c in running)  # the newest: still running
    assert any(c.key == "emergency_response" for c in running)  # from the call (running in working hours)
    assert any(c.due_at < now for c in running)
    assert db.session.scalar(select(Reminder.id).where(Reminder.kind == "clock_breached").limit(1)) is not None


@pytest.mark.parametrize("limits, title", [
    ({"vip": 24, "ordinary": 24, "stopped": 24}, "24小时上门"),
    ({"vip": 12, "ordinary": 24, "stopped": 24}, "上门（VIP维护 12小时 · 其余 24小时）"),
    ({"vip": 12, "ordinary": 24, "stopped": 48}, "上门（VIP维护 12小时 · 普通维护 24小时 · 已停止维护 48小时）"),
    ({"vip": 12}, "12小时上门"),
])
def test_a_promise_is_named_with_its_limit_once_per_value(app, limits, title):
    from portal.sla.display import promise_title

    with app.test_request_context():
        assert promise_title("onsite_24h", {k: float(v) for k, v in limits.items()}) == title
