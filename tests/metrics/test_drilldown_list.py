"""Following a number on the dashboard to the ticket list (the page, over HTTP) shows exactly the tickets
that number counted; the list understands the dashboard's filters, says which are in force, exports the
same rows, and never lets anyone see more through them than the list would show them anyway.

The data set is tests/metrics/conftest.py's September (its docstring has the table)."""
from __future__ import annotations

import html as htmllib
import io
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.auth.operations import create_user
from portal.core.enums import Role
from portal.extensions import db
from portal.metrics import dashboard, queries
from portal.metrics.models import TicketFact
from portal.metrics.periods import of_kind
from portal.tickets import listing
from portal.tickets.models import Ticket
from tests.conftest import PASSWORD
from tests.metrics.test_drilldown import SCOPES, number_in

SEPT = of_kind("month", date(2025, 9, 1))
RANGE = "date_from=2025-09-01&date_to=2025-09-30"


def numbers_on(client, url: str) -> set[str]:
    """The ticket numbers the list page at `url` shows (one page: the data set is far below 50 rows)."""
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    page = r.get_data(as_text=True)
    assert 'rel="next"' not in page
    return set(re.findall(r'href="/tickets/(T-\d{6})"', page))


def names(sept, *keys: str) -> set[str]:
    return {getattr(sept, k).number for k in keys}


def counted(scope: queries.Scope, link: str) -> set[str]:
    """The tickets the dashboard counted for a number: its per-ticket facts in the scope, with the flag the
    link's filter names (solved / responded / deadline kept / missed; none for "raised")."""
    args = parse_qs(urlsplit(link).query)
    f = TicketFact
    q = select(Ticket.number).join(f, f.ticket_id == Ticket.id).where(f.day >= SEPT.start, f.day <= SEPT.last)
    if scope.department:
        q = q.where(f.department == scope.department)
    if scope.engineer_id:
        q = q.where(f.assignee_id == scope.engineer_id)
    if scope.customer_id:
        q = q.where(f.customer_id == scope.customer_id)
    if scope.level:
        q = q.where(f.level == scope.level)
    if args.get("solved") == ["1"]:
        q = q.where(f.solved == 1)
    if args.get("responded") == ["1"]:
        q = q.where(f.response_s.is_not(None))
    if args.get("deadline") == ["kept"]:
        q = q.where(f.deadline_kept == 1)
    if args.get("deadline") == ["missed"]:
        q = q.where(f.deadline_missed == 1)
    return set(db.session.scalars(q))


def ticket_links(d: dashboard.Dashboard) -> list[tuple[str, str, str]]:
    """(tile, the number's text, link) for every number on the dashboard that leads to the ticket list."""
    out = []
    for tile in d.tiles:
        if tile.link and tile.link.startswith("/tickets?") and tile.key in ("raised",):
            out.append((tile.key, tile.value, tile.link))
        for text, link in tile.detail:
            if link and link.startswith("/tickets?"):
                out.append((tile.key, text, link))
    return out


def scope_of(sept, name: str) -> queries.Scope:
    kw = dict(SCOPES[name])
    if "engineer" in kw:
        kw["engineer_id"] = getattr(sept, kw.pop("engineer")).id
    if "customer" in kw:
        kw["customer_id"] = getattr(sept, kw.pop("customer")).id
    return queries.Scope(SEPT, **kw)


@pytest.mark.parametrize("name", SCOPES)
def test_each_ticket_count_on_the_dashboard_links_to_a_list_page_of_exactly_the_tickets_counted(app, sept, auth,
                                                                                              name):
    scope = scope_of(sept, name)
    with app.test_request_context():
        d = dashboard.build(scope)
    client = auth.client_for("admin")
    links = ticket_links(d)
    assert {urlsplit(link).query.split("&")[-1] for _k, _t, link in links} >= {"solved=1", "deadline=kept",
                                                                                "deadline=missed"}
    for key, text, link in links:
        shown = numbers_on(client, link)
        assert shown == counted(scope, link), (key, text, link)
        assert len(shown) == number_in(text), (key, text, link)


def test_the_ratio_tiles_link_to_the_tickets_of_their_numerators(app, sept, auth):
    with app.test_request_context():
        d = dashboard.build(queries.Scope(SEPT))
    tiles = {t.key: t for t in d.tiles}
    client = auth.client_for("admin")
    assert numbers_on(client, tiles["raised"].link) == names(sept, "T1", "T2", "T3", "T4", "T5", "T7")
    assert numbers_on(client, tiles["resolution_rate"].link) == names(sept, "T1", "T2", "T5")
    assert numbers_on(client, tiles["response"].link) == names(sept, "T1", "T2", "T3", "T5", "T7")
    assert numbers_on(client, tiles["resolution"].link) == names(sept, "T1", "T2", "T5")
    assert numbers_on(client, tiles["deadline"].link) == names(sept, "T1", "T5")


def test_the_dashboard_page_carries_the_links_that_are_followed(app, sept, auth):
    page = auth.client_for("admin").get("/metrics?period=2025-09").get_data(as_text=True)
    hrefs = {htmllib.unescape(h) for h in re.findall(r'href="([^"]+)"', page)}
    with app.test_request_context():
        d = dashboard.build(queries.Scope(SEPT))
    assert {link for _k, _t, link in ticket_links(d)} <= hrefs


def test_a_department_manager_s_dashboard_leads_to_their_department_s_tickets(app, sept, auth):
    page = auth.client_for("dev_manager").get("/metrics?period=2025-09").get_data(as_text=True)
    links = [htmllib.unescape(h) for h in re.findall(r'href="(/tickets\?[^"]+)"', page)]
    assert links and all("department=dev" in link for link in links)
    solved = next(link for link in links if "solved=1" in link)
    assert numbers_on(auth.client_for("dev_manager"), solved) == names(sept, "T1", "T2")


# --- each filter of the dashboard, alone ----------------------------------------------------------------

FILTERS = {  # argument → (tickets, the chip's words)
    "department=impl": (("T5",), "部门：实施部"),
    "department=dev": (("T1", "T2", "T3", "T4", "T7", "T8", "T9"), "部门：开发部"),
    "maintenance=vip": (("T1", "T2", "T7", "T9"), "维护级别：VIP维护"),
    "maintenance=ordinary": (("T3", "T4", "T5", "T8"), "维护级别：普通维护"),
    "solved=1": (("T1", "T2", "T5"), "已解决：是"),
    "responded=1": (("T1", "T2", "T3", "T5", "T7"), "已分派：是"),
    "deadline=kept": (("T1", "T5"), "解决时限：按期"),
    "deadline=missed": (("T2", "T3", "T7"), "解决时限：超期"),
}


@pytest.mark.parametrize("arg", FILTERS)
def test_each_drill_down_filter_alone_selects_what_it_names_and_shows_as_a_chip(sept, auth, arg):
    tickets, chip = FILTERS[arg]
    client = auth.client_for("admin")
    assert numbers_on(client, f"/tickets?{arg}") == names(sept, *tickets)
    page = client.get(f"/tickets?{arg}").get_data(as_text=True)
    assert chip in re.sub(r"<[^>]+>", "", page).replace("\n", "")


def test_a_chip_s_cross_removes_only_its_own_filter(sept, auth):
    client = auth.client_for("admin")
    page = client.get(f"/tickets?{RANGE}&department=dev&solved=1").get_data(as_text=True)
    removes = [htmllib.unescape(h) for h in re.findall(r'<a href="([^"]+)" title="[^"]*" aria-label', page)]
    assert len(removes) == 2
    without_department = next(h for h in removes if "department" not in h)
    assert "solved=1" in without_department and "date_from=2025-09-01" in without_department
    assert numbers_on(client, without_department) == names(sept, "T1", "T2", "T5")


def test_the_filter_form_keeps_the_drill_down_filters_when_another_filter_changes(sept, auth):
    page = auth.client_for("admin").get(f"/tickets?{RANGE}&department=dev&maintenance=vip&solved=1&responded=1"
                                        "&deadline=missed").get_data(as_text=True)
    form = re.split(r'<form[^>]*class="filters"', page)[1].split("</form>")[0]
    for name, value in (("department", "dev"), ("maintenance", "vip"), ("solved", "1"), ("responded", "1"),
                        ("deadline", "missed")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in form


def test_values_the_list_does_not_understand_are_ignored_and_named_in_chinese(sept, auth):
    client = auth.client_for("admin")
    url = "/tickets?department=market&maintenance=gold&deadline=soon&solved=yes&customer_id=abc&date_from=2025-13-01"
    r = client.get(url)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert numbers_on(client, url) == names(sept, "T1", "T2", "T3", "T4", "T5", "T7", "T8", "T9")
    note = re.search(r'<p class="flash warn"[^>]*>(.*?)</p>', page, re.S).group(1)
    for title in ("部门", "维护级别", "解决时限", "已解决", "客户单位", "登记日期自"):
        assert title in note
    assert "<span class=\"chip\">" not in page


def test_keyset_pages_of_a_drilled_down_list_hold_every_ticket_once(sept, users):
    f = listing.Filters.from_args(MultiDict({"date_from": "2025-09-01", "date_to": "2025-09-30",
                                             "responded": "1"}))
    for sort in listing.SORTS:
        seen, after = [], ""
        while True:
            f.sort, f.after = sort, after
            page = listing.fetch(f, users["admin"], page_size=2)
            seen += [t.number for t, _m in page.rows]
            if not page.next_cursor:
                break
            # the next page's link keeps the drill-down filters
            after = page.next_cursor
            again = listing.Filters.from_args(MultiDict(f.query_args(after=after)))
            assert again.responded and again.date_from == date(2025, 9, 1)
        assert sorted(seen) == sorted(names(sept, "T1", "T2", "T3", "T5", "T7")), sort


# --- the export link -------------------------------------------------------------------------------------

def export_link(page: str, fmt: str) -> str | None:
    m = re.search(rf'href="(/tickets/export\.{fmt}[^"]*)"', page)
    return htmllib.unescape(m.group(1)) if m else None


@pytest.mark.parametrize("args", [f"{RANGE}&solved=1", f"{RANGE}&department=dev&deadline=missed",
                                  "maintenance=vip&responded=1&sort=oldest", "state=assigned&deadline=missed"])
def test_the_list_s_export_link_exports_the_rows_the_list_shows(sept, auth, args):
    client = auth.client_for("admin")
    page = client.get(f"/tickets?{args}").get_data(as_text=True)
    shown = numbers_on(client, f"/tickets?{args}")
    xlsx = client.get(export_link(page, "xlsx"))
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.data)).active
    assert ws.cell(row=1, column=1).value == "单号"
    exported = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert len(exported) == len(shown) and set(exported) == shown
    csv_text = client.get(export_link(page, "csv")).data.decode("utf-8-sig")
    assert {line.split(",")[0] for line in csv_text.splitlines()[1:]} == shown


@pytest.fixture
def nobody(app, users):
    """A user whose roles show them no tickets (the hotline duty manager only plans the roster)."""
    user = create_user("duty", PASSWORD, "duty", [Role.DUTY_MANAGER], "cs")
    db.session.commit()
    return user


def test_the_export_link_is_shown_to_those_the_list_shows_tickets_and_only_they_may_export(sept, auth, nobody):
    for role in ("admin", "cs", "dev_manager", "engineer", "impl_engineer"):
        page = auth.client_for(role).get("/tickets").get_data(as_text=True)
        assert export_link(page, "xlsx") and export_link(page, "csv"), role
        assert "导出本列表" in page
    page = auth.client_for("duty").get("/tickets").get_data(as_text=True)
    assert export_link(page, "xlsx") is None
    assert auth.client_for("duty").get("/tickets/export.csv").status_code == 403


# --- nobody sees more through the drill-down filters -----------------------------------------------------

WIDENERS = ["department=impl", "department=dev", "maintenance=vip", "maintenance=ordinary", "solved=1",
            "responded=1", "deadline=kept", "deadline=missed", "department=impl&solved=1&responded=1",
            f"{RANGE}&department=dev&deadline=missed"]


@pytest.mark.parametrize("role", ["engineer", "engineer2", "impl_engineer"])
def test_an_engineer_sees_through_drill_down_filters_only_tickets_the_list_shows_them_anyway(sept, auth, role):
    client = auth.client_for(role)
    admin = auth.client_for("admin")
    visible = numbers_on(client, "/tickets")
    assert visible and visible != numbers_on(admin, "/tickets")
    for args in WIDENERS + [f"assignee_id={sept.e1.id}&{w}" for w in WIDENERS[:3]]:
        expected = numbers_on(admin, f"/tickets?{args}") & visible
        assert numbers_on(client, f"/tickets?{args}") == expected, (role, args)
        rows = client.get(f"/tickets/export.csv?{args}").data.decode("utf-8-sig").splitlines()[1:]
        assert {r.split(",")[0] for r in rows} == expected, (role, args)


def test_the_implementation_ticket_is_not_shown_to_a_development_engineer_who_asks_for_it(sept, auth):
    client = auth.client_for("engineer")
    assert numbers_on(client, "/tickets?department=impl") == set()
    assert sept.T5.number not in client.get("/tickets/export.csv?department=impl&solved=1").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/metrics?department=impl", "/metrics/callbacks?department=impl",
                                 "/metrics/plan?kind=visit&department=impl", "/metrics/export.xlsx?department=impl",
                                 "/metrics?department="])
def test_a_department_manager_cannot_open_another_department_s_figures_through_drill_down_arguments(sept, auth, url):
    assert auth.client_for("dev_manager").get(url).status_code == 403


def test_the_htmx_fragment_of_a_drilled_down_list_keeps_its_chips_and_export_link(sept, auth):
    r = auth.client_for("admin").get(f"/tickets?{RANGE}&solved=1", headers={"HX-Request": "true"})
    fragment = r.get_data(as_text=True)
    assert "<html" not in fragment and "已解决：是" in re.sub(r"<[^>]+>", "", fragment)
    assert "solved=1" in export_link(fragment, "xlsx") and "date_from=2025-09-01" in export_link(fragment, "csv")
    assert set(re.findall(r'href="/tickets/(T-\d{6})"', fragment)) == names(sept, "T1", "T2", "T5")
