"""The visit pages (issue 15): engineers see their own visits, managers their department's, 客服 and admins all;
a visit one may not see is a 404 like a missing one; steps are htmx forms answered in Chinese; the ticket page
shows its visits."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.tickets.operations import take_action
from portal.visits import operations as ops
from portal.visits.models import Visit

ROLES = ["cs", "dev_manager", "engineer", "engineer2", "impl_manager", "impl_engineer", "market", "admin"]


@pytest.fixture
def visits(users, ticket_factory):
    """A visit for 工程师's ticket (开发部) and one for 实施工程师's consultation (实施部)."""
    out = {}
    soon = utcnow() + timedelta(days=2)
    t = ticket_factory(summary="服务器无法启动")
    take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id, "deadline": soon})
    take_action(t, "need_onsite", users["cs"], {"reason": "电话无法解决"})
    out["dev"] = ops.open_visit_of_ticket(t.id)
    c = ticket_factory(type="consultation", summary="现场培训")
    take_action(c, "assign", users["impl_manager"], {"assignee_id": users["impl_engineer"].id, "deadline": soon})
    take_action(c, "need_onsite", users["impl_engineer"], {"reason": "需要现场演示"})
    out["impl"] = ops.open_visit_of_ticket(c.id)
    db.session.commit()
    return out


SEES = {
    "dev": {"cs", "dev_manager", "engineer", "admin"},
    "impl": {"cs", "impl_manager", "impl_engineer", "admin"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_visit_page_is_shown_to_who_may_see_it_and_404_to_others(auth, visits, role, htmx):
    c = auth.client_for(role)
    headers = {"HX-Request": "true"} if htmx else {}
    for key, visit in visits.items():
        status = c.get(f"/visits/{visit.id}", headers=headers).status_code
        expected = 403 if role == "market" else (200 if role in SEES[key] else 404)
        assert status == expected, (role, key, status)
    assert c.get("/visits/999999").status_code in (403, 404)


@pytest.mark.parametrize("role", ["cs", "dev_manager", "engineer", "engineer2", "impl_engineer", "admin"])
def test_the_list_shows_exactly_the_visits_the_role_may_see(auth, visits, role):
    html = auth.client_for(role).get("/visits").get_data(as_text=True)
    for key, visit in visits.items():
        assert (f'href="/visits/{visit.id}"' in html) == (role in SEES[key]), (role, key)


def test_the_list_filters_by_state_and_scope(auth, visits, users):
    c = auth.client_for("cs")
    html = c.get("/visits?state=booked").get_data(as_text=True)
    assert f'href="/visits/{visits["dev"].id}"' not in html
    html = c.get("/visits?state=needed&scope=all").get_data(as_text=True)
    assert f'href="/visits/{visits["dev"].id}"' in html
    html = auth.client_for("dev_manager").get("/visits?scope=mine").get_data(as_text=True)
    assert f'href="/visits/{visits["dev"].id}"' not in html  # the manager does not go himself
    # a nonsense filter is ignored, not a 500
    assert c.get("/visits?state=x&unit=abc&after=%%%").status_code == 200


def test_booking_with_nothing_filled_in_is_answered_422_in_chinese_and_changes_nothing(auth, visits):
    visit = visits["dev"]
    r = auth.client_for("engineer").post(f"/visits/{visit.id}/book", headers={"HX-Request": "true"},
                                         data={"book-engineer_id": "", "book-appointment_at": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "此项必填" in html and "请选择工程师或实施工程师" in html
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).state == "needed"


def test_an_engineer_books_departs_and_arrives_through_the_page(auth, visits, users):
    visit, c = visits["dev"], auth.client_for("engineer")
    page = c.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert all(re.search(r"\snovalidate\b", f) for f in re.findall(r"<form\b[^>]*>", page))
    when = (utcnow() + timedelta(hours=8) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    r = c.post(f"/visits/{visit.id}/book", headers={"HX-Request": "true"}, data={
        "book-appointment_at": when, "book-engineer_id": str(users["engineer"].id),
        "book-companion_ids": [str(users["engineer2"].id)], "book-customer_contact": "刘建国"})
    assert r.status_code == 200 and "已预约" in r.get_data(as_text=True)
    r = c.post(f"/visits/{visit.id}/depart", headers={"HX-Request": "true"}, data={"depart-at": ""})
    assert r.status_code == 200
    future = (utcnow() + timedelta(hours=8) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    r = c.post(f"/visits/{visit.id}/arrive", headers={"HX-Request": "true"}, data={"arrive-at": future})
    assert r.status_code == 422 and "该时间在未来" in r.get_data(as_text=True)
    assert c.post(f"/visits/{visit.id}/arrive", data={"arrive-at": ""}).status_code == 303
    db.session.expire_all()
    v = db.session.get(Visit, visit.id)
    assert v.state == "on_site" and [x.user_id for x in v.companions] == [users["engineer2"].id]
    # 工程师乙 goes along: the visit is now his too
    assert auth.client_for("engineer2").get(f"/visits/{visit.id}").status_code == 200


def test_a_step_out_of_order_is_409_in_chinese(auth, visits):
    r = auth.client_for("engineer").post(f"/visits/{visits['dev'].id}/arrive", headers={"HX-Request": "true"},
                                         data={"arrive-at": ""})
    assert r.status_code == 409 and "不能记录到达" in r.get_data(as_text=True)


def test_the_ticket_page_shows_its_visits(auth, visits):
    visit = visits["dev"]
    html = auth.client_for("cs").get(f"/tickets/{visit.ticket.number}").get_data(as_text=True)
    assert 'id="ticket-visits"' in html and f'href="/visits/{visit.id}"' in html and "待上门" in html


def test_the_service_plan_no_longer_offers_a_visit_as_a_phone_record(auth, unit_factory):
    unit = unit_factory(status="vip")
    c = auth.client_for("cs")
    html = c.get("/service-plan").get_data(as_text=True)
    assert 'name="kind" value="visit"' not in html and "安排上门" in html
    r = c.post(f"/service-plan/{unit.id}/record", data={"kind": "visit", "method": "onsite", "contact_person": "张",
                                                        "outcome": "上门"})
    assert r.status_code == 409
    r = c.post(f"/visits/plan/{unit.id}", data={"department": "impl"})
    assert r.status_code == 303
    visit = db.session.scalar(db.select(Visit).where(Visit.customer_id == unit.id))
    assert visit.origin == "plan" and visit.state == "needed"


def test_the_list_pages_by_keyset(auth, users, unit_factory, monkeypatch):
    from portal.visits import routes

    monkeypatch.setattr(routes, "PAGE", 2)
    made = []
    for _ in range(3):
        made.append(ops.plan_visit(unit_factory(status="vip"), users["cs"]).id)
    db.session.commit()
    c = auth.client_for("cs")
    first = c.get("/visits").get_data(as_text=True)
    assert [f'href="/visits/{i}"' in first for i in made] == [False, True, True]  # newest first
    after = re.search(r'href="(/visits\?[^"]*after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = c.get(after).get_data(as_text=True)
    assert f'href="/visits/{made[0]}"' in second and f'href="/visits/{made[2]}"' not in second
