"""Fixtures for the archive tests: a clean document folder per test, the letterhead, a unit with
contacts and a contract."""
from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from portal.core.timeutil import from_local, utcnow
from portal.extensions import db
from portal.service_plan import operations as plan
from portal.service_plan import periods
from portal.core.timeutil import today_local
from portal.tickets.models import Callback, Ticket
from portal.tickets.operations import take_action
from portal.visits.models import Visit
from tests.jobs.helpers import set_columns

LETTERHEAD = dict(name="杭州智联信息技术有限公司客服部", address="杭州市西湖区文三路100号", phone="0571-88880000",
                  fax="0571-88880001", email="service@zhilian.cn", qq="800012345")


@pytest.fixture(autouse=True)
def document_dir(app):
    """Each test starts with an empty archive folder (ids restart with the wiped tables)."""
    from portal.core import storage

    storage.forget_stores(app)
    root = storage.local_root(storage.ARCHIVE)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    yield root
    storage.forget_stores(app)


@pytest.fixture(autouse=True)
def _outbox_not_paused(app):
    from portal.jobs import queue

    app.extensions.pop(queue._PAUSE_KEY, None)
    yield
    app.extensions.pop(queue._PAUSE_KEY, None)


@pytest.fixture
def letterhead(users):
    from portal.documents import letterhead as lh

    lh.save(LETTERHEAD, users["admin"])
    db.session.commit()
    return LETTERHEAD


@pytest.fixture
def vip_unit(unit_factory):
    """A VIP unit with two contacts and a contract 2025-07-01 – 2026-06-30 (¥20,000)."""
    from portal.customers import operations as cops

    unit = unit_factory(status="vip", name="浙江省第一人民医院", phone="0571-87000000")
    cops.add_contact(unit, name="张建华", department="信息科", phone="13800138000")
    cops.add_contact(unit, name="李秀英", department="财务科", phone="13900139000")
    cops.add_contract(unit, start_date=date(2025, 7, 1), end_date=date(2026, 6, 30), fee=Decimal("20000"))
    db.session.commit()
    return unit


@pytest.fixture
def redis_conn(app):
    from portal.core.redis_conn import get_redis

    return get_redis()


@pytest.fixture
def last_quarter():
    return periods.previous(periods.quarter(today_local()), periods.quarter)


def at(q: periods.Period, day: int, hour: int) -> datetime:
    """A Shanghai wall-clock time in the quarter, as stored (naive UTC)."""
    return from_local(datetime.combine(q.start, datetime.min.time()) + timedelta(days=day, hours=hour))


@pytest.fixture
def quarter_of_work(users, vip_unit, ticket_factory, last_quarter):
    """Last quarter at a VIP unit: four tickets (two solved maintenance problems, one on time and
    one late; an answered consultation; an open requirement), one ticket from before the quarter,
    a ticket callback scored 5, a monthly phone callback scored 3 and two on-site visits."""
    q = last_quarter
    soon = utcnow() + timedelta(days=1)
    on_time, late = ticket_factory(unit=vip_unit), ticket_factory(unit=vip_unit, summary="报表导出乱码")
    for t in (on_time, late):
        take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id, "deadline": soon})
        take_action(t, "resolve", users["engineer"], {"process": "查明原因", "result": "已修复", "hours_spent": 2})
    take_action(on_time, "callback", users["cs"], {"solved": True, "method": "phone", "text": "已解决", "satisfaction": 5})
    take_action(on_time, "close", users["market"], {})
    consultation = ticket_factory(unit=vip_unit, type="consultation", summary="如何导出月报")
    take_action(consultation, "answer", users["impl_manager"], {"answer": "在报表菜单导出"})
    requirement = ticket_factory(unit=vip_unit, type="requirement", summary="新增统计报表")
    before = ticket_factory(unit=vip_unit, summary="上季度的问题")
    db.session.commit()

    set_columns(Ticket, on_time.id, created_at=at(q, 0, 9), first_assigned_at=at(q, 0, 11), resolved_at=at(q, 0, 19),
                deadline=at(q, 1, 9))                                      # 2 h to assign, 10 h to solve, on time
    set_columns(Ticket, late.id, created_at=at(q, 2, 9), first_assigned_at=at(q, 2, 13), resolved_at=at(q, 3, 15),
                deadline=at(q, 3, 5))                                      # 4 h, 30 h, late
    set_columns(Ticket, consultation.id, created_at=at(q, 5, 9), resolved_at=at(q, 5, 14))  # answered in 5 h
    set_columns(Ticket, requirement.id, created_at=at(q, 10, 9))
    set_columns(Ticket, before.id, created_at=at(q, -3, 9))
    [ticket_cb] = db.session.query(Callback).all()
    set_columns(Callback, ticket_cb.id, made_at=at(q, 1, 10))
    plan.record(vip_unit, "monthly", users["cs"], method="phone", contact_person="张建华", outcome="系统运行正常",
                satisfaction=3, made_at=at(q, 20, 10))
    for day in (30, 60):  # visits recorded as callbacks before issue 15 (history kept; no longer recordable)
        db.session.add(Callback(kind="visit", customer_id=vip_unit.id, method="onsite", contact_person="张建华",
                                outcome="巡检", made_by_id=users["cs"].id, made_at=at(q, day, 10)))
    # On-site visits done (issue 15): a planned maintenance visit and one for the late ticket in the quarter;
    # a planned one done before it and one cancelled do not count.
    for origin, day, state in (("plan", 75, "done"), ("ticket", 3, "done"), ("plan", -5, "done"),
                               ("plan", 80, "cancelled")):
        done = state == "done"
        db.session.add(Visit(
            origin=origin, customer_id=vip_unit.id, ticket_id=late.id if origin == "ticket" else None,
            plan_period=q.key if origin == "plan" else None, state=state, reason="巡检",
            needed_at=at(q, day, 8), departed_at=at(q, day, 9) if done else None,
            arrived_at=at(q, day, 10) if done else None, left_at=at(q, day, 12) if done else None,
            confirmed_at=at(q, day, 12) if done else None, confirmed_by_name="张建华" if done else None,
            cancel_reason=None if done else "客户改期"))
    db.session.commit()
    return q
