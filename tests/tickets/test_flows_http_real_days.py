"""Issue 14 — days as they are, through the HTTP endpoints like the other flows (test_flows_http.py):
reassign, change the deadline (and the assignee's request for it), hand back, wait for the customer and
resume, correct the ticket; and 实施部经理 giving a consultation to an implementation engineer. Every
action is taken from the form the ticket page offers that user, with its version; every refusal is
403 / 409 / 422 with a Chinese message and writes nothing."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.core.enums import MaintenanceStatus
from portal.core.timeutil import to_local, utcnow
from portal.extensions import db
from portal.notifications.models import Reminder
from portal.tickets.models import Event
from tests.tickets.test_flows_http import (NOT_TOLD, act, assign, callback, close, deadline_in, flash_error,
                                           form_version, history, notified, offered, page, post, register, resolve,
                                           snapshot, tell_deadline, ticket)


def typed(dt) -> str:
    """A naive-UTC datetime as typed into a form (Shanghai wall-clock time)."""
    return to_local(dt).strftime("%Y-%m-%dT%H:%M")


def open_tell_deadline(number: str) -> int:
    t = ticket(number)
    return len(db.session.scalars(select(Reminder).where(Reminder.ticket_id == t.id, Reminder.kind == "tell_deadline",
                                                         Reminder.closed_at.is_(None))).all())


def in_queue(client, queue: str, number: str) -> bool:
    r = client.get(f"/tickets?queue={queue}")
    assert r.status_code == 200
    return number in r.get_data(as_text=True)


def edit_fields(number: str, **changes) -> dict:
    """The correction form as the page fills it in (the ticket as it is), with `changes` typed over it."""
    t = ticket(number)
    fields = {"reporter_name": t.reporter_name, "reporter_dept": t.reporter_dept, "reporter_phone": t.reporter_phone,
              "summary": t.summary, "description": t.description, "customer_id": str(t.customer_id), "type": t.type,
              "reason": ""}
    return {**fields, **changes}


# ---------------------------------------------------------------------------
# reassign
# ---------------------------------------------------------------------------

def test_the_dev_manager_reassigns_keeping_the_deadline_and_both_engineers_are_told(auth, users, unit_factory):
    number = register(auth, unit_factory())
    assign(auth, number, users)
    tell_deadline(auth, number)
    before = ticket(number)
    deadline, told = before.deadline, before.deadline_notified_at

    html = page(auth.client_for("dev_manager"), number)
    options = re.search(r'<select[^>]*name="reassign-assignee_id".*?</select>', html, re.S).group(0)
    assert users["engineer2"].display_name in options and f'value="{users["engineer"].id}"' not in options
    act(auth.client_for("dev_manager"), number, "reassign", assignee_id=str(users["engineer2"].id), deadline="",
        reason="工程师病假")
    t = ticket(number)
    assert (t.state, t.assignee_id, t.deadline, t.deadline_notified_at) == (
        "assigned", users["engineer2"].id, deadline, told), "same deadline: nothing new to tell the customer"
    assert notified(number, "engineer2", "reassign") and notified(number, "engineer", "reassign")
    assert "resolve" in offered(auth.client_for("engineer2"), number)
    assert "resolve" not in offered(auth.client_for("engineer"), number)
    assert page(auth.client_for("engineer"), number)  # the previous engineer still sees it
    assert open_tell_deadline(number) == 0
    assert history(number)[-1] == ("reassign", "assigned", "assigned", "dev_manager")


def test_reassigning_with_a_new_deadline_puts_it_back_in_customer_services_queue_to_tell(auth, users, unit_factory):
    number = register(auth, unit_factory())
    assign(auth, number, users)
    tell_deadline(auth, number)
    cs = auth.client_for("cs")
    assert not in_queue(cs, "cs_tell_deadline", number)
    act(auth.client_for("dev_manager"), number, "reassign", assignee_id=str(users["engineer2"].id),
        deadline=deadline_in(6), reason="换人，需要更多时间")
    t = ticket(number)
    assert t.deadline_notified_at is None and t.deadline > utcnow() + timedelta(days=5)
    assert in_queue(cs, "cs_tell_deadline", number) and NOT_TOLD in page(cs, number)
    assert open_tell_deadline(number) == 1
    tell_deadline(auth, number)
    assert not in_queue(cs, "cs_tell_deadline", number) and open_tell_deadline(number) == 0


def test_only_the_handling_departments_manager_reassigns(auth, users, unit_factory):
    number = register(auth, unit_factory())
    assign(auth, number, users)  # 开发部's ticket
    before = snapshot(number)
    r = post(auth.client_for("impl_manager"), number, "reassign", str(ticket(number).version),
             assignee_id=str(users["impl_engineer"].id), reason="x")
    assert r.status_code == 403 and "负责该问题单的部门经理" in flash_error(r)
    assert snapshot(number) == before
    assert "reassign" not in offered(auth.client_for("impl_manager"), number)


def test_reassigning_to_the_same_engineer_or_to_someone_of_another_department_is_422(auth, users, unit_factory):
    number = register(auth, unit_factory())
    assign(auth, number, users)
    before = snapshot(number)
    for assignee in ("engineer", "impl_engineer"):
        r = post(auth.client_for("dev_manager"), number, "reassign", str(ticket(number).version),
                 assignee_id=str(users[assignee].id), reason="x")
        assert r.status_code == 422, assignee
    assert snapshot(number) == before


# ---------------------------------------------------------------------------
# change_deadline, and the assignee's request for it
# ---------------------------------------------------------------------------

def test_the_engineer_asks_for_a_new_deadline_and_the_manager_grants_it_and_the_customer_is_told_again(
        auth, users, unit_factory):
    number = register(auth, unit_factory())
    assign(auth, number, users)
    tell_deadline(auth, number)
    engineer, manager = auth.client_for("engineer"), auth.client_for("dev_manager")
    assert "change_deadline" not in offered(engineer, number), "the engineer cannot move it alone"
    before = snapshot(number)[0]
    asked = (utcnow() + timedelta(days=7)).replace(second=0, microsecond=0)
    act(engineer, number, "request_deadline_change", deadline=typed(asked), reason="需要等待第三方接口")
    assert snapshot(number)[0] == before, "asking changes nothing on the ticket"
    assert notified(number, "dev_manager", "request_deadline_change")

    html = page(manager, number)
    assert "申请将期限改为" in html
    deadline_input = re.search(r'<input[^>]*name="change_deadline-deadline"[^>]*>', html).group(0)
    assert f'value="{typed(asked)}"' in deadline_input, "the form starts from what was asked"
    assert "需要等待第三方接口" in re.search(r'name="change_deadline-reason".*?</textarea>', html, re.S).group(0)

    act(manager, number, "change_deadline", deadline=typed(asked), reason="同意延期")
    t = ticket(number)
    assert (t.deadline, t.deadline_notified_at) == (asked, None)
    assert notified(number, "engineer", "change_deadline") and notified(number, "cs", "change_deadline")
    assert in_queue(auth.client_for("cs"), "cs_tell_deadline", number) and open_tell_deadline(number) == 1
    assert "申请将期限改为" not in page(manager, number), "the request has been decided"
    timeline_html = page(auth.client_for("cs"), number)
    assert "修改期限" in timeline_html and "申请延期" in timeline_html


def test_a_deadline_in_the_past_is_422_and_a_deadline_change_before_assignment_is_409(auth, users, unit_factory):
    number = register(auth, unit_factory())
    before = snapshot(number)
    r = post(auth.client_for("dev_manager"), number, "change_deadline", str(ticket(number).version),
             deadline=deadline_in(2), reason="x")
    assert r.status_code == 409 and "不能执行" in flash_error(r)
    assign(auth, number, users)
    before = snapshot(number)
    r = post(auth.client_for("dev_manager"), number, "change_deadline", str(ticket(number).version),
             deadline=typed(utcnow() - timedelta(hours=1)), reason="x")
    assert r.status_code == 422 and snapshot(number) == before
    r = post(auth.client_for("dev_manager"), number, "request_deadline_change", str(ticket(number).version),
             deadline=deadline_in(5), reason="x")
    assert r.status_code == 403 and snapshot(number) == before  # only the assignee asks (the manager decides)


# ---------------------------------------------------------------------------
# hand_back
# ---------------------------------------------------------------------------

def test_the_engineer_hands_a_ticket_back_to_the_dev_managers_queue_with_a_reason(auth, users, unit_factory):
    number = register(auth, unit_factory())
    assign(auth, number, users)
    act(auth.client_for("engineer"), number, "hand_back", reason="不是我的问题，属于数据库配置")
    t = ticket(number)
    assert (t.state, t.assignee_id, t.deadline, t.deadline_notified_at) == ("registered", None, None, None)
    assert notified(number, "dev_manager", "hand_back")
    assert open_tell_deadline(number) == 0, "no deadline left to tell"
    assert in_queue(auth.client_for("dev_manager"), "dev_analyse", number)
    assert "不是我的问题" in page(auth.client_for("engineer"), number), "the engineer still sees it"
    assign(auth, number, users, assignee="engineer2")
    assert ticket(number).assignee_id == users["engineer2"].id


def test_a_problem_wrongly_routed_to_implementation_goes_back_to_the_dev_manager(auth, users, unit_factory):
    number = register(auth, unit_factory())
    act(auth.client_for("dev_manager"), number, "route_to_impl", reason="现场问题")
    assign(auth, number, users, who="impl_manager", assignee="impl_engineer")
    act(auth.client_for("impl_engineer"), number, "hand_back", reason="不是实施问题")
    t = ticket(number)
    assert (t.state, t.handling_department, t.assignee_id) == ("impl_queue", "impl", None)
    assert notified(number, "impl_manager", "hand_back")
    act(auth.client_for("impl_manager"), number, "hand_back", reason="转错部门，退回开发部")
    t = ticket(number)
    assert (t.state, t.handling_department) == ("registered", "dev")
    assert notified(number, "dev_manager", "hand_back")
    assert [a for a, *_ in history(number)][-2:] == ["hand_back", "hand_back"]


def test_a_consultation_cannot_be_handed_back_to_development_and_a_non_assignee_cannot_hand_back(
        auth, users, unit_factory):
    consultation = register(auth, unit_factory(), type="consultation", summary="如何导出")
    before = snapshot(consultation)
    r = post(auth.client_for("impl_manager"), consultation, "hand_back", str(ticket(consultation).version),
             reason="x")
    assert r.status_code == 409 and "咨询留在实施部" in flash_error(r) and snapshot(consultation) == before
    number = register(auth, unit_factory())
    assign(auth, number, users)
    before = snapshot(number)
    r = post(auth.client_for("dev_manager"), number, "hand_back", str(ticket(number).version), reason="x")
    assert r.status_code == 403 and snapshot(number) == before  # the manager reassigns instead
    r = post(auth.client_for("engineer2"), number, "hand_back", str(ticket(number).version), reason="x")
    assert r.status_code == 404 and snapshot(number) == before  # another engineer does not even see it


def test_the_impl_manager_assigns_a_consultation_to_a_particular_implementation_engineer(auth, users, unit_factory):
    number = register(auth, unit_factory(), type="consultation", summary="报表模板如何配置")
    assert "assign" in offered(auth.client_for("impl_manager"), number)
    assign(auth, number, users, who="impl_manager", assignee="impl_engineer2")
    t = ticket(number)
    assert (t.state, t.assignee_id, t.handling_department) == ("assigned", users["impl_engineer2"].id, "impl")
    assert notified(number, "impl_engineer2", "assign")
    tell_deadline(auth, number)
    resolve(auth, number, engineer="impl_engineer2")
    callback(auth, number, solved=True)
    close(auth, number)
    assert (ticket(number).state, ticket(number).close_reason) == ("closed", "solved")


# ---------------------------------------------------------------------------
# wait_customer / resume
# ---------------------------------------------------------------------------

def test_a_ticket_waiting_for_the_customer_has_its_clock_stopped_and_resuming_moves_the_deadline_on(
        auth, users, unit_factory):
    from portal.tickets.jobs import sweep

    number = register(auth, unit_factory())
    assign(auth, number, users)
    tell_deadline(auth, number)
    act(auth.client_for("engineer"), number, "wait_customer", reason="等待客户提供日志")
    t = ticket(number)
    assert t.state == "waiting_customer" and notified(number, "cs", "wait_customer")
    deadline = t.deadline
    for client, queue in (("engineer", "mine_waiting"), ("dev_manager", "dev_waiting"), ("cs", "cs_waiting")):
        assert in_queue(auth.client_for(client), queue, number), queue
    assert not in_queue(auth.client_for("engineer"), "mine", number)
    html = page(auth.client_for("dev_manager"), number)
    assert "待客户" in html and "计时暂停" in html

    # Two days pass while the customer gathers the data; the deadline itself passes meanwhile.
    waited = timedelta(days=2)
    wait_event = db.session.scalars(select(Event).where(Event.ticket_id == t.id, Event.action == "wait_customer")).one()
    db.session.execute(update(Event).where(Event.id == wait_event.id).values(created_at=utcnow() - waited))
    db.session.commit()
    created = sweep(deadline + timedelta(hours=30))
    assert created["overdue"] == created["overdue_manager"] == 0, "no overdue reminder while waiting"
    assert not in_queue(auth.client_for("dev_manager"), "dev_overdue", number)

    act(auth.client_for("cs"), number, "resume", deadline="", text="客户已发来日志")
    t = ticket(number)
    moved = t.deadline - deadline
    assert (t.state, t.assignee_id) == ("assigned", users["engineer"].id)
    assert waited - timedelta(minutes=1) <= moved <= waited + timedelta(minutes=1), moved
    assert t.deadline_notified_at is None and in_queue(auth.client_for("cs"), "cs_tell_deadline", number)
    assert notified(number, "engineer", "resume")
    assert "等待 48.0 小时" in page(auth.client_for("cs"), number)


def test_only_an_assigned_ticket_waits_and_only_a_waiting_one_resumes(auth, users, unit_factory):
    number = register(auth, unit_factory())
    before = snapshot(number)
    r = post(auth.client_for("dev_manager"), number, "wait_customer", str(ticket(number).version), reason="x")
    assert r.status_code == 409 and snapshot(number) == before
    assign(auth, number, users)
    before = snapshot(number)
    r = post(auth.client_for("cs"), number, "resume", str(ticket(number).version), text="x")
    assert r.status_code == 409 and snapshot(number) == before
    r = post(auth.client_for("cs"), number, "wait_customer", str(ticket(number).version), reason="x")
    assert r.status_code == 403 and snapshot(number) == before


# ---------------------------------------------------------------------------
# edit
# ---------------------------------------------------------------------------

def test_customer_service_corrects_the_phone_and_summary_and_the_history_keeps_old_and_new(auth, users,
                                                                                            unit_factory):
    number = register(auth, unit_factory(), summary="打印机无法打印")
    cs = auth.client_for("cs")
    html = page(cs, number)
    assert 'value="13800138000"' in re.search(r'<input[^>]*name="edit-reporter_phone"[^>]*>', html).group(0)
    act(cs, number, "edit", **edit_fields(number, reporter_phone="13912345678", summary="票据打印机卡纸"))
    t = ticket(number)
    assert (t.reporter_phone, t.summary, t.state) == ("13912345678", "票据打印机卡纸", "registered")
    event = db.session.scalars(select(Event).where(Event.ticket_id == t.id, Event.action == "edit")).one()
    assert event.data["changes"] == {"reporter_phone": ["13800138000", "13912345678"],
                                     "summary": ["打印机无法打印", "票据打印机卡纸"]}
    html = page(cs, number)
    assert "<del>13800138000</del> → 13912345678" in html and "<del>打印机无法打印</del> → 票据打印机卡纸" in html
    # the search index follows the correction in the same transaction
    found = cs.get("/tickets?q=票据打印机卡纸").get_data(as_text=True)
    assert number in found


def test_a_bad_phone_is_422_and_nothing_changes(auth, users, unit_factory):
    number = register(auth, unit_factory())
    before = snapshot(number)
    version = form_version(page(auth.client_for("cs"), number), "edit")
    r = post(auth.client_for("cs"), number, "edit", version, **edit_fields(number, reporter_phone="12345"))
    assert r.status_code == 422 and snapshot(number) == before
    r = post(auth.client_for("cs"), number, "edit", version, **edit_fields(number))
    assert r.status_code == 422 and "没有任何更改" in flash_error(r) and snapshot(number) == before


def test_a_consultation_corrected_into_a_problem_leaves_implementation_for_the_dev_manager(auth, users,
                                                                                          unit_factory):
    number = register(auth, unit_factory(), type="consultation", summary="导出按钮灰色")
    act(auth.client_for("impl_manager"), number, "edit", **edit_fields(number, type="maintenance",
                                                                        reason="其实是故障"))
    t = ticket(number)
    assert (t.type, t.state, t.handling_department) == ("maintenance", "registered", "dev")
    assert notified(number, "dev_manager", "edit")
    assert history(number)[-1] == ("edit", "impl_queue", "registered", "impl_manager")


def test_a_problem_corrected_into_a_requirement_stays_to_analyse_and_then_passes_the_fee_gate(auth, users,
                                                                                             unit_factory):
    number = register(auth, unit_factory())
    act(auth.client_for("dev_manager"), number, "edit", **edit_fields(number, type="requirement"))
    t = ticket(number)
    assert (t.type, t.state) == ("requirement", "registered")
    assert "assign" not in offered(auth.client_for("dev_manager"), number), "a requirement passes the fee gate first"
    assert "suspend_for_fee" in offered(auth.client_for("dev_manager"), number)


def test_a_unit_corrected_to_one_whose_maintenance_stopped_goes_to_market_first(auth, users, unit_factory):
    number = register(auth, unit_factory())
    stopped = unit_factory(status=MaintenanceStatus.STOPPED)
    act(auth.client_for("cs"), number, "edit", **edit_fields(number, customer_id=str(stopped.id)))
    t = ticket(number)
    assert (t.customer_id, t.state) == (stopped.id, "awaiting_market")
    assert notified(number, "market", "edit")


def test_the_type_of_an_assigned_ticket_is_not_corrected_until_it_is_handed_back(auth, users, unit_factory):
    number = register(auth, unit_factory())
    assign(auth, number, users)
    before = snapshot(number)
    r = post(auth.client_for("dev_manager"), number, "edit", str(ticket(number).version),
             **edit_fields(number, type="requirement", summary="改了摘要"))
    assert r.status_code == 409 and "请处理人先退回" in flash_error(r)
    assert snapshot(number) == before, "nothing of the refused correction is written"


@pytest.mark.parametrize("username", ["engineer", "market", "admin"])
def test_only_customer_service_and_the_managers_correct_a_ticket(auth, users, unit_factory, username):
    number = register(auth, unit_factory())
    assign(auth, number, users)
    before = snapshot(number)
    r = post(auth.client_for(username), number, "edit", str(ticket(number).version),
             **edit_fields(number, summary="改了摘要"))
    assert r.status_code == 403 and flash_error(r) and snapshot(number) == before


def test_a_closed_ticket_is_not_corrected(auth, users, unit_factory):
    number = register(auth, unit_factory())
    assign(auth, number, users)
    tell_deadline(auth, number)
    resolve(auth, number)
    callback(auth, number, solved=True)
    close(auth, number)
    before = snapshot(number)
    r = post(auth.client_for("cs"), number, "edit", str(ticket(number).version), **edit_fields(number, summary="x"))
    assert r.status_code == 409 and snapshot(number) == before


def test_a_ticket_handed_back_after_its_first_reply_raises_no_first_reply_reminder(auth, users, unit_factory):
    from portal.core.timeutil import clock_set_to
    from portal.sla import sweep as sla_sweep
    from portal.sla.models import ServiceClock

    never_answered = register(auth, unit_factory())
    handed_back = register(auth, unit_factory())
    assign(auth, handed_back, users)
    act(auth.client_for("engineer"), handed_back, "hand_back", reason="不是我的问题")
    with clock_set_to(utcnow() + timedelta(days=30)):  # far past the first-reply window of both
        sla_sweep.sweep()
        db.session.commit()
    outcomes = {t: db.session.scalars(select(ServiceClock.outcome).where(
        ServiceClock.ticket_id == ticket(t).id, ServiceClock.key == "first_reply")).all()
        for t in (never_answered, handed_back)}
    assert outcomes == {never_answered: [None], handed_back: ["kept"]}  # one clock each; the first still running
    reminded = {t for t in (never_answered, handed_back)
                if db.session.scalars(select(Reminder).where(Reminder.ticket_id == ticket(t).id,
                                                             Reminder.kind == "clock_breached")).first()}
    assert reminded == {never_answered}


def test_the_correction_forms_unit_search_offers_units_under_the_forms_own_field_name(auth, users, unit_factory):
    unit = unit_factory(name="杭州市西湖区人民医院")
    number = register(auth, unit_factory())
    for who in ("cs", "dev_manager", "impl_manager"):
        assert 'name="edit-customer_id"' in page(auth.client_for(who), number), who
        r = auth.client_for(who).get("/customers/lookup?customer_q=西湖&field=edit-customer_id",
                                     headers={"HX-Request": "true"})
        assert r.status_code == 200, who
        assert f'name="edit-customer_id" value="{unit.id}"' in r.get_data(as_text=True)
    intake = auth.client_for("cs").get("/customers/lookup?customer_q=西湖").get_data(as_text=True)
    assert f'name="customer_id" value="{unit.id}"' in intake  # the intake form's stays as it was
