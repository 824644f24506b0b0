"""The ticket workflow (SPEC §3): the one place that changes `Ticket.state`.

The table ACTIONS (and REGISTER, its first row) says everything about an action: who may take it
from which states, for which ticket types, under which further conditions (its guards, each with
the message that refuses), where it may lead (its targets, each with its closing reason and whom
it notifies) and which columns and records it writes. Handlers only validate the action's own
data, write those columns and pick one of the declared targets; `perform` is the one dispatcher:
it re-checks everything, refuses a handler's undeclared outcome, and assigns the state.

Views ask `available_actions()` what to offer; `consistency.py` (`flask check-history`) reads the
same table to judge a history. Nothing here touches `request`, so a job, a CLI command and a test
call it the same way. The caller commits.

Reopened work gets a new deadline, never the one the failed attempt had: 市场部's `reopen` and 客服's
callback that finds the problem not solved both require one (ahead of now). The callback is where the
customer hears that the work goes on, so the deadline is settled during that call with the handling
department and recorded with the callback; either way the ticket goes back to its assignee, and
客服 owes the customer the new deadline (the tell_deadline obligation opens again).

Adding an action: one `Action(...)` entry in ACTIONS and one handler.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect as sa_inspect, select
from sqlalchemy.orm.exc import StaleDataError

from portal.auth.models import User, UserRole
from portal.core.enums import CloseReason, CallbackKind, MaintenanceStatus, Role, State, TicketType
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.notifications.models import Notification
from portal.tickets import followers
from portal.tickets.models import Callback, Event, Ticket, TicketAssignee, TicketLink

MARKET_ROLES = frozenset({Role.MARKET, Role.MARKET_MANAGER})


class WorkflowError(Exception):
    status = 400

    def __init__(self, message, errors: dict | None = None):
        # Kept lazy: translated only when shown (a ticket page tries every action, and most refuse).
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotAllowed(WorkflowError):
    """The user's roles do not allow this action (403)."""

    status = 403


class WrongState(WorkflowError):
    """The action is impossible for the ticket as it is now (409)."""

    status = 409


class StaleTicket(WorkflowError):
    """The ticket changed since the form was loaded (409)."""

    status = 409


class InvalidInput(WorkflowError):
    status = 422


class TableViolation(RuntimeError):
    """A handler did what its table entry does not declare: a bug, never the user's doing."""


# ---------------------------------------------------------------------------
# The table's vocabulary
# ---------------------------------------------------------------------------

ASSIGNEE = "assignee"  # a recipient: the ticket's assignee once the action is done
Recipient = Role | str


@dataclass(frozen=True)
class Target:
    """One place an action may lead. `to` None: the ticket stays where it is."""

    to: State | None
    close_reason: CloseReason | None = None  # exactly for `to` = closed
    types: frozenset[TicketType] | None = None  # None: every type the action applies to
    notifies: tuple[Recipient, ...] = ()


def goes_to(state: State, *, types=None, notifies: tuple[Recipient, ...] = ()) -> Target:
    return Target(state, None, frozenset(types) if types is not None else None, notifies)


def closes(reason: CloseReason, *, notifies: tuple[Recipient, ...] = ()) -> Target:
    return Target(State.CLOSED, reason, None, notifies)


def stays(*, notifies: tuple[Recipient, ...] = ()) -> Target:
    return Target(None, None, None, notifies)


@dataclass(frozen=True)
class Guard:
    """A condition on the ticket beyond its state and type, and the message that refuses when it
    does not hold (None: the general “not possible while the ticket is …”)."""

    name: str
    holds: Callable[[Ticket], bool]
    message: object = None


def guard(message=None) -> Callable[[Callable[[Ticket], bool]], Guard]:
    def make(holds: Callable[[Ticket], bool]) -> Guard:
        return Guard(holds.__name__, holds, message)

    return make


_TICKET_COLUMNS = frozenset(Ticket.__table__.c.keys())
# Columns only `perform` writes; a handler declaring or writing them is a TableViolation.
DISPATCHER_COLUMNS = frozenset({"state", "close_reason", "closed_at", "updated_at", "version"})


@dataclass(frozen=True)
class Action:
    key: str
    title: object
    # role → states from which that role may take the action
    allowed: dict[Role, frozenset[State]]
    targets: tuple[Target, ...]
    handler: Callable[["Ticket", User, dict], "Step"]
    types: frozenset[TicketType] = frozenset(TicketType)
    guards: tuple[Guard, ...] = ()
    records: frozenset[str] = frozenset()  # the Ticket columns the handler writes
    rows: tuple[type, ...] = ()  # the kinds of records it adds besides the event
    assignee_from: frozenset[State] = frozenset()  # `resolve`: the current assignee, whatever the role
    any_viewer: bool = False  # `comment`: anyone who may see the ticket

    @property
    def assignee_only(self) -> bool:
        return bool(self.assignee_from)

    def roles(self) -> frozenset[Role]:
        return frozenset(self.allowed)

    @property
    def from_states(self) -> frozenset[State]:
        """Every state from which someone may take the action."""
        if self.any_viewer:
            return frozenset(State)
        return frozenset(self.assignee_from).union(*self.allowed.values())

    def states_for(self, user: User) -> frozenset[State]:
        if self.any_viewer:
            return frozenset(State)
        if self.assignee_only:
            return self.assignee_from
        out: set[State] = set()
        for role in user.roles:
            out |= self.allowed.get(role, frozenset())
        return frozenset(out)

    def types_of(self, target: Target) -> frozenset[TicketType]:
        return self.types if target.types is None else self.types & target.types

    def target(self, to: State | None, ticket_type: TicketType) -> Target | None:
        """The declared target for this outcome and ticket type, or None."""
        return next((t for t in self.targets if t.to is to and ticket_type in self.types_of(t)), None)

    @property
    def closing_reason(self) -> CloseReason | None:
        return next((t.close_reason for t in self.targets if t.to is State.CLOSED), None)

    @property
    def changes_row(self) -> bool:
        """Whether taking it UPDATEs the ticket (and so bumps its version): all but a note."""
        return bool(self.records) or any(t.to is not None for t in self.targets)


def _states(*states: State) -> frozenset[State]:
    return frozenset(states)


OPEN = frozenset(s for s in State if s is not State.CLOSED)


@dataclass
class Step:
    """What an action's handler decided: one of its declared targets (None = stays) and the event."""

    to: State | None = None
    text: str = ""
    data: dict = field(default_factory=dict)
    # Rows the action records besides the ticket (assignee, link, callback). `perform` adds them
    # only after the ticket's versioned UPDATE, so a concurrent action loses on the version, not
    # on a duplicate key.
    rows: list = field(default_factory=list)


# ---------------------------------------------------------------------------
# Guards: refusals the from-state and the type alone cannot express. They are part of
# `_check`, so the ticket page never offers an action that `perform` would then refuse.
# ---------------------------------------------------------------------------

@guard()
def past_fee_gate(t: Ticket) -> bool:
    """A new requirement is assigned only once its fee is agreed (ready_to_assign)."""
    return not (t.type == TicketType.REQUIREMENT.value and t.state == State.REGISTERED.value)


@guard(_l("This ticket is already urgent."))
def not_yet_urgent(t: Ticket) -> bool:
    return not t.urgent


@guard(_l("The customer has already been told the deadline for this assignment."))
def deadline_not_yet_told(t: Ticket) -> bool:
    return t.deadline_notified_at is None


@guard(_l("This ticket was never assigned, so it cannot be reopened to an assignee."))
def had_an_assignee(t: Ticket) -> bool:
    return t.assignee_id is not None and t.deadline is not None


# ---------------------------------------------------------------------------
# Handlers: validate the action's own data, write the columns the table lists,
# and pick one of the declared targets. They never assign `state` themselves.
# ---------------------------------------------------------------------------

def _require(data: dict, *names: str) -> None:
    missing = {n: _l("This field is required.") for n in names if data.get(n) in (None, "")}
    if missing:
        raise InvalidInput(_l("Please fill in the required fields."), missing)


def _record_contact(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "outcome", "text")
    if d["outcome"] == "declined":
        return Step(State.CLOSED, d["text"], {"outcome": "declined"})
    if d["outcome"] != "proceed":
        raise InvalidInput(_l("Unknown outcome."), {"outcome": _l("Unknown outcome.")})
    # consultations skip development analysis: straight to 实施部, handled there (as at registration)
    if t.type == TicketType.CONSULTATION.value:
        t.handling_department = "impl"
        return Step(State.IMPL_QUEUE, d["text"], {"outcome": "proceed"})
    return Step(State.REGISTERED, d["text"], {"outcome": "proceed"})


def _suspend_for_fee(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "analysis")
    t.analysis = d["analysis"]
    return Step(State.PENDING_FEE, d["analysis"])


def _record_fee(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "outcome", "text")
    if d["outcome"] == "declined":
        return Step(State.CLOSED, d["text"], {"outcome": "declined"})
    if d["outcome"] != "agreed":
        raise InvalidInput(_l("Unknown outcome."), {"outcome": _l("Unknown outcome.")})
    _require(d, "fee", "agreed_requirements")
    fee = Decimal(str(d["fee"]))
    if fee < 0:
        raise InvalidInput(_l("The fee cannot be negative."), {"fee": _l("The fee cannot be negative.")})
    t.fee = fee
    t.agreed_requirements = d["agreed_requirements"]
    return Step(State.READY_TO_ASSIGN, d["text"], {"outcome": "agreed", "fee": str(fee)})


def _assignee_role(t: Ticket) -> Role:
    return Role.IMPL_ENGINEER if t.state == State.IMPL_QUEUE.value else Role.ENGINEER


def assignable_users(t: Ticket) -> list[User]:
    role = _assignee_role(t)
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role.value, User.active.is_(True))
            .order_by(User.display_name)
        )
    )


def _assign(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "assignee_id", "deadline")
    assignee = db.session.get(User, int(d["assignee_id"]))
    role = _assignee_role(t)
    if assignee is None or not assignee.active or role not in assignee.roles:
        raise InvalidInput(
            _l("Choose an active %(role)s.", role=role.title), {"assignee_id": _l("Not an eligible assignee.")}
        )
    deadline: datetime = d["deadline"]
    now = utcnow()
    if deadline <= now:
        raise InvalidInput(_l("The deadline must be in the future."), {"deadline": _l("The deadline must be in the future.")})
    t.assignee_id = assignee.id
    t.deadline = deadline
    t.deadline_notified_at = None  # 客服 must tell the customer again for this assignment
    t.assigned_at = now
    if t.first_assigned_at is None:
        t.first_assigned_at = now
    if d.get("analysis"):
        t.analysis = d["analysis"]
    if t.state == State.IMPL_QUEUE.value:
        t.handling_department = "impl"
    rows = [] if db.session.get(TicketAssignee, (t.id, assignee.id)) else [TicketAssignee(ticket_id=t.id,
                                                                                          user_id=assignee.id)]
    return Step(
        State.ASSIGNED, d.get("analysis") or "",
        {"assignee_id": assignee.id, "assignee": assignee.display_name, "deadline": deadline.isoformat()}, rows=rows,
    )


def _route_to_impl(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "reason")
    t.handling_department = "impl"
    return Step(State.IMPL_QUEUE, d["reason"])


def _reject(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "reason")
    data, rows = {}, []
    original_number = (d.get("duplicate_of") or "").strip()
    if original_number:
        original = db.session.scalar(select(Ticket).where(Ticket.number == original_number))
        if original is None or original.id == t.id:
            raise InvalidInput(_l("No such ticket number."), {"duplicate_of": _l("No such ticket number.")})
        t.duplicate_of_id = original.id
        rows.append(TicketLink(from_id=t.id, to_id=original.id, kind="duplicate_of"))
        data["duplicate_of"] = original.number
    return Step(State.CLOSED, d["reason"], data, rows=rows)


def _approve_urgent(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "request")
    t.urgent = True
    t.urgent_request = d["request"]
    t.urgent_approved_by_id = actor.id
    t.urgent_approved_at = utcnow()
    return Step(None, d["request"])


def _notify_deadline(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "whom", "method")
    told_at = d.get("told_at") or utcnow()
    t.deadline_notified_at = told_at
    return Step(
        None, d.get("text") or "",
        {"whom": d["whom"], "method": d["method"], "told_at": told_at.isoformat(), "deadline": t.deadline.isoformat()},
    )


def _resolve(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "process", "result", "hours_spent")
    hours = Decimal(str(d["hours_spent"]))
    if hours < 0 or hours > 10000:
        raise InvalidInput(_l("Hours spent must be between 0 and 10000."), {"hours_spent": _l("Out of range.")})
    t.process = d["process"]
    t.result = d["result"]
    t.hours_spent = (t.hours_spent or Decimal(0)) + hours
    t.resolved_at = utcnow()
    return Step(State.RESOLVED, d["result"], {"hours_spent": str(hours)})


def _answer(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "answer")
    t.result = d["answer"]
    t.resolved_at = utcnow()
    # Whoever answers handled it: the page names them, and they keep seeing it unmasked (access.py).
    t.assignee_id = actor.id
    rows = [] if db.session.get(TicketAssignee, (t.id, actor.id)) else [TicketAssignee(ticket_id=t.id,
                                                                                       user_id=actor.id)]
    return Step(State.CLOSED, d["answer"], rows=rows)


def _callback(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "solved", "method", "text")
    solved = bool(d["solved"])
    satisfaction = d.get("satisfaction")
    if satisfaction is not None and not (1 <= int(satisfaction) <= 5):
        raise InvalidInput(_l("Satisfaction is scored 1 to 5."), {"satisfaction": _l("Satisfaction is scored 1 to 5.")})
    callback = Callback(
        kind=CallbackKind.TICKET.value, ticket_id=t.id, customer_id=t.customer_id, method=d["method"],
        contact_person=d.get("contact_person") or t.reporter_name, outcome=d["text"], solved=solved,
        satisfaction=int(satisfaction) if satisfaction is not None else None, made_by_id=actor.id,
    )
    data = {"solved": solved, "satisfaction": satisfaction}
    if solved:
        return Step(State.CALLBACK_DONE, d["text"], data, rows=[callback])
    # Not solved: back to the engineer, never closed — with a new deadline (the old one belonged to
    # the attempt that failed), which 客服 must tell the customer again.
    deadline = _new_deadline(d)
    t.resolved_at = None
    t.deadline = deadline
    t.deadline_notified_at = None
    return Step(State.ASSIGNED, d["text"], {**data, "deadline": deadline.isoformat()}, rows=[callback])


def _new_deadline(d: dict) -> datetime:
    """The deadline of reopened work: required, and ahead (reopened overdue at once helps nobody)."""
    if not d.get("deadline"):
        msg = _l("Set a new deadline for the reopened work.")
        raise InvalidInput(msg, {"deadline": msg})
    if d["deadline"] <= utcnow():
        msg = _l("The deadline must be in the future.")
        raise InvalidInput(msg, {"deadline": msg})
    return d["deadline"]


def _close(t: Ticket, actor: User, d: dict) -> Step:
    return Step(State.CLOSED, d.get("note") or "")


def _reopen(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "reason")
    t.deadline = _new_deadline(d)
    t.resolved_at = None
    t.deadline_notified_at = None
    t.assigned_at = utcnow()
    return Step(State.ASSIGNED, d["reason"], {"deadline": t.deadline.isoformat()})


def _comment(t: Ticket, actor: User, d: dict) -> Step:
    if not (d.get("text") or "").strip() and not d.get("has_files"):
        raise InvalidInput(_l("Write a note or attach a file."), {"text": _l("This field is required.")})
    return Step(None, d.get("text") or "")


# ---------------------------------------------------------------------------
# The table (SPEC §3)
# ---------------------------------------------------------------------------

M, R, C = TicketType.MAINTENANCE, TicketType.REQUIREMENT, TicketType.CONSULTATION
_M = MARKET_ROLES


def _by(roles, *states: State) -> dict[Role, frozenset[State]]:
    return {r: frozenset(states) for r in roles}


ACTIONS: dict[str, Action] = {
    a.key: a
    for a in [
        Action("record_contact", _l("Record customer contact"), _by(_M, State.AWAITING_MARKET),
               targets=(goes_to(State.REGISTERED, types={M, R}, notifies=(Role.DEV_MANAGER,)),
                        goes_to(State.IMPL_QUEUE, types={C}, notifies=(Role.IMPL_MANAGER,)),
                        closes(CloseReason.DECLINED)),
               handler=_record_contact, records=frozenset({"handling_department"})),
        Action("suspend_for_fee", _l("Suspend for fee"), _by({Role.DEV_MANAGER}, State.REGISTERED),
               targets=(goes_to(State.PENDING_FEE, notifies=(Role.MARKET,)),),
               handler=_suspend_for_fee, types=frozenset({R}), records=frozenset({"analysis"})),
        Action("record_fee", _l("Record fee agreement"), _by(_M, State.PENDING_FEE),
               targets=(goes_to(State.READY_TO_ASSIGN, notifies=(Role.DEV_MANAGER,)), closes(CloseReason.DECLINED)),
               handler=_record_fee, types=frozenset({R}), records=frozenset({"fee", "agreed_requirements"})),
        Action("assign", _l("Assign"),
               {**_by({Role.DEV_MANAGER}, State.REGISTERED, State.READY_TO_ASSIGN),
                **_by({Role.IMPL_MANAGER}, State.IMPL_QUEUE)},
               targets=(goes_to(State.ASSIGNED, notifies=(ASSIGNEE, Role.CS)),),
               handler=_assign,
               types=frozenset({M, R}),  # consultations are answered, not assigned
               guards=(past_fee_gate,),
               records=frozenset({"assignee_id", "deadline", "deadline_notified_at", "assigned_at",
                                  "first_assigned_at", "analysis", "handling_department"}),
               rows=(TicketAssignee,)),
        Action("route_to_impl", _l("Route to implementation"), _by({Role.DEV_MANAGER}, State.REGISTERED),
               targets=(goes_to(State.IMPL_QUEUE, notifies=(Role.IMPL_MANAGER,)),),
               handler=_route_to_impl,
               # a problem may belong to 实施部; a new requirement must pass the fee gate first
               types=frozenset({M}), records=frozenset({"handling_department"})),
        Action("reject", _l("Reject as duplicate / invalid"),
               {**_by({Role.DEV_MANAGER}, State.REGISTERED), **_by({Role.IMPL_MANAGER}, State.IMPL_QUEUE)},
               targets=(closes(CloseReason.INVALID),),
               handler=_reject, records=frozenset({"duplicate_of_id"}), rows=(TicketLink,)),
        Action("approve_urgent", _l("Approve urgent handling"), {r: OPEN for r in _M},
               targets=(stays(notifies=(Role.DEV_MANAGER, Role.IMPL_MANAGER)),),
               handler=_approve_urgent, types=frozenset({M}), guards=(not_yet_urgent,),
               records=frozenset({"urgent", "urgent_request", "urgent_approved_by_id", "urgent_approved_at"})),
        Action("notify_deadline", _l("Record deadline told to customer"),
               _by({Role.CS}, State.ASSIGNED, State.RESOLVED),
               targets=(stays(),),
               handler=_notify_deadline, guards=(deadline_not_yet_told,),  # once per assignment
               records=frozenset({"deadline_notified_at"})),
        Action("resolve", _l("Resolve"), {}, assignee_from=_states(State.ASSIGNED),
               targets=(goes_to(State.RESOLVED, notifies=(Role.CS,)),),
               handler=_resolve, records=frozenset({"process", "result", "hours_spent", "resolved_at"})),
        Action("answer", _l("Answer consultation"), _by({Role.IMPL_MANAGER, Role.IMPL_ENGINEER}, State.IMPL_QUEUE),
               targets=(closes(CloseReason.ANSWERED),),
               handler=_answer, types=frozenset({C}), records=frozenset({"result", "resolved_at", "assignee_id"}),
               rows=(TicketAssignee,)),
        Action("callback", _l("Record callback"), _by({Role.CS}, State.RESOLVED),
               # not solved: back to the engineer, never closed
               targets=(goes_to(State.CALLBACK_DONE, notifies=(Role.MARKET,)),
                        goes_to(State.ASSIGNED, notifies=(ASSIGNEE,))),
               handler=_callback, records=frozenset({"resolved_at", "deadline", "deadline_notified_at"}),
               rows=(Callback,)),
        Action("close", _l("Close"), _by(_M, State.CALLBACK_DONE),
               targets=(closes(CloseReason.SOLVED),), handler=_close),
        Action("reopen", _l("Reopen"), _by(_M, State.CLOSED),
               # back to the previous assignee
               targets=(goes_to(State.ASSIGNED, notifies=(ASSIGNEE, Role.CS)),),
               handler=_reopen, guards=(had_an_assignee,),
               types=frozenset({M, R}),  # a consultation is answered, never worked to a deadline
               records=frozenset({"deadline", "resolved_at", "deadline_notified_at", "assigned_at"})),
        Action("comment", _l("Internal note"), {}, any_viewer=True, targets=(stays(),), handler=_comment),
    ]
}


# `register` (SPEC §3's first row): a new ticket has no from-state and no handler of the table's
# kind, so it has a row of its own. The first intake rule that applies gives the first state.

def maintenance_stopped(status: MaintenanceStatus) -> bool:
    return status is MaintenanceStatus.STOPPED


@dataclass(frozen=True)
class IntakeRule:
    to: State
    types: frozenset[TicketType] = frozenset(TicketType)
    when: Callable[[MaintenanceStatus], bool] | None = None  # on the unit's maintenance status
    notifies: tuple[Recipient, ...] = ()

    def applies(self, status: MaintenanceStatus) -> bool:
        return self.when is None or self.when(status)


@dataclass(frozen=True)
class Register:
    roles: frozenset[Role]
    intake: tuple[IntakeRule, ...]

    def states_for(self, ticket_type: TicketType) -> frozenset[State]:
        """Every state a ticket of this type may be registered into."""
        return frozenset(rule.to for rule in self.intake if ticket_type in rule.types)

    def rule_for(self, ticket_type: TicketType, status: MaintenanceStatus) -> IntakeRule:
        """The first rule that applies (`_validate` makes sure one always does)."""
        return next(rule for rule in self.intake if ticket_type in rule.types and rule.applies(status))


REGISTER = Register(
    roles=frozenset({Role.CS}),
    intake=(
        IntakeRule(State.AWAITING_MARKET, when=maintenance_stopped, notifies=(Role.MARKET,)),
        IntakeRule(State.IMPL_QUEUE, types=frozenset({C}), notifies=(Role.IMPL_MANAGER,)),  # no dev analysis
        # no personal notice: it waits in 开发部经理's queue (dev_analyse); urgent ones notify (approve_urgent)
        IntakeRule(State.REGISTERED, types=frozenset({M, R})),
    ),
)


def _validate(actions: dict[str, Action], register: Register) -> None:
    """The table's own rules, checked at import: a wrong entry fails at start-up, not at a customer."""
    for key, a in actions.items():
        where = f"workflow action {key!r}"
        if key != a.key or not a.targets:
            raise ValueError(f"{where}: keyed by its own key, with at least one target")
        tos = [t.to for t in a.targets]
        if len(set(tos)) != len(tos):  # so an action closes for one reason (the history checker relies on it)
            raise ValueError(f"{where}: one target per state")
        for t in a.targets:
            if (t.to is State.CLOSED) != (t.close_reason is not None):
                raise ValueError(f"{where}: a target has a closing reason exactly when it closes")
            if t.types is not None and not t.types <= a.types:
                raise ValueError(f"{where}: a target's types are among the action's")
            for r in t.notifies:
                if r is not ASSIGNEE and not isinstance(r, Role):
                    raise ValueError(f"{where}: notifies roles or ASSIGNEE, not {r!r}")
        if not a.records <= _TICKET_COLUMNS or a.records & DISPATCHER_COLUMNS:
            raise ValueError(f"{where}: records only ticket columns the dispatcher does not own")
        if not all(isinstance(g, Guard) for g in a.guards):
            raise ValueError(f"{where}: guards are @guard functions")
        if bool(a.allowed) + a.assignee_only + a.any_viewer != 1:
            raise ValueError(f"{where}: taken by roles, by the assignee or by any viewer — one of them")
    for ticket_type in TicketType:
        for status in MaintenanceStatus:
            if not any(ticket_type in r.types and r.applies(status) for r in register.intake):
                raise ValueError(f"register: no first state for a {ticket_type} ticket of a {status} unit")


_validate(ACTIONS, REGISTER)


def _not_now(action: Action, t: Ticket):
    return _l("%(action)s is not possible while the ticket is “%(state)s”.", action=action.title,
              state=State(t.state).title)


def may_take(action: Action, user: User) -> bool:
    """Whether the user's roles (or assignment) entitle them to the action at all."""
    if action.any_viewer:
        return True
    if action.assignee_only:
        return True  # checked against the ticket in _check
    return bool(user.roles & action.roles())


def _check(action: Action, t: Ticket, user: User) -> None:
    if action.assignee_only:
        if t.assignee_id != user.id:
            raise NotAllowed(_l("Only the engineer this ticket is assigned to may do this."))
    elif not may_take(action, user):
        raise NotAllowed(_l("Your role may not do this: %(action)s.", action=action.title))
    if State(t.state) not in action.states_for(user) or TicketType(t.type) not in action.types:
        raise WrongState(_not_now(action, t))
    for g in action.guards:
        if not g.holds(t):
            raise WrongState(g.message if g.message is not None else _not_now(action, t))


def check(action_key: str, t: Ticket, user: User) -> Action:
    """Raise NotAllowed/WrongState unless the user may take this action on the ticket now."""
    action = ACTIONS.get(action_key)
    if action is None:
        raise WrongState(_l("Unknown action."))
    _check(action, t, user)
    return action


def available_actions(t: Ticket, user: User) -> list[Action]:
    out = []
    for action in ACTIONS.values():
        try:
            _check(action, t, user)
        except WorkflowError:
            continue
        out.append(action)
    return out


def _declared_target(action: Action, t: Ticket, step: Step) -> Target:
    """The table's target for what the handler decided; anything undeclared is a bug."""
    target = action.target(step.to, TicketType(t.type))
    if target is None:
        raise TableViolation(f"{action.key}: the table declares no target {step.to} for a {t.type} ticket")
    written = {attr.key for attr in sa_inspect(t).attrs
               if attr.key in _TICKET_COLUMNS and attr.history.has_changes()}
    if not written <= action.records:
        raise TableViolation(f"{action.key}: writes {sorted(written - action.records)}, which it does not record")
    kinds = {type(row) for row in step.rows}
    if not kinds <= set(action.rows):
        raise TableViolation(f"{action.key}: adds {sorted(k.__name__ for k in kinds)} records it does not declare")
    return target


def _set_state(t: Ticket, target: Target) -> None:
    t.state = target.to.value
    if target.to is State.CLOSED:
        t.close_reason = target.close_reason.value
        t.closed_at = utcnow()
    else:
        t.close_reason = None
        t.closed_at = None


def perform(t: Ticket, action_key: str, actor: User, data: dict, expected_version: int | None = None) -> Event:
    """Take an action on a ticket. Raises a WorkflowError and changes nothing if it may not happen."""
    action = check(action_key, t, actor)
    if expected_version is not None and int(expected_version) != t.version:
        raise StaleTicket(_l("Someone else changed this ticket after you opened it. Reload and try again."))
    from_state = t.state
    # No autoflush while the handler runs: its look-ups must not write half a change (and bump
    # the version) before the action is complete.
    with db.session.no_autoflush:
        step = action.handler(t, actor, data)
        try:
            target = _declared_target(action, t, step)
        except TableViolation:
            db.session.expire(t)  # the handler's undeclared writes must not reach a later flush
            raise
        if target.to is not None:
            _set_state(t, target)
        changed = target.to is not None or db.session.is_modified(t)
        if changed:
            t.updated_at = utcnow()
    # The ticket first: UPDATE … WHERE version = ? is the optimistic lock (and, on PostgreSQL,
    # takes the row lock), so of two concurrent actions the second fails here and writes nothing.
    try:
        db.session.flush()
    except StaleDataError:
        raise StaleTicket(_l("Someone else changed this ticket after you opened it. Reload and try again."))
    if not changed:
        # Nothing to UPDATE (a note): take the row lock all the same, so that a concurrent transition
        # cannot commit between our read and our event — the history would show the note after it,
        # on the state before it (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers).
        if db.session.scalar(select(Ticket.version).where(Ticket.id == t.id).with_for_update()) != t.version:
            raise StaleTicket(_l("Someone else changed this ticket after you opened it. Reload and try again."))
    event = Event(
        ticket_id=t.id, actor_id=actor.id, action=action.key, from_state=from_state,
        to_state=t.state, text=step.text or "", data=step.data,
    )
    db.session.add(event)
    db.session.add_all(step.rows)
    db.session.flush()
    _notify(t, event, actor, target.notifies)
    return event


def check_register(actor: User) -> None:
    """Raise NotAllowed unless the user may register problems (客服's intake)."""
    if not actor.roles & REGISTER.roles:
        raise NotAllowed(_l("Only customer service registers problems."))


def initial_state(ticket_type: TicketType, maintenance_status: MaintenanceStatus) -> State:
    return REGISTER.rule_for(ticket_type, maintenance_status).to


def start(t: Ticket, actor: User, text: str = "", data: dict | None = None) -> Event:
    """`register`: a new ticket takes its first state (SPEC §3) and its first history event."""
    rule = REGISTER.rule_for(TicketType(t.type), t.customer.status)
    t.state = rule.to.value
    if rule.to is State.IMPL_QUEUE:
        t.handling_department = "impl"
    event = Event(ticket_id=t.id, actor_id=actor.id, action="register", from_state=None,
                  to_state=rule.to.value, text=text, data=data or {})
    db.session.add(event)
    db.session.flush()
    _notify(t, event, actor, rule.notifies)
    return event


# The obligations of 客服 that an action creates, and the ones it fulfils (SPEC §4): after each
# assignment tell the customer the deadline; after each resolution call back. A resolution makes a
# deadline not yet told moot (the callback comes next); a closed ticket owes nothing any more.
OPENS = {"assign": "tell_deadline", "reopen": "tell_deadline", "resolve": "callback_due",
         "callback": "tell_deadline"}  # (callback: only when not solved, i.e. the ticket is assigned again)
SETTLES = {"assign": ("tell_deadline",), "reopen": ("tell_deadline", "callback_due"), "resolve": ("tell_deadline",),
           "notify_deadline": ("tell_deadline",), "callback": ("callback_due",)}


def _obligations(t: Ticket, event: Event) -> None:
    from portal.core.policy import policy
    from portal.notifications import reminders
    from portal.notifications.models import Reminder

    if t.state == State.CLOSED.value:
        reminders.settle(Reminder.ticket_id == t.id, note="closed")
        return
    if event.action in SETTLES:
        reminders.settle_ticket(t.id, *SETTLES[event.action], note=event.action)
    kind = OPENS.get(event.action)
    if kind == "tell_deadline" and t.state != State.ASSIGNED.value:
        kind = None  # a deadline to tell exists only for work under way (a solved callback opens nothing)
    if kind:
        hours = policy().tell_deadline_within_hours if kind == "tell_deadline" else policy().callback_within_hours
        reminders.open_many([dict(key=f"{kind}:{t.id}:{event.id}", kind=kind, role=Role.CS.value, ticket_id=t.id,
                                  due_at=event.created_at + timedelta(hours=hours))])


def _notify(t: Ticket, event: Event, actor: User, recipients: tuple[Recipient, ...]) -> None:
    _obligations(t, event)
    roles = [r.value for r in recipients if isinstance(r, Role)]
    user_ids = {t.assignee_id} if ASSIGNEE in recipients and t.assignee_id else set()
    if roles:
        user_ids |= set(
            db.session.scalars(
                select(User.id).join(UserRole, UserRole.user_id == User.id)
                .where(UserRole.role.in_(roles), User.active.is_(True))
            )
        )
    user_ids |= followers.audience(t)  # those who follow the ticket and may still see it
    user_ids.discard(actor.id)
    notes = [Notification(key=f"event:{event.id}:{uid}", user_id=uid, kind=event.action, ticket_id=t.id,
                          text=f"{t.number} {t.summary}"[:500], link=f"/tickets/{t.number}")
             for uid in sorted(user_ids)]
    db.session.add_all(notes)
    from portal.notifications import delivery

    if notes and delivery.smtp_configured():
        from portal.jobs.queue import enqueue
        from portal.notifications.jobs import deliver_notification

        db.session.flush()
        for n in notes:
            enqueue(deliver_notification, n.id, job_id=f"deliver-{n.id}")
