"""Optimistic locking of tickets: a stale form and two concurrent `assign` requests.

Tickets carry a version (SQLAlchemy `version_id_col`); every form posts the version it was
rendered with. How a race between two real requests is resolved depends on the database:

* SQLite (a file in WAL mode): every non-GET request begins with BEGIN IMMEDIATE, which takes
  the database's single write lock before the request reads anything. So writers are
  serialised: the second request waits (busy_timeout) until the first commits, then reads the
  ticket as the first left it — already assigned, a new version — and gets 409.
* PostgreSQL: both requests read the ticket at the same version and both pass every check. Each
  then runs UPDATE tickets … WHERE id = ? AND version = ?. The first takes the row lock; the
  second waits for it, and once the first commits its WHERE matches 0 rows, so SQLAlchemy
  raises StaleDataError, which the workflow turns into StaleTicket → 409, rolled back.

Either way exactly one assignment is recorded. A threading.Barrier makes the requests overlap
at the point that matters for each database (no sleeps): on SQLite the second request is about
to ask for the write lock while the first holds it; on PostgreSQL both have read the ticket and
are about to write it.
"""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text

from portal.core.timeutil import to_local, utcnow
from portal.extensions import db
from portal.tickets.models import Event, Ticket, TicketAssignee
from tests.conftest import PASSWORD

RENDEZVOUS_TIMEOUT = 30  # seconds; only reached if the race is broken (then the test fails)


def deadline_in(days: int = 3) -> str:
    return (to_local(utcnow()) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def page_version(client, number: str, action: str) -> str:
    html = client.get(f"/tickets/{number}").get_data(as_text=True)
    tag = re.search(rf'<input[^>]*name="{action}-version"[^>]*>', html)
    assert tag, f"no {action} form on the page"
    return re.search(r'value="(\d+)"', tag.group(0)).group(1)


def state_of(number: str) -> tuple:
    db.session.expire_all()
    t = db.session.scalar(select(Ticket).where(Ticket.number == number))
    events = db.session.scalars(select(Event.action).where(Event.ticket_id == t.id).order_by(Event.id)).all()
    assignees = db.session.scalar(select(func.count()).select_from(TicketAssignee)
                                  .where(TicketAssignee.ticket_id == t.id))
    return t.state, t.assignee_id, t.version, t.deadline, list(events), assignees


def test_a_form_posted_with_an_old_version_gets_409_and_writes_nothing(auth, users, ticket_factory):
    number = ticket_factory().number
    dev = auth.client_for("dev_manager")
    version = page_version(dev, number, "assign")  # the dev manager opens the ticket …
    r = auth.client_for("market").post(f"/tickets/{number}/actions/approve_urgent", data={
        "approve_urgent-version": page_version(auth.client_for("market"), number, "approve_urgent"),
        "approve_urgent-request": "客户邮件要求加急"})
    assert r.status_code == 302  # … meanwhile 市场部 changes it
    before = state_of(number)

    r = dev.post(f"/tickets/{number}/actions/assign", data={
        "assign-version": version, "assign-assignee_id": str(users["engineer"].id),
        "assign-deadline": deadline_in(), "assign-analysis": "驱动问题"})
    assert r.status_code == 409
    assert "他人已作修改" in r.get_data(as_text=True), "a Chinese message says the ticket changed"
    assert state_of(number) == before
    # with the page reloaded, the same assignment goes through
    r = dev.post(f"/tickets/{number}/actions/assign", data={
        "assign-version": page_version(dev, number, "assign"), "assign-assignee_id": str(users["engineer"].id),
        "assign-deadline": deadline_in(), "assign-analysis": "驱动问题"})
    assert r.status_code == 302 and state_of(number)[0] == "assigned"


@pytest.mark.parametrize("same_assignee", [False, True], ids=["different-engineers", "same-engineer"])
def test_two_concurrent_assign_requests_one_succeeds_one_gets_409_one_assignment_recorded(
        app, auth, users, ticket_factory, same_assignee):
    number = ticket_factory().number
    first = auth.client_for("dev_manager")
    second = app.test_client()  # a second session of a dev manager (another browser)
    assert second.post("/login", data={"username": "dev_manager", "password": PASSWORD}).status_code == 302
    version = page_version(first, number, "assign")
    assert page_version(second, number, "assign") == version  # both forms show the same version
    # Thread names: on SQLite the "holder" is made to take the write lock first; on PostgreSQL
    # either may win the row lock. The same engineer twice also races on ticket_assignees' key.
    choices = {"holder": users["engineer"].id, "waiter": users["engineer" if same_assignee else "engineer2"].id}
    engine = db.engine
    dialect = engine.dialect.name
    if dialect == "sqlite":
        assert engine.url.database not in (None, "", ":memory:"), "concurrency needs a database file"
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    # The main thread must hold no transaction (on SQLite: no lock) while the requests race.
    db.session.commit()
    db.session.close()

    barrier = threading.Barrier(2, timeout=RENDEZVOUS_TIMEOUT)
    met: set[str] = set()

    def rendezvous_once():
        name = threading.current_thread().name
        if name in choices and name not in met:
            met.add(name)
            barrier.wait()

    if dialect == "sqlite":
        # The holder meets the waiter right after its BEGIN IMMEDIATE (portal.core.database), i.e.
        # holding the write lock; the waiter when it takes a connection for its request, just
        # before its own BEGIN IMMEDIATE — which then has to wait until the holder commits.
        def after_begin(conn):
            if threading.current_thread().name == "holder":
                rendezvous_once()

        def on_checkout(dbapi_connection, connection_record, connection_proxy):
            if threading.current_thread().name == "waiter":
                rendezvous_once()

        listeners = [(engine, "begin", after_begin), (engine.pool, "checkout", on_checkout)]
    else:
        # Both have read the ticket (same version, all checks passed) and are about to UPDATE it.
        def before_update(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("UPDATE TICKETS"):
                rendezvous_once()

        listeners = [(engine, "before_cursor_execute", before_update)]
    for target, name, fn in listeners:
        sa_event.listen(target, name, fn)

    results: dict[str, object] = {}

    def assign_as(name: str, client):
        try:
            r = client.post(f"/tickets/{number}/actions/assign", data={
                "assign-version": version, "assign-assignee_id": str(choices[name]),
                "assign-deadline": deadline_in(), "assign-analysis": f"{name} 分派"})
            results[name] = (r.status_code, r.get_data(as_text=True))
        except Exception as e:  # reported below, not swallowed
            results[name] = e

    threads = [threading.Thread(target=assign_as, args=("holder", first), name="holder"),
               threading.Thread(target=assign_as, args=("waiter", second), name="waiter")]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=2 * RENDEZVOUS_TIMEOUT)
    finally:
        for target, name, fn in listeners:
            sa_event.remove(target, name, fn)

    assert not any(t.is_alive() for t in threads), "a request hung"
    assert met == {"holder", "waiter"}, "both requests reached the rendezvous: they overlapped"
    assert all(isinstance(v, tuple) for v in results.values()), results
    statuses = sorted(code for code, _ in results.values())
    assert statuses == [302, 409], statuses
    winner = next(name for name, (code, _) in results.items() if code == 302)
    loser_body = next(body for code, body in results.values() if code == 409)
    assert 'id="ticket"' in loser_body  # the refusal shows the ticket as it is now

    state, assignee_id, new_version, deadline, events, assignees = state_of(number)
    assert (state, assignee_id) == ("assigned", choices[winner])
    assert new_version == int(version) + 1
    assert events == ["register", "assign"], "exactly one assignment recorded"
    assert assignees == 1
