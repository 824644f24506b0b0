"""Who may open what: every role × page, full page and htmx request alike (SPEC §1).

A ticket the user may not see answers 404, exactly like one that does not exist.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.tickets import operations as ops

# issue 15: 客服部经理, and a 值班经理 who holds that role alone (neither is in the users fixture: made below)
ALL = ["cs", "dev_manager", "engineer", "impl_manager", "impl_engineer", "market", "market_manager", "admin",
       "cs_manager", "duty_manager"]
FULL = {"cs", "dev_manager", "impl_manager", "market", "market_manager", "admin", "cs_manager"}

PAGES = {
    # url: roles allowed (others 403)
    "/": set(ALL),
    "/tickets": set(ALL),
    "/tickets/new": {"cs", "cs_manager"},
    "/customers": {"cs", "dev_manager", "impl_manager", "market", "market_manager", "admin", "cs_manager"},
    "/hotline": {"cs", "cs_manager"},
    "/admin/users": {"admin"},
    "/account": set(ALL),
    # issue 14: the intake form's caller/history panel is intake's own; the unit search also serves the managers'
    # ticket correction; the duty roster stays with 客服 (the duty manager sits at 客服's desk)
    "/tickets/new/customer": {"cs", "cs_manager"},
    "/customers/lookup": {"cs", "dev_manager", "impl_manager", "cs_manager"},
    # issue 15: the duty manager manages the roster by its own permission, without the cs role (and sees none
    # of the hotline records); 市场部's 即将到期 filter; the company figures the quality managers answer for
    "/hotline/roster": {"cs", "cs_manager", "duty_manager"},
    "/customers?contract=expiring": {"cs", "dev_manager", "impl_manager", "market", "market_manager", "admin",
                                     "cs_manager"},
    "/metrics": {"dev_manager", "impl_manager", "market_manager", "admin", "cs_manager"},
    "/notifications": set(ALL),
    # issue 16 item 5: standard replies — everyone who talks to customers keeps their own; the department
    # managers keep the shared ones (at merge: cs_manager too)
    "/replies": set(ALL) - {"admin", "duty_manager"},
    "/replies/new": set(ALL) - {"admin", "duty_manager"},
    "/replies/new?scope=shared": {"dev_manager", "impl_manager", "market_manager", "cs_manager"},
    "/replies/pick?field=x&kind=callback": set(ALL) - {"admin", "duty_manager"},
    # issue 15 item 4: only administrators see and edit the service-level policy
    "/admin/policy": {"admin"},
    # issue 15: the working-day calendar (法定节假日, 调休) is the administrators'
    "/admin/calendar": {"admin"},
    # issue 15: the clocks behind a compliance figure, for those who see a dashboard
    "/metrics/clocks?key=onsite_24h": {"dev_manager", "impl_manager", "market_manager", "admin", "cs_manager"},
    # issue 15: on-site visits — engineers their own, the managers their department's, 客服 and admins all
    "/visits": {"cs", "dev_manager", "engineer", "impl_manager", "impl_engineer", "admin", "cs_manager"},
    # issue 16: everyone reads the knowledge base; engineers and the managers write; (review: tests/kb/test_access.py)
    "/kb": set(ALL) - {"duty_manager"},
    "/kb/new": {"dev_manager", "engineer", "impl_manager", "impl_engineer"},
    # issue 16: the suggestions while typing a problem are intake's and the hotline's (客服)
    "/kb/suggest?q=打印机无法打印": {"cs", "cs_manager"},
}


@pytest.fixture(autouse=True)
def managers(users):
    """The two roles issue 15 adds to the matrix, each held alone."""
    from portal.auth.operations import create_user
    from portal.core.enums import Role
    from tests.conftest import PASSWORD

    create_user("cs_manager", PASSWORD, "客服部经理", [Role.CS_MANAGER], "cs")
    create_user("duty_manager", PASSWORD, "值班经理", [Role.DUTY_MANAGER], "cs")
    db.session.commit()


@pytest.fixture
def tickets(users, ticket_factory, unit_factory):
    from portal.core.enums import MaintenanceStatus

    def act(t, action, who, **data):
        ops.take_action(t, action, users[who], data)
        db.session.commit()

    soon = utcnow() + timedelta(days=2)
    out = {}
    out["registered"] = ticket_factory(summary="待分析的问题")
    out["impl_consult"] = ticket_factory(type="consultation", summary="咨询问题")
    t = ticket_factory(summary="工程师甲的问题")
    act(t, "assign", "dev_manager", assignee_id=users["engineer"].id, deadline=soon)
    out["mine"] = t
    t = ticket_factory(summary="工程师乙的问题")
    act(t, "assign", "dev_manager", assignee_id=users["engineer2"].id, deadline=soon)
    out["others"] = t
    t = ticket_factory(summary="已关闭的问题", reporter_phone="13912345678")
    act(t, "assign", "dev_manager", assignee_id=users["engineer2"].id, deadline=soon)
    act(t, "resolve", "engineer2", process="p", result="r", hours_spent=1)
    act(t, "callback", "cs", solved=True, satisfaction=5, method="phone", text="好")
    act(t, "close", "market")
    out["closed_others"] = t
    out["awaiting_market"] = ticket_factory(unit=unit_factory(status=MaintenanceStatus.STOPPED), summary="停保客户")
    return out


# ticket key → roles (besides FULL) that see it
VISIBLE_TO = {
    "registered": {"engineer"},          # waits in the development queue
    "impl_consult": {"impl_engineer"},   # waits in the implementation queue
    "mine": {"engineer"},
    "others": set(),
    "closed_others": {"engineer", "impl_engineer"},  # reference, masked
    "awaiting_market": set(),
}


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("role", ALL)
def test_pages_are_allowed_or_403_by_role(auth, role, htmx):
    c = auth.client_for(role)
    headers = {"HX-Request": "true"} if htmx else {}
    for url, allowed in PAGES.items():
        status = c.get(url, headers=headers).status_code
        assert status == (200 if role in allowed else 403), (role, url, status)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("role", ALL)
def test_ticket_outside_visibility_is_404_like_a_missing_one(auth, tickets, role, htmx):
    c = auth.client_for(role)
    headers = {"HX-Request": "true"} if htmx else {}
    for key, t in tickets.items():
        expected = 200 if (role in FULL or role in VISIBLE_TO[key]) else 404
        assert c.get(f"/tickets/{t.number}", headers=headers).status_code == expected, (role, key)
    missing = c.get("/tickets/SH-2026-999999", headers=headers)
    assert missing.status_code == 404


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("role", ALL)
def test_following_a_ticket_outside_visibility_is_404_like_a_missing_one(auth, tickets, role, htmx):
    from portal.tickets.models import TicketFollower

    c = auth.client_for(role)
    headers = {"HX-Request": "true"} if htmx else {}
    ok = 200 if htmx else 302
    for key, t in tickets.items():
        expected = ok if (role in FULL or role in VISIBLE_TO[key]) else 404
        for verb in ("follow", "unfollow"):
            assert c.post(f"/tickets/{t.number}/{verb}", headers=headers).status_code == expected, (role, key, verb)
    assert c.post("/tickets/SH-2026-999999/follow", headers=headers).status_code == 404
    assert db.session.query(TicketFollower).count() == 0  # each follow undone, each refusal wrote nothing


@pytest.mark.parametrize("role", ALL)
def test_ticket_list_never_shows_tickets_outside_visibility(auth, tickets, role):
    page = auth.client_for(role).get("/tickets").get_data(as_text=True)
    for key, t in tickets.items():
        visible = role in FULL or role in VISIBLE_TO[key]
        assert (t.number in page) == visible, (role, key)


@pytest.mark.parametrize("role", ["engineer", "impl_engineer"])
def test_closed_tickets_of_others_show_masked_personal_data(auth, tickets, role):
    t = tickets["closed_others"]
    c = auth.client_for(role)
    for url in (f"/tickets/{t.number}", "/tickets"):
        page = c.get(url).get_data(as_text=True)
        assert "13912345678" not in page and "139****5678" in page
    page = c.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "刘建国" not in page and "刘**" in page


def test_assignee_and_full_view_roles_see_personal_data(auth, tickets):
    t = tickets["closed_others"]
    for role in ("engineer2", "cs"):
        page = auth.client_for(role).get(f"/tickets/{t.number}").get_data(as_text=True)
        assert "13912345678" in page


@pytest.mark.parametrize("role", ["engineer", "impl_engineer", "admin", "market"])
def test_actions_on_invisible_or_forbidden_tickets_write_nothing(auth, tickets, role, users):
    from portal.tickets.models import Event

    before = db.session.query(Event).count()
    c = auth.client_for(role)
    t = tickets["others"]
    r = c.post(f"/tickets/{t.number}/actions/resolve",
               data={"resolve-process": "x", "resolve-result": "y", "resolve-hours_spent": "1"})
    assert r.status_code in (403, 404)
    if role in ("engineer", "impl_engineer"):
        assert r.status_code == 404
    db.session.expire_all()
    assert db.session.query(Event).count() == before


@pytest.mark.parametrize("role", ALL)
def test_jump_box_opens_only_visible_tickets_and_says_not_found_otherwise(auth, tickets, role):
    """/tickets/jump (issue 14): a ticket outside the user's visibility is 'not found', like a missing one —
    by its whole number and by its digits alike; the answer never names or links the hidden ticket."""
    c = auth.client_for(role)
    for key, t in tickets.items():
        visible = role in FULL or role in VISIBLE_TO[key]
        for n in (t.number, str(t.id)):
            r = c.get("/tickets/jump", query_string={"n": n})
            assert r.status_code == 302, (role, key, n)
            opened = r.headers["Location"].endswith(f"/tickets/{t.number}")
            assert opened == visible, (role, key, n)
            if not visible:
                assert t.number not in c.get(r.headers["Location"]).get_data(as_text=True).replace(
                    f"问题单 {n}", "")  # the message repeats what was typed, nothing more


@pytest.mark.parametrize("role", ALL)
def test_bulk_comment_writes_only_on_tickets_the_role_sees(auth, tickets, role):
    from portal.tickets.models import Event

    c = auth.client_for(role)
    items = [f"{t.number}:{t.version}" for t in tickets.values()]
    r = c.post("/tickets/bulk", data={"action": "comment", "text": "批量", "t": items})
    assert r.status_code == 200
    db.session.expire_all()
    for key, t in tickets.items():
        wrote = db.session.query(Event).filter_by(ticket_id=t.id, action="comment").count()
        # a note is for anyone who sees the ticket (the workflow's `comment`, reference viewers included)
        assert wrote == (1 if role in FULL or role in VISIBLE_TO[key] else 0), (role, key)


@pytest.mark.parametrize("role", [r for r in ALL if r not in ("admin", "duty_manager")])  # those without 常用语
def test_reply_picker_for_a_ticket_outside_visibility_is_404_like_a_missing_one(auth, tickets, role):
    c = auth.client_for(role)
    for key, t in tickets.items():
        expected = 200 if (role in FULL or role in VISIBLE_TO[key]) else 404
        assert c.get(f"/replies/pick?ticket={t.number}&field=f", headers={"HX-Request": "true"}).status_code \
            == expected, (role, key)
