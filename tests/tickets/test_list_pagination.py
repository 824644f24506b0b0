"""The ticket list's keyset pages, followed through the "next page" links as a reader would: every ticket on
exactly one page, in every sort — with more urgent tickets than a page holds (a page that ended on an urgent
ticket used to answer 500 on the next page). And the keyset helper itself on every kind of key:
booleans both ways, NULLs, mixed directions, and cursors that are forged, foreign or broken."""
from __future__ import annotations

import base64
import html
import itertools
import json
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from portal.core.pagination import Key, Keyset, page
from portal.extensions import db
from portal.tickets import listing
from portal.tickets import operations as ops
from portal.tickets.models import Ticket

URGENT, ORDINARY = 120, 17
NUMBER = re.compile(r'<a href="[^"]*/tickets/(SH-\d{4}-\d{6})">')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


@pytest.fixture
def many_tickets(users, ticket_factory, unit_factory):
    unit = unit_factory()
    tickets = []
    for i in range(URGENT + ORDINARY):  # every 8th ordinary (17 of 137), the rest urgent: interleaved
        t = ticket_factory(unit=unit, summary=f"问题{i}")
        if i % 8 != 3:
            ops.take_action(t, "approve_urgent", users["market"], {"request": "客户邮件要求加急"})
            db.session.commit()
        tickets.append(t)
    # Deadlines for the "by deadline" sort, many of them equal (ties are broken by id): test data, set directly.
    base = datetime(2026, 12, 1, 2, 0)
    for n, t in enumerate(tickets[::2]):
        db.session.execute(update(Ticket).where(Ticket.id == t.id).values(deadline=base + timedelta(hours=n // 5)))
    db.session.commit()
    return tickets


def walk(client, url: str) -> tuple[list[str], int]:
    """Every ticket number the list shows, following "next page" to the end; and how many pages."""
    seen, pages = [], 0
    while url:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        body = r.get_data(as_text=True)
        seen += NUMBER.findall(body)
        pages += 1
        m = NEXT.search(body)
        url = html.unescape(m.group(1)) if m else None
        assert pages < 50, "the pages do not end"
    return seen, pages


def expected_order(tickets, sort: str) -> list[str]:
    ts = [db.session.get(Ticket, t.id) for t in tickets]
    if sort == "urgent":
        ts.sort(key=lambda t: (not t.urgent, -t.id))
    elif sort == "newest":
        ts.sort(key=lambda t: -t.id)
    elif sort == "oldest":
        ts.sort(key=lambda t: t.id)
    else:
        ts = sorted((t for t in ts if t.deadline is not None), key=lambda t: (t.deadline, t.id))
    return [t.number for t in ts]


def test_120_urgent_tickets_every_page_of_every_sort_shows_each_ticket_exactly_once(auth, many_tickets):
    assert sum(t.urgent for t in many_tickets) == URGENT > listing.PAGE_SIZE * 2
    for sort in listing.SORTS:
        seen, pages = walk(auth.client_for("cs"), f"/tickets?sort={sort}")
        assert seen == expected_order(many_tickets, sort), sort  # each once, in the sort's order
        assert len(seen) == len(set(seen))
        assert pages == -(-len(seen) // listing.PAGE_SIZE)


def test_the_urgent_filter_pages_past_its_first_page_as_customer_service(auth, many_tickets):
    """The reported case: /tickets?urgent=1 as cs, then 下一页."""
    seen, pages = walk(auth.client_for("cs"), "/tickets?urgent=1")
    assert seen == [n for n in expected_order(many_tickets, "urgent")
                    if db.session.scalar(select(Ticket.urgent).where(Ticket.number == n))]
    assert len(seen) >= URGENT and pages >= 3


FORGED = [
    "W3RydWUsIDVd",  # the old format's [true, 5]: not a cursor of this list any more
    base64.urlsafe_b64encode(json.dumps(["tickets.urgent", [True, 2**70]]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["tickets.urgent", ["yes", 5]]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["tickets.newest", [5]]).encode()).decode(),  # another sort's
    base64.urlsafe_b64encode(json.dumps(["tickets.deadline", ["10000-01-01T00:00:00", 1]]).encode()).decode(),
    "%%%", "=" * 9, "x" * 5000, "\u202e", "s99999999999999999999.1",
]


def test_a_forged_or_foreign_cursor_gives_the_first_page(auth, many_tickets):
    c = auth.client_for("cs")
    first = NUMBER.findall(c.get("/tickets?sort=urgent").get_data(as_text=True))
    for cursor in FORGED:
        r = c.get("/tickets", query_string={"sort": "urgent", "after": cursor})
        assert r.status_code == 200, cursor
        assert NUMBER.findall(r.get_data(as_text=True)) == first, cursor
    searched = NUMBER.findall(c.get("/tickets?q=问题").get_data(as_text=True))
    for cursor in ("s0.99999999999999999999", "s99999999999999999999.1", "s-1.5", "s0.-5", "s.", "s1.1.1"):
        r = c.get("/tickets", query_string={"q": "问题", "after": cursor})
        assert r.status_code == 200, cursor
        assert NUMBER.findall(r.get_data(as_text=True)) == searched, cursor


# --- the helper on every kind of key -------------------------------------------------------------------------

def _walk_keyset(keyset: Keyset, stmt, size: int = 7) -> list[int]:
    out, cursor = [], None
    while True:
        w = page(keyset, stmt, cursor, size)
        out += [t.id for t in w.rows]
        if not w.next_cursor:
            return out
        cursor = w.next_cursor


def test_keyset_pages_hold_every_row_once_for_booleans_nulls_and_mixed_directions(many_tickets):
    ts = list(db.session.scalars(select(Ticket)))
    for urgent_desc, deadline_desc, id_desc in itertools.product([True, False], repeat=3):
        keyset = Keyset("test.mixed", Key("urgent", Ticket.urgent, bool, descending=urgent_desc),
                        Key("deadline", Ticket.deadline, datetime, descending=deadline_desc, nullable=True),
                        Key("id", Ticket.id, descending=id_desc))

        def key(t):
            u = (not t.urgent) if urgent_desc else t.urgent
            d = t.deadline.timestamp() if t.deadline else 0
            # NULL deadlines last in both directions
            return (u, t.deadline is None, -d if deadline_desc else d, -t.id if id_desc else t.id)

        assert _walk_keyset(keyset, select(Ticket)) == [t.id for t in sorted(ts, key=key)], \
            (urgent_desc, deadline_desc, id_desc)


def test_a_cursor_names_its_keyset_and_checks_each_value():
    ks = Keyset("k", Key("flag", Ticket.urgent, bool), Key("at", Ticket.deadline, datetime, nullable=True),
                Key("id", Ticket.id))
    good = ks.encode([True, None, 5])
    assert ks.decode(good) == [True, None, 5]
    assert Keyset("other", *ks.keys).decode(good) is None
    for values in ([1, None, 5], [True, None, "5"], [True, None, 2**40], [True, "9999-99-99", 5], [True, None],
                   [None, None, 5], [True, "0001-01-01T00:00:00", 5], [True, "2026-01-01T00:00:00+08:00", 5]):
        forged = base64.urlsafe_b64encode(json.dumps(["k", values]).encode()).decode()
        assert ks.decode(forged) is None, values
    for junk in ("", None, "!", "e30", "W10", "x" * 1000):
        assert ks.decode(junk) is None
