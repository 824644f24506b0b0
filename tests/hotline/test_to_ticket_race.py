"""Two desks turn the same hotline record into a ticket at the same moment: one ticket, one link.

SQLite (a file in WAL mode): writers are serialised by BEGIN IMMEDIATE, so the second request waits, then
finds the record already linked and is sent to that ticket. PostgreSQL: both requests have read the record as
unlinked and are about to claim it; the claim is one conditional UPDATE (… WHERE ticket_id IS NULL), so the
second matches no row once the first commits, rolls its ticket back and is sent to the first one's ticket.
A threading.Barrier makes the requests overlap where it matters for each database (as in
tests/tickets/test_concurrency.py).
"""
from __future__ import annotations

import threading

from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from portal.extensions import db
from portal.hotline.models import HotlineRecord
from portal.hotline.operations import RecordInput, create_record
from portal.tickets.models import Ticket
from tests.conftest import PASSWORD

RENDEZVOUS_TIMEOUT = 30  # seconds; only reached if the race is broken (then the test fails)


def test_two_desks_converting_one_record_at_once_make_one_ticket_and_both_land_on_it(app, auth, users,
                                                                                    unit_factory):
    unit = unit_factory()
    record = create_record(users["cs"], RecordInput(unit_name="", customer_id=unit.id, phone="13612345678",
                                                    contact_name="钱进", content="系统登录时提示密码过期"))
    db.session.commit()
    record_id, unit_id = record.id, unit.id
    first = auth.client_for("cs")
    second = app.test_client()  # customer service at another desk
    assert second.post("/login", data={"username": "cs", "password": PASSWORD}).status_code == 302
    engine = db.engine
    db.session.commit()
    db.session.close()  # the main thread holds no transaction (on SQLite: no lock) while the requests race

    barrier = threading.Barrier(2, timeout=RENDEZVOUS_TIMEOUT)
    met: set[str] = set()

    def rendezvous_once():
        name = threading.current_thread().name
        if name in ("holder", "waiter") and name not in met:
            met.add(name)
            barrier.wait()

    if engine.dialect.name == "sqlite":
        def after_begin(conn):
            if threading.current_thread().name == "holder":
                rendezvous_once()

        def on_checkout(dbapi_connection, connection_record, connection_proxy):
            if threading.current_thread().name == "waiter":
                rendezvous_once()

        listeners = [(engine, "begin", after_begin), (engine.pool, "checkout", on_checkout)]
    else:
        def before_claim(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("UPDATE HOTLINE_RECORDS"):
                rendezvous_once()

        listeners = [(engine, "before_cursor_execute", before_claim)]
    for target, name, fn in listeners:
        sa_event.listen(target, name, fn)

    results: dict[str, object] = {}

    def convert(name: str, client):
        try:
            r = client.post(f"/tickets/new?hotline_record_id={record_id}", data={
                "hotline_record_id": str(record_id), "channel": "hotline", "customer_id": str(unit_id),
                "type": "maintenance", "reporter_name": "钱进", "reporter_dept": "信息科",
                "reporter_phone": "13612345678", "summary": f"登录提示密码过期（{name}）"})
            results[name] = (r.status_code, r.headers.get("Location", ""))
        except Exception as e:  # reported below, not swallowed
            results[name] = e

    threads = [threading.Thread(target=convert, args=("holder", first), name="holder"),
               threading.Thread(target=convert, args=("waiter", second), name="waiter")]
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
    db.session.expire_all()
    tickets = list(db.session.scalars(select(Ticket)))
    assert len(tickets) == 1, [t.summary for t in tickets]
    assert [code for code, _ in results.values()] == [302, 302]
    assert {loc.rsplit("/", 1)[-1] for _, loc in results.values()} == {tickets[0].number}
    assert db.session.get(HotlineRecord, record_id).ticket_id == tickets[0].id
    assert db.session.scalar(select(func.count()).select_from(HotlineRecord)) == 1
