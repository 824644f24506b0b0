"""The ticket sweep: past the deadline (assignee, then the manager). The promises (emergency response, first
reply within 3 working days, …) are service-level clocks: tests/sla/test_ticket_clocks.py. Tickets are made through the real
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
    ticket_factory()  # a new ticket, never answered: the sweep leaves it to its first-reply clock
    now = local(2026, 11, 9, 9)
    first = run(now)
    assert first == {"overdue": 1, "overdue_manager": 1, "settled": 0}
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
