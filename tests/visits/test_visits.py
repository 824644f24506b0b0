"""On-site service (上门服务, issue 15): a visit is a record of its own, its steps in order, its times real and
ordered, its 24-hour clock kept or breached by the arrival, and the service plan's visit settled only by a done
visit — never by a phone record. Frozen clocks (clock_set_to), real databases."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.core.timeutil import clock_set_to
from portal.extensions import db
from portal.notifications.models import Reminder
from portal.service_plan import operations as plan
from portal.service_plan.jobs import sweep
from portal.sla.models import ServiceClock
from portal.tickets import workflow
from portal.tickets.models import Event
from portal.tickets.operations import take_action
from portal.visits import operations as ops
from portal.visits.models import Visit, VisitEvent
from tests.jobs.helpers import local
from tests.visits.helpers import book, done_plan_visit, finish, need_onsite

T0 = local(2026, 6, 3, 9)  # a Wednesday, 09:00 in Shanghai


@pytest.fixture
def assigned(users, ticket_factory):
    """A maintenance problem assigned to 工程师 (engineer)."""
    with clock_set_to(T0 - timedelta(hours=2)):
        t = ticket_factory(summary="服务器无法启动")
        take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                        "deadline": T0 + timedelta(days=3)})
        db.session.commit()
    return t


@pytest.fixture
def old_unit(unit_factory):
    """A unit under maintenance since before 2026 (the sweep asks only units that existed in the period)."""
    from portal.customers.models import CustomerUnit
    from tests.jobs.helpers import set_columns

    def make(status):
        unit = unit_factory(status=status)
        set_columns(CustomerUnit, unit.id, created_at=local(2025, 12, 20, 10))
        return db.session.get(CustomerUnit, unit.id)

    return make


def onsite_clock(visit) -> ServiceClock:
    db.session.expire_all()
    return db.session.scalar(select(ServiceClock).where(ServiceClock.visit_id == visit.id,
                                                        ServiceClock.key == "onsite_24h"))


# --- from the ticket ---------------------------------------------------------------------------------

def test_marking_a_ticket_for_onsite_creates_a_needed_visit_and_starts_the_24h_clock_then(users, assigned):
    visit = need_onsite(assigned, users["cs"], T0)
    assert visit.state == "needed" and visit.ticket_id == assigned.id and visit.engineer_id == users["engineer"].id
    assert visit.needed_at == T0 and visit.department == "dev"
    assert [i["key"] for i in visit.checklist] == ["diagnose", "fix", "explain"]  # the configured list
    clock = onsite_clock(visit)
    assert clock.started_at == T0 and clock.due_at == T0 + timedelta(hours=24) and clock.running
    assert clock.ticket_id == assigned.id and clock.escalate_role == "dev_manager"
    event = db.session.scalar(select(Event).where(Event.ticket_id == assigned.id, Event.action == "need_onsite"))
    assert event is not None and event.from_state == event.to_state == "assigned"  # the ticket stays where it is
    assert [e.action for e in ops.history(visit)] == ["need_onsite"]


def test_the_assignee_may_mark_it_too_and_a_second_open_visit_is_refused(users, assigned):
    need_onsite(assigned, users["engineer"], T0)
    with pytest.raises(workflow.WrongState):
        take_action(assigned, "need_onsite", users["cs"], {"reason": "再次上门"})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1


def test_other_roles_may_not_mark_a_ticket_for_onsite(users, assigned):
    for role in ("market", "engineer2", "dev_manager"):
        with pytest.raises(workflow.NotAllowed):
            take_action(assigned, "need_onsite", users[role], {"reason": "x"})
        db.session.rollback()


# --- the steps, in order -----------------------------------------------------------------------------

def test_steps_are_refused_out_of_order(users, assigned):
    visit = need_onsite(assigned, users["cs"], T0)
    with clock_set_to(T0 + timedelta(minutes=5)):
        for step in (ops.depart, ops.arrive, ops.leave):
            with pytest.raises(ops.VisitError) as e:
                step(visit, users["engineer"])
            assert e.value.status == 409
            db.session.rollback()
    book(visit, users["cs"], users["engineer"], T0 + timedelta(minutes=10))
    with clock_set_to(T0 + timedelta(minutes=20)):
        with pytest.raises(ops.VisitError):
            ops.arrive(visit, users["engineer"])  # not yet departed
        db.session.rollback()
    assert db.session.get(Visit, visit.id).state == "booked"


def test_times_are_never_in_the_future_and_never_before_the_step_they_follow(users, assigned):
    visit = need_onsite(assigned, users["cs"], T0)
    book(visit, users["cs"], users["engineer"], T0 + timedelta(minutes=10))
    now = T0 + timedelta(hours=1)
    with clock_set_to(now):
        with pytest.raises(ops.VisitError) as e:
            ops.depart(visit, users["engineer"], now + timedelta(hours=1))
        assert e.value.status == 422 and "at" in e.value.errors
        db.session.rollback()
        with pytest.raises(ops.VisitError):
            ops.depart(visit, users["engineer"], T0 - timedelta(hours=1))  # before on-site was found necessary
        db.session.rollback()
        ops.depart(visit, users["engineer"], now - timedelta(minutes=30))
        db.session.commit()
        with pytest.raises(ops.VisitError) as e:
            ops.arrive(visit, users["engineer"], now - timedelta(minutes=40))  # before the departure
        assert "at" in e.value.errors
        db.session.rollback()
    visit = db.session.get(Visit, visit.id)
    assert visit.state == "on_the_way" and visit.arrived_at is None


def test_leaving_needs_the_result_the_checklist_and_the_customers_confirmation(users, assigned):
    visit = need_onsite(assigned, users["cs"], T0)
    book(visit, users["cs"], users["engineer"], T0)
    with clock_set_to(T0 + timedelta(hours=2)):
        ops.depart(visit, users["engineer"])
        ops.arrive(visit, users["engineer"])
        db.session.commit()
        with pytest.raises(ops.VisitError) as e:
            ops.leave(visit, users["engineer"])
        assert {"result", "checklist", "confirmation"} <= set(e.value.errors)
        db.session.rollback()
    visit = db.session.get(Visit, visit.id)
    with clock_set_to(T0 + timedelta(hours=3)):
        ops.record_work(visit, users["engineer"], done=["diagnose", "fix"], notes={"explain": "用户不在，已留言"},
                        result="更换电源后正常启动")
        with pytest.raises(ops.VisitError) as e:
            ops.confirm(visit, users["engineer"], name="张建华")  # neither a sheet nor a typed confirmation
        assert "sheet" in e.value.errors
        ops.confirm(visit, users["engineer"], name="张建华", text="问题已解决")
        ops.leave(visit, users["engineer"])
        db.session.commit()
    visit = db.session.get(Visit, visit.id)
    assert visit.state == "done" and visit.left_at == T0 + timedelta(hours=3)
    assert [e.action for e in ops.history(visit)] == ["need_onsite", "book", "depart", "arrive", "record_work",
                                                     "confirm", "leave"]


def test_history_is_appended_never_edited(users, assigned):
    visit = need_onsite(assigned, users["cs"], T0)
    first = [(e.id, e.action, e.created_at) for e in ops.history(visit)]
    book(visit, users["cs"], users["engineer"], T0 + timedelta(minutes=5))
    book(visit, users["cs"], users["engineer2"], T0 + timedelta(minutes=6))  # re-booked: another row
    rows = [(e.id, e.action, e.created_at) for e in ops.history(visit)]
    assert rows[:1] == first and [r[1] for r in rows] == ["need_onsite", "book", "book"]


def test_cancelling_needs_a_reason_and_voids_the_clock(users, assigned):
    visit = need_onsite(assigned, users["cs"], T0)
    with clock_set_to(T0 + timedelta(hours=1)):
        with pytest.raises(ops.VisitError):
            ops.cancel(visit, users["cs"], " ")
        db.session.rollback()
        ops.cancel(visit, users["cs"], "客户远程协助后已解决")
        db.session.commit()
    assert db.session.get(Visit, visit.id).state == "cancelled"
    assert onsite_clock(visit).outcome == "void"
    # and the ticket may be marked for on-site again
    need_onsite(assigned, users["engineer"], T0 + timedelta(hours=2))


# --- the 24-hour clock -------------------------------------------------------------------------------

def test_arrival_within_24_hours_keeps_the_clock(users, assigned):
    visit = need_onsite(assigned, users["cs"], T0)
    book(visit, users["cs"], users["engineer"], T0 + timedelta(hours=1))
    finish(visit, users["engineer"], T0 + timedelta(hours=20), arrive_after=timedelta(hours=3, minutes=59))
    clock = onsite_clock(visit)
    assert clock.outcome == "kept" and clock.stopped_at == T0 + timedelta(hours=23, minutes=59)


def test_arrival_after_24_hours_breaches_the_clock(users, assigned):
    visit = need_onsite(assigned, users["cs"], T0)
    book(visit, users["cs"], users["engineer"], T0 + timedelta(hours=1))
    finish(visit, users["engineer"], T0 + timedelta(hours=22), arrive_after=timedelta(hours=3))
    clock = onsite_clock(visit)
    assert clock.outcome == "breached" and clock.stopped_at == T0 + timedelta(hours=25)


def test_departure_to_an_urgent_ticket_stops_its_emergency_response_clock(users, assigned):
    take_action(assigned, "approve_urgent", users["market"], {"request": "客户来函要求加急"})
    # (the emergency clock is declared and started elsewhere; a running row is what it leaves)
    db.session.add(ServiceClock(key="emergency_response", run_key=f"emergency_response:t{assigned.id}",
                                ticket_id=assigned.id, level="ordinary", limit_value=2, started_at=T0,
                                due_at=T0 + timedelta(hours=2), remind_at=T0 + timedelta(hours=1, minutes=30)))
    db.session.commit()
    visit = need_onsite(assigned, users["cs"], T0 + timedelta(minutes=10))
    book(visit, users["cs"], users["engineer"], T0 + timedelta(minutes=20))
    with clock_set_to(T0 + timedelta(minutes=50)):
        ops.depart(visit, users["engineer"])
        db.session.commit()
    db.session.expire_all()
    emergency = db.session.scalar(select(ServiceClock).where(ServiceClock.key == "emergency_response"))
    assert emergency.outcome == "kept" and emergency.stopped_at == T0 + timedelta(minutes=50)
    assert onsite_clock(visit).running  # on site only when it arrives


# --- the service plan --------------------------------------------------------------------------------

def test_a_phone_record_cannot_settle_a_planned_visit(users, old_unit):
    vip = old_unit("vip")
    sweep(today=local(2026, 6, 2).date())
    db.session.commit()
    with pytest.raises(plan.PlanError) as e:
        plan.record(vip, "visit", users["cs"], method="phone", contact_person="张建华", outcome="电话回访")
    assert e.value.status == 409
    db.session.rollback()
    sweep(today=local(2026, 6, 20).date())
    db.session.commit()
    [r] = db.session.scalars(select(Reminder).where(Reminder.kind == "visit", Reminder.customer_id == vip.id))
    assert r.period == "2026-06" and r.closed_at is None


def test_a_visit_on_the_way_does_not_settle_it_and_a_done_one_does(users, old_unit):
    vip = old_unit("vip")
    sweep(today=local(2026, 6, 2).date())
    db.session.commit()
    with clock_set_to(local(2026, 6, 5, 9)):
        visit = ops.plan_visit(vip, users["cs"])
        db.session.commit()
    assert visit.plan_period == "2026-06" and [i["key"] for i in visit.checklist] == [
        "db_cleanup", "backup_check", "security_check", "inspection"]
    book(visit, users["cs"], users["impl_engineer"], local(2026, 6, 5, 9))
    with clock_set_to(local(2026, 6, 6, 9)):
        ops.depart(visit, users["impl_engineer"])
        db.session.commit()
    sweep(today=local(2026, 6, 6).date())
    db.session.commit()
    reminder = db.session.scalar(select(Reminder).where(Reminder.kind == "visit", Reminder.customer_id == vip.id))
    assert reminder.closed_at is None
    finish_from_the_way(visit, users["impl_engineer"], local(2026, 6, 6, 10))
    db.session.expire_all()
    reminder = db.session.get(Reminder, reminder.id)
    assert reminder.closed_at is not None and reminder.closed_note == plan.DONE_NOTE


def finish_from_the_way(visit, engineer, at):
    with clock_set_to(at):
        ops.arrive(visit, engineer)
        ops.record_work(visit, engineer, done=[i["key"] for i in visit.checklist], notes={}, result="巡检正常")
        ops.confirm(visit, engineer, name="张建华", text="确认")
        ops.leave(visit, engineer)
        db.session.commit()


def test_the_sweep_settles_a_visit_reminder_from_a_done_visit(users, old_unit):
    ordinary = old_unit("ordinary")
    done_plan_visit(ordinary, users, local(2026, 5, 10, 9))  # before the sweep opened the reminder
    sweep(today=local(2026, 5, 20).date())
    db.session.commit()
    [r] = db.session.scalars(select(Reminder).where(Reminder.kind == "visit", Reminder.customer_id == ordinary.id))
    assert r.period == "2026Q2" and r.closed_at is not None


def test_one_maintenance_visit_per_unit_and_period(users, unit_factory):
    vip = unit_factory(status="vip")
    with clock_set_to(local(2026, 6, 5, 9)):
        ops.plan_visit(vip, users["cs"])
        db.session.commit()
        with pytest.raises(ops.VisitError) as e:
            ops.plan_visit(vip, users["cs"])
        assert e.value.status == 409
    stopped = unit_factory(status="stopped")
    with pytest.raises(ops.VisitError):
        ops.plan_visit(stopped, users["cs"])


# --- the database refuses what the operations never write --------------------------------------------

def test_the_database_refuses_an_arrival_before_the_departure(users, assigned):
    visit = need_onsite(assigned, users["cs"], T0)
    visit.departed_at, visit.arrived_at = T0 + timedelta(hours=2), T0 + timedelta(hours=1)
    with pytest.raises(Exception):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(VisitEvent)) == 1
