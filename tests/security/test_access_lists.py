"""Access (issue 8): lists, searches, the work queues, exports and dashboards never hold a row the user
may not see — whatever filter, search or export format is asked for."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.security.world import ALL_ROLES, build_world, may_see


@pytest.fixture
def world(users, ticket_factory, unit_factory):
    return build_world(users, ticket_factory, unit_factory)


def _xlsx_text(data: bytes) -> str:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                     if v is not None)


def _csv_text(data: bytes) -> str:
    return "\n".join(",".join(r) for r in csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize("role", ALL_ROLES)
def test_lists_searches_queues_and_exports_hold_only_tickets_the_role_may_see(auth, world, role):
    c = auth.client_for(role)
    w = world
    queries = ["", "?q=问题", "?q=刘建国", "?state=assigned", "?state=closed",
               f"?assignee_id={w.users['engineer2'].id}", f"?assignee_id={w.users['impl_engineer2'].id}",
               f"?customer_id={w.units['b'].id}", "?sort=deadline", "?q=乙县"]
    queries += [f"?q={t.number}" for t in w.tickets.values()]
    pages = []
    for q in queries:
        for headers in ({}, {"HX-Request": "true"}):
            r = c.get("/tickets" + q, headers=headers)
            assert r.status_code == 200, (q, r.status_code)
            pages.append(("/tickets" + q, r.get_data(as_text=True)))
        r = c.get("/tickets/export.csv" + q)
        assert r.status_code == 200
        pages.append(("/tickets/export.csv" + q, _csv_text(r.data)))
    r = c.get("/tickets/export.xlsx")
    assert r.status_code == 200
    pages.append(("/tickets/export.xlsx", _xlsx_text(r.data)))
    pages.append(("/", c.get("/").get_data(as_text=True)))
    pages.append(("/notifications", c.get("/notifications").get_data(as_text=True)))
    for key, t in w.tickets.items():
        if may_see(role, key):
            continue
        for url, text in pages:
            # (a page echoes the search box, so in HTML a row is its link; an export has no echo)
            shown = f"/tickets/{t.number}" if url.startswith(("/tickets?", "/?", "/notifications")) or url in (
                "/tickets", "/") else t.number
            assert shown not in text, (role, key, url)
            assert t.summary not in text, (role, key, url)
    # the unfiltered list and export do show everything the role may see (the test sees real rows)
    for url, text in pages:
        if url in ("/tickets", "/tickets/export.csv", "/tickets/export.xlsx"):
            for key, t in w.tickets.items():
                if may_see(role, key):
                    assert t.number in text, (role, key, url)


@pytest.mark.parametrize("role", ["engineer", "impl_engineer"])
def test_personal_data_of_reference_tickets_can_neither_be_seen_nor_searched_for(auth, world, role):
    c = auth.client_for(role)
    closed = world.tickets["closed_others"]
    for q in ("13912345678", "1391234", "5678"):
        for url in (f"/tickets?q={q}", f"/tickets/export.csv?q={q}"):
            text = c.get(url).get_data(as_text=True)
            assert closed.number not in text, (url, "found by a masked phone number")
    text = _csv_text(c.get("/tickets/export.csv").data) + _xlsx_text(c.get("/tickets/export.xlsx").data)
    assert closed.number in text and "13912345678" not in text and "139****5678" in text


@pytest.mark.parametrize("role,department", [
    ("dev_manager", "impl"), ("dev_manager", ""), ("impl_manager", "dev"), ("impl_manager", ""),
    ("engineer", "dev"), ("impl_engineer", "impl"), ("cs", ""), ("market", ""),
])
def test_dashboards_their_lists_and_exports_of_another_department_are_refused(auth, world, role, department):
    c = auth.client_for(role)
    for url in ("/metrics", "/metrics/callbacks", "/metrics/plan", "/metrics/export.xlsx", "/metrics/export.csv"):
        for headers in ({}, {"HX-Request": "true"}):
            r = c.get(f"{url}?department={department}", headers=headers)
            assert r.status_code == 403, (role, url, department, r.status_code)
            assert "回访满意" not in r.get_data(as_text=True)


def test_a_manager_s_own_department_dashboard_is_allowed(auth, world):
    for role, department in (("dev_manager", "dev"), ("impl_manager", "impl"), ("market_manager", "")):
        assert auth.client_for(role).get(f"/metrics?department={department}").status_code == 200, role
