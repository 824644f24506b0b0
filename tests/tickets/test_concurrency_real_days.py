"""A reassignment racing the resolution of the same ticket (issue 14): the manager gives the ticket to
another engineer while the engineer records it solved. Both forms were loaded at the same version;
exactly one request wins, the other gets 409 and writes nothing, and the history tells one story.

The race is staged as in test_concurrency.py (a Barrier, no sleeps): on SQLite (a file, WAL) the
holder meets the waiter right after its BEGIN IMMEDIATE, so the waiter's BEGIN IMMEDIATE waits for the
holder's commit and then reads the new version; on PostgreSQL both have read the ticket and passed every
check, and meet just before their UPDATE … WHERE version = ? — the second finds no row at its version.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import text

from portal.extensions import db
from portal.tickets.consistency import check
from tests.conftest import PASSWORD
from tests.tickets.test_concurrency import RENDEZVOUS_TIMEOUT, deadline_in, page_version, state_of


@pytest.mark.parametrize("holder", ["reassign", "resolve"], ids=["reassign-first", "resolve-first"])
def test_a_reassignment_racing_a_resolution_one_wins_the_other_gets_409(app, auth, users, ticket_factory, holder):
    number = ticket_factory().number
    manager = auth.client_for("dev_manager")
    r = manager.post(f"/tickets/{number}/actions/assign", data={
        "assign-version": page_version(manager, number, "assign"), "assign-assignee_id": str(users["engineer"].id),
        "assign-deadline": deadline_in(), "assign-analysis": "驱动问题"})
    assert r.status_code == 302
    engineer = app.test_client()
    assert engineer.post("/login", data={"username": "engineer", "password": PASSWORD}).status_code == 302
    version = page_version(manager, number, "reassign")
    assert page_version(engineer, number, "resolve") == version  # both forms show the same version

    posts = {
        "reassign": (manager, "reassign", {"assignee_id": str(users["engineer2"].id), "deadline": "",
                                           "reason": "工程师病假"}),
        "resolve": (engineer, "resolve", {"process_text": "重装驱动", "result": "打印恢复", "hours_spent": "1"}),
    }
    ids = {name: users[name].id for name in ("engineer", "engineer2")}  # (read now: the session closes below)
    role_of = {"holder": holder, "waiter": "resolve" if holder == "reassign" else "reassign"}
    engine = db.engine
    dialect = engine.dialect.name
    if dialect == "sqlite":
        assert engine.url.database not in (None, "", ":memory:"), "concurrency needs a database file"
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    db.session.commit()
    db.session.close()  # the main thread holds no transaction (no lock) while the requests race

    barrier = threading.Barrier(2, timeout=RENDEZVOUS_TIMEOUT)
    met: set[str] = set()

    def rendezvous_once():
        name = threading.current_thread().name
        if name in role_of and name not in met:
            met.add(name)
            barrier.wait()

    if dialect == "sqlite":
        def after_begin(conn):
            if threading.current_thread().name == "holder":
                rendezvous_once()

        def on_checkout(dbapi_connection, connection_record, connection_proxy):
            if threading.current_thread().name == "waiter":
                rendezvous_once()

        listeners = [(engine, "begin", after_begin), (engine.pool, "checkout", on_checkout)]
    else:
        def before_update(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("UPDATE TICKETS"):
                rendezvous_once()

        listeners = [(engine, "before_cursor_execute", before_update)]
    for target, name, fn in listeners:
        sa_event.listen(target, name, fn)

    results: dict[str, object] = {}

    def take(name: str):
        client, action, fields = posts[role_of[name]]
        try:
            data = {f"{action}-{k}": v for k, v in fields.items()}
            data[f"{action}-version"] = version
            r = client.post(f"/tickets/{number}/actions/{action}", data=data)
            results[role_of[name]] = (r.status_code, r.get_data(as_text=True))
        except Exception as e:  # reported below, not swallowed
            results[role_of[name]] = e

    threads = [threading.Thread(target=take, args=(n,), name=n) for n in ("holder", "waiter")]
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
    assert sorted(code for code, _ in results.values()) == [302, 409]
    winner = next(action for action, (code, _) in results.items() if code == 302)
    loser_body = next(body for code, body in results.values() if code == 409)
    assert "他人已作修改" in loser_body, "the loser hears that someone else changed the ticket"

    state, assignee_id, new_version, _deadline, events, _assignees = state_of(number)
    assert new_version == int(version) + 1, "one change, not two"
    assert events == ["register", "assign", winner], "exactly one of the two recorded"
    if winner == "reassign":
        assert (state, assignee_id) == ("assigned", ids["engineer2"])
    else:
        assert (state, assignee_id) == ("resolved", ids["engineer"])
    assert check() == [], "the history is consistent"
