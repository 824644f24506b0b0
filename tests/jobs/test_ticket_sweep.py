"""The ticket sweep: past the deadline (assignee, then the manager), urgent without response,
first reply within 3 working days by the Chinese calendar. Tickets are made through the real
operations; time passes by moving their timestamps in the database and passing `now`."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core.policy import policy
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.tickets.jobs import sweep
from portal.tickets.models import Ticket
from portal.tickets.operations import take_action
from tests.jobs.helpers import local, reminders, set_columns


def act(ticket, action, user, **data):
    take_action(ticket, action, user, data)
    db.session.commit()
    db.session.expire_all()


def assign(ticket, manager, assignee):
    act(ticket, "assign", manager, assignee_id=assignee.id, deadline=utcnow() + timedelta(days=3))


def run(now):
    created = sweep(now=now)
    db.session.commit()
    return created


@pytest.fixture
def assigned(ticket_factory, users):
    """A maintenance problem assigned to the engineer, its deadline 2026-11-02 17:00 (Shanghai)."""
    t = ticket_factory()
    assign(t, users["dev_manager"], users["engineer"])
    set_columns(Ticket, t.id, deadline=local(2026, 11, 2, 17))
    return db.session.get(Ticket, t.id)


def test_ticket_past_its_deadline_reminds_the_assignee(assigned, users):
    deadline = local(2026, 11, 2, 17)
    assert run(deadline - timedelta(minutes=1))["overdue"] == 0
    assert run(deadline + timedelta(hours=1))["overdue"] == 1
    [r] = reminders(kind="overdue")
    assert (r.ticket_id, r.user_id, r.role, r.due_at) == (assigned.id, users["engineer"].id, None, deadline)
    assert reminders(kind="overdue_manager") == []


def test_overdue_longer_than_the_escalation_window_also_reminds_the_dev_manager(assigned):
    deadline = local(2026, 11, 2, 17)
    hours = policy().overdue_escalate_hours
    run(deadline + timedelta(hours=hours) - timedelta(minutes=1))
    assert reminders(kind="overdue_manager") == []
    created = run(deadline + timedelta(hours=hours, minutes=1))
    assert created["overdue_manager"] == 1
    [r] = reminders(kind="overdue_manager")
    assert (r.ticket_id, r.role, r.user_id) == (assigned.id, "dev_manager", None)
    assert len(reminders(kind="overdue")) == 1  # the assignee's reminder is not repeated


def test_problem_routed_to_implementation_escalates_to_the_impl_manager(ticket_factory, users):
    t = ticket_factory()
    act(t, "route_to_impl", users["dev_manager"], reason="属于实施配置问题")
    assign(t, users["impl_manager"], users["impl_engineer"])
    set_columns(Ticket, t.id, deadline=local(2026, 11, 2, 17))
    run(local(2026, 11, 5, 9))
    assert [r.role for r in reminders(kind="overdue_manager")] == ["impl_manager"]


def test_urgent_ticket_without_response_within_two_hours_reminds_the_manager(ticket_factory, users):
    t = ticket_factory()
    act(t, "approve_urgent", users["market"], request="客户来函要求优先处理")
    approved = local(2026, 11, 3, 10)
    set_columns(Ticket, t.id, urgent_approved_at=approved, created_at=approved - timedelta(minutes=30))
    hours = policy().emergency_response_hours
    assert hours == 2
    assert run(approved + timedelta(hours=2) - timedelta(minutes=1))["urgent_no_response"] == 0
    assert run(approved + timedelta(hours=2, minutes=1))["urgent_no_response"] == 1
    [r] = reminders(kind="urgent_no_response")
    assert (r.ticket_id, r.role) == (t.id, "dev_manager")


def test_urgent_reminder_closes_once_the_ticket_is_assigned(ticket_factory, users):
    t = ticket_factory()
    act(t, "approve_urgent", users["market"], request="客户来函要求优先处理")
    approved = local(2026, 11, 3, 10)
    set_columns(Ticket, t.id, urgent_approved_at=approved, created_at=approved)
    run(approved + timedelta(hours=3))
    assign(db.session.get(Ticket, t.id), users["dev_manager"], users["engineer"])
    assert run(approved + timedelta(hours=4))["settled"] == 1
    [r] = reminders(kind="urgent_no_response")
    assert r.closed_at is not None and r.closed_note == "responded"


def registered_at(ticket_factory, when, **kw):
    t = ticket_factory(**kw)
    set_columns(Ticket, t.id, created_at=when, updated_at=when)
    return t


def first_reply_due(now) -> set[int]:
    run(now)
    return {r.ticket_id for r in reminders(kind="first_reply")}


def test_first_reply_window_is_three_working_days_across_the_national_day_holiday(ticket_factory):
    # 2026: Mid-autumn 9-25..27, National Day 10-01..07 (holidays); make-up workdays Sun 9-20 and Sat 10-10.
    # Registered Tue 9-29: its 3 working days are 9-30, 10-08, 10-09 — the reminder comes on the
    # make-up Saturday 10-10, not after the holiday week's first three days.
    t = registered_at(ticket_factory, local(2026, 9, 29, 10))
    assert first_reply_due(local(2026, 10, 8, 12)) == set()
    assert first_reply_due(local(2026, 10, 9, 23, 59)) == set()
    assert first_reply_due(local(2026, 10, 10, 0, 1)) == {t.id}
    [r] = reminders(kind="first_reply")
    assert r.role == "dev_manager" and r.due_at == local(2026, 9, 29, 10)


def test_first_reply_window_counts_the_make_up_saturday_as_a_working_day(ticket_factory):
    # Registered Fri 10-09: working days 10-10 (make-up Saturday), 10-12, 10-13 → due from 10-14.
    t = registered_at(ticket_factory, local(2026, 10, 9, 16))
    assert first_reply_due(local(2026, 10, 13, 23, 59)) == set()
    assert first_reply_due(local(2026, 10, 14, 0, 1)) == {t.id}


def test_first_reply_window_counts_the_make_up_sunday_before_mid_autumn(ticket_factory):
    # Registered Fri 9-18: working days 9-20 (make-up Sunday), 9-21, 9-22 → due from 9-23.
    t = registered_at(ticket_factory, local(2026, 9, 18, 11))
    assert first_reply_due(local(2026, 9, 22, 23, 59)) == set()
    assert first_reply_due(local(2026, 9, 23, 0, 1)) == {t.id}


def test_first_reply_window_skips_an_ordinary_weekend(ticket_factory):
    # Registered Thu 11-05: working days Fri 11-06, Mon 11-09, Tue 11-10 → due from Wed 11-11.
    t = registered_at(ticket_factory, local(2026, 11, 5, 9))
    assert first_reply_due(local(2026, 11, 10, 23, 59)) == set()
    assert first_reply_due(local(2026, 11, 11, 0, 1)) == {t.id}


def test_first_reply_reminder_goes_to_whoever_holds_the_ticket(ticket_factory, unit_factory):
    stopped = registered_at(ticket_factory, local(2026, 11, 2, 9), unit=unit_factory(status="stopped"))
    consultation = registered_at(ticket_factory, local(2026, 11, 2, 9), type="consultation")
    run(local(2026, 11, 6, 9))
    roles = {r.ticket_id: r.role for r in reminders(kind="first_reply")}
    assert roles == {stopped.id: "market", consultation.id: "impl_manager"}


def test_first_reply_reminder_closes_when_the_ticket_is_assigned(ticket_factory, users):
    t = registered_at(ticket_factory, local(2026, 11, 2, 9))
    run(local(2026, 11, 6, 9))
    assign(db.session.get(Ticket, t.id), users["dev_manager"], users["engineer"])
    assert run(local(2026, 11, 6, 10))["settled"] == 1
    [r] = reminders(kind="first_reply")
    assert r.closed_at is not None and r.closed_note == "replied"


def test_first_reply_reminder_moves_to_the_role_that_now_holds_the_unanswered_ticket(ticket_factory, unit_factory,
                                                                                      users):
    t = registered_at(ticket_factory, local(2026, 11, 2, 9), unit=unit_factory(status="stopped"))
    run(local(2026, 11, 6, 9))
    assert [(r.role, r.closed_at) for r in reminders(kind="first_reply")] == [("market", None)]
    act(db.session.get(Ticket, t.id), "record_contact", users["market"], outcome="proceed", text="客户同意付费")
    run(local(2026, 11, 6, 10))  # now waiting for the 开发部经理's analysis, still unanswered
    rows = {r.role: r for r in reminders(kind="first_reply")}
    assert set(rows) == {"market", "dev_manager"}
    assert rows["market"].closed_at is not None and rows["market"].closed_note == "replied"
    assert rows["dev_manager"].closed_at is None
    assert run(local(2026, 11, 6, 11))["first_reply"] == 0  # a second sweep adds nothing


def test_overdue_reminders_close_when_the_ticket_is_resolved(assigned, users):
    run(local(2026, 11, 5, 9))
    assert len(reminders(kind="overdue")) == len(reminders(kind="overdue_manager")) == 1
    act(assigned, "resolve", users["engineer"], process="远程处理", result="已解决", hours_spent=2)
    assert run(local(2026, 11, 5, 10))["settled"] == 2
    assert all(r.closed_at is not None and r.closed_note == "moved on"
               for r in reminders(kind="overdue") + reminders(kind="overdue_manager"))


def test_a_new_deadline_missed_again_gives_a_new_reminder(assigned, users):
    run(local(2026, 11, 3, 9))
    act(assigned, "resolve", users["engineer"], process="远程处理", result="已解决", hours_spent=2)
    run(local(2026, 11, 3, 10))
    # The callback finds it unsolved: back to the engineer, with a new deadline that passes too.
    act(db.session.get(Ticket, assigned.id), "callback", users["cs"], solved=False, method="phone",
        text="问题仍然存在", satisfaction=2, deadline=utcnow() + timedelta(days=2))
    set_columns(Ticket, assigned.id, deadline=local(2026, 11, 10, 17))
    run(local(2026, 11, 11, 9))
    overdue = reminders(kind="overdue")
    assert [r.closed_at is None for r in overdue] == [False, True]
    assert overdue[1].due_at == local(2026, 11, 10, 17)


def test_ticket_sweep_run_twice_creates_nothing_new(assigned, ticket_factory, users):
    urgent = ticket_factory()
    act(urgent, "approve_urgent", users["market"], request="客户来函要求优先处理")
    set_columns(Ticket, urgent.id, urgent_approved_at=local(2026, 11, 2, 9), created_at=local(2026, 11, 2, 9))
    now = local(2026, 11, 9, 9)
    first = run(now)
    assert first == {"overdue": 1, "overdue_manager": 1, "urgent_no_response": 1, "first_reply": 1, "settled": 0}
    count = len(reminders())
    assert run(now) == dict.fromkeys(first, 0)
    assert run(now + timedelta(hours=5)) == dict.fromkeys(first, 0)
    assert len(reminders()) == count


def test_ticket_back_with_the_engineer_after_an_unsolved_callback_is_watched_against_its_new_deadline(
        assigned, users):
    # The callback finds the problem unsolved: the ticket goes back to the engineer with a new
    # deadline (issue 14: never the one that has passed) — not overdue until that one passes too.
    run(local(2026, 11, 3, 9))
    act(assigned, "resolve", users["engineer"], process="远程处理", result="已解决", hours_spent=2)
    run(local(2026, 11, 3, 10))
    assert all(r.closed_at is not None for r in reminders(kind="overdue"))
    act(db.session.get(Ticket, assigned.id), "callback", users["cs"], solved=False, method="phone",
        text="问题仍然存在", satisfaction=2, deadline=utcnow() + timedelta(days=2))
    set_columns(Ticket, assigned.id, deadline=local(2026, 11, 5, 17))  # the new deadline, on the test's clock
    assert run(local(2026, 11, 3, 11))["overdue"] == 0
    created = run(local(2026, 11, 5, 18))
    open_overdue = [r for r in reminders(kind="overdue") if r.closed_at is None]
    assert [r.user_id for r in open_overdue] == [users["engineer"].id]
    assert created["overdue"] == 1


def test_sweep_works_in_a_year_the_chinese_calendar_has_no_data_for_yet(ticket_factory):
    # chinesecalendar knows the official schedule only once it is published; the sweep must not
    # fail on 1 January. Without data: Monday–Friday, except the fixed-date holidays (1 January, …).
    t = registered_at(ticket_factory, local(2026, 12, 29, 10))  # Tue; 12-30, 12-31, then Mon 2027-01-04
    assert first_reply_due(local(2027, 1, 4, 23, 59)) == set()
    assert first_reply_due(local(2027, 1, 5, 0, 1)) == {t.id}
