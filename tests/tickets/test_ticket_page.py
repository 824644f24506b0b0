"""What the ticket page shows about a ticket's deadline, its handler and its notifications."""
from __future__ import annotations

import re
from datetime import timedelta

from portal.core.timeutil import utcnow
from portal.extensions import db
from tests.tickets.test_obligations import act
from tests.tickets.test_reopen import closed_ticket

TIME_LEFT = "剩余"  # msgid "%(t)s left"
OVERDUE_BY = "已超期"  # msgid "overdue by %(t)s"


def deadline_fact(html: str) -> str:
    """The side panel's 解决时限 entry."""
    m = re.search(r"<dt>解决时限</dt><dd>(.*?)</dd>", html, re.S)
    assert m, "the page shows the deadline"
    return m.group(1)


def test_a_ticket_under_way_shows_the_time_left_to_its_deadline(auth, users, ticket_factory):
    t = ticket_factory()
    act(t, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(days=4))
    assert TIME_LEFT in deadline_fact(auth.client_for("cs").get(f"/tickets/{t.number}").get_data(as_text=True))


def test_a_closed_ticket_shows_no_time_left_to_its_deadline(auth, users, ticket_factory):
    t = closed_ticket(users, ticket_factory)  # its deadline is still two days ahead
    fact = deadline_fact(auth.client_for("market").get(f"/tickets/{t.number}").get_data(as_text=True))
    assert TIME_LEFT not in fact and OVERDUE_BY not in fact


def test_a_resolved_ticket_past_its_deadline_shows_no_overdue(auth, users, ticket_factory):
    t = ticket_factory()
    act(t, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(days=1))
    act(t, "resolve", users["engineer"], process="p", result="r", hours_spent=1)
    t.deadline = utcnow() - timedelta(hours=2)  # the deadline passed while it waited for the callback
    db.session.commit()
    fact = deadline_fact(auth.client_for("cs").get(f"/tickets/{t.number}").get_data(as_text=True))
    assert TIME_LEFT not in fact and OVERDUE_BY not in fact
