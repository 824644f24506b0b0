"""A complaint reaches the person named to handle it (their home page) and the ticket it is about (the ticket
page), and the complaint form says "choose who is to handle it" on the first submit, with the other errors."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.complaints import operations as ops
from portal.complaints.models import Complaint
from portal.extensions import db


def _complaint(users, unit, ticket=None, handler="dev_manager", content="工程师迟迟不上门"):
    c = ops.register(users["cs"], customer_id=unit.id, ticket_number=ticket.number if ticket else "",
                     channel="phone", complainant="刘建国", content=content, handler_id=users[handler].id)
    db.session.commit()
    return c


def test_the_named_handler_sees_the_complaint_waiting_on_their_home_page(users, auth, unit_factory):
    c = _complaint(users, unit_factory(name="北京市第一人民医院"))
    home = auth.client_for("dev_manager").get("/").get_data(as_text=True)
    assert "待我处理的投诉" in home and f"/complaints/{c.id}" in home and "北京市第一人民医院" in home
    # Not on the home page of another possible handler.
    assert f"/complaints/{c.id}" not in auth.client_for("impl_manager").get("/").get_data(as_text=True)


def test_a_handled_complaint_leaves_the_handlers_home_page(users, auth, unit_factory):
    c = _complaint(users, unit_factory())
    ops.handle(c, users["dev_manager"], handling="约谈工程师", outcome="已解决")
    db.session.commit()
    assert f"/complaints/{c.id}" not in auth.client_for("dev_manager").get("/").get_data(as_text=True)


def test_the_ticket_page_shows_the_tickets_complaints_linked_for_who_may_view_complaints(
        users, auth, ticket_factory):
    t = ticket_factory()
    c = _complaint(users, t.customer, t)
    page = auth.client_for("cs").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "投诉" in page and f'href="/complaints/{c.id}"' in page
    # An engineer sees the ticket (and that it drew a complaint) but gets no link to a page they may not open.
    page = auth.client_for("engineer").get(f"/tickets/{t.number}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"#{c.id}" in html and f'href="/complaints/{c.id}"' not in html


def test_the_handler_is_asked_for_on_the_first_submit_with_the_other_errors(users, auth, unit_factory):
    r = auth.client_for("cs").post("/complaints/new", data={"customer_id": unit_factory().id, "channel": "phone",
                                                          "complainant": "", "content": "投诉", "handler_id": "0"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "请选择负责处理的人员" in html and "此项必填" in html
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_a_handler_who_may_not_handle_complaints_is_refused_by_the_form(users, auth, unit_factory):
    r = auth.client_for("cs").post("/complaints/new", data={"customer_id": unit_factory().id, "channel": "phone",
                                                          "complainant": "", "content": "投诉",
                                                          "handler_id": users["engineer"].id})
    assert r.status_code == 422 and "请选择负责处理的人员" in r.get_data(as_text=True)
