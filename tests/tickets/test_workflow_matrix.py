"""The workflow matrix (SPEC §3): every (situation, action, role) either does exactly what the
SPEC table says — to-state, closing reason, an event with from/to/actor, the fields it records,
whom it notifies — or is refused (NotAllowed = 403, WrongState = 409) and writes nothing.

EXPECTED below is written by hand from SPEC §3, deliberately NOT derived from
workflow.ACTIONS, so that a wrong row in ACTIONS makes cases fail.

Speed: the tickets for every situation are built once per module through the real
operations and committed; each case acts inside the open transaction and rolls it back.
So this module replaces conftest's per-test wipe (`_clean`) with a rollback.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Callable

import pytest
from sqlalchemy import event as sa_event, func, select

from portal.core.enums import MaintenanceStatus, Role, TicketType
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.notifications.models import Notification
from portal.tickets import operations as ops
from portal.tickets import workflow
from portal.tickets.models import Callback, Event, Ticket, TicketAssignee, TicketLink
from portal.tickets.workflow import NotAllowed, WrongState
from tests.conftest import PASSWORD, _wipe

M, R, C = "maintenance", "requirement", "consultation"
ALL_TYPES = frozenset({M, R, C})
OPEN_STATES = frozenset({"awaiting_market", "registered", "pending_fee", "ready_to_assign", "impl_queue",
                         "assigned", "waiting_customer", "resolved", "callback_done"})
# Before assignment a ticket waits in a queue (a corrected type or unit re-runs the intake rules there).
QUEUED_STATES = frozenset({"awaiting_market", "registered", "pending_fee", "ready_to_assign", "impl_queue"})
ALL_STATES = OPEN_STATES | {"closed"}

# Who acts. "engineer" is the assignee of tickets assigned in 开发部, "impl_engineer" of those
# assigned in 实施部; the *_other personas hold the same role but were never assigned anything.
ROLE_OF = {
    "cs": "cs", "dev_manager": "dev_manager", "engineer": "engineer", "engineer_other": "engineer",
    "impl_manager": "impl_manager", "impl_engineer": "impl_engineer", "impl_engineer_other": "impl_engineer",
    "market": "market", "market_manager": "market_manager", "admin": "admin",
}
USERNAME_OF = {"engineer_other": "engineer2", "impl_engineer_other": "impl_engineer2"}
PERSONAS = list(ROLE_OF)


# ---------------------------------------------------------------------------
# Situations: a ticket of some type, driven through the workflow to some state.
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Situation:
    key: str
    type: str
    state: str
    steps: tuple[tuple[str, str], ...] = ()  # (variant, persona), taken in order through the workflow
    stopped: bool = False  # the unit's maintenance has stopped
    close_reason: str | None = None
    assignee: str | None = None  # persona
    told: bool = False  # the customer was told the deadline of the current assignment
    urgent: bool = False
    dept: str = "dev"  # the department handling it (dev | impl)
    onsite: bool = False  # an on-site visit is under way (issue 15)


ASSIGN = ("assign", "dev_manager")
TELL = ("notify_deadline", "cs")
RESOLVE = ("resolve", "engineer")
SOLVED = ("callback:solved", "cs")
FEE_GATE = (("suspend_for_fee", "dev_manager"), ("record_fee:agreed", "market_manager"))
IN_IMPL = (("route_to_impl", "dev_manager"), ("assign", "impl_manager"))
S = Situation
SITUATIONS = [
    # 维护问题
    S("maint_awaiting_market", M, "awaiting_market", stopped=True),
    S("maint_registered", M, "registered"),
    S("maint_registered_urgent", M, "registered", (("approve_urgent", "market"),), urgent=True),
    S("maint_impl_queue", M, "impl_queue", (("route_to_impl", "dev_manager"),), dept="impl"),
    S("maint_assigned", M, "assigned", (ASSIGN,), assignee="engineer"),
    S("maint_assigned_told", M, "assigned", (ASSIGN, TELL), assignee="engineer", told=True),
    S("maint_assigned_in_impl", M, "assigned", IN_IMPL + (TELL,), assignee="impl_engineer", told=True, dept="impl"),
    # paused while the customer must act; handed back by the assignee
    S("maint_waiting", M, "waiting_customer", (ASSIGN, TELL, ("wait_customer", "engineer")), assignee="engineer",
      told=True),
    S("maint_waiting_in_impl", M, "waiting_customer", IN_IMPL + (("wait_customer", "impl_manager"),),
      assignee="impl_engineer", dept="impl"),
    # the phone could not solve it: a visit is under way (issue 15)
    S("maint_onsite", M, "assigned", (ASSIGN, TELL, ("need_onsite", "cs")), assignee="engineer", told=True,
      onsite=True),
    S("maint_handed_back", M, "registered", (ASSIGN, TELL, ("hand_back", "engineer"))),
    S("maint_handed_back_in_impl", M, "impl_queue", IN_IMPL + (("hand_back", "impl_engineer"),), dept="impl"),
    S("maint_resolved", M, "resolved", (ASSIGN, RESOLVE), assignee="engineer"),
    S("maint_resolved_told", M, "resolved", (ASSIGN, TELL, RESOLVE), assignee="engineer", told=True),
    # not solved: a new deadline, to be told again (issue 14)
    S("maint_reopened_by_callback", M, "assigned", (ASSIGN, TELL, RESOLVE, ("callback:not_solved", "cs")),
      assignee="engineer"),
    S("maint_callback_done", M, "callback_done", (ASSIGN, TELL, RESOLVE, SOLVED), assignee="engineer", told=True),
    S("maint_closed_solved", M, "closed", (ASSIGN, TELL, RESOLVE, SOLVED, ("close", "market")),
      close_reason="solved", assignee="engineer", told=True),
    S("maint_closed_declined", M, "closed", (("record_contact:declined", "market"),), stopped=True,
      close_reason="declined"),
    S("maint_closed_invalid", M, "closed", (("reject", "dev_manager"),), close_reason="invalid"),
    # 新增需求
    S("req_awaiting_market", R, "awaiting_market", stopped=True),
    S("req_registered", R, "registered"),
    S("req_pending_fee", R, "pending_fee", FEE_GATE[:1]),
    S("req_ready_to_assign", R, "ready_to_assign", FEE_GATE),
    S("req_assigned", R, "assigned", FEE_GATE + (ASSIGN,), assignee="engineer"),
    S("req_waiting", R, "waiting_customer", FEE_GATE + (ASSIGN, ("wait_customer", "dev_manager")),
      assignee="engineer"),
    S("req_resolved_told", R, "resolved", FEE_GATE + (ASSIGN, TELL, RESOLVE), assignee="engineer", told=True),
    S("req_callback_done", R, "callback_done", FEE_GATE + (ASSIGN, TELL, RESOLVE, SOLVED),
      assignee="engineer", told=True),
    S("req_closed_solved", R, "closed", FEE_GATE + (ASSIGN, TELL, RESOLVE, SOLVED, ("close", "market_manager")),
      close_reason="solved", assignee="engineer", told=True),
    S("req_closed_declined", R, "closed", (("suspend_for_fee", "dev_manager"), ("record_fee:declined", "market")),
      close_reason="declined"),
    S("req_closed_invalid", R, "closed", (("reject", "dev_manager"),), close_reason="invalid"),
    # 咨询
    S("consult_awaiting_market", C, "awaiting_market", stopped=True),
    S("consult_impl_queue", C, "impl_queue", dept="impl"),
    # 实施部经理 gives a consultation to a particular implementation engineer
    S("consult_assigned", C, "assigned", (("assign", "impl_manager"),), assignee="impl_engineer", dept="impl"),
    # who answered it handled it (issue 14)
    S("consult_closed_answered", C, "closed", (("answer", "impl_engineer"),), close_reason="answered",
      assignee="impl_engineer", dept="impl"),
    S("consult_closed_declined", C, "closed", (("record_contact:declined", "market_manager"),), stopped=True,
      close_reason="declined"),
    S("consult_closed_invalid", C, "closed", (("reject", "impl_manager"),), close_reason="invalid", dept="impl"),
]
SITUATION = {s.key: s for s in SITUATIONS}


# ---------------------------------------------------------------------------
# EXPECTED: SPEC §3's table, by hand. Variants split the actions whose outcome the
# data decides (record_contact, record_fee, callback).
# ---------------------------------------------------------------------------

MARKET = ("market", "market_manager")
MANAGERS = ("dev_manager", "impl_manager")
MANAGES = {"dev_manager": "dev", "impl_manager": "impl"}  # the department whose tickets each manager handles


def _from(*roles: str, states) -> dict[str, frozenset[str]]:
    return {r: frozenset(states) for r in roles}


@dataclass(frozen=True)
class Rule:
    action: str
    # role → states it may act from; the key "assignee" means the ticket's current assignee
    # whatever the role, "anyone" every user (the route's visibility check does the rest).
    who: dict[str, frozenset[str]]
    to: str | dict | Callable | None = None  # None: no state change; a dict: by ticket type; or by situation
    close_reason: str | None = None
    types: frozenset[str] = ALL_TYPES
    only_if: Callable[[Situation], bool] = lambda s: True  # a further condition SPEC §3 states
    notifies: Callable[[Situation], set[str]] = lambda s: set()  # personas who must get a reminder
    own_department: bool = False  # a manager acts only on tickets their own department handles


def _assignee_for(s: Situation) -> str:
    return "impl_engineer" if s.state == "impl_queue" else "engineer"


def _other_engineer(s: Situation) -> str:
    return "impl_engineer_other" if s.dept == "impl" else "engineer_other"


def _manager_of(dept: str) -> str:
    return "impl_manager" if dept == "impl" else "dev_manager"


def _hand_back_to(s: Situation) -> str:
    if s.state == "impl_queue":
        return "registered"  # 实施部经理: a routed problem back to 开发部
    if s.dept == "impl":
        return "impl_queue"
    return "ready_to_assign" if s.type == R else "registered"  # a requirement's fee stays agreed


# Where a corrected type or unit puts a ticket that still waits in a queue: where a new registration
# would go (a stopped unit's to 市场部 first, consultations to 实施部, the rest to 开发部).
def _intake(ticket_type: str, stopped: bool) -> str:
    return "awaiting_market" if stopped else "impl_queue" if ticket_type == C else "registered"


NEW_TYPE = {M: C, R: M, C: M}  # the correction "edit:type" makes


# 客服 corrects any open ticket; the managers those past 市场部's gate
EDITORS = {**_from("cs", states=OPEN_STATES), **_from(*MANAGERS, states=OPEN_STATES - {"awaiting_market"})}


def _edit_type_to(s: Situation) -> str:
    return _intake(NEW_TYPE[s.type], s.stopped)


def _edit_unit_to(s: Situation) -> str:
    """To the other unit (stopped ↔ ordinary): moves only into or out of 市场部's hands, only in a queue."""
    if s.state not in QUEUED_STATES:
        return s.state
    new = _intake(s.type, not s.stopped)
    return new if "awaiting_market" in (new, s.state) else s.state


def _edit_notifies(to: Callable[[Situation], str]) -> Callable[[Situation], set[str]]:
    who = {"registered": "dev_manager", "impl_queue": "impl_manager", "awaiting_market": "market"}
    return lambda s: set() if to(s) == s.state else {who[to(s)]}


EXPECTED: dict[str, Rule] = {
    "record_contact:proceed": Rule(
        "record_contact", _from(*MARKET, states={"awaiting_market"}),
        # consultations skip development analysis: straight to 实施部
        to={M: "registered", R: "registered", C: "impl_queue"},
        notifies=lambda s: {"impl_manager"} if s.type == C else {"dev_manager"}),
    "record_contact:declined": Rule(
        "record_contact", _from(*MARKET, states={"awaiting_market"}), to="closed", close_reason="declined"),
    "suspend_for_fee": Rule(
        "suspend_for_fee", _from("dev_manager", states={"registered"}), to="pending_fee", types=frozenset({R}),
        notifies=lambda s: {"market"}),
    "record_fee:agreed": Rule(
        "record_fee", _from(*MARKET, states={"pending_fee"}), to="ready_to_assign", types=frozenset({R}),
        notifies=lambda s: {"dev_manager"}),
    "record_fee:declined": Rule(
        "record_fee", _from(*MARKET, states={"pending_fee"}), to="closed", close_reason="declined",
        types=frozenset({R})),
    "assign": Rule(
        "assign", {**_from("dev_manager", states={"registered", "ready_to_assign"}),
                   **_from("impl_manager", states={"impl_queue"})},
        to="assigned",
        # every type: 实施部经理 may give a consultation to a particular implementation engineer (issue 14)
        # a new requirement passes the fee gate before it can be assigned
        only_if=lambda s: not (s.type == R and s.state == "registered"),
        notifies=lambda s: {_assignee_for(s), "cs"}),
    "route_to_impl": Rule(
        "route_to_impl", _from("dev_manager", states={"registered"}), to="impl_queue",
        # a problem (维护问题) may belong to 实施部; a new requirement must pass the fee gate
        types=frozenset({M}),
        notifies=lambda s: {"impl_manager"}),
    "reject": Rule(
        "reject", {**_from("dev_manager", states={"registered"}), **_from("impl_manager", states={"impl_queue"})},
        to="closed", close_reason="invalid"),
    "approve_urgent": Rule(
        "approve_urgent", _from(*MARKET, states=OPEN_STATES), to=None, types=frozenset({M}),
        only_if=lambda s: not s.urgent, notifies=lambda s: {"dev_manager"}),
    "notify_deadline": Rule(
        "notify_deadline", _from("cs", states={"assigned", "resolved"}), to=None,
        only_if=lambda s: not s.told),  # once per assignment
    "resolve": Rule(
        "resolve", {"assignee": frozenset({"assigned"})}, to="resolved", notifies=lambda s: {"cs"}),
    "answer": Rule(
        "answer", _from("impl_manager", "impl_engineer", states={"impl_queue"}), to="closed",
        close_reason="answered", types=frozenset({C})),
    "callback:solved": Rule(
        "callback", _from("cs", states={"resolved"}), to="callback_done", notifies=lambda s: {"market"}),
    "callback:not_solved": Rule(
        "callback", _from("cs", states={"resolved"}), to="assigned", notifies=lambda s: {s.assignee}),
    "close": Rule(
        "close", _from(*MARKET, states={"callback_done"}), to="closed", close_reason="solved"),
    "reopen": Rule(
        "reopen", _from(*MARKET, states={"closed"}), to="assigned",
        # a consultation is answered, never worked to a deadline (issue 14: its answerer is its handler)
        types=frozenset({M, R}),
        # back to the previous assignee: only a ticket that had one
        only_if=lambda s: s.assignee is not None, notifies=lambda s: {s.assignee}),
    "comment": Rule("comment", {"anyone": ALL_STATES}, to=None),
    # --- actions for real days (issue 14) ---
    "reassign": Rule(
        "reassign", _from(*MANAGERS, states={"assigned", "waiting_customer"}), to=None, own_department=True,
        notifies=lambda s: {s.assignee, _other_engineer(s)}),  # the previous and the new assignee
    "reassign:new_deadline": Rule(
        "reassign", _from(*MANAGERS, states={"assigned", "waiting_customer"}), to=None, own_department=True,
        notifies=lambda s: {s.assignee, _other_engineer(s)}),
    "change_deadline": Rule(
        "change_deadline", _from(*MANAGERS, states={"assigned"}), to=None, own_department=True,
        notifies=lambda s: {s.assignee, "cs"}),  # 客服 tells the customer again
    "request_deadline_change": Rule(
        "request_deadline_change", {"assignee": frozenset({"assigned"})}, to=None,
        notifies=lambda s: {_manager_of(s.dept)}),
    "hand_back": Rule(
        "hand_back", {"assignee": frozenset({"assigned"}), **_from("impl_manager", states={"impl_queue"})},
        to=_hand_back_to,
        # a consultation waiting in 实施部 has no other queue to go back to
        only_if=lambda s: not (s.state == "impl_queue" and s.type == C),
        notifies=lambda s: {_manager_of("impl" if _hand_back_to(s) == "impl_queue" else "dev")}),
    "wait_customer": Rule(
        "wait_customer", {"assignee": frozenset({"assigned"}), **_from(*MANAGERS, states={"assigned"})},
        to="waiting_customer", own_department=True, notifies=lambda s: {"cs"}),
    "resume": Rule(
        "resume", {"assignee": frozenset({"waiting_customer"}), **_from(*MANAGERS, "cs", states={"waiting_customer"})},
        to="assigned", own_department=True, notifies=lambda s: {s.assignee, "cs"}),
    # --- issue 15: the phone cannot solve it, someone must go (a visit of its own, portal/visits) ---
    "need_onsite": Rule(
        "need_onsite", {"assignee": frozenset({"assigned", "waiting_customer"}),
                        **_from("cs", states={"registered", "impl_queue", "assigned", "waiting_customer"})},
        to=None, types=frozenset({M, C}), only_if=lambda s: not s.onsite,  # one visit under way at a time
        notifies=lambda s: {p for p in (s.assignee, _manager_of(s.dept)) if p}),
    "edit:fields": Rule("edit", EDITORS, to=None),
    "edit:type": Rule(
        "edit", EDITORS, to=_edit_type_to,
        # once assigned the type is fixed (the assignee hands the ticket back first)
        only_if=lambda s: s.state in QUEUED_STATES, notifies=_edit_notifies(_edit_type_to)),
    "edit:unit": Rule(
        "edit", EDITORS, to=_edit_unit_to,
        notifies=_edit_notifies(_edit_unit_to)),
}
VARIANTS = list(EXPECTED)


@dataclass(frozen=True)
class Success:
    to: str
    close_reason: str | None
    notifies: frozenset[str]


def expect(s: Situation, variant: str, persona: str):
    """Success(...) or the exception class SPEC §3 calls for."""
    rule = EXPECTED[variant]
    role = ROLE_OF[persona]
    if "anyone" in rule.who:
        states = rule.who["anyone"]
    else:  # the assignee, and/or the roles named (a manager only in their own department, where so)
        states, entitled = set(), False
        if "assignee" in rule.who and persona == s.assignee:
            entitled, states = True, states | rule.who["assignee"]
        if role in rule.who and not (rule.own_department and role in MANAGES and MANAGES[role] != s.dept):
            entitled, states = True, states | rule.who[role]
        if not entitled:
            return NotAllowed
    if s.state not in states or s.type not in rule.types or not rule.only_if(s):
        return WrongState
    if rule.to is None:  # no state change: the ticket keeps its state and closing reason
        return Success(s.state, s.close_reason, frozenset(rule.notifies(s)) - {persona})
    to = rule.to[s.type] if isinstance(rule.to, dict) else rule.to(s) if callable(rule.to) else rule.to
    return Success(to, rule.close_reason, frozenset(rule.notifies(s)) - {persona})


# ---------------------------------------------------------------------------
# The world: users, two units, one ticket per situation, an "original" for duplicates.
# ---------------------------------------------------------------------------

@dataclass
class World:
    users: dict[str, int]  # persona → user id
    tickets: dict[str, int] = field(default_factory=dict)  # situation → ticket id
    original_number: str = ""
    original_id: int = 0
    units: dict = field(default_factory=dict)  # stopped? → unit id
    # Strong references: the session's identity map is weak, and reloading a user with its roles
    # for every case would dominate the matrix's run time.
    loaded: dict = field(default_factory=dict)

    def user(self, persona: str):
        from portal.auth.models import User

        key = ("user", persona)
        if key not in self.loaded:
            self.loaded[key] = db.session.get(User, self.users[persona])
        return self.loaded[key]

    def ticket(self, situation: str) -> Ticket:
        key = ("ticket", situation)
        if key not in self.loaded:
            self.loaded[key] = db.session.get(Ticket, self.tickets[situation])
        return self.loaded[key]

    def data_for(self, variant: str, state: str, s: Situation | None = None) -> tuple[str, dict]:
        """The action key and valid data for a variant on a ticket in `state` (of situation `s`)."""
        deadline = (utcnow() + timedelta(days=3)).replace(microsecond=0)
        later = (utcnow() + timedelta(days=5)).replace(microsecond=0)
        other = self.users[_other_engineer(s)] if s else self.users["engineer_other"]
        data = {
            "record_contact:proceed": {"outcome": "proceed", "text": "客户已续签维护合同"},
            "record_contact:declined": {"outcome": "declined", "text": "客户不再续费"},
            "suspend_for_fee": {"analysis": "属于新增功能，需要收费"},
            "record_fee:agreed": {"outcome": "agreed", "fee": "5000", "agreed_requirements": "增加导出功能",
                                  "text": "客户同意费用"},
            "record_fee:declined": {"outcome": "declined", "text": "客户放弃"},
            "assign": {"assignee_id": self.users["impl_engineer" if state == "impl_queue" else "engineer"],
                       "deadline": deadline, "analysis": "打印服务配置问题"},
            "route_to_impl": {"reason": "现场配置问题，属于实施部"},
            "reject": {"reason": "重复登记", "duplicate_of": self.original_number},
            "approve_urgent": {"request": "客户邮件要求加急"},
            "notify_deadline": {"whom": "刘建国", "method": "phone", "told_at": None, "text": ""},
            "resolve": {"process": "重装驱动", "result": "已恢复打印", "hours_spent": "2.5"},
            "answer": {"answer": "在系统设置中修改"},
            "callback:solved": {"solved": True, "satisfaction": 5, "method": "phone", "contact_person": "",
                                "text": "客户确认已解决"},
            "callback:not_solved": {"solved": False, "satisfaction": 2, "method": "phone", "contact_person": "",
                                    "text": "问题依旧", "deadline": deadline},
            "close": {"note": "关闭"},
            "reopen": {"reason": "客户反映问题再次出现", "deadline": deadline},
            "comment": {"text": "内部备注", "has_files": False},
            "reassign": {"assignee_id": other, "deadline": None, "reason": "工程师病假"},
            "reassign:new_deadline": {"assignee_id": other, "deadline": later, "reason": "换人，需要更多时间"},
            "change_deadline": {"deadline": later, "reason": "需要等待硬件到货"},
            "request_deadline_change": {"deadline": later, "reason": "问题比预想复杂"},
            "hand_back": {"reason": "不是我的问题"},
            "wait_customer": {"reason": "等待客户提供数据"},
            "need_onsite": {"reason": "电话无法解决，需要上门"},
            "resume": {"deadline": None, "text": "客户已提供数据"},
            "edit:fields": {"reporter_phone": "13900139000", "summary": "打印机卡纸", "description": "更正的描述"},
            "edit:type": {"type": NEW_TYPE[s.type] if s else R},
            "edit:unit": {"customer_id": self.units[not s.stopped] if s else self.units[False]},
        }[variant]
        return EXPECTED[variant].action, data


@pytest.fixture(scope="module")
def world(app):
    from portal.auth.operations import create_user
    from portal.customers.operations import create_unit

    ctx = app.app_context()
    ctx.push()
    _wipe(db)
    dept = {"cs": "cs", "dev_manager": "dev", "engineer": "dev", "impl_manager": "impl", "impl_engineer": "impl",
            "market": "market", "market_manager": "market", "admin": None}
    users = {}
    for persona, role in ROLE_OF.items():
        username = USERNAME_OF.get(persona, persona)
        users[persona] = create_user(username, PASSWORD, username, [Role(role)], dept[role]).id
    w = World(users)
    units = {False: create_unit("矩阵测试人民医院", status=MaintenanceStatus.ORDINARY).id,
             True: create_unit("矩阵测试停保医院", status=MaintenanceStatus.STOPPED).id}
    w.units = units

    def register(ticket_type: str, stopped: bool) -> Ticket:
        intake = ops.Intake(channel="hotline", customer_id=units[stopped], type=ticket_type, reporter_name="刘建国",
                            reporter_dept="信息科", reporter_phone="13800138000", summary="打印机无法打印")
        return ops.register_ticket(w.user("cs"), intake)

    original = register(M, False)
    w.original_number, w.original_id = original.number, original.id
    for s in SITUATIONS:
        t = register(s.type, s.stopped)
        for variant, persona in s.steps:
            key, data = w.data_for(variant, t.state)
            workflow.perform(t, key, w.user(persona), data)
        assert (t.state, t.close_reason, t.urgent, t.deadline_notified_at is not None) == (
            s.state, s.close_reason, s.urgent, s.told), f"situation {s.key} was not built as described"
        assert t.assignee_id == (users[s.assignee] if s.assignee else None), s.key
        assert t.handling_department == s.dept, s.key
        w.tickets[s.key] = t.id
    db.session.commit()
    w.loaded.clear()
    yield w
    db.session.remove()
    ctx.pop()


@pytest.fixture(autouse=True)
def _clean(world):
    """Overrides conftest's per-test wipe: nothing a test does here is committed."""
    with rolled_back():
        yield


@contextmanager
def rolled_back():
    """One case: runs inside a SAVEPOINT that is rolled back afterwards (which expires only
    what the case changed, so users and untouched tickets stay loaded)."""
    savepoint = db.session.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()
        else:
            db.session.rollback()


# ---------------------------------------------------------------------------
# What "writes nothing" means. For a refusal: not one INSERT/UPDATE/DELETE reaches the database,
# neither during the call nor when the session is flushed afterwards — so the ticket row
# (incl. version) and the Event/Callback/Notification/link tables are untouched. For a success
# the row and the related tables are compared before and after.
# ---------------------------------------------------------------------------

@contextmanager
def recorded_writes():
    """Collects every data-changing SQL statement sent while the block runs."""
    writes: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        yield writes
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", on_execute)


def _row(ticket_id: int) -> dict:
    return dict(db.session.execute(select(Ticket.__table__).where(Ticket.__table__.c.id == ticket_id)).one()._mapping)


def _counts(ticket_id: int) -> dict:
    def n(model, *where):
        return select(func.count()).select_from(model).where(*where).scalar_subquery()

    row = db.session.execute(select(
        n(Ticket).label("tickets"),
        n(Event, Event.ticket_id == ticket_id).label("events"),
        n(Callback).label("callbacks"),
        n(Notification).label("notifications"),
        n(TicketLink).label("links"),
        n(TicketAssignee).label("assignees"),
        func.coalesce(select(func.max(Notification.id)).scalar_subquery(), 0).label("last_notification"),
    )).one()
    return dict(row._mapping)


CASES = [(s.key, v) for s in SITUATIONS for v in VARIANTS]  # × every persona inside each test


@pytest.mark.parametrize("situation,variant", CASES, ids=["-".join(c) for c in CASES])
def test_action_does_what_spec_says_or_is_refused_without_writing(world, situation, variant):
    """One (situation, action) for every persona; all personas are tried and every mismatch reported."""
    wrong = []
    for persona in PERSONAS:
        with rolled_back():
            try:
                check_case(world, SITUATION[situation], variant, persona)
            except (AssertionError, pytest.fail.Exception) as e:
                wrong.append(f"--- as {persona}: {e}")
    assert not wrong, "\n".join(wrong)


def check_case(world: World, s: Situation, variant: str, persona: str) -> None:
    ticket = world.ticket(s.key)
    actor = world.user(persona)
    key, data = world.data_for(variant, s.state, s)
    want = expect(s, variant, persona)

    if not isinstance(want, Success):
        with recorded_writes() as writes, pytest.raises(workflow.WorkflowError) as refused:
            try:
                workflow.perform(ticket, key, actor, data)
            finally:
                db.session.flush()  # anything the refused call changed in memory would be written now
        assert type(refused.value) is want, f"expected {want.__name__}, got {type(refused.value).__name__}"
        assert writes == [], "a refused action wrote to the database"
        assert str(refused.value.message), "a refusal carries a message for the user"
        return

    before, counts = _row(ticket.id), _counts(ticket.id)
    event = workflow.perform(ticket, key, actor, data)
    db.session.flush()
    after, counts_after = _row(ticket.id), _counts(ticket.id)
    assert (after["state"], after["close_reason"]) == (want.to, want.close_reason)
    assert (after["closed_at"] is not None) == (want.to == "closed")
    stored = db.session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id.desc())).first()
    assert stored.id == event.id
    assert (stored.action, stored.from_state, stored.to_state, stored.actor_id) == (key, s.state, want.to, actor.id)
    assert counts_after["events"] == counts["events"] + 1
    # a note and a request for a new deadline leave the ticket's row alone
    assert after["version"] == before["version"] + (
        0 if key in ("comment", "request_deadline_change", "need_onsite") else 1)
    assert counts_after["callbacks"] == counts["callbacks"] + (1 if key == "callback" else 0)
    assert counts_after["tickets"] == counts["tickets"]

    recipients = set(db.session.scalars(
        select(Notification.user_id).where(Notification.id > counts["last_notification"],
                                           Notification.ticket_id == ticket.id)))
    assert {world.users[p] for p in want.notifies} <= recipients, "someone SPEC says must be told was not"
    assert actor.id not in recipients, "nobody is reminded of what they just did themselves"

    RECORDS[key](world, s, before, after, data, event, actor)


# What each action must record (SPEC §3 "records" column), checked after a success.

def _records_assign(w, s, before, after, data, event, actor):
    assert after["assignee_id"] == data["assignee_id"] and after["deadline"] == data["deadline"]
    assert after["deadline_notified_at"] is None, "every assignment must be told to the customer again"
    assert after["analysis"] == data["analysis"]
    assert db.session.get(TicketAssignee, (after["id"], data["assignee_id"])) is not None
    assert after["handling_department"] == ("impl" if s.state == "impl_queue" else "dev")


def _records_record_fee(w, s, before, after, data, event, actor):
    if data["outcome"] == "agreed":
        assert after["fee"] == Decimal("5000") and after["agreed_requirements"] == "增加导出功能"
    else:
        assert after["fee"] is None


def _records_approve_urgent(w, s, before, after, data, event, actor):
    assert after["urgent"] and after["urgent_approved_by_id"] == actor.id
    assert after["urgent_request"] == data["request"]


def _records_notify_deadline(w, s, before, after, data, event, actor):
    assert after["deadline_notified_at"] is not None
    assert event.data["whom"] == "刘建国" and event.data["method"] == "phone"


def _records_resolve(w, s, before, after, data, event, actor):
    assert (after["process"], after["result"]) == ("重装驱动", "已恢复打印")
    assert after["hours_spent"] == (before["hours_spent"] or 0) + Decimal("2.5")
    assert after["resolved_at"] is not None


def _records_answer(w, s, before, after, data, event, actor):
    assert after["result"] == data["answer"]
    # who answered it is its handler, and keeps seeing it (issue 14)
    assert after["assignee_id"] == actor.id and db.session.get(TicketAssignee, (after["id"], actor.id)) is not None


def _records_callback(w, s, before, after, data, event, actor):
    cb = db.session.scalars(select(Callback).where(Callback.ticket_id == after["id"])
                            .order_by(Callback.id.desc())).first()
    assert (cb.solved, cb.satisfaction, cb.made_by_id, cb.method) == (
        data["solved"], data["satisfaction"], actor.id, "phone")
    assert after["assignee_id"] == before["assignee_id"], "not solved goes back to the same engineer"
    if not data["solved"]:  # with a new deadline, to be told to the customer again (issue 14)
        assert after["deadline"] == data["deadline"] and after["deadline_notified_at"] is None


def _records_reject(w, s, before, after, data, event, actor):
    assert after["duplicate_of_id"] == w.original_id
    assert db.session.scalar(select(func.count()).select_from(TicketLink).where(
        TicketLink.from_id == after["id"], TicketLink.to_id == w.original_id, TicketLink.kind == "duplicate_of")) == 1


def _records_reopen(w, s, before, after, data, event, actor):
    assert after["assignee_id"] == before["assignee_id"] == w.users[s.assignee], "back to the previous assignee"
    assert after["resolved_at"] is None and after["deadline_notified_at"] is None
    assert after["deadline"] == data["deadline"], "reopened work gets a new deadline (issue 14)"


def _records_nothing_else(w, s, before, after, data, event, actor):
    changed = {k for k in after if after[k] != before[k]} - {"state", "close_reason", "closed_at", "version",
                                                            "updated_at"}
    allowed = {"suspend_for_fee": {"analysis"}, "route_to_impl": {"handling_department"},
               # a consultation goes to 实施部 and is handled there (issue 14)
               "record_contact": {"handling_department"} if s.type == "consultation" else set()}.get(event.action, set())
    assert changed <= allowed, f"{event.action} changed {changed - allowed}"


def _records_comment(w, s, before, after, data, event, actor):
    assert after == before, "a comment does not touch the ticket"
    assert event.text == "内部备注"


def _records_reassign(w, s, before, after, data, event, actor):
    assert after["assignee_id"] == data["assignee_id"] != before["assignee_id"]
    assert db.session.get(TicketAssignee, (after["id"], data["assignee_id"])) is not None, "the new one sees it"
    assert (event.data["previous_assignee_id"], event.data["assignee_id"]) == (before["assignee_id"],
                                                                             data["assignee_id"])
    if data["deadline"]:
        assert after["deadline"] == data["deadline"] and after["deadline_notified_at"] is None, \
            "a new deadline is told to the customer again"
    else:
        assert (after["deadline"], after["deadline_notified_at"]) == (before["deadline"],
                                                                      before["deadline_notified_at"])


def _records_change_deadline(w, s, before, after, data, event, actor):
    assert after["deadline"] == data["deadline"] and after["deadline_notified_at"] is None
    assert after["assignee_id"] == before["assignee_id"]
    assert event.data["previous_deadline"] == before["deadline"].isoformat() and event.text == data["reason"]


def _records_request_deadline_change(w, s, before, after, data, event, actor):
    assert after == before, "asking changes nothing: the manager decides"
    assert event.data["requested_deadline"] == data["deadline"].isoformat() and event.text == data["reason"]


def _records_hand_back(w, s, before, after, data, event, actor):
    assert after["handling_department"] == ("impl" if after["state"] == "impl_queue" else "dev")
    assert (after["assignee_id"], after["deadline"], after["deadline_notified_at"]) == (None, None, None)
    if s.assignee:  # whoever worked on it keeps seeing it
        assert db.session.get(TicketAssignee, (after["id"], w.users[s.assignee])) is not None
    assert event.text == data["reason"]


def _records_wait_customer(w, s, before, after, data, event, actor):
    _records_nothing_else(w, s, before, after, data, event, actor)
    assert event.text == data["reason"]


def _records_resume(w, s, before, after, data, event, actor):
    assert after["assignee_id"] == before["assignee_id"]
    waited = db.session.scalars(select(Event).where(Event.ticket_id == after["id"], Event.action == "wait_customer")
                                .order_by(Event.id.desc())).first()
    moved = after["deadline"] - before["deadline"]
    assert timedelta(0) <= moved <= utcnow() - waited.created_at + timedelta(seconds=1), \
        "the deadline moves on by the time waited"
    assert after["deadline_notified_at"] is None, "the customer is told the new deadline"


def _records_edit(w, s, before, after, data, event, actor):
    changes = event.data["changes"]
    for name, value in data.items():
        if name == "customer_id":
            assert after["customer_id"] == value and event.data["customer_id"] == [before["customer_id"], value]
            assert set(changes) == {"customer"}
        else:
            assert after[name] == value and changes[name] == [before[name] or "", value], name
    if "type" in data:
        assert (event.data["type_before"], event.data["type"]) == (s.type, data["type"])
    changed = {k for k in after if after[k] != before[k]} - {"state", "version", "updated_at", "handling_department"}
    assert changed == set(data), f"edit changed {changed}"
    assert after["handling_department"] == ("impl" if after["state"] == "impl_queue" else before["handling_department"]
                                            if after["state"] == before["state"] else "dev")


def _records_need_onsite(w, s, before, after, data, event, actor):
    from portal.sla.models import ServiceClock
    from portal.visits.models import Visit

    [visit] = db.session.scalars(select(Visit).where(Visit.ticket_id == after["id"]))
    assert (visit.state, visit.reason, visit.engineer_id) == ("needed", data["reason"], after["assignee_id"])
    clock = db.session.scalar(select(ServiceClock).where(ServiceClock.visit_id == visit.id))
    assert clock.key == "onsite_24h" and clock.running and clock.started_at == visit.needed_at


RECORDS = {
    "need_onsite": _records_need_onsite,
    "reassign": _records_reassign, "change_deadline": _records_change_deadline,
    "request_deadline_change": _records_request_deadline_change, "hand_back": _records_hand_back,
    "wait_customer": _records_wait_customer, "resume": _records_resume, "edit": _records_edit,
    "assign": _records_assign, "record_fee": _records_record_fee, "approve_urgent": _records_approve_urgent,
    "notify_deadline": _records_notify_deadline, "resolve": _records_resolve, "answer": _records_answer,
    "callback": _records_callback, "reject": _records_reject, "reopen": _records_reopen,
    "comment": _records_comment, "record_contact": _records_nothing_else, "suspend_for_fee": _records_nothing_else,
    "route_to_impl": _records_nothing_else, "close": _records_nothing_else,
}


# ---------------------------------------------------------------------------
# available_actions offers exactly what perform would accept.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("situation,persona", [(s.key, p) for s in SITUATIONS for p in PERSONAS])
def test_available_actions_are_exactly_those_spec_allows(world, situation, persona):
    s = SITUATION[situation]
    ticket = world.ticket(situation)
    offered = {a.key for a in workflow.available_actions(ticket, world.user(persona))}
    allowed = {EXPECTED[v].action for v in VARIANTS if isinstance(expect(s, v, persona), Success)}
    assert offered == allowed


def test_the_table_covers_every_action_of_the_spec_vocabulary():
    spec_actions = {"record_contact", "suspend_for_fee", "record_fee", "assign", "route_to_impl", "reject",
                    "approve_urgent", "notify_deadline", "resolve", "answer", "callback", "close", "reopen",
                    "comment",
                    # issue 14: days as they are
                    "reassign", "change_deadline", "request_deadline_change", "hand_back", "wait_customer",
                    "resume", "edit",
                    # issue 15: 电话无法解决，需上门
                    "need_onsite"}
    assert set(workflow.ACTIONS) == spec_actions == {r.action for r in EXPECTED.values()}


def test_unknown_action_is_refused_without_writing(world):
    ticket = world.ticket("maint_registered")
    before = _row(ticket.id)
    with pytest.raises(WrongState):
        workflow.perform(ticket, "delete", world.user("admin"), {})
    db.session.flush()
    assert _row(ticket.id) == before


def test_stale_version_is_refused_without_writing(world):
    ticket = world.ticket("maint_registered")
    before, counts = _row(ticket.id), _counts(ticket.id)
    key, data = world.data_for("assign", "registered")
    with pytest.raises(workflow.StaleTicket):
        workflow.perform(ticket, key, world.user("dev_manager"), data, expected_version=ticket.version - 1)
    db.session.flush()
    assert _row(ticket.id) == before and _counts(ticket.id) == counts


# ---------------------------------------------------------------------------
# register: the first state (SPEC §3 `register` row) and who may register.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("ticket_type,status,first_state", [
    (M, "ordinary", "registered"), (M, "vip", "registered"), (M, "stopped", "awaiting_market"),
    (R, "ordinary", "registered"), (R, "vip", "registered"), (R, "stopped", "awaiting_market"),
    (C, "ordinary", "impl_queue"), (C, "vip", "impl_queue"), (C, "stopped", "awaiting_market"),
])
def test_initial_state_follows_type_and_maintenance_status(ticket_type, status, first_state):
    assert workflow.initial_state(TicketType(ticket_type), MaintenanceStatus(status)).value == first_state


@pytest.mark.parametrize("with_data", [False, True], ids=["intake", "intake-with-event-data"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_only_customer_service_registers_and_a_refusal_writes_nothing(world, persona, with_data):
    from portal.customers.models import CustomerUnit

    unit_id = db.session.scalar(select(CustomerUnit.id).order_by(CustomerUnit.id))
    intake = ops.Intake(channel="email", customer_id=unit_id, type=M, reporter_name="王芳", reporter_dept="药剂科",
                        reporter_phone="13900139000", summary="报表导出失败")
    data = {"follow_up_of": world.original_number} if with_data else None  # no back door for non-cs
    actor = world.user(persona)
    if ROLE_OF[persona] != "cs":
        with recorded_writes() as writes, pytest.raises(NotAllowed):
            try:
                ops.register_ticket(actor, intake, data=data)
            finally:
                db.session.flush()
        assert writes == []
        return
    t = ops.register_ticket(actor, intake, data=data)
    db.session.flush()
    assert t.state == "registered" and t.number.endswith(f"{t.id:06d}")
    events = db.session.scalars(select(Event).where(Event.ticket_id == t.id)).all()
    assert [(e.action, e.from_state, e.to_state, e.actor_id) for e in events] == [
        ("register", None, "registered", actor.id)]
    # it waits in the dev manager's queue: no personal notice (issue 14; urgent ones notify)
    assert world.users["dev_manager"] not in set(db.session.scalars(
        select(Notification.user_id).where(Notification.ticket_id == t.id)))


@pytest.mark.parametrize("follow_up_type,summary", [("maintenance", "  "), ("consultation", "另一个问题")])
def test_an_answer_with_an_invalid_follow_up_is_refused_before_anything_is_written(world, follow_up_type, summary):
    ticket = world.ticket("consult_impl_queue")
    data = {"answer": "这样设置", "follow_up": True, "follow_up_type": follow_up_type, "follow_up_summary": summary}
    with recorded_writes() as writes, pytest.raises(workflow.InvalidInput):
        try:
            ops.take_action(ticket, "answer", world.user("impl_engineer"), data)
        finally:
            db.session.flush()
    assert writes == []


def test_an_answer_with_a_follow_up_registers_a_linked_ticket_of_its_own_type(world):
    ticket = world.ticket("consult_impl_queue")
    actor = world.user("impl_engineer")
    ops.take_action(ticket, "answer", actor, {"answer": "这样设置", "follow_up": True,
                                              "follow_up_type": "requirement", "follow_up_summary": "增加模板导出"})
    db.session.flush()
    link = db.session.scalars(select(TicketLink).where(TicketLink.to_id == ticket.id)).one()
    new = db.session.get(Ticket, link.from_id)
    assert (ticket.state, ticket.close_reason) == ("closed", "answered")
    assert (link.kind, new.type, new.state, new.summary, new.customer_id) == (
        "follow_up", "requirement", "registered", "增加模板导出", ticket.customer_id)
    events = db.session.scalars(select(Event).where(Event.ticket_id == new.id)).all()
    assert [(e.action, e.to_state, e.actor_id, e.data) for e in events] == [
        ("register", "registered", actor.id, {"follow_up_of": ticket.number})]
