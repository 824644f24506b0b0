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

Actions for real days (issue 14), decided as a department would expect them:

* `reassign` — the manager of the department handling the ticket (开发部经理 for 开发部's, 实施部经理
  for 实施部's) gives an `assigned` or `waiting_customer` ticket to another engineer of that department.
  Old and new assignee are told. The deadline is kept unless a new one is set; a new deadline must be
  told to the customer again (the `tell_deadline` obligation reopens).
* `change_deadline` — that manager moves the deadline of an `assigned` ticket, with a reason; the
  assignee and 客服 are told and 客服 owes the customer the new date. The assignee cannot move it
  alone: `request_deadline_change` records the date they ask for and why and tells the manager, who
  then decides with `change_deadline` (its form is filled in with the request) or declines in a note.
* `hand_back` — the assignee returns an `assigned` ticket to the queue it came from, with a reason:
  开发部's problems to `registered`, new requirements to `ready_to_assign` (their fee stays agreed),
  实施部's tickets to `impl_queue`. The 实施部经理 can hand a problem routed to 实施部 back to the
  development manager (`impl_queue` → `registered`, handled by 开发部 again); a consultation stays with
  实施部. The ticket loses its assignee and deadline (whoever worked on it still sees it).
* `wait_customer` / `resume` — the assignee or the department's manager pauses an `assigned` ticket
  while the customer must act (data to send, a visit date to give); 客服 is told. A waiting ticket is
  `waiting_customer` (待客户): no overdue reminder, no overdue queue, not counted as missing its
  deadline. `resume` (the assignee, the manager or 客服 when the customer comes back) moves the
  deadline on by the time waited (or to the date given) and 客服 tells the customer the new date.
* `edit` — 客服 corrects any open ticket, the two managers any open ticket past 市场部's gate (not
  `awaiting_market`): the title's parts (reporter, 科室, phone —
  checked like intake), summary, description, unit, type and when the customer reported the problem (not
  after the registration, at most 30 days before it unless the hotline record of the call says so; the
  clocks that run from it follow, running or stopped). Every change is kept as old → new in the event.
  While the ticket still waits in a queue (not yet assigned) a new type, or a unit whose maintenance has
  stopped (or no longer has), re-runs the intake rules: the ticket goes where a new registration of that
  type for that unit would go (a requirement found in a maintenance problem stays
  `registered`, a consultation becoming a problem leaves `impl_queue` for `registered`, a stopped
  unit's ticket goes to 市场部 first). Once assigned the type is fixed — the assignee hands it back
  first — and a corrected unit does not move the ticket.
* `assign` also gives a consultation in `impl_queue` to a particular implementation engineer, who
  resolves it like any other ticket (客服 calls back); `answer` remains the quick way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable, Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from portal.auth.models import User, UserRole
from portal.core.enums import (
    CallbackKind,
    CloseReason,
    MaintenanceStatus,
    Role,
    State,
    TicketType,
)
from portal.core.policy import ticket_policy
from portal.core.timeutil import format_local, utcnow
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.hotline.models import HotlineRecord
from portal.jobs.queue import enqueue
from portal.kb.models import ArticleTicket
from portal.kb_work.answers import normal_number, published_by_number
from portal.kb_work.models import ArticleAnswer
from portal.notifications import delivery, reminders
from portal.notifications.jobs import deliver_notification
from portal.notifications.models import Notification, Reminder
from portal.sla import clocks
from portal.tickets import followers
from portal.tickets.models import Callback, Event, Ticket, TicketAssignee, TicketLink
from portal.visits import operations as visits
from portal.visits.models import Visit

MARKET_ROLES = frozenset({Role.MARKET, Role.MARKET_MANAGER})
CS_ROLES = frozenset({Role.CS, Role.CS_MANAGER})  # 客服部经理 does 客服's work too


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
PREVIOUS_ASSIGNEE = "previous_assignee"  # a recipient: the assignee before the action
MANAGER = "manager"  # a recipient: the manager of the department handling the ticket once the action is done
RECIPIENT_TOKENS = frozenset({ASSIGNEE, PREVIOUS_ASSIGNEE, MANAGER})
Recipient = Role | str

# The managers, and the department (Ticket.handling_department) whose tickets each manages.
MANAGER_OF = {Role.DEV_MANAGER: "dev", Role.IMPL_MANAGER: "impl"}
MANAGER_ROLE = {dept: role for role, dept in MANAGER_OF.items()}


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
    # A manager (MANAGER_OF) may take it only on tickets their own department handles.
    own_department: bool = False

    @property
    def assignee_only(self) -> bool:
        return bool(self.assignee_from) and not self.allowed

    def roles(self) -> frozenset[Role]:
        return frozenset(self.allowed)

    @property
    def from_states(self) -> frozenset[State]:
        """Every state from which someone may take the action."""
        if self.any_viewer:
            return frozenset(State)
        return frozenset(self.assignee_from).union(*self.allowed.values())

    def states_for(self, user: User, t: Ticket) -> frozenset[State] | None:
        """The states from which this user may take it on this ticket; None: not entitled at all."""
        if self.any_viewer:
            return frozenset(State)
        out: set[State] = set()
        entitled = False
        for role in user.roles:
            if role not in self.allowed:
                continue
            if self.own_department and role in MANAGER_OF and MANAGER_OF[role] != t.handling_department:
                continue
            entitled = True
            out |= self.allowed[role]
        if self.assignee_from and t.assignee_id is not None and t.assignee_id == user.id:
            entitled = True
            out |= self.assignee_from
        return frozenset(out) if entitled else None

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
    # What must follow once the rows exist (they have their ids then): e.g. an on-site visit's clock.
    after: Callable[["Event"], None] | None = None


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


@guard(_l("A consultation stays with the implementation department: answer it or assign it."))
def not_a_waiting_consultation(t: Ticket) -> bool:
    """`hand_back` from 实施部's queue returns a routed problem to 开发部; a consultation has nowhere to go."""
    return not (t.state == State.IMPL_QUEUE.value and t.type == TicketType.CONSULTATION.value)


@guard(_l("An on-site visit is already under way for this ticket."))
def no_open_visit(t: Ticket) -> bool:
    return visits.open_visit_of_ticket(t.id) is None


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
    """Who can take the ticket: 实施部's queue and 实施部's tickets go to implementation engineers."""
    impl = t.state == State.IMPL_QUEUE.value or (t.state != State.REGISTERED.value and t.handling_department == "impl")
    return Role.IMPL_ENGINEER if impl else Role.ENGINEER


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


def _eligible_assignee(t: Ticket, user_id) -> User:
    role = _assignee_role(t)
    try:
        assignee = db.session.get(User, int(user_id))
    except (TypeError, ValueError, OverflowError):
        assignee = None
    if assignee is None or not assignee.active or role not in assignee.roles:
        raise InvalidInput(
            _l("Choose an active %(role)s.", role=role.title), {"assignee_id": _l("Not an eligible assignee.")}
        )
    return assignee


def _future(deadline: datetime, field_name: str = "deadline") -> datetime:
    if deadline <= utcnow():
        msg = _l("The deadline must be in the future.")
        raise InvalidInput(msg, {field_name: msg})
    return deadline


def _assign(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "assignee_id", "deadline")
    assignee = _eligible_assignee(t, d["assignee_id"])
    deadline: datetime = _future(d["deadline"])
    now = utcnow()
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
    # Answered by sending a knowledge-base article (issue 16): it must be a published one; the event names
    # it, the article counts the consultation it answered, and the ticket is linked to it.
    article = None
    if d.get("article"):
        article = published_by_number(d["article"])
        if article is None:
            message = _l("No published article has the number %(n)s.", n=normal_number(d["article"]))
            raise InvalidInput(message, {"article": message})
    t.result = d["answer"]
    t.resolved_at = utcnow()
    # Whoever answers handled it: the page names them, and they keep seeing it unmasked (access.py).
    t.assignee_id = actor.id
    rows = [] if db.session.get(TicketAssignee, (t.id, actor.id)) else [TicketAssignee(ticket_id=t.id,
                                                                                       user_id=actor.id)]
    data = {}
    if article is not None:
        data = {"article_id": article.id, "article_number": article.number, "article_title": article.title}
        rows.append(ArticleAnswer(article_id=article.id, ticket_id=t.id, answered_by_id=actor.id))
        if db.session.get(ArticleTicket, (article.id, t.id)) is None:
            rows.append(ArticleTicket(article_id=article.id, ticket_id=t.id, created_by_id=actor.id))
    return Step(State.CLOSED, d["answer"], data, rows=rows)


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
    deadline = _required_new_deadline(d)
    t.resolved_at = None
    t.deadline = deadline
    t.deadline_notified_at = None
    return Step(State.ASSIGNED, d["text"], {**data, "deadline": deadline.isoformat()}, rows=[callback])


def _required_new_deadline(d: dict) -> datetime:
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
    t.deadline = _required_new_deadline(d)
    t.resolved_at = None
    t.deadline_notified_at = None
    t.assigned_at = utcnow()
    return Step(State.ASSIGNED, d["reason"], {"deadline": t.deadline.isoformat()})


def _comment(t: Ticket, actor: User, d: dict) -> Step:
    if not (d.get("text") or "").strip() and not d.get("has_files"):
        raise InvalidInput(_l("Write a note or attach a file."), {"text": _l("This field is required.")})
    return Step(None, d.get("text") or "")


# --- actions for real days (see the module docstring) ---------------------------------------------

def _new_deadline(t: Ticket, deadline: datetime) -> None:
    """A new deadline is a new promise: 客服 tells the customer again."""
    t.deadline = deadline
    t.deadline_notified_at = None


def _reassign(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "assignee_id", "reason")
    assignee = _eligible_assignee(t, d["assignee_id"])
    if assignee.id == t.assignee_id:
        msg = _l("The ticket is already assigned to %(name)s.", name=assignee.display_name)
        raise InvalidInput(msg, {"assignee_id": msg})
    previous = t.assignee
    data = {"assignee_id": assignee.id, "assignee": assignee.display_name,
            "previous_assignee_id": t.assignee_id, "previous_assignee": previous.display_name if previous else "",
            "deadline_changed": False}
    if d.get("deadline") and d["deadline"] != t.deadline:
        data.update(previous_deadline=t.deadline.isoformat(), deadline_changed=True)
        _new_deadline(t, _future(d["deadline"]))
    data["deadline"] = t.deadline.isoformat()
    t.assignee_id = assignee.id
    t.assigned_at = utcnow()
    rows = [] if db.session.get(TicketAssignee, (t.id, assignee.id)) else [TicketAssignee(ticket_id=t.id,
                                                                                          user_id=assignee.id)]
    return Step(None, d["reason"], data, rows=rows)


def _change_deadline(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "deadline", "reason")
    deadline = _future(d["deadline"])
    if deadline == t.deadline:
        msg = _l("That is the deadline already.")
        raise InvalidInput(msg, {"deadline": msg})
    data = {"previous_deadline": t.deadline.isoformat(), "deadline": deadline.isoformat()}
    _new_deadline(t, deadline)
    return Step(None, d["reason"], data)


def _request_deadline_change(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "deadline", "reason")
    deadline = _future(d["deadline"])
    return Step(None, d["reason"], {"requested_deadline": deadline.isoformat(), "deadline": t.deadline.isoformat()})


def _hand_back(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "reason")
    data = {}
    if t.state == State.IMPL_QUEUE.value:  # 实施部经理: a routed problem back to 开发部
        t.handling_department = "dev"
        to = State.REGISTERED
    else:  # the assignee: back to the queue it was assigned from
        data = {"previous_assignee_id": t.assignee_id,
                "previous_assignee": t.assignee.display_name if t.assignee else ""}
        if t.handling_department == "impl":
            to = State.IMPL_QUEUE
        elif t.type == TicketType.REQUIREMENT.value:
            to = State.READY_TO_ASSIGN  # its fee stays agreed
        else:
            to = State.REGISTERED
        t.assignee_id = None
        t.deadline = None
        t.deadline_notified_at = None
        t.assigned_at = None
    return Step(to, d["reason"], data)


def _wait_customer(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "reason")
    return Step(State.WAITING_CUSTOMER, d["reason"], {"deadline": t.deadline.isoformat()})


def _need_onsite(t: Ticket, actor: User, d: dict) -> Step:
    """电话无法解决，需上门: a visit of its own (portal/visits), its 24-hour clock running from now."""
    _require(d, "reason")
    visit = visits.new_ticket_visit(t, actor, d["reason"], utcnow())
    return Step(None, d["reason"], {"onsite": True}, rows=[visit],
                after=lambda event: visits.ticket_visit_opened(visit, t, actor))


def last_event(t: Ticket, action_key: str) -> Event | None:
    return db.session.scalars(select(Event).where(Event.ticket_id == t.id, Event.action == action_key)
                              .order_by(Event.id.desc()).limit(1)).first()


def pending_deadline_request(t: Ticket) -> Event | None:
    """The assignee's latest request for a new deadline, unless the deadline has changed since
    (or the ticket is no longer in the assignment it was asked in)."""
    if t.state != State.ASSIGNED.value:
        return None
    asked = last_event(t, "request_deadline_change")
    if asked is None:
        return None
    since = db.session.scalar(select(Event.id).where(
        Event.ticket_id == t.id, Event.id > asked.id,
        Event.action.in_(("change_deadline", "reassign", "hand_back", "resume", "assign", "reopen"))).limit(1))
    return None if since is not None else asked


def _resume(t: Ticket, actor: User, d: dict) -> Step:
    now = utcnow()
    paused = last_event(t, "wait_customer")
    since = paused.created_at if paused is not None else now
    waited = max(now - since, timedelta(0))
    previous = t.deadline
    # The clock stopped while the customer had to act: the deadline moves on by the time waited,
    # unless the resumer sets a new one.
    deadline = _future(d["deadline"]) if d.get("deadline") else (previous + waited).replace(microsecond=0)
    _new_deadline(t, deadline)
    return Step(State.ASSIGNED, d.get("text") or "",
                {"previous_deadline": previous.isoformat(), "deadline": deadline.isoformat(),
                 "waited_minutes": int(waited.total_seconds() // 60)})


EDITABLE = ("reporter_name", "reporter_dept", "reporter_phone", "summary", "description", "customer_id", "type",
            "reported_at")
# How long before the registration the customer may have reported a problem (intake and its correction: an
# e-mail found after a holiday, a hotline record typed in later); earlier is a typing mistake, and would start
# every clock already broken — unless a hotline record of the call says that is when it was.
REPORTED_MAX_AGE_DAYS = 30
# Before assignment a ticket waits in a queue; there a new type or unit re-runs the intake rules.
QUEUED = frozenset({State.AWAITING_MARKET, State.REGISTERED, State.PENDING_FEE, State.READY_TO_ASSIGN,
                    State.IMPL_QUEUE})


def _to_the_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def earliest_reported(before: datetime, recorded: Iterable[datetime] = ()) -> datetime:
    """The earliest time the customer may be said to have reported a problem registered at `before` (intake: now):
    REPORTED_MAX_AGE_DAYS earlier, or the time of a record of the call (a hotline record, to the minute as the
    form shows it) if that is earlier still."""
    return min([before - timedelta(days=REPORTED_MAX_AGE_DAYS), *(_to_the_minute(at) for at in recorded)])


def _corrected_reported_at(t: Ticket, value: datetime | None) -> datetime | None:
    """A corrected time the customer reported the problem, or None when it is not corrected (the form shows
    the time to the minute). Not after the registration (to the minute, as the page shows it), not before
    `earliest_reported` (as at intake: 30 days before it, or the hotline record's time the ticket came from)."""
    if value is None or value == _to_the_minute(t.reported_at):
        return None
    registered = _to_the_minute(t.created_at)
    if value > registered:
        msg = _l("The time the customer reported the problem cannot be later than the ticket's registration "
                 "(%(when)s).", when=format_local(registered, "yyyy-MM-dd HH:mm"))
        raise InvalidInput(msg, {"reported_at": msg})
    recorded = db.session.scalars(select(HotlineRecord.created_at).where(HotlineRecord.ticket_id == t.id))
    if value < earliest_reported(registered, recorded):
        msg = _l("The time the customer reported the problem cannot be more than %(n)d days before the ticket's "
                 "registration.", n=REPORTED_MAX_AGE_DAYS)
        raise InvalidInput(msg, {"reported_at": msg})
    return value


def _edit(t: Ticket, actor: User, d: dict) -> Step:
    """Everything is checked before anything is written to the ticket (a refusal writes nothing)."""

    new: dict[str, object] = {}
    for name in ("reporter_name", "reporter_dept", "reporter_phone", "summary", "description"):
        if d.get(name) is None:
            continue
        value = str(d[name]).strip()
        if name != "description" and not value:
            raise InvalidInput(_l("Please fill in the required fields."), {name: _l("This field is required.")})
        if value != (getattr(t, name) or ""):
            new[name] = value
    unit = t.customer
    if d.get("customer_id") not in (None, "") and d["customer_id"] != t.customer_id:
        unit = db.session.get(CustomerUnit, d["customer_id"])
        if unit is None:
            raise InvalidInput(_l("Choose the customer unit."), {"customer_id": _l("Choose the customer unit.")})
    new_type = d.get("type") or t.type
    if new_type not in TicketType._value2member_map_:
        raise InvalidInput(_l("Unknown type."), {"type": _l("Unknown type.")})
    type_changed = new_type != t.type
    if type_changed and State(t.state) not in QUEUED:
        raise WrongState(_l("The type can be corrected only before the ticket is assigned: the assignee hands "
                            "it back first."))
    reported_at = _corrected_reported_at(t, d.get("reported_at"))
    if not new and unit is t.customer and not type_changed and reported_at is None:
        raise InvalidInput(_l("Nothing has changed."))

    changes: dict[str, list] = {name: [getattr(t, name) or "", value] for name, value in new.items()}
    data: dict = {}
    for name, value in new.items():
        setattr(t, name, value)
    if reported_at is not None:  # the clocks that run from it follow (_clocks)
        changes["reported_at"] = [t.reported_at.isoformat(), reported_at.isoformat()]
        t.reported_at = reported_at
    if unit is not t.customer:
        changes["customer"] = [t.customer.name, unit.name]
        data["customer_id"] = [t.customer_id, unit.id]
        t.customer = unit
        t.customer_id = unit.id
    if type_changed:
        changes["type"] = [t.type, new_type]
        data.update(type_before=t.type, type=new_type)  # (consistency.py reads the type in force from these)
        t.type = new_type
    to = None
    if State(t.state) in QUEUED and ("customer" in changes or type_changed):
        rule = REGISTER.rule_for(TicketType(t.type), MaintenanceStatus(unit.maintenance_status))
        # A corrected unit alone moves the ticket only into or out of 市场部's hands (maintenance stopped).
        market_involved = State.AWAITING_MARKET in (rule.to, State(t.state))
        if (type_changed or market_involved) and rule.to.value != t.state:
            to = rule.to
            t.handling_department = "impl" if to is State.IMPL_QUEUE else "dev"
    data["changes"] = changes
    return Step(to, d.get("reason") or "", data)


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
               # a consultation too: 实施部经理 may give it to a particular implementation engineer
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
               _by(CS_ROLES, State.ASSIGNED, State.RESOLVED),
               targets=(stays(),),
               handler=_notify_deadline, guards=(deadline_not_yet_told,),  # once per assignment
               records=frozenset({"deadline_notified_at"})),
        Action("resolve", _l("Resolve"), {}, assignee_from=_states(State.ASSIGNED),
               targets=(goes_to(State.RESOLVED, notifies=(Role.CS,)),),
               handler=_resolve, records=frozenset({"process", "result", "hours_spent", "resolved_at"})),
        Action("answer", _l("Answer consultation"), _by({Role.IMPL_MANAGER, Role.IMPL_ENGINEER}, State.IMPL_QUEUE),
               targets=(closes(CloseReason.ANSWERED),),
               handler=_answer, types=frozenset({C}), records=frozenset({"result", "resolved_at", "assignee_id"}),
               rows=(TicketAssignee, ArticleAnswer, ArticleTicket)),
        Action("callback", _l("Record callback"), _by(CS_ROLES, State.RESOLVED),
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
        # --- actions for real days (module docstring) ---
        Action("reassign", _l("Reassign"), _by(MANAGER_OF, State.ASSIGNED, State.WAITING_CUSTOMER),
               targets=(stays(notifies=(ASSIGNEE, PREVIOUS_ASSIGNEE)),),
               handler=_reassign, own_department=True,
               records=frozenset({"assignee_id", "assigned_at", "deadline", "deadline_notified_at"}),
               rows=(TicketAssignee,)),
        Action("change_deadline", _l("Change deadline"), _by(MANAGER_OF, State.ASSIGNED),
               targets=(stays(notifies=(ASSIGNEE, Role.CS)),),
               handler=_change_deadline, own_department=True,
               records=frozenset({"deadline", "deadline_notified_at"})),
        Action("request_deadline_change", _l("Ask for a new deadline"), {}, assignee_from=_states(State.ASSIGNED),
               targets=(stays(notifies=(MANAGER,)),), handler=_request_deadline_change),
        Action("hand_back", _l("Hand back"), _by({Role.IMPL_MANAGER}, State.IMPL_QUEUE),
               assignee_from=_states(State.ASSIGNED),
               targets=(goes_to(State.REGISTERED, types={M}, notifies=(MANAGER,)),
                        goes_to(State.READY_TO_ASSIGN, types={R}, notifies=(MANAGER,)),
                        goes_to(State.IMPL_QUEUE, types={M, C}, notifies=(MANAGER,))),
               handler=_hand_back, guards=(not_a_waiting_consultation,),
               records=frozenset({"handling_department", "assignee_id", "deadline", "deadline_notified_at",
                                  "assigned_at"})),
        Action("wait_customer", _l("Wait for the customer"), _by(MANAGER_OF, State.ASSIGNED),
               assignee_from=_states(State.ASSIGNED),
               targets=(goes_to(State.WAITING_CUSTOMER, notifies=(Role.CS,)),),
               handler=_wait_customer, own_department=True),
        Action("resume", _l("Resume"), _by({*MANAGER_OF, *CS_ROLES}, State.WAITING_CUSTOMER),
               assignee_from=_states(State.WAITING_CUSTOMER),
               targets=(goes_to(State.ASSIGNED, notifies=(ASSIGNEE, Role.CS)),),
               handler=_resume, own_department=True, records=frozenset({"deadline", "deadline_notified_at"})),
        Action("edit", _l("Correct the ticket"),
               # 客服 any open ticket; the managers once it has passed 市场部's gate (it is theirs then)
               {**_by(CS_ROLES, *OPEN), **_by(MANAGER_OF, *(OPEN - {State.AWAITING_MARKET}))},
               targets=(stays(),
                        goes_to(State.REGISTERED, types={M, R}, notifies=(Role.DEV_MANAGER,)),
                        goes_to(State.IMPL_QUEUE, types={C}, notifies=(Role.IMPL_MANAGER,)),
                        goes_to(State.AWAITING_MARKET, notifies=(Role.MARKET,))),
               handler=_edit,
               records=frozenset({*EDITABLE, "handling_department"})),
        Action("need_onsite", _l("Phone cannot solve it: on-site needed"),
               _by(CS_ROLES, State.REGISTERED, State.IMPL_QUEUE, State.ASSIGNED, State.WAITING_CUSTOMER),
               assignee_from=_states(State.ASSIGNED, State.WAITING_CUSTOMER),
               targets=(stays(notifies=(ASSIGNEE, MANAGER)),), handler=_need_onsite,
               types=frozenset({M, C}), guards=(no_open_visit,), rows=(Visit,)),
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
    roles=CS_ROLES,
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
                if r not in RECIPIENT_TOKENS and not isinstance(r, Role):
                    raise ValueError(f"{where}: notifies roles, ASSIGNEE, PREVIOUS_ASSIGNEE or MANAGER, not {r!r}")
        if not a.records <= _TICKET_COLUMNS or a.records & DISPATCHER_COLUMNS:
            raise ValueError(f"{where}: records only ticket columns the dispatcher does not own")
        if not all(isinstance(g, Guard) for g in a.guards):
            raise ValueError(f"{where}: guards are @guard functions")
        if a.any_viewer == bool(a.allowed or a.assignee_from):
            raise ValueError(f"{where}: taken by roles and/or the assignee, or by any viewer")
        if a.own_department and not set(a.allowed) & set(MANAGER_OF):
            raise ValueError(f"{where}: own_department concerns the managers' roles")
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
    if action.assignee_from:
        return True  # checked against the ticket in _check
    return bool(user.roles & action.roles())


def _check(action: Action, t: Ticket, user: User) -> None:
    states = action.states_for(user, t)
    if states is None:
        if action.assignee_only:
            raise NotAllowed(_l("Only the engineer this ticket is assigned to may do this."))
        if action.own_department and user.roles & set(MANAGER_OF) & action.roles():
            raise NotAllowed(_l("Only the manager of the department handling this ticket may do this."))
        raise NotAllowed(_l("Your role may not do this: %(action)s.", action=action.title))
    if State(t.state) not in states or TicketType(t.type) not in action.types:
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
    from_state, previous_assignee_id = t.state, t.assignee_id
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
    if step.after is not None:
        step.after(event)
    _notify(t, event, actor, target.notifies, previous_assignee_id)
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
# Every new deadline is a new promise to tell (a change, a reassignment with a new date, a resume, a reopening,
# an unsolved callback); a ticket handed back has no deadline to tell any more.
OPENS = {"assign": "tell_deadline", "reopen": "tell_deadline", "resolve": "callback_due",
         "callback": "tell_deadline",  # only when not solved, i.e. the ticket is assigned again
         "change_deadline": "tell_deadline", "resume": "tell_deadline"}
SETTLES = {"assign": ("tell_deadline",), "reopen": ("tell_deadline", "callback_due"), "resolve": ("tell_deadline",),
           "notify_deadline": ("tell_deadline",), "callback": ("callback_due",),
           "change_deadline": ("tell_deadline",), "resume": ("tell_deadline",), "hand_back": ("tell_deadline",)}


# The service-level clocks (declared in portal/tickets/area.py, kept by portal/sla), driven like the
# obligations above: the clocks an action starts, the ones it keeps (stopped now: kept within the limit,
# breached past it) and the ones it makes moot (stopped as void — a breach already past stays a breach).
# Closing stops every clock still running (void). A clock started by the customer's request runs from when
# the customer asked (Ticket.reported_at), not from the action: 市场部 approving urgency an hour after the
# call leaves one hour of the two. Correcting that time (`edit`) moves those clocks, running or stopped.
#
# "First reply" (首次答复, within N working days): the customer hears that the problem is being handled — the
# first assignment (客服 then tells the customer the deadline), the consultation's answer, or 市场部's talk
# with the customer (a unit out of maintenance: record_contact; a requirement's fee: record_fee).
CLOCK_STARTS = {"register": ("first_reply",), "approve_urgent": ("emergency_response",),
                "assign": ("tell_deadline",), "reopen": ("tell_deadline",), "resolve": ("callback",),
                "callback": ("tell_deadline",),  # only when not solved, i.e. the ticket is assigned again
                "change_deadline": ("tell_deadline",), "resume": ("tell_deadline",)}
CLOCK_KEEPS = {"assign": ("emergency_response", "first_reply"), "answer": ("first_reply",),
               "record_contact": ("first_reply",), "record_fee": ("first_reply",),
               "notify_deadline": ("tell_deadline",), "callback": ("callback",)}
CLOCK_VOIDS = {"assign": ("tell_deadline",), "reopen": ("tell_deadline", "callback"), "resolve": ("tell_deadline",),
               "change_deadline": ("tell_deadline",), "resume": ("tell_deadline",), "hand_back": ("tell_deadline",)}
CLOCK_FROM_REPORT = frozenset({"first_reply", "emergency_response"})  # these run from Ticket.reported_at
CLOCK_APPLIES: dict[str, Callable[[Ticket], bool]] = {
    "tell_deadline": lambda t: t.state == State.ASSIGNED.value,  # a deadline to tell exists for work under way
    "emergency_response": lambda t: t.first_assigned_at is None,  # nobody has responded yet
}
# Who must keep each clock (department, role) and the manager told when it breaches.
_FIRST_REPLY_BY = {State.AWAITING_MARKET.value: ("market", Role.MARKET, Role.MARKET_MANAGER),
                   State.IMPL_QUEUE.value: ("impl", Role.IMPL_MANAGER, Role.IMPL_MANAGER)}
CLOCK_OWNERS: dict[str, Callable[[Ticket], tuple[str, Role, Role]]] = {
    "first_reply": lambda t: _FIRST_REPLY_BY.get(t.state, ("dev", Role.DEV_MANAGER, Role.DEV_MANAGER)),
    # the handling department's manager assigns; 市场部经理 approved the urgency and answers to the customer
    "emergency_response": lambda t: (t.handling_department, MANAGER_ROLE[t.handling_department], Role.MARKET_MANAGER),
    "tell_deadline": lambda t: ("cs", Role.CS, Role.CS_MANAGER),
    "callback": lambda t: ("cs", Role.CS, Role.CS_MANAGER),
}


def _clocks(t: Ticket, event: Event, action: str) -> None:
    if "reported_at" in (event.data or {}).get("changes", {}):  # `edit` corrected when the customer asked
        clocks.restart_from(t.id, CLOCK_FROM_REPORT, t.reported_at)
    at = datetime.fromisoformat(event.data["told_at"]) if "told_at" in (event.data or {}) else event.created_at
    for key in CLOCK_KEEPS.get(action, ()):
        clocks.stop(key, at=at, ticket_id=t.id)
    for key in CLOCK_VOIDS.get(action, ()):
        clocks.stop(key, at=at, ticket_id=t.id, void=True)
    if t.state == State.CLOSED.value:
        clocks.stop_all(t.id, at=at, void=True)
        return
    for key in CLOCK_STARTS.get(action, ()):
        if not CLOCK_APPLIES.get(key, lambda _t: True)(t):
            continue
        department, role, manager = CLOCK_OWNERS[key](t)
        clocks.start(key, started_at=t.reported_at if key in CLOCK_FROM_REPORT else event.created_at,
                     policy=ticket_policy(t), level=t.customer.maintenance_status, ticket_id=t.id,
                     customer_id=t.customer_id, department=department, role=role.value,
                     escalate_role=manager.value)


# A callback that scores low or finds the problem not solved reaches the managers who answer for service
# quality (客服部经理, 市场部经理) as a follow-up to record; closing the ticket does not settle it — a manager's
# note on the ticket does.
QUALITY_MANAGERS = (Role.CS_MANAGER, Role.MARKET_MANAGER)
FOLLOW_UP = "quality_follow_up"


def _obligations(t: Ticket, event: Event, actor: User | None = None) -> None:
    new_deadline = event.action == "reassign" and event.data.get("deadline_changed")
    _clocks(t, event, "change_deadline" if new_deadline else event.action)  # a new deadline is a new promise
    if event.action == "callback":
        _open_quality_follow_up(t, event)
    elif event.action == "comment" and actor is not None and actor.roles & set(QUALITY_MANAGERS):
        reminders.settle_ticket(t.id, FOLLOW_UP, note="follow-up recorded")
    if t.state == State.CLOSED.value:
        reminders.settle(Reminder.ticket_id == t.id, Reminder.kind != FOLLOW_UP, note="closed")
        return
    if event.action in SETTLES or new_deadline:
        reminders.settle_ticket(t.id, *SETTLES.get(event.action, ("tell_deadline",)), note=event.action)
    kind = "tell_deadline" if new_deadline else OPENS.get(event.action)
    if kind == "tell_deadline" and t.state != State.ASSIGNED.value:
        kind = None  # a deadline to tell exists only for work under way (a solved callback opens nothing)
    if kind:
        held_to = ticket_policy(t)  # the limits in force when the ticket was registered
        hours = held_to.tell_deadline_within_hours if kind == "tell_deadline" else held_to.callback_within_hours
        reminders.open_many([dict(key=f"{kind}:{t.id}:{event.id}", kind=kind, role=Role.CS.value, ticket_id=t.id,
                                  due_at=event.created_at + timedelta(hours=hours))])


def _open_quality_follow_up(t: Ticket, event: Event) -> None:
    """A reminder to each active manager of quality, keyed by the callback's event and the person (so: once);
    like every personal reminder it reaches their bell and e-mail as a notification (reminders.notify_people,
    run by the reminder sweep), and is read when the follow-up is recorded. With no such manager on the staff,
    the roles themselves are reminded: never silence."""
    score = event.data.get("satisfaction")
    low = score is not None and int(score) <= ticket_policy(t).follow_up_score
    if event.data.get("solved") and not low:
        return
    people = sorted(set(db.session.scalars(
        select(User.id).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_([r.value for r in QUALITY_MANAGERS]), User.active.is_(True)))))
    rows = [dict(key=f"{FOLLOW_UP}:{event.id}:{uid}", kind=FOLLOW_UP, user_id=uid, ticket_id=t.id,
                 due_at=event.created_at) for uid in people]
    rows = rows or [dict(key=f"{FOLLOW_UP}:{event.id}:{role.value}", kind=FOLLOW_UP, role=role.value,
                         ticket_id=t.id, due_at=event.created_at) for role in QUALITY_MANAGERS]
    reminders.open_many(rows)


def _notify(t: Ticket, event: Event, actor: User, recipients: tuple[Recipient, ...],
            previous_assignee_id: int | None = None) -> None:
    _obligations(t, event, actor)
    roles = [r.value for r in recipients if isinstance(r, Role)]
    if MANAGER in recipients:
        roles.append(MANAGER_ROLE[t.handling_department].value)
    user_ids = {t.assignee_id} if ASSIGNEE in recipients and t.assignee_id else set()
    if PREVIOUS_ASSIGNEE in recipients and previous_assignee_id:
        user_ids.add(previous_assignee_id)
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

    if notes and delivery.smtp_configured():

        db.session.flush()
        for n in notes:
            enqueue(deliver_notification, n.id, job_id=f"deliver-{n.id}")
