"""The customer's history beside intake and the ticket page (issue 14, item 3): the right rows, and only
what the viewer may open — an engineer learns nothing of tickets, complaints or contacts they may not see."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from portal.complaints import operations as complaints
from portal.core.timeutil import utcnow
from portal.customers.models import Contract
from portal.customers.operations import add_contact
from portal.extensions import db
from portal.tickets import operations as ops
from portal.tickets.models import Callback
from portal.visits.models import Visit
from tests.test_query_counts import counting


def act(t, action, user, **data):
    ops.take_action(t, action, user, data)


def closed_ticket(ticket_factory, users, unit, summary):
    t = ticket_factory(unit=unit, summary=summary)
    act(t, "reject", users["dev_manager"], reason="重复")
    return t


def add_visit(users, unit, outcome):
    db.session.add(Callback(kind="visit", customer_id=unit.id, method="onsite", contact_person="王芳",
                            outcome=outcome, made_by_id=users["cs"].id, made_at=utcnow()))


def add_complaint(users, unit, content):
    return complaints.register(users["cs"], customer_id=unit.id, channel="phone", complainant="孙丽",
                               complainant_phone="13911112222", content=content, handler_id=users["dev_manager"].id)


@pytest.fixture
def world(users, unit_factory, ticket_factory):
    unit = unit_factory(name="西安市第三人民医院")
    other_unit = unit_factory(name="别的单位")
    deadline = utcnow() + timedelta(days=2)
    mine = ticket_factory(unit=unit, summary="我的问题")
    act(mine, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=deadline)
    theirs = ticket_factory(unit=unit, summary="别人的问题")
    act(theirs, "assign", users["dev_manager"], assignee_id=users["engineer2"].id, deadline=deadline)
    closed = [closed_ticket(ticket_factory, users, unit, f"已关闭{i:02d}") for i in range(12)]
    elsewhere = ticket_factory(unit=other_unit, summary="别的单位的问题")
    complaint = add_complaint(users, unit, "报表问题反映三次仍未解决")
    add_visit(users, unit, "上门检查服务器")
    own_visit = Visit(origin="ticket", ticket_id=mine.id, customer_id=unit.id, reason="电话无法解决：服务器无法启动",
                      engineer_id=users["engineer"].id, state="booked", appointment_at=deadline)
    their_visit = Visit(origin="ticket", ticket_id=theirs.id, customer_id=unit.id, reason="打印机驱动需现场安装",
                        engineer_id=users["engineer2"].id, state="needed")
    db.session.add_all([own_visit, their_visit])
    add_contact(unit, name="王芳", department="药剂科", phone="13911112222")
    db.session.add(Contract(customer_id=unit.id, start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
                            fee=20000))
    db.session.commit()
    return dict(unit=unit, mine=mine, theirs=theirs, closed=closed, elsewhere=elsewhere, complaint=complaint,
                own_visit=own_visit, their_visit=their_visit)


def panel(client, number):
    r = client.get(f"/tickets/{number}/history", headers={"HX-Request": "true"})
    assert r.status_code == 200
    return r.get_data(as_text=True)


def section(html, css_class):
    return re.search(rf'<ul class="plain compact {css_class}">(.*?)</ul>', html, re.DOTALL).group(1)


def test_cs_sees_open_and_last_ten_closed_tickets_complaints_visits_contract_and_contacts(auth, world):
    w = world
    html = panel(auth.client_for("cs"), w["mine"].number)
    open_ = section(html, "history-open")
    assert f'href="/tickets/{w["theirs"].number}"' in open_ and "别人的问题" in open_
    assert w["mine"].number not in open_  # the ticket on the page is not its own history
    closed = section(html, "history-closed")
    assert [f"已关闭{i:02d}" for i in range(11, 1, -1)] == re.findall(r"已关闭\d\d", closed)  # newest 10
    assert w["elsewhere"].number not in html and "别的单位的问题" not in html
    complaints_ = section(html, "history-complaints")
    assert f'href="/complaints/{w["complaint"].id}"' in complaints_ and "报表问题反映三次" in complaints_
    visits = section(html, "history-visits")
    assert "上门检查服务器" in visits and "王芳" in visits  # recorded as a callback before issue 15
    assert f'href="/visits/{w["own_visit"].id}"' in visits and "服务器无法启动" in visits  # the visit records
    assert f'href="/visits/{w["their_visit"].id}"' in visits and "打印机驱动需现场安装" in visits
    assert "2026-01-01 — 2026-12-31" in html
    contacts = section(html, "history-contacts")
    assert "王芳" in contacts and "13911112222" in contacts


def test_engineer_sees_only_tickets_they_may_open_and_no_complaint_contact_or_visit_details(auth, world):
    w = world
    eng = auth.client_for("engineer")
    html = panel(eng, w["mine"].number)
    assert w["theirs"].number not in html and "别人的问题" not in html  # not theirs to see: not even listed
    closed = section(html, "history-closed")  # closed tickets are open to engineers for reference (masked)
    assert len(re.findall(r'href="/tickets/SH-', closed)) == 10
    complaints_ = section(html, "history-complaints")
    assert "/complaints/" not in complaints_ and "报表问题反映三次" not in complaints_ and "孙丽" not in html
    assert "history-contacts" not in html and "13911112222" not in html
    assert "上门检查服务器" not in html and "王芳" not in html
    visits = section(html, "history-visits")  # their own visit, not a colleague's
    assert f'href="/visits/{w["own_visit"].id}"' in visits and "服务器无法启动" in visits
    assert f'/visits/{w["their_visit"].id}"' not in visits and "打印机驱动" not in visits
    assert "/customers/" not in html
    # Every ticket the panel links, the engineer may open.
    for number in re.findall(r'href="/tickets/(SH-[\d-]+)"', html):
        assert eng.get(f"/tickets/{number}").status_code == 200, number


def test_the_panel_of_a_ticket_the_user_may_not_see_is_a_404(auth, world):
    assert auth.client_for("engineer").get(f"/tickets/{world['theirs'].number}/history").status_code == 404
    assert auth.client_for("engineer").get("/tickets/SH-2026-999999/history").status_code == 404


def test_the_ticket_page_loads_the_panel_and_the_unit_links_only_for_who_may_view_customers(auth, world):
    w = world
    for role, linked in (("cs", True), ("engineer", False)):
        page = auth.client_for(role).get(f"/tickets/{w['mine'].number}").get_data(as_text=True)
        assert f'hx-get="/tickets/{w["mine"].number}/history"' in page, role
        assert (f'href="/customers/{w["unit"].id}"' in page) is linked, role


def test_the_intake_panel_shows_the_chosen_units_open_tickets_and_contacts_to_pick(auth, world):
    w = world
    html = auth.client_for("cs").get(f"/tickets/new/customer?customer_id={w['unit'].id}").get_data(as_text=True)
    open_ = section(html, "history-open")
    assert w["mine"].number in open_ and w["theirs"].number in open_
    assert 'name="contact_id"' in html and 'data-name="王芳"' in html
    assert "history-contacts" not in html  # the picker lists them already
    assert f'href="/customers/{w["unit"].id}"' in html  # cs may open the unit
    empty = auth.client_for("cs").get("/tickets/new/customer").get_data(as_text=True)
    assert 'id="customer-history"' in empty and "history-open" not in empty


def _statements(client, path):
    client.get(path)
    with counting() as seen:
        assert client.get(path).status_code == 200
    return len(seen)


@pytest.mark.parametrize("role", ["cs", "engineer"])
def test_the_panel_issues_the_same_few_statements_however_long_the_history(auth, users, ticket_factory, world, role):
    w = world
    client = auth.client_for(role)
    paths = [f"/tickets/{w['mine'].number}/history"]
    if role == "cs":
        paths.append(f"/tickets/new/customer?customer_id={w['unit'].id}&customer_q=13911112222")
    few = [_statements(client, p) for p in paths]
    for i in range(25):
        ticket_factory(unit=w["unit"], summary=f"更多{i}")
        closed_ticket(ticket_factory, users, w["unit"], f"更多关闭{i}")
        add_complaint(users, w["unit"], f"投诉{i}")
        add_visit(users, w["unit"], f"回访{i}")
        db.session.add(Visit(origin="ticket", ticket_id=w["mine"].id, customer_id=w["unit"].id, reason=f"上门{i}",
                             engineer_id=users["engineer"].id))
        add_contact(w["unit"], name=f"联系人{i}", phone="13800138000")
    db.session.commit()
    many = [_statements(client, p) for p in paths]
    assert few == many and max(many) <= 16, (few, many)  # one statement per list: visits and the older ones


def test_a_signed_out_browser_gets_an_empty_answer_for_the_ticket_panel(client, world):
    r = client.get(f"/tickets/{world['mine'].number}/history", headers={"HX-Request": "true"})
    assert r.status_code == 204 and r.data == b""
