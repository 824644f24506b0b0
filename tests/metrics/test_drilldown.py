"""Every number on the dashboard links to the list that produced it, and that list has exactly as
many rows as the number says."""
from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal.complaints import operations as complaint_ops
from portal.complaints.models import Complaint
from portal.extensions import db
from portal.metrics import dashboard, queries
from portal.metrics.periods import of_kind
from portal.tickets import listing

SEPT = of_kind("month", date(2025, 9, 1))


def split(url: str) -> tuple[str, MultiDict]:
    parts = urlsplit(url)
    return parts.path, MultiDict([(k, v) for k, vs in parse_qs(parts.query).items() for v in vs])


def tickets_listed(args: MultiDict, user) -> int:
    """How many tickets the ticket list selects for these arguments (its own query, drill-down filters included)."""
    q = listing.base_query(listing.Filters.from_args(args), user)
    return db.session.scalar(select(func.count()).select_from(q.subquery()))


def listed(url: str, user) -> int:
    path, args = split(url)
    if path == "/tickets":
        return tickets_listed(args, user)
    if path == "/metrics/callbacks":
        scope = queries.Scope(SEPT, department=args.get("department"), engineer_id=args.get("engineer", type=int),
                              customer_id=args.get("customer_id", type=int), level=args.get("level"))
        return queries.count(queries.callbacks_query(scope, scored=args.get("scored") == "1",
                                                     satisfied=args.get("satisfied") == "1"))
    if path == "/metrics/plan":
        scope = queries.Scope(SEPT, customer_id=args.get("customer_id", type=int), level=args.get("level"))
        done = {"1": True, "0": False}.get(args.get("done", ""))
        return queries.count(queries.plan_query(scope, args["kind"], done))
    if path == "/complaints":
        q = complaint_ops.filtered(
            select(Complaint), received_from=date.fromisoformat(args["received_from"]),
            received_to=date.fromisoformat(args["received_to"]), customer_id=args.get("customer_id", type=int),
            level=args.get("level"), department=args.get("department"), engineer_id=args.get("engineer", type=int),
            state=args.get("state"))
        return queries.count(q)
    raise AssertionError(f"unexpected drill-down target {url}")


def number_in(text: str) -> int:
    """The count a tile or a linked detail states: its last number (“满意（4–5 分）2” → 2)."""
    return int(re.findall(r"\d[\d,]*", text)[-1].replace(",", ""))


SCOPES = {
    "company": {},
    "development": {"department": "dev"},
    "one engineer": {"engineer": "e1"},
    "one unit": {"customer": "B"},
    "VIP units": {"level": "vip"},
}


@pytest.mark.parametrize("name", SCOPES)
def test_every_count_on_a_tile_equals_the_length_of_its_drill_down_list(app, sept, users, name):
    kw = dict(SCOPES[name])
    if "engineer" in kw:
        kw["engineer_id"] = getattr(sept, kw.pop("engineer")).id
    if "customer" in kw:
        kw["customer_id"] = getattr(sept, kw.pop("customer")).id
    scope = queries.Scope(SEPT, **kw)
    admin = users["admin"]
    with app.test_request_context():
        d = dashboard.build(scope)
    checked = 0
    for tile in d.tiles:
        if tile.key in ("raised", "complaints") and tile.link:
            assert listed(tile.link, admin) == number_in(tile.value), tile.key
            checked += 1
        for text, link in tile.detail:
            if link:
                assert listed(link, admin) == number_in(text), (tile.key, text, link)
                checked += 1
    assert checked >= 6


def test_the_drill_downs_of_the_ratio_tiles_list_their_numerators(app, sept, users):
    with app.test_request_context():
        d = dashboard.build(queries.Scope(SEPT))
    tiles = {t.key: t for t in d.tiles}
    admin = users["admin"]
    assert listed(tiles["resolution_rate"].link, admin) == 3  # solved
    assert listed(tiles["response"].link, admin) == 5  # assigned: the tickets the response time is taken over
    assert listed(tiles["resolution"].link, admin) == 3
    assert listed(tiles["deadline"].link, admin) == 2  # kept
    assert listed(tiles["satisfaction"].link, admin) == 2  # scored 4–5
    assert listed(tiles["satisfaction_mean"].link, admin) == 4  # scored


def test_the_ticket_list_page_shows_the_tickets_a_date_range_drill_down_counts(app, sept, auth):
    with app.test_request_context():
        d = dashboard.build(queries.Scope(SEPT))
    raised = next(t for t in d.tiles if t.key == "raised")
    html = auth.client_for("admin").get(raised.link).get_data(as_text=True)
    assert len(set(re.findall(r"T-\d{6}", html))) == 6


def test_the_callback_and_plan_lists_show_the_counted_rows(app, sept, auth):
    client = auth.client_for("admin")
    html = client.get("/metrics/callbacks?period=2025-09&satisfied=1").get_data(as_text=True)
    assert html.count('<td class="num">5</td>') + html.count('<td class="num">4</td>') == 2
    html = client.get("/metrics/plan?period=2025-09&kind=visit&done=0").get_data(as_text=True)
    assert sept.B.name in html and sept.A.name not in html


def test_the_extra_list_filters_each_select_what_they_name(sept, users):
    admin = users["admin"]
    base = {"date_from": "2025-09-01", "date_to": "2025-09-30"}
    assert tickets_listed(MultiDict(base), admin) == 6
    assert tickets_listed(MultiDict(dict(base, department="impl")), admin) == 1
    assert tickets_listed(MultiDict(dict(base, maintenance="vip")), admin) == 3
    assert tickets_listed(MultiDict(dict(base, solved="1")), admin) == 3
    assert tickets_listed(MultiDict(dict(base, responded="1")), admin) == 5
    assert tickets_listed(MultiDict(dict(base, deadline="kept")), admin) == 2
    assert tickets_listed(MultiDict(dict(base, deadline="missed")), admin) == 3
    assert tickets_listed(MultiDict(dict(base, department="bogus", deadline="nonsense")), admin) == 6
