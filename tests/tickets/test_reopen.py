"""Reopening a closed ticket (市场部, SPEC §3): back to the previous assignee with a deadline that is still ahead."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.tickets import workflow
from portal.tickets.models import Event
from portal.tickets.operations import take_action
from tests.tickets.test_obligations import act, open_reminders


def closed_ticket(users, ticket_factory):
    t = ticket_factory()
    act(t, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(days=2))
    act(t, "resolve", users["engineer"], process="p", result="r", hours_spent=1)
    act(t, "callback", users["cs"], solved=True, satisfaction=5, method="phone", text="好")
    act(t, "close", users["market"], note="")
    return t


def test_reopening_after_the_old_deadline_passed_asks_for_a_new_deadline_and_changes_nothing(users, ticket_factory):
    t = closed_ticket(users, ticket_factory)
    t.deadline = utcnow() - timedelta(hours=1)  # the deadline ran out while it was closed
    db.session.commit()
    version = t.version
    with pytest.raises(workflow.InvalidInput) as e:
        take_action(t, "reopen", users["market"], {"reason": "又出现了"})
    db.session.rollback()
    assert "deadline" in e.value.errors
    db.session.refresh(t)
    assert (t.state, t.version) == ("closed", version)


def test_reopening_with_a_new_deadline_sets_it(users, ticket_factory):
    t = closed_ticket(users, ticket_factory)
    t.deadline = utcnow() - timedelta(hours=1)
    db.session.commit()
    new = utcnow() + timedelta(days=1)
    act(t, "reopen", users["market"], reason="又出现了", deadline=new)
    assert t.state == "assigned" and t.deadline == new and t.assignee_id == users["engineer"].id
    last = db.session.scalar(select(Event).where(Event.ticket_id == t.id).order_by(Event.id.desc()).limit(1))
    assert last.action == "reopen" and last.data["deadline"] == new.isoformat()  # the deadline in force


def test_reopening_asks_for_a_new_deadline_even_while_the_old_one_is_ahead(users, ticket_factory):
    # Issue 14: reopened work is a new promise to the customer, never the old deadline again.
    t = closed_ticket(users, ticket_factory)
    version = t.version
    with pytest.raises(workflow.InvalidInput) as e:
        take_action(t, "reopen", users["market"], {"reason": "又出现了"})
    db.session.rollback()
    assert "deadline" in e.value.errors
    db.session.refresh(t)
    assert (t.state, t.version) == ("closed", version)


def test_reopening_asks_cs_to_tell_the_customer_the_new_deadline(users, ticket_factory):
    t = closed_ticket(users, ticket_factory)
    act(t, "reopen", users["market"], reason="又出现了", deadline=utcnow() + timedelta(days=1))
    assert open_reminders(t.id) == [("tell_deadline", "cs")]
    assert t.deadline_notified_at is None


def solved_not(users, ticket_factory):
    """A ticket whose callback is due: assigned, told, resolved."""
    t = ticket_factory()
    act(t, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(days=2))
    act(t, "notify_deadline", users["cs"], whom="刘建国", method="phone")
    act(t, "resolve", users["engineer"], process="p", result="r", hours_spent=1)
    return t


def test_an_unsolved_callback_without_a_new_deadline_is_refused_and_changes_nothing(users, ticket_factory):
    t = solved_not(users, ticket_factory)
    version = t.version
    with pytest.raises(workflow.InvalidInput) as e:
        take_action(t, "callback", users["cs"], {"solved": False, "method": "phone", "text": "还是不行"})
    db.session.rollback()
    assert "deadline" in e.value.errors
    db.session.refresh(t)
    assert (t.state, t.version) == ("resolved", version)


def test_an_unsolved_callback_sends_the_ticket_back_with_a_new_deadline_to_tell_the_customer(users, ticket_factory):
    t = solved_not(users, ticket_factory)
    new = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    act(t, "callback", users["cs"], solved=False, method="phone", text="还是不行", deadline=new)
    assert (t.state, t.assignee_id, t.deadline, t.deadline_notified_at) == (
        "assigned", users["engineer"].id, new, None)
    # (and the managers of quality are to follow the unsolved callback up: tests/signals)
    assert open_reminders(t.id) == [("quality_follow_up", None), ("tell_deadline", "cs")]


def test_an_unsolved_callback_refuses_a_deadline_in_the_past(users, ticket_factory):
    t = solved_not(users, ticket_factory)
    with pytest.raises(workflow.InvalidInput) as e:
        take_action(t, "callback", users["cs"], {"solved": False, "method": "phone", "text": "还是不行",
                                                 "deadline": utcnow() - timedelta(hours=1)})
    db.session.rollback()
    assert "deadline" in e.value.errors
