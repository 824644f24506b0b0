"""Privilege (issue 8): fields a form does not have — state, assignee_id, roles, created_by, version,
deadline, urgent, active … — are ignored in every form post: the server takes only what the form
declares, and the state machine alone moves a ticket."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.auth.models import User
from portal.complaints.models import Complaint
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.hotline.models import HotlineRecord
from portal.tickets.models import Callback, Ticket
from tests.security.world import build_world


@pytest.fixture
def world(users, ticket_factory, unit_factory):
    return build_world(users, ticket_factory, unit_factory)


def _extras(w, prefix: str = "") -> dict:
    """What an attacker adds to a form, with and without the form's prefix."""
    admin, eng2 = w.users["admin"], w.users["engineer2"]
    raw = {"state": "closed", "close_reason": "solved", "assignee_id": str(eng2.id), "created_by_id": str(admin.id),
           "created_by": str(admin.id), "version": "1", "deadline": "2099-01-01T00:00", "urgent": "y",
           "roles": "admin", "active": "y", "user_id": str(admin.id), "number": "SH-2099-000001", "fee": "99999",
           "handling_department": "impl", "received_by_id": str(admin.id), "handled_by_id": str(admin.id),
           "made_by_id": str(admin.id), "recorded_by_id": str(admin.id), "ticket_id": "1", "id": "1",
           "maintenance_status": "vip", "status_changed_by": str(admin.id), "session_token": "x",
           "password_hash": "x", "username": "admin"}
    out = dict(raw)
    if prefix:
        out.update({f"{prefix}-{k}": v for k, v in raw.items() if k not in ("version",)})
    return out


def test_extra_fields_in_the_intake_form_are_ignored(auth, world):
    w = world
    c = auth.client_for("cs")
    data = dict(_extras(w), channel="hotline", customer_id=w.units["a"].id, type="maintenance", reporter_name="孙丽",
                reporter_dept="信息科", reporter_phone="13800138000", summary="多余字段的登记", description="x")
    r = c.post("/tickets/new", data=data)
    assert r.status_code == 302
    t = db.session.scalar(select(Ticket).where(Ticket.summary == "多余字段的登记"))
    assert t.state == "registered" and t.close_reason is None and t.assignee_id is None and t.deadline is None
    assert t.created_by_id == w.users["cs"].id and not t.urgent and t.fee is None
    assert t.handling_department == "dev" and t.number != "SH-2099-000001"


def test_extra_fields_in_ticket_actions_are_ignored(auth, world):
    w = world
    mine = w.tickets["mine"]
    deadline, assignee = mine.deadline, mine.assignee_id
    # a note may carry anything: only the note is recorded
    r = auth.client_for("cs").post(f"/tickets/{mine.number}/actions/comment",
                                   data=dict(_extras(w, "comment"), **{"comment-text": "只是备注",
                                                                        "comment-version": str(mine.version)}))
    assert r.status_code == 302, r.status_code
    db.session.expire_all()
    mine = db.session.get(Ticket, mine.id)
    assert (mine.state, mine.assignee_id, mine.deadline, mine.urgent) == ("assigned", assignee, deadline, False)
    # resolving moves it to `resolved` — never to the state the form names — and keeps the assignee
    r = auth.client_for("engineer").post(f"/tickets/{mine.number}/actions/resolve", data=dict(
        _extras(w, "resolve"), **{"resolve-process_text": "查明", "resolve-result": "已修复", "resolve-hours_spent": "1",
                                  "resolve-version": str(mine.version)}))
    assert r.status_code == 302, r.status_code
    db.session.expire_all()
    mine = db.session.get(Ticket, mine.id)
    assert (mine.state, mine.close_reason, mine.assignee_id, mine.deadline) == ("resolved", None, assignee, deadline)
    assert mine.fee is None and mine.handling_department == "dev"
    # telling the customer the deadline does not change it
    r = auth.client_for("cs").post(f"/tickets/{mine.number}/actions/notify_deadline", data=dict(
        _extras(w, "notify_deadline"), **{"notify_deadline-whom": "张建华", "notify_deadline-method": "phone",
                                          "notify_deadline-version": str(mine.version)}))
    assert r.status_code == 302, r.status_code
    db.session.expire_all()
    mine = db.session.get(Ticket, mine.id)
    assert mine.deadline == deadline and mine.state == "resolved"
    # the callback's author is the one who made it
    r = auth.client_for("cs").post(f"/tickets/{mine.number}/actions/callback", data=dict(
        _extras(w, "callback"), **{"callback-solved": "yes", "callback-method": "phone", "callback-text": "好",
                                   "callback-satisfaction": "5", "callback-version": str(mine.version)}))
    assert r.status_code == 302, r.status_code
    db.session.expire_all()
    cb = db.session.scalar(select(Callback).where(Callback.ticket_id == mine.id))
    assert cb.made_by_id == w.users["cs"].id
    assert db.session.get(Ticket, mine.id).state == "callback_done"


def test_extra_fields_in_complaint_hotline_customer_and_plan_forms_are_ignored(auth, world):
    w = world
    cs = auth.client_for("cs")
    r = cs.post("/complaints/new", data=dict(_extras(w), customer_id=w.units["a"].id, channel="phone",
                                             complainant="周先生", content="多余字段的投诉",
                                             handler_id=w.users["market_manager"].id))
    assert r.status_code == 302
    c = db.session.scalar(select(Complaint).where(Complaint.content == "多余字段的投诉"))
    assert c.state == "received" and c.received_by_id == w.users["cs"].id and c.handled_by_id is None
    r = cs.post("/hotline/new", data=dict(_extras(w), unit_name="甲市人民医院", phone="13800138000",
                                          contact_name="张建华", content="多余字段的热线"))
    assert r.status_code == 302
    rec = db.session.scalar(select(HotlineRecord).where(HotlineRecord.content == "多余字段的热线"))
    assert rec.ticket_id is None and rec.recorded_by_id == w.users["cs"].id
    unit = w.units["a"]
    r = cs.post(f"/customers/{unit.id}/edit", data=dict(_extras(w), name=unit.name, user_count="5"))
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(CustomerUnit, unit.id).maintenance_status == "ordinary"  # only the market manager sets it
    r = cs.post(f"/service-plan/{unit.id}/record", data=dict(_extras(w), kind="monthly", method="phone",
                                                            contact_person="张建华", outcome="正常"))
    assert r.status_code == 200
    cb = db.session.scalar(select(Callback).where(Callback.customer_id == unit.id, Callback.kind == "monthly"))
    assert cb.made_by_id == w.users["cs"].id and cb.ticket_id is None


def test_the_account_page_ignores_roles_and_every_field_it_does_not_have(auth, world):
    w = world
    for role in ("engineer", "cs", "market"):
        user = w.users[role]
        before = (sorted(r.value for r in user.roles), user.active, user.username, user.display_name, user.email)
        c = auth.client_for(role)
        r = c.post("/account", data=dict(_extras(w), **{"prefs-locale": "zh_CN", "prefs-roles": "admin",
                                                       "display_name": "管理员", "email": "x@example.com"}))
        assert r.status_code == 302
        db.session.expire_all()
        user = db.session.get(User, user.id)
        assert (sorted(r.value for r in user.roles), user.active, user.username, user.display_name,
                user.email) == before
        assert c.get("/admin/users").status_code == 403


def test_an_administrator_s_edit_of_an_account_ignores_fields_the_form_does_not_have(auth, world):
    w = world
    eng = w.users["engineer"]
    hash_before = eng.password_hash
    r = auth.client_for("admin").post(f"/admin/users/{eng.id}", data=dict(
        _extras(w), display_name="工程师", roles=["engineer"], active="y", department="dev"))
    assert r.status_code == 302, r.status_code
    db.session.expire_all()
    eng = db.session.get(User, eng.id)
    assert eng.username == "engineer" and eng.password_hash == hash_before
    assert {r.value for r in eng.roles} == {"engineer"}
