"""Correcting when the customer reported the problem (`edit`, 客户反映时间): the clocks that run from it follow in
the same transaction — a running one gets its limit again from the new time (working days for the first reply),
a stopped one its outcome, and the compliance figures count it where it falls due now; a time after the
registration or more than 30 days before it is refused in Chinese and changes nothing; the history shows
old → new in local time. With frozen clocks (the desk of test_ticket_clocks.py) and through HTTP as 客服."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from portal.core.policy import policy
from portal.core.timeutil import clock_set_to, to_local, utcnow
from portal.extensions import db
from portal.hotline import operations as hotline
from portal.metrics import dashboard, queries, refresh
from portal.metrics.periods import of_kind
from portal.sla.models import ServiceClock
from portal.tickets import operations as ops
from portal.tickets.models import Event
from tests.jobs.helpers import run_burst_worker
from tests.sla.test_ticket_clocks import at, clock_of, clock_reminders, desk  # noqa: F401  (desk: the fixture)
from tests.tickets.test_flows_http import act, flash_error, form_version, page, post, snapshot, ticket
from tests.tickets.test_flows_http_real_days import edit_fields, typed


def correct(desk, t, when: str, reported: str, who: str = "cs"):
    desk.act(t, "edit", who, when, reported_at=at(reported))


def clocks_of(t) -> list[tuple]:
    """Everything a refused correction must leave alone on the ticket's clocks."""
    db.session.expire_all()
    return [(c.key, c.started_at, c.due_at, c.remind_at, c.stopped_at, c.outcome, c.reminded_at, c.escalated_at,
             c.updated_at) for c in db.session.scalars(select(ServiceClock).where(ServiceClock.ticket_id == t.id)
                                                       .order_by(ServiceClock.id))]


def first_reply_in(month: date) -> dict:
    scope = queries.Scope(of_kind("month", month))
    with clock_set_to(at("2026-12-20 09:00")):
        return next(p for p in dashboard.promises(scope, [scope.period], policy()) if p.key == "first_reply").figures


# --- running clocks -------------------------------------------------------------------------------------------

def test_an_earlier_report_time_moves_the_running_first_reply_clock_by_working_days(desk):
    t = desk.register("2026-12-07 09:00")  # Monday: 3 working days → Thursday 09:00
    assert clock_of(t, "first_reply").due_at == at("2026-12-10 09:00")
    correct(desk, t, "2026-12-07 09:30", "2026-12-04 16:00")  # the customer had written on Friday afternoon
    c = clock_of(t, "first_reply")
    assert t.reported_at == at("2026-12-04 16:00")
    assert (c.started_at, c.due_at, c.limit_value) == (at("2026-12-04 16:00"), at("2026-12-09 16:00"), 3)
    assert c.remind_at == c.due_at - (c.due_at - c.started_at) / 4  # as clocks.start computes it
    assert c.stopped_at is None and c.outcome is None
    assert desk.sweep("2026-12-09 16:01")["clock_breached"] == 1  # the sweep holds it to the new limit


def test_correcting_an_urgent_tickets_report_time_moves_its_emergency_clock_and_nothing_is_sent_twice(desk):
    t = desk.register("2026-12-07 10:30", reported="2026-12-07 10:00")
    desk.act(t, "approve_urgent", "market", "2026-12-07 10:40", request="客户邮件要求优先处理")
    assert clock_of(t, "emergency_response").due_at == at("2026-12-07 12:00")
    assert desk.sweep("2026-12-07 11:31")["clock_due_soon"] == 1  # the last half hour of two: reminded
    correct(desk, t, "2026-12-07 11:40", "2026-12-07 10:20")
    c = clock_of(t, "emergency_response")
    assert (c.started_at, c.due_at, c.remind_at) == (at("2026-12-07 10:20"), at("2026-12-07 12:20"),
                                                     at("2026-12-07 11:50"))
    assert clock_of(t, "first_reply").started_at == at("2026-12-07 10:20")  # both run from the customer's call
    assert desk.sweep("2026-12-07 11:55") == {"clock_due_soon": 0, "clock_breached": 0}  # reminded already
    assert desk.sweep("2026-12-07 12:21")["clock_breached"] == 1
    correct(desk, t, "2026-12-07 12:25", "2026-12-07 10:30")  # due 12:30 again, still ahead
    assert desk.sweep("2026-12-07 12:31") == {"clock_due_soon": 0, "clock_breached": 0}  # escalated already
    assert clock_reminders(t) == [("clock_due_soon", "dev_manager", True), ("clock_breached", "market_manager", True)]


# --- stopped clocks and the compliance figures ----------------------------------------------------------------

def test_a_kept_first_reply_becomes_breached_when_the_corrected_time_makes_it_late_and_the_figures_follow(desk):
    t = desk.register("2026-12-07 09:00")
    desk.assign(t, "2026-12-10 08:00")  # within Thursday 09:00
    assert clock_of(t, "first_reply").outcome == "kept"
    with clock_set_to(at("2026-12-10 08:30")):
        refresh.refresh(db.session.commit)
        db.session.commit()
    assert first_reply_in(date(2026, 12, 1)) == {"kept": 1, "breached": 0, "running": 0}
    stopped_before = clock_of(t, "first_reply").updated_at

    correct(desk, t, "2026-12-10 09:00", "2026-12-04 16:00")  # due Wednesday 16:00: the assignment was late
    c = clock_of(t, "first_reply")
    assert (c.due_at, c.stopped_at, c.outcome) == (at("2026-12-09 16:00"), at("2026-12-10 08:00"), "breached")
    assert c.updated_at > stopped_before
    with clock_set_to(at("2026-12-10 09:01")):
        run_burst_worker()  # the days the clock left and moved to are recounted once the correction committed
    assert first_reply_in(date(2026, 12, 1)) == {"kept": 0, "breached": 1, "running": 0}
    with clock_set_to(at("2026-12-10 09:10")):
        refresh.refresh(db.session.commit)  # the regular refresh counts it once, where it falls due now
        db.session.commit()
    assert first_reply_in(date(2026, 12, 1)) == {"kept": 0, "breached": 1, "running": 0}


def test_a_later_report_time_turns_a_breached_first_reply_into_a_kept_one(desk):
    t = desk.register("2026-12-07 09:00", reported="2026-12-04 16:00")
    desk.assign(t, "2026-12-10 08:00")
    assert clock_of(t, "first_reply").outcome == "breached"
    correct(desk, t, "2026-12-10 09:00", "2026-12-07 08:30")
    assert clock_of(t, "first_reply").outcome == "kept"


# --- refusals -------------------------------------------------------------------------------------------------

def test_a_report_time_after_the_registration_in_the_future_or_too_long_before_is_refused_in_chinese(auth, users,
                                                                                                     unit_factory):
    registered = utcnow().replace(second=0, microsecond=0) - timedelta(hours=3)
    with clock_set_to(registered):
        t = ops.register_ticket(users["cs"], ops.Intake(
            channel="email", customer_id=unit_factory().id, type="maintenance", reporter_name="刘建国",
            reporter_dept="信息科", reporter_phone="13800138000", summary="HIS 无法登录",
            reported_at=registered - timedelta(hours=1)))
        ops.take_action(t, "approve_urgent", users["market"], {"request": "优先"})
        db.session.commit()
    number, cs = t.number, auth.client_for("cs")
    before, clocks_before = snapshot(number), clocks_of(t)
    assert len(clocks_before) == 2
    version = form_version(page(cs, number), "edit")
    for when, words in ((registered + timedelta(minutes=1), "不能晚于登记时间"),
                        (utcnow() + timedelta(hours=2), "不能晚于登记时间"),
                        (registered - timedelta(days=30, minutes=1), "不能早于登记时间 30 天以上")):
        r = post(cs, number, "edit", version, **edit_fields(number, reported_at=typed(when), summary="改了摘要"))
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and words in html, (when, r.status_code)
        field = re.search(r'<input[^>]*name="edit-reported_at"[^>]*>\s*<div class="err"[^>]*>([^<]*)', html)
        assert field and words in field.group(1)  # on the field itself
        assert snapshot(number) == before and clocks_of(t) == clocks_before
    r = post(cs, number, "edit", version, **edit_fields(number, reported_at=typed(registered - timedelta(days=30))))
    assert r.status_code == 302  # 30 days before is still within


def test_a_report_time_unchanged_is_no_change(auth, users, unit_factory):
    from tests.tickets.test_flows_http import register

    number = register(auth, unit_factory())
    cs, before = auth.client_for("cs"), snapshot(number)
    html = page(cs, number)
    shown = re.search(r'<input[^>]*name="edit-reported_at"[^>]*>', html).group(0)
    assert f'value="{typed(ticket(number).reported_at)}"' in shown and 'type="datetime-local"' in shown
    r = post(cs, number, "edit", form_version(html, "edit"),
             **edit_fields(number, reported_at=typed(ticket(number).reported_at)))
    assert r.status_code == 422 and "没有任何更改" in flash_error(r) and snapshot(number) == before


def test_a_hotline_records_own_time_may_be_given_back_however_long_ago_but_nothing_earlier(auth, users,
                                                                                          unit_factory):
    unit = unit_factory()
    with clock_set_to(utcnow() - timedelta(days=40)):  # the call was logged 40 days ago, registered only now
        record = hotline.create_record(users["cs"], hotline.RecordInput(
            unit_name=unit.name, phone="13800138000", contact_name="刘建国", content="打印机无法打印",
            customer_id=unit.id))
        db.session.commit()
    cs = auth.client_for("cs")
    r = cs.post("/tickets/new", data={"channel": "hotline", "customer_id": str(unit.id), "type": "maintenance",
                                      "reporter_name": "刘建国", "reporter_dept": "信息科",
                                      "reporter_phone": "13800138000", "summary": "打印机无法打印",
                                      "reported_at": "", "hotline_record_id": str(record.id)})
    assert r.status_code == 302
    number = r.headers["Location"].rsplit("/", 1)[-1]
    yesterday = utcnow().replace(second=0, microsecond=0) - timedelta(days=1)
    act(cs, number, "edit", **edit_fields(number, reported_at=typed(yesterday)))
    assert ticket(number).reported_at == yesterday
    before = snapshot(number)
    r = post(cs, number, "edit", form_version(page(cs, number), "edit"),
             **edit_fields(number, reported_at=typed(record.created_at - timedelta(minutes=1))))
    assert r.status_code == 422 and "30 天以上" in r.get_data(as_text=True) and snapshot(number) == before
    act(cs, number, "edit", **edit_fields(number, reported_at=typed(record.created_at)))
    assert ticket(number).reported_at == record.created_at.replace(second=0, microsecond=0)


# --- through HTTP: the history ----------------------------------------------------------------------------------

def test_customer_service_corrects_the_report_time_and_the_history_shows_old_and_new_in_local_time(auth, users,
                                                                                                  unit_factory):
    from tests.tickets.test_flows_http import register

    number = register(auth, unit_factory())
    t = ticket(number)
    old, new = t.reported_at, t.reported_at.replace(second=0, microsecond=0) - timedelta(hours=1, minutes=20)
    cs = auth.client_for("cs")
    act(cs, number, "edit", **edit_fields(number, reported_at=typed(new), reason="客户上午已来电"))
    t = ticket(number)
    assert t.reported_at == new
    assert db.session.scalar(select(ServiceClock).where(ServiceClock.ticket_id == t.id)).started_at == new
    event = db.session.scalars(select(Event).where(Event.ticket_id == t.id, Event.action == "edit")).one()
    assert event.data["changes"] == {"reported_at": [old.isoformat(), new.isoformat()]}
    html = page(cs, number)
    local = lambda dt: to_local(dt).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    assert f"客户反映时间</span>：<del>{local(old)}</del> → {local(new)}" in html
