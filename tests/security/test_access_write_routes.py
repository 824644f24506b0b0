"""Access (issue 8): every write route of the app (every URL rule that takes POST/PUT/PATCH/DELETE),
aimed by each role at an object it may not touch — another department's ticket, another user's
notification, another unit's contact, an account not its own … — is refused and writes nothing: every
table's rows and every stored file are the same before and after.

The rules come from app.url_map: a write rule that is neither attacked below nor listed in
NOT_PARAMETRIZED (with the reason) fails test_every_write_route_is_attacked_or_listed, so a new route
cannot slip past this file.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.tickets.forms import ACTION_FORMS
from tests.security.world import ALL_ROLES, ARCHIVE_ROLES, World, build_world, changed, fingerprint

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Write rules that take no object an attacker could aim at, with the reason; each is covered elsewhere.
NOT_PARAMETRIZED = {
    "auth.login": "no object: signs the caller in (throttling and answers: tests/auth, the sessions tests)",
    "auth.logout": "no object: ends the caller's own session only",
    "auth.account": "no object in the URL: acts on current_user only; extra fields such as roles/active/"
                    "user_id are ignored (tests/security/test_privilege_fields.py)",
    "auth.end_other_sessions": "no object: ends the caller's own other sessions only "
                               "(tests/auth/test_session_list.py)",
    "tickets.view_create": "no object: saves a view for the caller only (tests/tickets/test_lists_for_people.py)",
}


def but(*roles: str) -> tuple[str, ...]:
    return tuple(r for r in ALL_ROLES if r not in roles)


EDIT_CUSTOMERS = ("cs", "market", "market_manager", "admin")
HANDOVER_VIEW = ("cs", "market", "market_manager", "admin")
REPLY_MANAGERS = ("dev_manager", "impl_manager", "market_manager", "cs_manager")
KB_READERS = ("cs", "market", "market_manager", "admin")


@dataclass
class Attack:
    roles: tuple[str, ...]
    params: Callable[[World], dict]
    data: Callable[[World], dict] = lambda w: {}
    file: tuple[str, bytes] | None = None  # (form field, content): sent as multipart
    expect: tuple[int, ...] = (403, 404)
    why: str = ""


def _txt(name="note.txt", body=b"hello\n"):
    return (name, body)


def _ticket_data(action: str) -> Callable[[World], dict]:
    generic = {"text": "写入尝试", "outcome": "proceed", "analysis": "x", "fee": "100", "agreed_requirements": "x",
               "deadline": (date.today() + timedelta(days=3)).isoformat() + "T10:00", "reason": "x",
               "request": "x", "whom": "张建华", "method": "phone", "process_text": "x", "result": "x",
               "hours_spent": "1", "answer": "x", "solved": "yes", "satisfaction": "5", "note": "x"}

    def data(w: World) -> dict:
        d = {f"{action}-{k}": v for k, v in generic.items()}
        d[f"{action}-assignee_id"] = str(w.users["engineer"].id)
        return d

    return data


VISIT_STEPS = ("book", "depart", "arrive", "record_work", "confirm", "leave", "cancel")


def _visit_data(step: str) -> Callable[[World], dict]:
    def data(w: World) -> dict:
        return {f"{step}-{k}": v for k, v in dict(
            appointment_at=(date.today() + timedelta(days=1)).isoformat() + "T10:00", customer_contact="张建华",
            engineer_id=str(w.users["engineer"].id), note="x", at="", result="x", name="张建华", text="x",
            reason="x").items()}

    return data


ATTACKS: dict[str, list[Attack]] = {
    "tickets.act": [
        Attack(("engineer",), lambda w, a=a, k=k: dict(number=w.tickets[k].number, action=a), _ticket_data(a),
               expect=(404,), why="a ticket outside the engineer's visibility")
        for a in ACTION_FORMS for k in ("others", "impl_others", "awaiting_market")
    ] + [
        Attack(("impl_engineer",), lambda w, a=a, k=k: dict(number=w.tickets[k].number, action=a), _ticket_data(a),
               expect=(404,), why="a ticket outside the implementation engineer's visibility")
        for a in ACTION_FORMS for k in ("others", "impl_others", "registered")
    ] + [
        # visible for reference only (closed, someone else's): nothing may be done to it
        Attack(("engineer", "impl_engineer"), lambda w, a=a: dict(number=w.tickets["closed_others"].number, action=a),
               _ticket_data(a), expect=(403, 404, 409))
        for a in ACTION_FORMS
    ],
    # 关注: only a ticket one may see (a follower of it, engineer2, is in the world: their row must stay)
    **{endpoint: [
        Attack(("engineer",), lambda w, k=k: dict(number=w.tickets[k].number), expect=(404,),
               why="a ticket outside the engineer's visibility")
        for k in ("others", "impl_others", "awaiting_market")
    ] + [
        Attack(("impl_engineer",), lambda w, k=k: dict(number=w.tickets[k].number), expect=(404,),
               why="a ticket outside the implementation engineer's visibility")
        for k in ("others", "impl_others", "registered")
    ] for endpoint in ("tickets.follow", "tickets.unfollow")},
    "tickets.new": [Attack(but("cs"), lambda w: {}, lambda w: dict(
        channel="hotline", customer_id=w.units["a"].id, type="maintenance", reporter_name="攻击者", reporter_dept="信息科",
        reporter_phone="13800138000", summary="不该登记", description="x"), file=("attachments", b"x\n"))],
    "notifications.mark_read": [
        Attack(but("cs"), lambda w: dict(note_id=w.notes[w.users["cs"].id].id), lambda w: {"go": "/"},
               expect=(404,), why="another user's notification"),
        Attack(("cs",), lambda w: dict(note_id=w.notes[w.users["engineer"].id].id), expect=(404,)),
    ],
    "notifications.mark_all_read": [
        Attack(tuple(ALL_ROLES), lambda w: {}, expect=(302,),
               why="acts on the caller's own notifications only: others' unread ones stay unread"),
    ],
    "complaints.new": [Attack(("engineer", "impl_engineer", "dev_manager", "impl_manager"), lambda w: {},
                              lambda w: dict(customer_id=w.units["a"].id, channel="phone", complainant="x",
                                             content="x", handler_id=w.users["market_manager"].id))],
    "complaints.handle": [Attack(("engineer", "impl_engineer", "cs", "market"),
                                 lambda w: dict(complaint_id=w.complaints["received"].id),
                                 lambda w: dict(handling="x", outcome="x"))],
    "complaints.confirm": [Attack(("engineer", "impl_engineer", "dev_manager", "impl_manager"),
                                  lambda w: dict(complaint_id=w.complaints["handled"].id),
                                  lambda w: dict(accepted="yes", confirmation="x"))],
    "customers.new": [Attack(but(*EDIT_CUSTOMERS), lambda w: {}, lambda w: dict(name="新单位", status="ordinary"))],
    "customers.edit": [Attack(but(*EDIT_CUSTOMERS), lambda w: dict(unit_id=w.units["a"].id),
                              lambda w: dict(name="改名", user_count="1"))],
    "customers.change_status": [Attack(but("market_manager"), lambda w: dict(unit_id=w.units["a"].id),
                                       lambda w: dict(status="vip", reason="x"))],
    "customers.keep_status": [Attack(but("market_manager"), lambda w: dict(unit_id=w.units["a"].id),
                                     lambda w: dict(reason="x", review_on=""))],
    "customers.new_contact": [Attack(but(*EDIT_CUSTOMERS), lambda w: dict(unit_id=w.units["a"].id),
                                     lambda w: dict(name="x", phone="13800138000"))],
    "customers.edit_contact": [
        Attack(but(*EDIT_CUSTOMERS), lambda w: dict(unit_id=w.units["a"].id, contact_id=w.contacts["a"].id),
               lambda w: dict(name="x", phone="13800138000")),
        Attack(EDIT_CUSTOMERS, lambda w: dict(unit_id=w.units["a"].id, contact_id=w.contacts["b"].id),
               lambda w: dict(name="x", phone="13800138000"), expect=(404,), why="a contact of another unit"),
    ],
    "customers.new_contract": [Attack(but(*EDIT_CUSTOMERS), lambda w: dict(unit_id=w.units["a"].id),
                                      lambda w: dict(start_date="2026-01-01", end_date="2026-12-31", fee="1"))],
    "customers.renew_contract": [
        Attack(but(*EDIT_CUSTOMERS), lambda w: dict(unit_id=w.units["a"].id, contract_id=w.contracts["a"].id),
               lambda w: dict(start_date="2026-01-01", end_date="2026-12-31", fee="1")),
        Attack(EDIT_CUSTOMERS, lambda w: dict(unit_id=w.units["a"].id, contract_id=w.contracts["b"].id),
               lambda w: dict(start_date="2026-01-01", end_date="2026-12-31", fee="1"), expect=(404,),
               why="a contract of another unit"),
    ],
    "customers.import_preview": [Attack(but(*EDIT_CUSTOMERS), lambda w: {}, file=("file", b"PK\x03\x04"))],
    "customers.import_confirm": [
        Attack(but(*EDIT_CUSTOMERS), lambda w: {}, lambda w: dict(token="x" * 32, fingerprint="x")),
        Attack(("market", "market_manager", "admin"), lambda w: {}, lambda w: dict(token=w.import_token, fingerprint="x"),
               expect=(409,), why="another user's import (the token names customer service's preview)"),
    ],
    "documents.regenerate": [Attack(but(*ARCHIVE_ROLES), lambda w: dict(doc_id=w.documents["a"].public_id), expect=(404,))],
    "documents.retry": [Attack(but(*ARCHIVE_ROLES), lambda w: dict(doc_id=w.documents["a"].public_id), expect=(404,))],
    "documents.upload_revision": [Attack(but(*ARCHIVE_ROLES), lambda w: dict(doc_id=w.documents["a"].public_id),
                                         file=("file", b"%PDF-1.4\n%%EOF\n"), expect=(404,))],
    "documents.record_sent": [Attack(but(*ARCHIVE_ROLES), lambda w: dict(doc_id=w.documents["a"].public_id),
                                     lambda w: dict(note="传真"), expect=(404,))],
    "documents.expiry_notice": [Attack(but(*ARCHIVE_ROLES), lambda w: dict(contract_id=w.contracts["a"].id),
                                       lambda w: dict(contact_id=str(w.contacts["a"].id)), expect=(404,))],
    "documents.generate_contract_letter": [Attack(but(*ARCHIVE_ROLES),
                                                  lambda w: dict(contract_id=w.contracts["a"].id), expect=(404,))],
    "documents.generate_summary": [Attack(but(*ARCHIVE_ROLES), lambda w: dict(unit_id=w.units["a"].id),
                                          lambda w: dict(period="2025"), expect=(404,))],
    "documents.upload": [Attack(but(*ARCHIVE_ROLES), lambda w: dict(unit_id=w.units["a"].id),
                                lambda w: dict(kind="other", title="x"), file=("file", b"hello\n"), expect=(404,))],
    "documents.settings": [Attack(but("admin"), lambda w: {}, lambda w: dict(name="x", address="x", phone="1"),
                                  expect=(404,))],
    "handover.start": [Attack(but("cs"), lambda w: dict(unit_id=w.units["a"].id))],
    "handover.send_letter": [
        Attack(but("cs"), lambda w: dict(unit_id=w.units["project"].id, contact_id=w.contacts["project"].id)),
        Attack(("cs",), lambda w: dict(unit_id=w.units["project"].id, contact_id=w.contacts["b"].id), expect=(404,),
               why="a contact of another unit"),
    ],
    "handover.record_call": [
        Attack(but("cs"), lambda w: dict(unit_id=w.units["project"].id, contact_id=w.contacts["project"].id),
               lambda w: {f"c{w.contacts['project'].id}-reached": "y", f"c{w.contacts['project'].id}-outcome": "x"}),
        Attack(("cs",), lambda w: dict(unit_id=w.units["project"].id, contact_id=w.contacts["b"].id),
               lambda w: {f"c{w.contacts['b'].id}-reached": "y", f"c{w.contacts['b'].id}-outcome": "x"},
               expect=(404,), why="a contact of another unit"),
    ],
    "handover.record_callback": [Attack(but("cs"), lambda w: dict(unit_id=w.units["project"].id),
                                        lambda w: dict(method="phone", contact_person="x", outcome="x",
                                                       satisfaction="5"))],
    "hotline.new": [Attack(but("cs"), lambda w: {}, lambda w: dict(unit_name="x", phone="13800138000",
                                                                   contact_name="x", content="x"))],
    "hotline.roster.add": [Attack(tuple(ALL_ROLES), lambda w: {}, lambda w: dict(
        day=(date.today() + timedelta(days=4)).isoformat(), half="pm", user_id=str(w.users["cs"].id)),
        why="only the duty manager arranges the roster")],
    "hotline.roster.remove": [Attack(tuple(ALL_ROLES), lambda w: dict(shift_id=w.shift.id))],
    # 签到 for someone else's shift (the world's shift is 客服's; its own, days ahead, is refused by time:
    # tests/hotline/test_staffing_and_check_in.py)
    "hotline.duty.check_in_route": [Attack(but("cs"), lambda w: dict(shift_id=w.shift.id),
                                           why="only the person on the shift checks in")],
    # the week after the world's shift: copying "last week" would copy that shift
    "hotline.roster.copy_week": [Attack(tuple(ALL_ROLES), lambda w: {}, lambda w: dict(
        week=(w.shift.day + timedelta(days=7)).isoformat()), why="only the duty manager arranges the roster")],
    "service_plan.record": [Attack(but("cs"), lambda w: dict(unit_id=w.units["a"].id), lambda w: dict(
        kind="monthly", method="phone", contact_person="x", outcome="x", satisfaction="5"))],
    # on-site visits (issue 15): a visit one may not see is a 404; a step one's role may not take, a 403
    "visits.act": [
        Attack(("engineer", "impl_engineer"), lambda w, s=s, k=k: dict(visit_id=w.visits[k].id, step=s),
               _visit_data(s), expect=(404,), why="a visit that is not the engineer's")
        for s in VISIT_STEPS for k in ("others", "impl_others")
    ] + [
        Attack(("impl_manager",), lambda w, s=s: dict(visit_id=w.visits["others"].id, step=s), _visit_data(s),
               expect=(404,), why="another department's visit") for s in VISIT_STEPS
    ] + [
        Attack(("dev_manager",), lambda w, s=s: dict(visit_id=w.visits["impl_others"].id, step=s), _visit_data(s),
               expect=(404,), why="another department's visit") for s in VISIT_STEPS
    ] + [
        Attack(("market", "market_manager"), lambda w, s=s: dict(visit_id=w.visits["others"].id, step=s),
               _visit_data(s)) for s in VISIT_STEPS
    ] + [
        Attack(("cs",), lambda w, s=s: dict(visit_id=w.visits["others"].id, step=s), _visit_data(s),
               expect=(403, 409), why="客服 books visits, engineers record them")
        for s in ("depart", "arrive", "record_work", "confirm", "leave")
    ] + [
        Attack(("admin",), lambda w, s=s: dict(visit_id=w.visits["others"].id, step=s), _visit_data(s),
               expect=(403,), why="administrators see visits, they do not book or record them") for s in VISIT_STEPS
    ],
    "visits.plan": [
        Attack(but("cs", "dev_manager", "impl_manager"), lambda w: dict(unit_id=w.units["a"].id),
               lambda w: dict(department="impl", reason="x")),
        Attack(("cs",), lambda w: dict(unit_id=w.units["stopped"].id), lambda w: dict(department="impl", reason="x"),
               expect=(409,), why="a unit whose maintenance has stopped has no maintenance visits"),
    ],
    "admin.new_user": [Attack(but("admin"), lambda w: {}, lambda w: dict(
        username="mallory", password="long-enough-pw", display_name="x", roles=["admin"]))],
    "admin.edit_user": [
        # raising one's own roles through the administrators' form
        Attack((r,), lambda w, r=r: dict(user_id=w.users[r].id), lambda w, r=r: dict(
            display_name=r, roles=["admin", r], active="y"), why="a user raising their own roles")
        for r in ALL_ROLES if r != "admin"
    ] + [Attack(but("admin"), lambda w: dict(user_id=w.users["admin"].id), lambda w: dict(
        display_name="x", roles=["cs"], active="y"))],
    "admin.reset_password": [Attack(but("admin"), lambda w: dict(user_id=w.users["admin"].id), lambda w: dict(
        password="new-password-1", confirm="new-password-1"))],
    "admin.end_sessions": [Attack(but("admin"), lambda w: dict(user_id=w.users["admin"].id))],
    "admin.rename_department": [Attack(but("admin"), lambda w: dict(key="dev"), lambda w: {"d2-name": "改名"})],
    "admin.jobs.retry": [Attack(but("admin"), lambda w: dict(job_id="deliver-1"))],
    "admin.change_policy": [Attack(but("admin"), lambda w: {}, lambda w: dict(
        field="onsite_within_hours", level="vip", value="1", reason="越权修改"), why="only administrators set the policy")],
    "admin.calendar.add": [Attack(but("admin"), lambda w: {}, lambda w: dict(day="2027-02-09", kind="holiday",
                                                                              name="春节"))],
    "admin.calendar.remove": [Attack(but("admin"), lambda w: dict(day="2027-02-08"), why="a day entered")],
    "admin.calendar.import_days": [Attack(but("admin"), lambda w: {}, lambda w: dict(
        text="2027-02-10,holiday,春节\n2027-02-08,workday,调休"))],
    "tickets.bulk_action": [
        Attack(("engineer",), lambda w: {}, lambda w: dict(action="comment", text="写入尝试", t=[
            f"{w.tickets[k].number}:{w.tickets[k].version}" for k in ("others", "impl_others", "awaiting_market")]),
            expect=(200,), why="tickets outside the engineer's visibility: each refused as not found, none written"),
        Attack(("impl_engineer",), lambda w: {}, lambda w: dict(action="comment", text="写入尝试", t=[
            f"{w.tickets[k].number}:{w.tickets[k].version}" for k in ("others", "impl_others", "registered")]),
            expect=(200,), why="tickets outside the implementation engineer's visibility"),
        Attack(but("dev_manager", "impl_manager"), lambda w: {}, lambda w: dict(
            action="assign", assignee_id=w.users["engineer"].id,
            deadline=(date.today() + timedelta(days=3)).isoformat() + "T10:00",
            t=[f"{w.tickets['registered'].number}:{w.tickets['registered'].version}"]),
            expect=(403,), why="a role the workflow never lets assign"),
    ],
    "tickets.view_delete": [
        Attack(but("cs"), lambda w: dict(view_id=w.saved_view_id), expect=(404,), why="another user's saved view"),
    ],
    # 常用语: someone else's personal reply does not exist for the attacker; a shared one is the managers'
    "replies.new": [
        Attack(("admin",), lambda w: {}, lambda w: dict(kind="general", title="x", body="x"),
               why="administrators keep no replies"),
        Attack(but(*REPLY_MANAGERS), lambda w: dict(scope="shared"), lambda w: dict(kind="general", title="x", body="x"),
               why="a shared reply is added by a department manager only"),
    ],
    **{endpoint: [
        Attack(but("cs"), lambda w: dict(reply_id=w.replies["personal"].id), data, expect=(403, 404),
               why="another user's personal reply (404; admin: 403, no replies at all)"),
        Attack(but(*REPLY_MANAGERS), lambda w: dict(reply_id=w.replies["shared"].id), data,
               why="a shared reply, changed by a department manager only"),
        Attack(but("cs"), lambda w: dict(reply_id=w.replies["archived"].id), data, expect=(403, 404),
               why="another user's archived personal reply"),
    ] for endpoint, data in (
        ("replies.edit", lambda w: dict(kind="general", title="改", body="改")),
        ("replies.archive", lambda w: {}),
        ("replies.restore", lambda w: {}),
    )},
    # 知识库 (issue 16): readers write nothing; engineers only their own drafts; only the managers review
    "kb.new": [
        Attack(KB_READERS, lambda w: {}, lambda w: dict(title="写入尝试", solution="x", visibility="internal"),
               expect=(403,), why="reading roles write no articles"),
        Attack(("engineer",), lambda w: {}, lambda w: dict(title="写入尝试", solution="x", visibility="internal",
                                                          source=w.tickets["others"].number),
               expect=(404,), why="written from a ticket the engineer may not see"),
    ],
    "kb.edit": [
        Attack(but("dev_manager", "impl_manager"), lambda w: dict(number=w.articles["published"].number),
               lambda w: dict(title="改写尝试", solution="x", visibility="internal", revision="2"),
               why="a published article: only the reviewers edit it"),
        Attack(("engineer", "impl_engineer"), lambda w: dict(number=w.articles["draft"].number),
               lambda w: dict(title="改写尝试", solution="x", visibility="internal", revision="1"),
               expect=(404,), why="another engineer's draft does not exist for them"),
    ],
    **{f"kb.{step}": [
        Attack(but("dev_manager", "impl_manager"), lambda w: dict(number=w.articles["draft"].number),
               lambda w: dict(comment="审核尝试", revision="1"), why="only the managers review")]
       for step in ("publish", "send_back", "archive")},
    "kb.restore": [Attack(but("dev_manager", "impl_manager"), lambda w: dict(number=w.articles["archived"].number),
                          lambda w: dict(revision="2"), why="only the managers review")],
    "kb.link_ticket": [
        Attack(KB_READERS, lambda w: dict(number=w.articles["published"].number),
               lambda w: dict(ticket_number=w.tickets["mine"].number), expect=(403,)),
        Attack(("engineer",), lambda w: dict(number=w.articles["published"].number),
               lambda w: dict(ticket_number=w.tickets["others"].number), expect=(422,),
               why="a ticket the engineer may not see: no such ticket"),
        Attack(("engineer",), lambda w: dict(number=w.articles["draft"].number),
               lambda w: dict(ticket_number=w.tickets["mine"].number), expect=(404,),
               why="another engineer's draft"),
    ],
    # issue 16 (kb_work): a vote on an article the role may not see (another's draft) is as if it did not exist;
    # a reviewer who sees an archived one is told only a published article is voted on
    "kb_work.vote": [
        Attack(but("dev_manager", "impl_manager"), lambda w: dict(number=w.articles["draft"].number),
               lambda w: {"helpful": "yes"}, expect=(404,), why="engineer2's draft: only its owner and the reviewers"),
        Attack(("dev_manager",), lambda w: dict(number=w.articles["archived"].number), lambda w: {"helpful": "yes"},
               expect=(409,), why="an archived article is not voted on"),
    ],
}


@pytest.fixture
def world(users, ticket_factory, unit_factory):
    from portal.customers import importer
    from portal.tickets import followers

    w = build_world(users, ticket_factory, unit_factory)
    w.import_token = importer.stash([{"name": "导入单位"}], "单位.xlsx", w.users["cs"])
    followers.follow(w.tickets["others"], w.users["engineer2"])
    from portal.tickets.models import SavedView

    view = SavedView(user_id=w.users["cs"].id, name="客服的视图", query="urgent=1")
    db.session.add(view)
    db.session.commit()
    w.saved_view_id = view.id
    from portal.core import workcalendar

    workcalendar.put([workcalendar.Entry(date(2027, 2, 8), "holiday", "春节")], w.users["admin"].id)
    db.session.commit()
    w.articles = _articles(w)
    return w


def _articles(w: World) -> dict:
    from portal.kb import operations as kb

    def write(title):
        return kb.create(w.users["engineer2"], kb.ArticleInput(title=title, symptom="现象", solution="解决方法"))

    out = {"draft": write("别人的草稿"), "published": write("已发布的文章"), "archived": write("已归档的文章")}
    kb.publish(out["published"], w.users["dev_manager"])
    kb.archive(out["archived"], w.users["dev_manager"])
    db.session.commit()
    return out


def _write_rules(app) -> dict[str, str]:
    return {r.endpoint: r.rule for r in app.url_map.iter_rules() if r.methods & WRITE_METHODS}


def test_every_write_route_is_attacked_or_listed(app):
    rules = _write_rules(app)
    unlisted = sorted(set(rules) - set(ATTACKS) - set(NOT_PARAMETRIZED))
    assert not unlisted, f"write routes with no attack here and no reason in NOT_PARAMETRIZED: {unlisted}"
    stale = sorted((set(ATTACKS) | set(NOT_PARAMETRIZED)) - set(rules))
    assert not stale, f"entries for routes that no longer exist: {stale}"
    assert not set(ATTACKS) & set(NOT_PARAMETRIZED)


def _post(client, app, endpoint: str, attack: Attack, w: World):
    url = app.url_map.bind("localhost").build(endpoint, attack.params(w))
    data = dict(attack.data(w))
    if attack.file:
        field, content = attack.file
        data[field] = (io.BytesIO(content), "x.txt" if not content.startswith(b"%PDF") else "x.pdf")
        return url, client.post(url, data=data, content_type="multipart/form-data")
    return url, client.post(url, data=data)


@pytest.mark.parametrize("endpoint", sorted(ATTACKS))
def test_a_write_route_aimed_at_what_the_role_may_not_touch_is_refused_and_writes_nothing(app, auth, world,
                                                                                          endpoint):
    from portal.notifications.models import Notification

    attempts = 0
    for attack in ATTACKS[endpoint]:
        for role in attack.roles:
            client = auth.client_for(role)  # signed in first: the sign-in itself writes
            if endpoint == "notifications.mark_all_read":  # the caller's own are already read
                db.session.execute(update(Notification).where(Notification.user_id == world.users[role].id)
                                   .values(read_at=db.func.now()))
                db.session.commit()
            for htmx in (False, True):
                before = fingerprint()
                client.environ_base.pop("HTTP_HX_REQUEST", None)
                if htmx:
                    client.environ_base["HTTP_HX_REQUEST"] = "true"
                url, r = _post(client, app, endpoint, attack, world)
                client.environ_base.pop("HTTP_HX_REQUEST", None)
                after = fingerprint()
                assert r.status_code in attack.expect, (endpoint, role, url, htmx, r.status_code, attack.why)
                assert not changed(before, after), (endpoint, role, url, htmx, changed(before, after))
                attempts += 1
    assert attempts
