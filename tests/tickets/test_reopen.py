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
from tests.tickets.test_obligations import act


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


def test_reopening_keeps_a_deadline_that_is_still_ahead(users, ticket_factory):
    t = closed_ticket(users, ticket_factory)
    kept = t.deadline
    act(t, "reopen", users["market"], reason="又出现了")
    assert t.state == "assigned" and t.deadline == kept
