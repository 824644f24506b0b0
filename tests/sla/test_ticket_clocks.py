"""The ticket's service-level clocks (issue 15 item 2), with frozen clocks: each promise kept, about to breach
(reminded once), breached (escalated once), settled (nothing more); a sweep run twice creates nothing new; the
clocks run from when the customer asked, not from when someone approved or registered it."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.core import workcalendar
from portal.core.kernel import Clock, kernel
from portal.core.timeutil import clock_set_to, from_local
from portal.extensions import db
from portal.notifications.models import Reminder
from portal.sla import clocks as sla_clocks
from portal.sla import sweep as sla_sweep
from portal.sla.models import ServiceClock
from portal.tickets import operations as ops
from portal.tickets.models import Ticket
from tests.test_query_counts import counting

CLOCK_KINDS = ("clock_due_soon", "clock_breached")


def at(local: str) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the database keeps."""
    return from_local(datetime.fromisoformat(local))


@pytest.fixture
def desk(users, unit_factory):
    class Desk:
        def register(self, when: str, reported: str | None = None, type="maintenance", unit=None) -> Ticket:
            with clock_set_to(at(when)):
                t = ops.register_ticket(users["cs"], ops.Intake(
                    channel="hotline", customer_id=(unit or unit_factory()).id, type=type, reporter_name="刘建国",
                    reporter_dept="信息科", reporter_phone="13800138000", summary="HIS 无法登录",
                    reported_at=at(reported) if reported else None))
                db.session.commit()
            return t

        def act(self, t: Ticket, action: str, who: str, when: str, **data):
            with clock_set_to(at(when)):
                ops.take_action(t, action, users[who], data)
                db.session.commit()

        def assign(self, t: Ticket, when: str, who="dev_manager"):
            self.act(t, "assign", who, when, assignee_id=users["engineer"].id,
                     deadline=at(when) + timedelta(days=5))

        def sweep(self, when: str) -> dict:
            with clock_set_to(at(when)):
                out = sla_sweep.sweep()
                db.session.commit()
            return out

    return Desk()


def clock_of(t: Ticket, key: str) -> ServiceClock:
    db.session.expire_all()
    return db.session.scalars(select(ServiceClock).where(ServiceClock.ticket_id == t.id, ServiceClock.key == key)
                              .order_by(ServiceClock.id.desc())).first()


def clock_reminders(t: Ticket) -> list[tuple[str, str | None, bool]]:
    """(kind, role, still open) of the ticket's clock reminders."""
    db.session.expire_all()
    return [(r.kind, r.role, r.closed_at is None) for r in db.session.scalars(
        select(Reminder).where(Reminder.ticket_id == t.id, Reminder.kind.in_(CLOCK_KINDS)).order_by(Reminder.id))]


# --- emergency response (urgent → first assignment), from when the customer asked ----------------------------

def test_the_emergency_clock_runs_from_the_customers_call_not_from_the_approval(desk):
    t = desk.register("2026-12-07 10:30", reported="2026-12-07 10:00")
    desk.act(t, "approve_urgent", "market", "2026-12-07 11:00", request="客户邮件要求优先处理")
    c = clock_of(t, "emergency_response")
    assert c.started_at == at("2026-12-07 10:00") and c.due_at == at("2026-12-07 12:00")
    assert c.role == "dev_manager" and c.escalate_role == "market_manager" and c.limit_value == 2


def test_an_emergency_assigned_in_time_is_kept_and_gets_nothing(desk):
    t = desk.register("2026-12-07 10:30", reported="2026-12-07 10:00")
    desk.act(t, "approve_urgent", "market", "2026-12-07 10:40", request="优先")
    desk.assign(t, "2026-12-07 11:10")
    assert clock_of(t, "emergency_response").outcome == "kept"
    assert desk.sweep("2026-12-07 13:00") == {"clock_due_soon": 0, "clock_breached": 0}
    assert clock_reminders(t) == []


def test_an_emergency_about_to_breach_is_reminded_once_then_escalated_once_then_settled(desk):
    t = desk.register("2026-12-07 10:30", reported="2026-12-07 10:00")
    desk.act(t, "approve_urgent", "market", "2026-12-07 10:40", request="优先")
    assert desk.sweep("2026-12-07 11:00")["clock_due_soon"] == 0  # 1 h of 2 left: not yet
    assert desk.sweep("2026-12-07 11:31")["clock_due_soon"] == 1  # the last quarter: remind
    assert desk.sweep("2026-12-07 11:32") == {"clock_due_soon": 0, "clock_breached": 0}  # once
    assert clock_reminders(t) == [("clock_due_soon", "dev_manager", True)]
    assert desk.sweep("2026-12-07 12:01")["clock_breached"] == 1
    assert desk.sweep("2026-12-07 12:05") == {"clock_due_soon": 0, "clock_breached": 0}
    assert clock_reminders(t) == [("clock_due_soon", "dev_manager", True), ("clock_breached", "market_manager", True)]
    desk.assign(t, "2026-12-07 12:30")
    c = clock_of(t, "emergency_response")
    assert c.outcome == "breached" and c.stopped_at == at("2026-12-07 12:30")
    assert clock_reminders(t) == [("clock_due_soon", "dev_manager", False), ("clock_breached", "market_manager", False)]
    assert desk.sweep("2026-12-07 13:00") == {"clock_due_soon": 0, "clock_breached": 0}  # stopped: nothing more


def test_urgency_approved_after_the_limit_starts_breached_and_is_escalated_without_a_late_reminder(desk):
    t = desk.register("2026-12-07 10:30", reported="2026-12-07 08:00")
    desk.act(t, "approve_urgent", "market", "2026-12-07 10:40", request="优先")
    assert desk.sweep("2026-12-07 10:41") == {"clock_due_soon": 0, "clock_breached": 1}


# --- first reply within 3 working days -------------------------------------------------------------------------

def test_first_reply_counts_working_days_over_a_weekend(desk):
    t = desk.register("2026-12-04 16:00")  # a Friday
    c = clock_of(t, "first_reply")
    assert c.due_at == at("2026-12-09 16:00")  # Mon, Tue, Wed
    assert c.role == "dev_manager" and c.escalate_role == "dev_manager"
    assert desk.sweep("2026-12-07 10:00") == {"clock_due_soon": 0, "clock_breached": 0}
    assert desk.sweep("2026-12-08 10:01")["clock_due_soon"] == 1  # a quarter of the span (5 days) left
    assert desk.sweep("2026-12-09 16:01")["clock_breached"] == 1
    assert desk.sweep("2026-12-09 16:02") == {"clock_due_soon": 0, "clock_breached": 0}
    desk.assign(t, "2026-12-10 09:00")
    assert clock_of(t, "first_reply").outcome == "breached"
    assert all(not still_open for *_, still_open in clock_reminders(t))


@pytest.mark.parametrize("registered, due", [
    # 2026: Mid-autumn 9-25..27 and National Day 10-01..07 are holidays; Sun 9-20 and Sat 10-10 make-up workdays.
    ("2026-09-29 10:00", "2026-10-09 10:00"),  # Tue: 9-30, then 10-08, 10-09 — not the holiday week's days
    ("2026-10-09 16:00", "2026-10-13 16:00"),  # Fri: the make-up Saturday 10-10, Mon 10-12, Tue 10-13
    ("2026-09-18 11:00", "2026-09-22 11:00"),  # Fri: the make-up Sunday 9-20, 9-21, 9-22
    ("2026-12-29 10:00", "2027-01-04 10:00"),  # Tue: 12-30, 12-31, then (no 2027 schedule yet) Mon 1-4
])
def test_first_reply_counts_chinese_working_days_with_holidays_and_make_up_days(desk, registered, due):
    t = desk.register(registered)
    assert clock_of(t, "first_reply").due_at == at(due)
    minute = timedelta(minutes=1)
    assert desk.sweep(str(datetime.fromisoformat(due) - minute))["clock_breached"] == 0
    assert desk.sweep(str(datetime.fromisoformat(due) + minute))["clock_breached"] == 1


def test_first_reply_of_a_unit_out_of_maintenance_is_the_market_departments(desk, unit_factory):
    t = desk.register("2026-12-04 16:00", unit=unit_factory(status="stopped"))
    assert clock_of(t, "first_reply").role == "market"


def test_first_reply_kept_by_the_first_assignment(desk):
    t = desk.register("2026-12-04 16:00")
    desk.assign(t, "2026-12-08 09:00")
    c = clock_of(t, "first_reply")
    assert c.outcome == "kept"
    desk.sweep("2026-12-10 09:00")  # past its reminder time and its limit: nothing for a stopped clock
    assert not db.session.scalars(select(Reminder).where(Reminder.key.in_([f"{k}:{c.id}" for k in CLOCK_KINDS]))).all()


def test_first_reply_of_a_consultation_is_its_answer_and_the_implementation_managers(desk):
    t = desk.register("2026-12-04 16:00", type="consultation")
    assert clock_of(t, "first_reply").role == "impl_manager"
    desk.act(t, "answer", "impl_engineer", "2026-12-07 09:00", answer="已电话指导操作")
    assert clock_of(t, "first_reply").outcome == "kept"


def test_first_reply_in_2027_counts_the_holidays_an_administrator_entered(desk, users):
    assert not workcalendar.package_knows(2027)  # chinesecalendar falls back to Monday–Friday there
    with clock_set_to(at("2027-01-20 09:00")):
        workcalendar.put([workcalendar.Entry(datetime(2027, 2, d).date(), "holiday", "春节") for d in range(8, 13)]
                         + [workcalendar.Entry(datetime(2027, 2, 14).date(), "workday", "春节调休")], users["admin"].id)
        db.session.commit()
    t = desk.register("2027-02-05 10:00")  # Friday; the week after is 春节, Sunday the 14th a make-up day
    assert clock_of(t, "first_reply").due_at == at("2027-02-16 10:00")  # Sun 14, Mon 15, Tue 16
    assert desk.sweep("2027-02-12 10:00") == {"clock_due_soon": 0, "clock_breached": 0}  # Mon–Fri would breach
    assert desk.sweep("2027-02-16 10:01")["clock_breached"] == 1


def test_entering_holidays_moves_the_due_date_of_a_running_first_reply_clock(desk, users):
    t = desk.register("2027-02-05 10:00")
    assert clock_of(t, "first_reply").due_at == at("2027-02-10 10:00")  # Monday–Friday, nothing entered yet
    with clock_set_to(at("2027-02-06 09:00")):
        workcalendar.put([workcalendar.Entry(datetime(2027, 2, d).date(), "holiday", "春节") for d in range(8, 13)],
                         users["admin"].id)
        db.session.commit()
    assert clock_of(t, "first_reply").due_at == at("2027-02-17 10:00")


# --- deadline told, callback -------------------------------------------------------------------------------

def test_deadline_told_in_time_is_kept(desk):
    t = desk.register("2026-12-07 09:00")
    desk.assign(t, "2026-12-07 10:00")
    c = clock_of(t, "tell_deadline")
    assert c.started_at == at("2026-12-07 10:00") and c.due_at == at("2026-12-07 14:00") and c.role == "cs"
    desk.act(t, "notify_deadline", "cs", "2026-12-07 11:00", whom="刘建国", method="phone")
    assert clock_of(t, "tell_deadline").outcome == "kept"
    assert desk.sweep("2026-12-07 15:00") == {"clock_due_soon": 0, "clock_breached": 0}


def test_deadline_not_told_is_reminded_once_to_cs_and_escalated_once_to_the_cs_manager(desk):
    t = desk.register("2026-12-07 09:00")
    desk.assign(t, "2026-12-07 10:00")
    assert desk.sweep("2026-12-07 13:01")["clock_due_soon"] == 1
    assert desk.sweep("2026-12-07 13:02")["clock_due_soon"] == 0
    assert desk.sweep("2026-12-07 14:01")["clock_breached"] == 1
    assert desk.sweep("2026-12-07 14:02")["clock_breached"] == 0
    assert clock_reminders(t) == [("clock_due_soon", "cs", True), ("clock_breached", "cs_manager", True)]
    desk.act(t, "notify_deadline", "cs", "2026-12-07 15:00", whom="刘建国", method="phone")
    assert clock_of(t, "tell_deadline").outcome == "breached"
    assert desk.sweep("2026-12-08 15:00") == {"clock_due_soon": 0, "clock_breached": 0}
    assert [o for *_, o in clock_reminders(t)] == [False, False]


def test_a_new_deadline_makes_the_untold_one_moot_and_starts_a_new_clock(desk, users):
    t = desk.register("2026-12-07 09:00")
    desk.assign(t, "2026-12-07 10:00")
    desk.act(t, "change_deadline", "dev_manager", "2026-12-07 11:00", deadline=at("2026-12-20 18:00"), reason="改期")
    rows = db.session.scalars(select(ServiceClock).where(ServiceClock.ticket_id == t.id,
                                                         ServiceClock.key == "tell_deadline")
                              .order_by(ServiceClock.id)).all()
    assert [(r.outcome, r.started_at) for r in rows] == [("void", at("2026-12-07 10:00")),
                                                         (None, at("2026-12-07 11:00"))]


def test_callback_in_time_is_kept_and_a_late_one_is_escalated_once(desk):
    kept, late = desk.register("2026-12-07 09:00"), desk.register("2026-12-07 09:00")
    for t in (kept, late):
        desk.assign(t, "2026-12-07 10:00")
        desk.act(t, "notify_deadline", "cs", "2026-12-07 10:30", whom="刘建国", method="phone")
        desk.act(t, "resolve", "engineer", "2026-12-07 12:00", process="重启服务", result="已恢复", hours_spent=1)
    assert clock_of(kept, "callback").due_at == at("2026-12-08 12:00")
    desk.act(kept, "callback", "cs", "2026-12-08 09:00", solved=True, satisfaction=5, method="phone", text="满意")
    assert clock_of(kept, "callback").outcome == "kept"
    assert desk.sweep("2026-12-08 06:01") == {"clock_due_soon": 1, "clock_breached": 0}  # the late one only
    assert desk.sweep("2026-12-08 12:01") == {"clock_due_soon": 0, "clock_breached": 1}
    assert desk.sweep("2026-12-08 12:02") == {"clock_due_soon": 0, "clock_breached": 0}
    assert clock_reminders(kept) == []
    desk.act(late, "callback", "cs", "2026-12-08 15:00", solved=True, satisfaction=4, method="phone", text="已解决")
    assert clock_of(late, "callback").outcome == "breached"
    assert desk.sweep("2026-12-09 15:00") == {"clock_due_soon": 0, "clock_breached": 0}


def test_closing_a_ticket_voids_its_running_clocks(desk):
    t = desk.register("2026-12-07 09:00")
    desk.act(t, "reject", "dev_manager", "2026-12-07 09:30", reason="重复登记")
    assert clock_of(t, "first_reply").outcome == "void"
    assert desk.sweep("2026-12-12 09:00") == {"clock_due_soon": 0, "clock_breached": 0}


# --- generic: any registered clock, a visit's clock leads to the visit ---------------------------------------

def test_any_registered_clock_is_swept_and_a_visits_reminder_leads_to_the_visit(app, desk, users, monkeypatch):
    from portal.notifications.routes import reminder_link

    monkeypatch.setitem(kernel.clocks, "onsite_test", Clock("onsite_test", "上门", "onsite_within_hours"))
    t = desk.register("2026-12-07 09:00")
    with clock_set_to(at("2026-12-07 09:00")):
        sla_clocks.start("onsite_test", started_at=at("2026-12-07 09:00"), policy=ops.policy.policy(),
                         level="ordinary", ticket_id=t.id, visit_id=77, customer_id=t.customer_id,
                         department="dev", user_id=users["engineer"].id, escalate_role="dev_manager")
        db.session.commit()
    assert desk.sweep("2026-12-08 03:01")["clock_due_soon"] == 1
    assert desk.sweep("2026-12-08 09:01")["clock_breached"] == 1
    rows = db.session.scalars(select(Reminder).where(Reminder.key.like("clock_%:%"),
                                                     Reminder.period == "v77")).all()
    assert sorted((r.kind, r.user_id, r.role, r.ticket_id) for r in rows) == [
        ("clock_breached", None, "dev_manager", None), ("clock_due_soon", users["engineer"].id, None, None)]
    with app.test_request_context():
        assert {reminder_link(r) for r in rows} == {"/visits/77"}


# --- the sweep's statements do not grow with the clocks ------------------------------------------------------

def _sweep_statements(when: str) -> int:
    with clock_set_to(at(when)), counting() as seen:
        sla_sweep.sweep()
    db.session.commit()
    return len(seen)


def test_the_sweep_issues_the_same_statements_for_two_clocks_as_for_forty(desk):
    for _ in range(2):
        desk.register("2026-12-07 09:00")
    few = _sweep_statements("2026-12-10 09:00")
    for _ in range(38):
        desk.register("2026-12-07 10:00")
    many = _sweep_statements("2026-12-10 10:00")
    assert db.session.scalar(select(func.count()).select_from(Reminder).where(Reminder.kind.in_(CLOCK_KINDS))) == 40
    assert few == many <= 6
