"""SPEC §3's flows end to end through the HTTP endpoints, each step taken by the role the
standard names, logged in as that user. Every action is taken the way the ticket page offers
it: the form must be on the page for that user, and its hidden version goes with the POST.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.core.enums import MaintenanceStatus
from portal.core.timeutil import to_local, utcnow
from portal.extensions import db
from portal.notifications.models import Notification
from portal.tickets.models import Callback, Event, Ticket, TicketLink

NOT_TOLD = "客户尚未被告知解决时限"  # issue 3 wording; msgid "The customer has not yet been told the deadline."


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def deadline_in(days: int = 3) -> str:
    """A deadline as typed into the form: Shanghai wall-clock time."""
    return (to_local(utcnow()) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def register(auth, unit, type="maintenance", summary="打印机无法打印") -> str:
    r = auth.client_for("cs").post("/tickets/new", content_type="multipart/form-data", data={
        "channel": "hotline", "customer_id": str(unit.id), "type": type, "reporter_name": "刘建国",
        "reporter_dept": "信息科", "reporter_phone": "13800138000", "summary": summary,
        "description": "点击打印后无反应",
    })
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    number = r.headers["Location"].rsplit("/", 1)[-1]
    assert number.startswith("SH-")
    return number


def page(client, number: str) -> str:
    r = client.get(f"/tickets/{number}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def offered(client, number: str) -> set[str]:
    return set(re.findall(rf'<form[^>]* action="/tickets/{re.escape(number)}/actions/(\w+)"', page(client, number)))


def form_version(html: str, action: str) -> str:
    tag = re.search(rf'<input[^>]*name="{action}-version"[^>]*>', html)
    assert tag, f"the page offers no {action} form"
    return re.search(r'value="(\d+)"', tag.group(0)).group(1)


def post(client, number: str, action: str, version: str | None = None, htmx: bool = False, **fields):
    data = {f"{action}-{k}": v for k, v in fields.items()}
    if version is not None:
        data[f"{action}-version"] = version
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/tickets/{number}/actions/{action}", data=data, headers=headers)


def act(client, number: str, action: str, **fields):
    """Take an action the way a user does: from the form on the ticket page (with its version)."""
    version = form_version(page(client, number), action)
    r = post(client, number, action, version, **fields)
    assert r.status_code == 302, f"{action}: {r.status_code} {flash_error(r)}"
    assert r.headers["Location"].endswith(f"/tickets/{number}")
    return r


def flash_error(r) -> str:
    m = re.search(r'class="flash error"[^>]*>(.*?)</div>', r.get_data(as_text=True), re.S)
    return m.group(1).strip() if m else ""


def ticket(number: str) -> Ticket:
    db.session.expire_all()
    return db.session.scalar(select(Ticket).where(Ticket.number == number))


def history(number: str) -> list[tuple[str, str | None, str | None, str]]:
    t = ticket(number)
    return [(e.action, e.from_state, e.to_state, e.actor.username)
            for e in db.session.scalars(select(Event).where(Event.ticket_id == t.id).order_by(Event.id))]


def snapshot(number: str) -> tuple:
    """Everything a refused request must leave alone."""
    t = ticket(number)
    row = dict(db.session.execute(select(Ticket.__table__).where(Ticket.__table__.c.id == t.id)).one()._mapping)
    counts = tuple(db.session.scalar(select(func.count()).select_from(m))
                   for m in (Ticket, Event, Callback, Notification, TicketLink))
    return row, counts


def notified(number: str, username: str, kind: str) -> bool:
    from portal.auth.models import User

    t = ticket(number)
    return db.session.scalar(select(func.count()).select_from(Notification).join(User, User.id == Notification.user_id)
                             .where(Notification.ticket_id == t.id, User.username == username,
                                    Notification.kind == kind)) > 0


def timeline(html: str) -> list[str]:
    """The state changes shown in the history, e.g. ['— → 待分析', '待分析 → 处理中']."""
    section = re.search(r'<ol class="timeline">(.*?)</ol>', html, re.S).group(1)
    return [re.sub(r"\s+", " ", s).strip() for s in re.findall(r'<span class="muted">([^<]*→[^<]*)</span>', section)]


def assign(auth, number, users, who="dev_manager", assignee="engineer"):
    act(auth.client_for(who), number, "assign", assignee_id=str(users[assignee].id), deadline=deadline_in(),
        analysis="驱动程序损坏")


def tell_deadline(auth, number):
    act(auth.client_for("cs"), number, "notify_deadline", whom="刘建国", method="phone", text="已电话告知")


def resolve(auth, number, engineer="engineer"):
    act(auth.client_for(engineer), number, "resolve", process_text="远程重装打印驱动", result="打印恢复正常",
        hours_spent="1.5")


def callback(auth, number, solved: bool):
    act(auth.client_for("cs"), number, "callback", solved="yes" if solved else "no",
        satisfaction="5" if solved else "2", method="phone", contact_person="刘建国",
        text="客户确认已解决" if solved else "客户反映问题依旧", deadline="" if solved else deadline_in(2))


def close(auth, number, who="market"):
    act(auth.client_for(who), number, "close", note="客户满意，关闭")


# ---------------------------------------------------------------------------
# The flows
# ---------------------------------------------------------------------------

def test_maintenance_flow_cs_dev_manager_cs_engineer_cs_market_ends_closed_solved(auth, users, unit_factory):
    number = register(auth, unit_factory())
    assert ticket(number).state == "registered"
    assert "assign" in offered(auth.client_for("dev_manager"), number)

    assign(auth, number, users)
    t = ticket(number)
    assert (t.state, t.assignee_id) == ("assigned", users["engineer"].id)
    assert notified(number, "engineer", "assign") and notified(number, "cs", "assign")
    # the obligation, not a gate: 客服 sees it until it is recorded
    assert NOT_TOLD in page(auth.client_for("cs"), number)

    tell_deadline(auth, number)
    assert ticket(number).deadline_notified_at is not None
    assert NOT_TOLD not in page(auth.client_for("cs"), number)

    resolve(auth, number)
    t = ticket(number)
    assert (t.state, t.result, t.hours_spent) == ("resolved", "打印恢复正常", 1.5)
    assert notified(number, "cs", "resolve")

    callback(auth, number, solved=True)
    assert ticket(number).state == "callback_done"
    cb = db.session.scalars(select(Callback).where(Callback.ticket_id == ticket(number).id)).one()
    assert (cb.solved, cb.satisfaction, cb.made_by.username) == (True, 5, "cs")

    close(auth, number)
    t = ticket(number)
    assert (t.state, t.close_reason) == ("closed", "solved") and t.closed_at is not None
    assert history(number) == [
        ("register", None, "registered", "cs"),
        ("assign", "registered", "assigned", "dev_manager"),
        ("notify_deadline", "assigned", "assigned", "cs"),
        ("resolve", "assigned", "resolved", "engineer"),
        ("callback", "resolved", "callback_done", "cs"),
        ("close", "callback_done", "closed", "market"),
    ]
    html = page(auth.client_for("market"), number)
    assert timeline(html) == ["— → 待分析", "待分析 → 处理中", "处理中 → 待回访", "待回访 → 待关闭", "待关闭 → 已关闭"]
    assert "已关闭 · 已解决" in html


def test_callback_not_solved_sends_ticket_back_to_the_engineer_and_never_closes_it(auth, users, unit_factory):
    number = register(auth, unit_factory())
    assign(auth, number, users)
    tell_deadline(auth, number)
    resolve(auth, number)

    callback(auth, number, solved=False)
    t = ticket(number)
    assert (t.state, t.close_reason, t.closed_at, t.assignee_id) == ("assigned", None, None, users["engineer"].id)
    assert notified(number, "engineer", "callback")
    assert "close" not in offered(auth.client_for("market"), number)
    before = snapshot(number)
    assert post(auth.client_for("market"), number, "close", str(t.version), note="x").status_code == 409
    assert snapshot(number) == before

    resolve(auth, number)  # the same engineer solves it again
    callback(auth, number, solved=True)
    close(auth, number)
    assert [a for a, *_ in history(number)] == [
        "register", "assign", "notify_deadline", "resolve", "callback", "resolve", "callback", "close"]
    assert [c.solved for c in db.session.scalars(
        select(Callback).where(Callback.ticket_id == ticket(number).id).order_by(Callback.id))] == [False, True]


def test_new_requirement_passes_the_fee_gate_then_follows_the_maintenance_flow(auth, users, unit_factory):
    number = register(auth, unit_factory(), type="requirement", summary="增加报表导出功能")
    dev = auth.client_for("dev_manager")
    assert "assign" not in offered(dev, number)  # no assignment before the fee is agreed
    before = snapshot(number)
    r = post(dev, number, "assign", str(ticket(number).version), assignee_id=str(users["engineer"].id),
             deadline=deadline_in())
    assert r.status_code == 409 and snapshot(number) == before

    act(dev, number, "suspend_for_fee", analysis="属于新增功能，需与客户确认费用")
    assert ticket(number).state == "pending_fee"
    assert notified(number, "market", "suspend_for_fee")

    act(auth.client_for("market"), number, "record_fee", outcome="agreed", fee="5000.00",
        agreed_requirements="按科室导出月度报表", text="客户同意按报价付费")
    t = ticket(number)
    assert (t.state, t.fee, t.agreed_requirements) == ("ready_to_assign", 5000, "按科室导出月度报表")
    assert notified(number, "dev_manager", "record_fee")

    assign(auth, number, users)
    tell_deadline(auth, number)
    resolve(auth, number)
    callback(auth, number, solved=True)
    close(auth, number)
    t = ticket(number)
    assert (t.state, t.close_reason) == ("closed", "solved")
    assert [(a, f, to) for a, f, to, _ in history(number)] == [
        ("register", None, "registered"), ("suspend_for_fee", "registered", "pending_fee"),
        ("record_fee", "pending_fee", "ready_to_assign"), ("assign", "ready_to_assign", "assigned"),
        ("notify_deadline", "assigned", "assigned"), ("resolve", "assigned", "resolved"),
        ("callback", "resolved", "callback_done"), ("close", "callback_done", "closed")]


def test_new_requirement_declined_by_the_customer_is_closed_as_declined(auth, users, unit_factory):
    number = register(auth, unit_factory(), type="requirement")
    act(auth.client_for("dev_manager"), number, "suspend_for_fee", analysis="需收费")
    act(auth.client_for("market_manager"), number, "record_fee", outcome="declined", text="客户不愿付费")
    t = ticket(number)
    assert (t.state, t.close_reason, t.fee, t.assignee_id) == ("closed", "declined", None, None)
    assert "已关闭 · 客户放弃" in page(auth.client_for("cs"), number)


def test_consultation_goes_straight_to_implementation_and_its_answer_can_register_a_linked_follow_up(
        auth, users, unit_factory):
    unit = unit_factory()
    number = register(auth, unit, type="consultation", summary="如何设置打印模板")
    assert ticket(number).state == "impl_queue"
    assert notified(number, "impl_manager", "register")
    assert "assign" not in offered(auth.client_for("dev_manager"), number)

    act(auth.client_for("impl_engineer"), number, "answer", answer="在系统设置-打印模板中修改",
        follow_up="y", follow_up_type="maintenance", follow_up_summary="打印模板保存后丢失")
    t = ticket(number)
    assert (t.state, t.close_reason, t.result) == ("closed", "answered", "在系统设置-打印模板中修改")
    link = db.session.scalars(select(TicketLink).where(TicketLink.to_id == t.id)).one()
    follow_up = db.session.get(Ticket, link.from_id)
    assert link.kind == "follow_up"
    assert (follow_up.type, follow_up.state, follow_up.summary, follow_up.customer_id) == (
        "maintenance", "registered", "打印模板保存后丢失", unit.id)
    assert history(follow_up.number) == [("register", None, "registered", "impl_engineer")]
    # linked both ways on the pages
    assert f'href="/tickets/{follow_up.number}"' in page(auth.client_for("cs"), number)
    assert f'href="/tickets/{number}"' in page(auth.client_for("cs"), follow_up.number)
    # … and the follow-up follows its own (maintenance) flow
    assert "assign" in offered(auth.client_for("dev_manager"), follow_up.number)


def test_an_answer_whose_follow_up_has_no_summary_gets_422_and_nothing_is_written(auth, users, unit_factory):
    number = register(auth, unit_factory(), type="consultation")
    before = snapshot(number)
    r = post(auth.client_for("impl_engineer"), number, "answer", str(ticket(number).version), answer="这样设置",
             follow_up="y", follow_up_type="maintenance", follow_up_summary="  ")
    assert r.status_code == 422
    assert snapshot(number) == before and ticket(number).state == "impl_queue"


def test_urgent_approved_by_market_is_marked_notifies_dev_manager_and_sorts_first(auth, users, unit_factory):
    unit = unit_factory()
    older = register(auth, unit, summary="普通问题")
    urgent = register(auth, unit, summary="急需处理的问题")
    act(auth.client_for("market"), urgent, "approve_urgent", request="院长邮件要求今日解决")
    t = ticket(urgent)
    assert (t.state, t.urgent, t.urgent_approved_by.username) == ("registered", True, "market")
    assert notified(urgent, "dev_manager", "approve_urgent")
    assert "approve_urgent" not in offered(auth.client_for("market"), urgent)  # once

    dev = auth.client_for("dev_manager")
    home = dev.get("/").get_data(as_text=True)
    analyse = re.search(r'id="q-dev_analyse".*?</section>', home, re.S).group(0)
    assert analyse.index(urgent) < analyse.index(older)
    urgent_queue = re.search(r'id="q-dev_urgent".*?</section>', home, re.S).group(0)
    assert urgent in urgent_queue and older not in urgent_queue
    listing = dev.get("/tickets").get_data(as_text=True)
    assert listing.index(urgent) < listing.index(older)
    assert "加急" in listing

    assign(auth, urgent, users)  # then as maintenance
    assert ticket(urgent).state == "assigned"


@pytest.mark.parametrize("outcome,state,close_reason", [
    ("proceed", "registered", None),
    ("declined", "closed", "declined"),
])
def test_stopped_maintenance_unit_goes_to_market_first(auth, users, unit_factory, outcome, state, close_reason):
    number = register(auth, unit_factory(status=MaintenanceStatus.STOPPED))
    assert ticket(number).state == "awaiting_market"
    assert notified(number, "market", "register")
    dev = auth.client_for("dev_manager")
    assert offered(dev, number) == {"comment"}
    before = snapshot(number)
    assert post(dev, number, "assign", str(ticket(number).version), assignee_id=str(users["engineer"].id),
                deadline=deadline_in()).status_code == 409
    assert snapshot(number) == before

    act(auth.client_for("market"), number, "record_contact", outcome=outcome, text="客户已续签维护合同")
    t = ticket(number)
    assert (t.state, t.close_reason) == (state, close_reason)
    if outcome == "proceed":
        assert notified(number, "dev_manager", "record_contact")
        assign(auth, number, users)
        assert ticket(number).state == "assigned"
    else:
        assert "已关闭 · 客户放弃" in page(auth.client_for("market"), number)


def test_routed_to_implementation_the_impl_manager_assigns_an_impl_engineer_who_resolves(auth, users, unit_factory):
    number = register(auth, unit_factory())
    act(auth.client_for("dev_manager"), number, "route_to_impl", reason="现场网络配置问题，属实施部")
    assert ticket(number).state == "impl_queue"
    assert notified(number, "impl_manager", "route_to_impl")

    impl = auth.client_for("impl_manager")
    html = page(impl, number)
    select_ = re.search(r'<select[^>]*name="assign-assignee_id".*?</select>', html, re.S).group(0)
    options = set(re.findall(r'<option value="\d+"[^>]*>([^<]*)</option>', select_))  # people, not "choose…"
    assert options == {users["impl_engineer"].display_name, users["impl_engineer2"].display_name}
    assign(auth, number, users, who="impl_manager", assignee="impl_engineer")
    t = ticket(number)
    assert (t.state, t.assignee_id, t.handling_department) == ("assigned", users["impl_engineer"].id, "impl")

    assert "resolve" in offered(auth.client_for("impl_engineer"), number)
    tell_deadline(auth, number)
    resolve(auth, number, engineer="impl_engineer")
    callback(auth, number, solved=True)
    close(auth, number)
    assert [(a, who) for a, _, _, who in history(number)] == [
        ("register", "cs"), ("route_to_impl", "dev_manager"), ("assign", "impl_manager"), ("notify_deadline", "cs"),
        ("resolve", "impl_engineer"), ("callback", "cs"), ("close", "market")]


def test_reject_as_duplicate_closes_it_and_links_to_the_original(auth, users, unit_factory):
    unit = unit_factory()
    original = register(auth, unit)
    duplicate = register(auth, unit)
    act(auth.client_for("dev_manager"), duplicate, "reject", reason="同一问题重复登记", duplicate_of=original)
    t = ticket(duplicate)
    assert (t.state, t.close_reason, t.duplicate_of.number) == ("closed", "invalid", original)
    html = page(auth.client_for("cs"), duplicate)
    assert "已关闭 · 重复或无效" in html and f'href="/tickets/{original}"' in html
    assert f'href="/tickets/{duplicate}"' in page(auth.client_for("cs"), original)
    assert ticket(original).state == "registered"  # the original goes on


def test_reject_pointing_to_a_missing_ticket_is_refused_with_422_and_writes_nothing(auth, users, unit_factory):
    number = register(auth, unit_factory())
    before = snapshot(number)
    r = post(auth.client_for("dev_manager"), number, "reject", str(ticket(number).version), reason="重复",
             duplicate_of="SH-1999-999999")
    assert r.status_code == 422 and snapshot(number) == before


def test_market_reopens_a_closed_ticket_to_the_previous_assignee(auth, users, unit_factory):
    number = register(auth, unit_factory())
    assign(auth, number, users)
    tell_deadline(auth, number)
    resolve(auth, number)
    callback(auth, number, solved=True)
    close(auth, number)

    act(auth.client_for("market"), number, "reopen", reason="客户反映问题再次出现", deadline=deadline_in(2))
    t = ticket(number)
    assert (t.state, t.close_reason, t.closed_at, t.assignee_id) == ("assigned", None, None, users["engineer"].id)
    assert notified(number, "engineer", "reopen")
    assert NOT_TOLD in page(auth.client_for("cs"), number)  # the new deadline must be told again
    assert "resolve" in offered(auth.client_for("engineer"), number)
    assert history(number)[-1] == ("reopen", "closed", "assigned", "market")


# ---------------------------------------------------------------------------
# Refusals over HTTP: 403 / 409 / 422 with a Chinese message, and nothing written
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("username,action,fields", [
    ("engineer", "assign", {"deadline": "2099-01-01T09:00"}),  # an engineer does not assign
    ("cs", "close", {"note": "x"}),
    ("market", "suspend_for_fee", {"analysis": "x"}),
    ("admin", "reject", {"reason": "x"}),
    ("dev_manager", "resolve", {"process_text": "x", "result": "x", "hours_spent": "1"}),  # only the assignee
])
def test_a_role_that_may_not_take_the_action_gets_403_and_nothing_is_written(auth, users, unit_factory, username,
                                                                             action, fields):
    number = register(auth, unit_factory())
    if action == "resolve":
        assign(auth, number, users)
    if action == "assign":
        fields = dict(fields, assignee_id=str(users["engineer"].id))
    before = snapshot(number)
    r = post(auth.client_for(username), number, action, str(ticket(number).version), **fields)
    assert r.status_code == 403
    assert flash_error(r), "the refusal says why"
    assert snapshot(number) == before


def test_forbidden_message_is_chinese(auth, users, unit_factory):
    number = register(auth, unit_factory())
    r = post(auth.client_for("cs"), number, "close", str(ticket(number).version), note="x")
    assert r.status_code == 403 and "您的角色无权执行" in flash_error(r)


@pytest.mark.parametrize("username,action,fields", [
    ("market", "close", {"note": "x"}),  # registered, not callback_done
    ("cs", "callback", {"solved": "yes", "method": "phone", "text": "x"}),
    ("cs", "notify_deadline", {"whom": "x", "method": "phone"}),
    ("market", "reopen", {"reason": "x"}),
])
def test_an_action_impossible_in_the_current_state_gets_409_and_nothing_is_written(auth, users, unit_factory,
                                                                                  username, action, fields):
    number = register(auth, unit_factory())
    before = snapshot(number)
    r = post(auth.client_for(username), number, action, str(ticket(number).version), **fields)
    assert r.status_code == 409
    assert "不能执行" in flash_error(r)
    assert snapshot(number) == before


def test_a_user_who_may_not_see_the_ticket_gets_404_and_nothing_is_written(auth, users, unit_factory):
    number = register(auth, unit_factory())  # registered in 开发部: not in 实施部's view
    before = snapshot(number)
    r = post(auth.client_for("impl_engineer"), number, "comment", str(ticket(number).version), text="看看")
    assert r.status_code == 404
    assert snapshot(number) == before


def test_invalid_input_gets_422_keeps_the_form_and_writes_nothing(auth, users, unit_factory):
    number = register(auth, unit_factory())
    before = snapshot(number)
    past = (to_local(utcnow()) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = post(auth.client_for("dev_manager"), number, "assign", str(ticket(number).version),
             assignee_id=str(users["engineer"].id), deadline=past)
    assert r.status_code == 422
    assert "解决时限" in r.get_data(as_text=True) or flash_error(r)
    assert snapshot(number) == before


def test_unknown_action_is_404(auth, users, unit_factory):
    number = register(auth, unit_factory())
    before = snapshot(number)
    assert post(auth.client_for("admin"), number, "delete").status_code == 404
    assert snapshot(number) == before


# ---------------------------------------------------------------------------
# htmx
# ---------------------------------------------------------------------------

def test_htmx_action_returns_the_ticket_fragment_with_a_trigger(auth, users, unit_factory):
    number = register(auth, unit_factory())
    dev = auth.client_for("dev_manager")
    version = form_version(page(dev, number), "assign")
    r = post(dev, number, "assign", version, htmx=True, assignee_id=str(users["engineer"].id),
             deadline=deadline_in(), analysis="x")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'id="ticket"' in html and "<html" not in html and "<body" not in html
    assert r.headers.get("HX-Trigger")
    assert "处理中" in html  # the fragment shows the new state, in Chinese
    assert ticket(number).state == "assigned"


def test_htmx_refusal_returns_the_fragment_with_the_message_and_its_status(auth, users, unit_factory):
    number = register(auth, unit_factory())
    before = snapshot(number)
    r = post(auth.client_for("market"), number, "close", str(ticket(number).version), htmx=True, note="x")
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and 'id="ticket"' in html and "<html" not in html and "不能执行" in html
    assert "HX-Trigger" not in r.headers
    assert snapshot(number) == before


def test_ticket_page_and_action_responses_vary_on_hx_request(auth, users, unit_factory):
    number = register(auth, unit_factory())
    assert "HX-Request" in auth.client_for("cs").get(f"/tickets/{number}").headers.get("Vary", "")
    r = post(auth.client_for("market"), number, "close", str(ticket(number).version), htmx=True, note="x")
    assert "HX-Request" in r.headers.get("Vary", "")


@pytest.mark.parametrize("version", [None, "", "abc", "-1"])
def test_an_action_posted_without_the_version_it_was_shown_with_is_refused_and_changes_nothing(
        auth, users, unit_factory, version):
    number = register(auth, unit_factory())
    before = snapshot(number)
    later = (to_local(utcnow()) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    r = post(auth.client_for("dev_manager"), number, "assign", version, assignee_id=str(users["engineer"].id),
             deadline=later)
    assert r.status_code == 409
    assert "此表单已过期" in r.get_data(as_text=True)
    assert snapshot(number) == before


def test_a_note_sent_on_a_ticket_changed_meanwhile_is_refused_but_its_text_is_kept_for_sending_again(auth, users,
                                                                                                     unit_factory):
    number = register(auth, unit_factory())
    old = form_version(page(auth.client_for("dev_manager"), number), "comment")
    assign(auth, number, users)  # the ticket moves on while the note is being typed
    r = post(auth.client_for("dev_manager"), number, "comment", old, text="客户说下午三点后方便远程")
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "客户说下午三点后方便远程" in html
    assert form_version(html, "comment") == str(ticket(number).version)
    assert not any(a == "comment" for a, *_ in history(number))
