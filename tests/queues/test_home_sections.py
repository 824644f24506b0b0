"""The home page's work queues: each shows its first tickets in the queue's order and a count capped at
COUNT_CAP, read in three statements for all queues together (portal.queues.definitions.home_sections).

Checked against the plain definition of each queue — `queue_select` (every ticket the queue holds, in
order) — on seed-bench data, which has tickets in every state, urgent ones included."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.auth.models import User
from bench.seed import seed
from portal.core.enums import OPEN_STATES, State
from portal.extensions import db
from portal.queues import definitions
from portal.queues.definitions import BY_KEY, COUNT_CAP, home_sections, queue_select, queues_for
from portal.tickets.models import Ticket

ROLE_USERS = ["bench_cs", "bench_dev_manager", "bench_engineer1", "bench_impl_manager", "bench_impl_engineer1",
              "bench_market", "bench_market_manager"]


@pytest.fixture
def seeded(app):
    seed(tickets=600, customers=30, echo=lambda *_: None)
    db.session.expire_all()


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


@pytest.mark.parametrize("username", ROLE_USERS)
def test_each_queue_shows_its_first_tickets_in_queue_order_and_a_capped_count(seeded, username):
    u = user(username)
    sections = home_sections(u)
    assert [q.key for q, _, _ in sections] == [q.key for q in queues_for(u)]
    for q, count, rows in sections:
        everything = [t.id for t in db.session.scalars(queue_select(q, u))]
        assert [t.id for t in rows] == everything[:10], q.key
        assert count == min(len(everything), COUNT_CAP + 1), q.key


def test_a_queue_with_more_than_the_cap_counts_one_past_it(seeded, monkeypatch):
    monkeypatch.setattr(definitions, "COUNT_CAP", 3)
    u = user("bench_market")
    for q, count, rows in home_sections(u):
        total = len(db.session.scalars(queue_select(q, u)).all())
        assert count == min(total, 4), q.key


def test_urgent_queue_holds_urgent_tickets_of_every_open_state_and_no_closed_one(seeded):
    u = user("bench_market")
    q = BY_KEY["market_urgent"]
    held = db.session.scalars(queue_select(q, u)).all()
    urgent_open = db.session.scalars(select(Ticket).where(Ticket.urgent.is_(True),
                                                          Ticket.state != State.CLOSED.value)).all()
    assert {t.id for t in held} == {t.id for t in urgent_open} and held
    assert all(t.state in {s.value for s in OPEN_STATES} for t in held)


def test_all_queues_are_read_in_three_statements(seeded):
    """Counts, first ids, the tickets: three statements however many queues the user has."""
    from tests.test_query_counts import counting

    u = user("bench_market")
    home_sections(u)  # warm
    with counting() as seen:
        sections = home_sections(u)
    assert len(sections) == 4 and len(seen) == 3, seen
