"""No page issues more SQL statements when it shows more rows: every list page (and the ticket page) is
measured with few rows and with many, and must issue the same, small number of statements both times.

Statements are counted with SQLAlchemy's before_cursor_execute (BEGIN included on SQLite) during one request.
"""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from portal.extensions import db

BOUND = 20  # statements per page, whatever the number of rows
FEW, MANY = 5, 60
PAGES = [  # (user, path) — each page seen by someone it shows rows to
    ("cs", "/"), ("dev_manager", "/"), ("engineer", "/"), ("market", "/"),
    ("cs", "/tickets"), ("engineer", "/tickets"),
    ("cs", "/tickets?q=打印"), ("engineer", "/tickets?q=打印"), ("cs", "/tickets?q=打印&type=maintenance"),
    ("cs", "/tickets?channel=hotline&type=maintenance&urgent=0&sort=oldest"),
    ("dev_manager", "/tickets?state=registered&channel=hotline&sort=newest"),  # with the bulk controls
    ("engineer", "/tickets?assignee_id=1&date_from=2026-01-01&date_to=2030-12-31&sort=deadline"),
    ("cs", "/customers"), ("cs", "/customers?q=医院"),
    ("cs", "/hotline"),
    ("cs", "/service-plan"),
    ("dev_manager", "/notifications"), ("cs", "/notifications"),
]


@contextmanager
def counting():
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def statements(client, path: str) -> int:
    client.get(path)  # warm: the first request of a client may load what later ones take from caches
    with counting() as seen:
        r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return len(seen)


def grow(n: int, users, ticket_factory, unit_factory) -> list:
    """n more tickets (each of a new unit, so n more units), n hotline records, and this month's service plan."""
    from portal.hotline import operations as hotline
    from portal.service_plan.jobs import sweep

    tickets = []
    for i in range(n):
        unit = unit_factory()
        tickets.append(ticket_factory(unit=unit, summary=f"打印机无法打印{i}"))
        hotline.create_record(users["cs"], hotline.RecordInput(unit_name=unit.name, phone="13800138000",
                                                                contact_name="刘建国", content="打印机无法打印"))
    db.session.commit()
    sweep()
    db.session.commit()
    return tickets


@pytest.mark.parametrize("user,path", PAGES)
def test_list_page_statement_count_does_not_grow_with_rows(auth, users, ticket_factory, unit_factory, user, path):
    client = auth.client_for(user)
    grow(FEW, users, ticket_factory, unit_factory)
    few = statements(client, path)
    grow(MANY - FEW, users, ticket_factory, unit_factory)
    many = statements(client, path)
    if "q=" in path and path.startswith("/tickets"):
        # A search fills its page tier by tier (portal.search.query): with few hits it asks every tier,
        # with many the first tiers fill the page — never more statements for more rows.
        assert many <= few, f"{path} as {user}: {few} statements with {FEW} rows, {many} with {MANY}"
    else:
        assert few == many, f"{path} as {user}: {few} statements with {FEW} rows, {many} with {MANY}"
    assert few <= BOUND, f"{path} as {user}: {few} statements"


def test_ticket_page_statement_count_does_not_grow_with_its_history(auth, users, ticket_factory):
    from portal.tickets import operations

    t = ticket_factory(summary="打印机无法打印")
    number = t.number
    client = auth.client_for("cs")
    operations.take_action(t, "comment", users["cs"], {"text": "第一条备注"})
    db.session.commit()
    few = statements(client, f"/tickets/{number}")
    for i in range(30):
        operations.take_action(t, "comment", users["dev_manager" if i % 2 else "cs"], {"text": f"备注{i}"})
    db.session.commit()
    many = statements(client, f"/tickets/{number}")
    assert few == many and many <= BOUND, (few, many)
