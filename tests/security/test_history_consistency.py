"""The history checker (portal.tickets.consistency, `flask --app app check-history`).

Tickets driven through the real workflow along every path report nothing; each kind of
inconsistency, planted by hand with plain SQL (as a bug or a lost update would leave it),
is reported for that ticket and no other.
"""
from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy import event as sa_event

from portal.core.enums import CloseReason, MaintenanceStatus, State
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.tickets import operations as ops
from portal.tickets import workflow
from portal.tickets.consistency import KINDS, MESSAGES, check
from portal.tickets.models import Callback, Event, Ticket
from portal.tickets.workflow import ACTIONS

TICKETS, EVENTS, CALLBACKS = Ticket.__table__, Event.__table__, Callback.__table__


class Driver:
    """Takes workflow actions as the named users, committing after each, as a request does."""

    def __init__(self, users, ticket_factory, unit_factory):
        self.users, self.new_ticket, self.unit = users, ticket_factory, unit_factory

    def __call__(self, t: Ticket, action: str, who: str, **data) -> Ticket:
        ops.take_action(t, action, self.users[who], data, expected_version=t.version)
        db.session.commit()
        return t

    def assign(self, t, who="dev_manager", to="engineer", days=3):
        return self(t, "assign", who, assignee_id=self.users[to].id, deadline=utcnow() + timedelta(days=days),
                    analysis="初步判断为驱动问题")

    def tell(self, t):
        return self(t, "notify_deadline", "cs", whom="刘建国", method="phone", told_at=None, text="已电话告知")

    def resolve(self, t, who="engineer", hours="1.5"):
        return self(t, "resolve", who, process="重装驱动", result="已恢复打印", hours_spent=Decimal(hours))

    def callback(self, t, solved=True):
        return self(t, "callback", "cs", solved=solved, method="phone", text="客户确认" if solved else "问题仍在",
                    satisfaction=5 if solved else 2, contact_person=None,
                    deadline=None if solved else utcnow() + timedelta(days=2))

    def close(self, t):
        return self(t, "close", "market", note="结案")

    def comment(self, t, who="cs"):
        return self(t, "comment", who, text="内部备注")


@pytest.fixture
def drive(users, ticket_factory, unit_factory):
    return Driver(users, ticket_factory, unit_factory)


def every_path(drive: Driver) -> dict[str, Ticket]:
    """One ticket per workflow path of SPEC §3 (all actions, all outcomes)."""
    d, new = drive, drive.new_ticket
    out = {}
    # Maintenance: urgent, assigned, told, resolved, callback fails → engineer again, solved, closed, reopened, closed.
    t = new()
    d(t, "approve_urgent", "market", request="客户来函要求加急")
    d.comment(t)
    d.assign(t)
    d.tell(t)
    d.resolve(t)
    d.comment(t, "engineer")
    d.callback(t, solved=False)
    d.resolve(t, hours="2")
    d.callback(t, solved=True)
    d.close(t)
    d.comment(t, "market")
    d(t, "reopen", "market", reason="客户反映问题复现", deadline=utcnow() + timedelta(days=2))
    d.tell(t)
    d.resolve(t, hours="0.5")
    d.callback(t)
    d.close(t)
    out["maintenance_reopened"] = t
    # Stopped maintenance → market contact → proceed → routed to 实施部 → impl engineer → closed.
    stopped = drive.unit(status=MaintenanceStatus.STOPPED)
    t = new(unit=stopped)
    d(t, "record_contact", "market", outcome="proceed", text="客户已续费")
    d(t, "route_to_impl", "dev_manager", reason="属于实施问题")
    d.assign(t, who="impl_manager", to="impl_engineer")
    d.resolve(t, who="impl_engineer")
    d.callback(t)
    d.close(t)
    out["stopped_routed"] = t
    # Stopped → the customer declines.
    t = new(unit=stopped)
    d(t, "record_contact", "market", outcome="declined", text="客户不再续费")
    out["stopped_declined"] = t
    # New requirement: fee agreed, assigned, resolved and closed; another one declined at the fee.
    t = new(type="requirement", summary="新增导出功能")
    d(t, "suspend_for_fee", "dev_manager", analysis="约需五人日")
    d(t, "record_fee", "market", outcome="agreed", fee=Decimal("5000"), agreed_requirements="按科室导出",
      text="客户同意费用")
    d.assign(t)
    d.resolve(t, hours="8")
    d.callback(t)
    d.close(t)
    out["requirement_agreed"] = t
    t = new(type="requirement", summary="新增短信提醒")
    d(t, "suspend_for_fee", "dev_manager", analysis="需对接短信平台")
    d(t, "record_fee", "market", outcome="declined", text="客户认为太贵")
    out["requirement_declined"] = t
    # Consultation answered, with a follow-up problem registered from the answer; one from a stopped unit.
    t = new(type="consultation", summary="如何批量导入")
    d(t, "answer", "impl_engineer", answer="使用导入模板", follow_up=True, follow_up_type="maintenance",
      follow_up_summary="导入模板报错")
    out["consultation_answered"] = t
    t = new(type="consultation", unit=stopped, summary="支持哪些浏览器")
    d(t, "record_contact", "market", outcome="proceed", text="客户续费后解答")
    d(t, "answer", "impl_manager", answer="支持 Chrome 与 Edge")
    out["consultation_stopped"] = t
    # Rejected: a duplicate at the dev manager, an invalid one at the implementation manager.
    original = out["maintenance_reopened"]
    t = new()
    d(t, "reject", "dev_manager", reason="重复提交", duplicate_of=original.number)
    out["rejected_duplicate"] = t
    t = new(unit=stopped)
    d(t, "record_contact", "market", outcome="proceed", text="已续费")
    d(t, "route_to_impl", "dev_manager", reason="实施部处理")
    d(t, "reject", "impl_manager", reason="无效反馈", duplicate_of="")
    out["rejected_invalid"] = t
    # Tickets left open in every other state.
    out["registered"] = new()
    out["awaiting_market"] = new(unit=stopped)
    t = new(type="requirement")
    out["pending_fee"] = d(t, "suspend_for_fee", "dev_manager", analysis="需评估")
    t = new(type="requirement")
    d(t, "suspend_for_fee", "dev_manager", analysis="需评估")
    out["ready_to_assign"] = d(t, "record_fee", "market", outcome="agreed", fee=Decimal("0"),
                               agreed_requirements="免费", text="首年免费")
    t = new()
    out["impl_queue"] = d(t, "route_to_impl", "dev_manager", reason="实施部")
    out["assigned"] = d.assign(new(), to="engineer2")
    out["resolved"] = d.resolve(d.tell(d.assign(new())))
    out["callback_done"] = d.callback(d.resolve(d.assign(new())))
    # Days as they are (issue 14): reassigned (deadline kept), a new deadline asked for and given, paused for the
    # customer and resumed, reassigned back with a new deadline, told each time, then solved.
    t = d.tell(d.assign(new()))
    u = drive.users
    d(t, "reassign", "dev_manager", assignee_id=u["engineer2"].id, deadline=None, reason="工程师病假")
    d(t, "request_deadline_change", "engineer2", deadline=utcnow() + timedelta(days=6), reason="问题复杂")
    d(t, "change_deadline", "dev_manager", deadline=utcnow() + timedelta(days=6), reason="同意延期")
    d.tell(t)
    d(t, "wait_customer", "engineer2", reason="等待客户提供数据")
    d(t, "need_onsite", "cs", reason="电话无法解决，需上门")  # issue 15: the ticket stays where it is
    d(t, "resume", "cs", deadline=None, text="客户已提供数据")
    d.tell(t)
    d(t, "reassign", "dev_manager", assignee_id=u["engineer"].id, deadline=utcnow() + timedelta(days=4),
      reason="原工程师已康复")
    d.tell(t)
    d.close(d.callback(d.resolve(t)))
    out["reassigned_paused_solved"] = t
    # Handed back: by 实施部's engineer to its queue, by 实施部经理 to 开发部, by 开发部's engineer to the
    # analysis queue; then the type corrected (a requirement: still to analyse) and the fee gate passed.
    t = new()
    d(t, "route_to_impl", "dev_manager", reason="实施部处理")
    d.assign(t, who="impl_manager", to="impl_engineer")
    d(t, "hand_back", "impl_engineer", reason="不是我的问题")
    d(t, "hand_back", "impl_manager", reason="属于开发部")
    d.assign(t)
    d(t, "hand_back", "engineer", reason="其实是新需求")
    d(t, "edit", "dev_manager", type="requirement", reason="新增需求")
    d(t, "suspend_for_fee", "dev_manager", analysis="约需三人日")
    out["handed_back_retyped"] = t
    # A consultation corrected into a problem (to 开发部), its unit corrected to a stopped one (to 市场部),
    # its title corrected; and a consultation given to an implementation engineer, resolved and closed.
    t = new(type="consultation", summary="如何导出")
    d(t, "edit", "impl_manager", type="maintenance", reason="其实是故障")
    d(t, "edit", "cs", customer_id=stopped.id, reporter_phone="13900139000", summary="导出报错")
    out["edited_to_market"] = t
    t = new(type="consultation", summary="如何配置打印模板")
    d.assign(t, who="impl_manager", to="impl_engineer")
    d.close(d.callback(d.resolve(t, who="impl_engineer")))
    out["consultation_assigned"] = t
    t = d.assign(new())
    out["waiting_customer"] = d(t, "wait_customer", "dev_manager", reason="等待现场时间")
    return out


def problems_by_ticket() -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for p in check():
        out.setdefault(p.ticket_id, set()).add(p.kind)
    return out


def test_every_workflow_action_declares_where_it_leads_which_is_what_the_checker_reads():
    for key, action in ACTIONS.items():
        assert action.targets and action.from_states, key


def test_tickets_driven_through_every_workflow_path_have_consistent_histories(drive):
    tickets = every_path(drive)
    used = set(db.session.scalars(select(Event.action).distinct()))
    assert used == set(ACTIONS) | {"register"}, "the paths take every action"
    states = set(db.session.scalars(select(Ticket.state).distinct()))
    assert len(states) == 10, "tickets are left in every state"
    assert len(db.session.scalars(select(Ticket.id)).all()) == len(tickets) + 1  # + the consultation's follow-up
    assert check() == []


def test_seed_bench_data_has_consistent_histories(app):
    from bench.seed import seed

    seed(tickets=200, customers=10, echo=lambda *_: None)
    assert check() == []


# --- planted inconsistencies -------------------------------------------------------------------------

def events_of(t: Ticket) -> list:
    return db.session.execute(select(EVENTS).where(EVENTS.c.ticket_id == t.id).order_by(EVENTS.c.id)).all()


def set_ticket(t: Ticket, **values) -> None:
    db.session.execute(update(TICKETS).where(TICKETS.c.id == t.id).values(**values))


def set_event(event_id: int, **values) -> None:
    db.session.execute(update(EVENTS).where(EVENTS.c.id == event_id).values(**values))


def add_event(t: Ticket, action: str, from_state, to_state, **kw) -> None:
    last = events_of(t)[-1]
    db.session.execute(insert(EVENTS).values(ticket_id=t.id, actor_id=last.actor_id, action=action,
                                             from_state=from_state, to_state=to_state, text="", data=kw.get("data", {}),
                                             created_at=kw.get("created_at", last.created_at + timedelta(seconds=1))))


def plant_no_history(p):
    db.session.execute(delete(EVENTS).where(EVENTS.c.ticket_id == p["registered"].id))
    return p["registered"]


def plant_first_not_register(p):
    t = p["pending_fee"]
    set_event(events_of(t)[0].id, action="comment", from_state="registered")
    return t


def plant_register_not_first(p):
    t = p["registered"]
    add_event(t, "register", None, "registered")
    return t


def plant_intake_state(p):
    t = p["impl_queue"]  # a maintenance problem registered straight into 实施部's queue
    set_event(events_of(t)[0].id, to_state="impl_queue")
    set_event(events_of(t)[1].id, from_state="impl_queue", action="comment")
    return t


def plant_chain_broken(p):
    t = p["maintenance_reopened"]
    comment = next(e for e in events_of(t) if e.action == "comment" and e.from_state == "resolved")
    set_event(comment.id, from_state="registered", to_state="registered")
    return t


def plant_event_after_close(p):
    t = p["requirement_declined"]
    add_event(t, "resolve", "closed", "closed")
    return t


def plant_illegal_transition(p):
    t = p["resolved"]
    resolve = events_of(t)[-1]
    set_event(resolve.id, to_state="callback_done")
    set_ticket(t, state="callback_done")
    return t


def plant_wrong_type(p):
    t = p["pending_fee"]  # suspend_for_fee is for new requirements only
    set_ticket(t, type="maintenance")
    return t


def plant_time_backwards(p):
    t = p["callback_done"]
    ev = events_of(t)
    set_event(ev[3].id, created_at=ev[2].created_at - timedelta(microseconds=1))
    return t


def plant_before_created(p):
    t = p["registered"]
    set_ticket(t, created_at=events_of(t)[0].created_at + timedelta(minutes=5))
    return t


def plant_state_mismatch(p):
    t = p["assigned"]
    set_ticket(t, state="resolved")
    return t


def plant_version_mismatch(p):
    t = p["resolved"]  # a write that left no event: the lost-update signature
    set_ticket(t, version=t.version + 1)
    return t


def plant_updated_at_mismatch(p):
    t = p["callback_done"]
    set_ticket(t, updated_at=events_of(t)[-1].created_at + timedelta(hours=1))
    return t


def plant_closed_at_mismatch(p):
    t = p["resolved"]
    set_ticket(t, closed_at=utcnow())
    return t


def plant_close_reason_mismatch(p):
    t = p["requirement_agreed"]
    set_ticket(t, close_reason="declined")
    return t


def plant_resolved_at_mismatch(p):
    t = p["maintenance_reopened"]
    set_ticket(t, resolved_at=None)
    return t


def plant_assignee_mismatch(p, users):
    t = p["resolved"]
    set_ticket(t, assignee_id=users["engineer2"].id)
    return t


def plant_deadline_told_mismatch(p):
    t = p["resolved"]
    set_ticket(t, deadline_notified_at=None)
    return t


def plant_urgent_mismatch(p):
    t = p["registered"]
    set_ticket(t, urgent=True)
    return t


def plant_hours_mismatch(p):
    t = p["maintenance_reopened"]  # 1.5 + 2 + 0.5 hours over three resolutions
    set_ticket(t, hours_spent=Decimal("3.5"))
    return t


def plant_callbacks_mismatch(p, users):
    t = p["callback_done"]
    db.session.execute(insert(CALLBACKS).values(kind="ticket", ticket_id=t.id, customer_id=t.customer_id,
                                                method="phone", contact_person="", outcome="", solved=True,
                                                made_by_id=users["cs"].id, made_at=utcnow()))
    return t


PLANTS = {name[len("plant_"):]: fn for name, fn in globals().items() if name.startswith("plant_")}


def test_every_kind_of_problem_has_a_planted_example():
    assert set(PLANTS) == set(KINDS) == set(MESSAGES)


@pytest.mark.parametrize("kind", sorted(PLANTS))
def test_a_planted_inconsistency_is_reported_for_that_ticket_only(kind, drive, users):
    paths = every_path(drive)
    plant = PLANTS[kind]
    t = plant(paths, users) if plant.__code__.co_argcount == 2 else plant(paths)
    db.session.commit()
    found = problems_by_ticket()
    assert kind in found.get(t.id, set()), f"{kind} not reported; found {found}"
    assert set(found) == {t.id}, "no other ticket is reported"


def also_handed_back_with_an_assignee_left(p, users):
    t = p["handed_back_retyped"]  # handed back: nobody holds it
    set_ticket(t, assignee_id=users["engineer"].id)
    return t, "assignee_mismatch"


def also_type_correction_forgotten(p, users):
    t = p["handed_back_retyped"]  # without its correction, the requirement's fee step was taken on a problem
    edit = next(e for e in events_of(t) if e.action == "edit")
    set_event(edit.id, data={"changes": {}})
    return t, "wrong_type"


def also_reassigned_to_someone_else(p, users):
    t = p["reassigned_paused_solved"]  # the last reassignment named engineer
    set_ticket(t, assignee_id=users["engineer2"].id)
    return t, "assignee_mismatch"


def also_resumed_deadline_said_told(p, users):
    t = p["waiting_customer"]
    set_ticket(t, deadline_notified_at=utcnow())
    return t, "deadline_told_mismatch"


ALSO = {name: fn for name, fn in globals().items() if name.startswith("also_")}


@pytest.mark.parametrize("name", sorted(ALSO))
def test_inconsistencies_around_the_actions_for_real_days_are_reported(name, drive, users):
    paths = every_path(drive)
    t, kind = ALSO[name](paths, users)
    db.session.commit()
    found = problems_by_ticket()
    assert kind in found.get(t.id, set()), f"{kind} not reported; found {found}"
    assert set(found) == {t.id}, "no other ticket is reported"


def test_problems_read_in_chinese(drive):
    t = drive.new_ticket()
    drive.assign(t)
    set_ticket(t, state="resolved")
    db.session.commit()
    (problem,) = check()
    assert problem.kind == "state_mismatch" and problem.ticket_id == t.id
    assert problem.message == "问题单状态为“待回访”，但其处理记录止于“处理中”。"
    assert str(problem).startswith(t.number + ": ")


def test_check_history_command_exits_non_zero_when_a_history_is_inconsistent(app, drive):
    t = drive.resolve(drive.assign(drive.new_ticket()))
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["check-history"])
    assert ok.exit_code == 0, ok.output
    assert "1 tickets, 0 problems" in ok.output

    set_ticket(t, hours_spent=Decimal("9"))
    db.session.commit()
    bad = runner.invoke(args=["check-history"])
    assert bad.exit_code == 1
    assert t.number in bad.output and "1 problems" in bad.output


# --- the checker reads the workflow table ------------------------------------------------------------

def test_check_history_reports_a_transition_the_workflow_table_does_not_declare(app, drive):
    t = drive.resolve(drive.tell(drive.assign(drive.new_ticket())))
    add_event(t, "callback", "resolved", "closed")  # a callback leads to callback_done or assigned, never closed
    db.session.commit()
    bogus = events_of(t)[-1].id
    out = app.test_cli_runner().invoke(args=["check-history"])
    assert out.exit_code == 1
    assert f"{t.number}: 第 {bogus} 条记录：登记回访 不能从“待回访”变为“已关闭”。" in out.output.splitlines()


def failed_callback(drive: Driver) -> Ticket:
    return drive.callback(drive.resolve(drive.tell(drive.assign(drive.new_ticket()))), solved=False)


def test_the_checker_takes_its_transitions_from_the_workflow_table(monkeypatch, drive):
    t = failed_callback(drive)
    assert check() == []
    callback = ACTIONS["callback"]
    without_reopening = tuple(x for x in callback.targets if x.to is not State.ASSIGNED)
    monkeypatch.setitem(ACTIONS, "callback", dataclasses.replace(callback, targets=without_reopening))
    assert {(p.ticket_id, p.kind, p.params["action"]) for p in check()} == {(t.id, "illegal_transition", "callback")}


def test_a_target_added_to_the_table_is_accepted_by_the_checker(monkeypatch, drive):
    t = drive.resolve(drive.tell(drive.assign(drive.new_ticket())))
    add_event(t, "comment", "resolved", "callback_done")  # a note that moved the ticket
    set_ticket(t, state="callback_done")
    db.session.commit()
    assert {p.kind for p in check()} == {"illegal_transition"}
    comment = ACTIONS["comment"]
    monkeypatch.setitem(ACTIONS, "comment", dataclasses.replace(
        comment, targets=comment.targets + (workflow.goes_to(State.CALLBACK_DONE),)))
    # Declared, the move is legal; and as the note now changes the row, the checker expects the version
    # bump such a note would have made.
    assert {p.kind for p in check()} == {"version_mismatch"}


def test_the_checker_takes_closing_reasons_from_the_workflow_table(monkeypatch, drive):
    t = drive.close(drive.callback(drive.resolve(drive.tell(drive.assign(drive.new_ticket())))))
    assert t.close_reason == "solved" and check() == []
    monkeypatch.setitem(ACTIONS, "close", dataclasses.replace(
        ACTIONS["close"], targets=(workflow.closes(CloseReason.ANSWERED),)))
    assert [(p.ticket_id, p.kind) for p in check()] == [(t.id, "close_reason_mismatch")]


def test_the_checker_takes_intake_states_from_the_workflow_table(monkeypatch, drive):
    t = drive.new_ticket(unit=drive.unit(status=MaintenanceStatus.STOPPED))
    assert t.state == "awaiting_market" and check() == []
    register = workflow.REGISTER
    monkeypatch.setattr(workflow, "REGISTER", dataclasses.replace(
        register, intake=tuple(r for r in register.intake if r.to is not State.AWAITING_MARKET)))
    assert [(p.ticket_id, p.kind) for p in check()] == [(t.id, "intake_state")]


# --- a note racing a transition (a real interleaving of two requests) ---------------------------------------

RENDEZVOUS_TIMEOUT = 30  # seconds; reached only if the interleaving is broken (then the test fails)


def test_a_note_racing_a_transition_is_refused_and_leaves_a_consistent_history(app, auth, users, drive):
    """A note writes no UPDATE, so the version alone does not order it. On PostgreSQL the note request
    reads the ticket, then the engineer's resolve commits, then the note would insert its event: the
    history would show a note on “in progress” after the resolution. The note takes the ticket's row
    lock before writing and, finding a newer version, is refused (409) like any stale form. On SQLite
    every writer begins with BEGIN IMMEDIATE, so the note request cannot read before the resolve has
    committed: it is made to wait for it at its connection checkout, then finds its form stale."""
    t = drive.tell(drive.assign(drive.new_ticket()))
    number, version = t.number, str(t.version)
    cs, engineer = auth.client_for("cs"), auth.client_for("engineer")
    db.session.commit()
    db.session.close()  # the main thread holds no transaction (on SQLite: no lock) while the requests run

    engine = db.engine
    at_gate, resolved = threading.Event(), threading.Event()

    def gate():
        if threading.current_thread().name == "note" and not at_gate.is_set():
            at_gate.set()
            assert resolved.wait(RENDEZVOUS_TIMEOUT), "the resolve did not finish"

    if engine.dialect.name == "sqlite":
        def on_checkout(dbapi_connection, connection_record, connection_proxy):
            gate()

        listeners = [(engine.pool, "checkout", on_checkout)]
    else:
        # After the note request has read the ticket, before it locks it or writes its event.
        def before_execute(conn, cursor, statement, parameters, context, executemany):
            s = statement.lstrip().upper()
            if s.startswith("INSERT INTO EVENTS") or ("FROM TICKETS" in s and "FOR UPDATE" in s):
                gate()

        listeners = [(engine, "before_cursor_execute", before_execute)]
    for target, name, fn in listeners:
        sa_event.listen(target, name, fn)
    results = {}

    def note():
        results["note"] = cs.post(f"/tickets/{number}/actions/comment",
                                  data={"comment-version": version, "comment-text": "客户又来电询问"}).status_code

    def resolve():  # in a thread of its own too: its request context (and transaction) ends with it
        results["resolve"] = engineer.post(f"/tickets/{number}/actions/resolve", data={
            "resolve-version": version, "resolve-process_text": "重装驱动", "resolve-result": "已恢复",
            "resolve-hours_spent": "1"}).status_code

    threads = [threading.Thread(target=note, name="note"), threading.Thread(target=resolve, name="resolve")]
    try:
        threads[0].start()
        assert at_gate.wait(RENDEZVOUS_TIMEOUT), "the note request did not start"
        threads[1].start()
        threads[1].join(RENDEZVOUS_TIMEOUT)
        resolved.set()
        threads[0].join(RENDEZVOUS_TIMEOUT)
    finally:
        resolved.set()
        for target, name, fn in listeners:
            sa_event.remove(target, name, fn)
    assert not any(t.is_alive() for t in threads), "a request hung"
    assert results == {"resolve": 302, "note": 409}
    actions = db.session.scalars(select(Event.action).join(Ticket).where(Ticket.number == number)
                                 .order_by(Event.id)).all()
    assert actions == ["register", "assign", "notify_deadline", "resolve"]
    assert check() == []
