"""The ticket workflow (SPEC §3): the one place that changes `Ticket.state`.

The table ACTIONS says, for every action: who may take it from which states, which ticket
types it applies to, and what it does. Views ask `available_actions()` what to offer; every
POST goes through `perform()`, which re-checks everything. Nothing here touches `request`,
so a job, a CLI command and a test call it the same way. The caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from portal.auth.models import User, UserRole
from portal.core.enums import CloseReason, ContactMethod, CallbackKind, MaintenanceStatus, Role, State, TicketType
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.notifications.models import Notification
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


@dataclass
class Step:
    """What an action's handler decided: the new state (None = unchanged) and the event text."""

    to_state: State | None = None
    close_reason: CloseReason | None = None
    text: str = ""
    data: dict = field(default_factory=dict)
    notify_roles: tuple[Role, ...] = ()
    notify_users: tuple[int, ...] = ()
    # Rows the action records besides the ticket (assignee, link, callback). `perform` adds them
    # only after the ticket's versioned UPDATE, so a concurrent action loses on the version, not
    # on a duplicate key.
    rows: list = field(default_factory=list)


@dataclass(frozen=True)
class Action:
    key: str
    title: object
    # role → states from which that role may take the action
    allowed: dict[Role, frozenset[State]]
    handler: Callable[["Ticket", User, dict], Step]
    types: frozenset[TicketType] = frozenset(TicketType)
    assignee_only: bool = False  # `resolve`: only the current assignee, whatever the role
    any_viewer: bool = False  # `comment`: anyone who may see the ticket

    def roles(self) -> frozenset[Role]:
        return frozenset(self.allowed)

    def states_for(self, user: User) -> frozenset[State]:
        if self.any_viewer:
            return frozenset(State)
        if self.assignee_only:
            return next(iter(self.allowed.values()))
        out: set[State] = set()
        for role in user.roles:
            out |= self.allowed.get(role, frozenset())
        return frozenset(out)


def _states(*states: State) -> frozenset[State]:
    return frozenset(states)


OPEN = frozenset(s for s in State if s is not State.CLOSED)


# ---------------------------------------------------------------------------
# Handlers: validate the action's own data, change the ticket's other fields,
# and say where the ticket goes. They never assign `state` themselves.
# ---------------------------------------------------------------------------

def _require(data: dict, *names: str) -> None:
    missing = {n: _l("This field is required.") for n in names if data.get(n) in (None, "")}
    if missing:
        raise InvalidInput(_l("Please fill in the required fields."), missing)


def _record_contact(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "outcome", "text")
    if d["outcome"] == "declined":
        return Step(State.CLOSED, CloseReason.DECLINED, d["text"], {"outcome": "declined"})
    if d["outcome"] != "proceed":
        raise InvalidInput(_l("Unknown outcome."), {"outcome": _l("Unknown outcome.")})
    nxt = State.IMPL_QUEUE if t.type == TicketType.CONSULTATION.value else State.REGISTERED
    who = (Role.IMPL_MANAGER,) if nxt is State.IMPL_QUEUE else (Role.DEV_MANAGER,)
    return Step(nxt, None, d["text"], {"outcome": "proceed"}, notify_roles=who)


def _suspend_for_fee(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "analysis")
    t.analysis = d["analysis"]
    return Step(State.PENDING_FEE, None, d["analysis"], notify_roles=(Role.MARKET,))


def _record_fee(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "outcome", "text")
    if d["outcome"] == "declined":
        return Step(State.CLOSED, CloseReason.DECLINED, d["text"], {"outcome": "declined"})
    if d["outcome"] != "agreed":
        raise InvalidInput(_l("Unknown outcome."), {"outcome": _l("Unknown outcome.")})
    _require(d, "fee", "agreed_requirements")
    fee = Decimal(str(d["fee"]))
    if fee < 0:
        raise InvalidInput(_l("The fee cannot be negative."), {"fee": _l("The fee cannot be negative.")})
    t.fee = fee
    t.agreed_requirements = d["agreed_requirements"]
    return Step(
        State.READY_TO_ASSIGN, None, d["text"], {"outcome": "agreed", "fee": str(fee)},
        notify_roles=(Role.DEV_MANAGER,),
    )


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
        State.ASSIGNED, None, d.get("analysis") or "",
        {"assignee_id": assignee.id, "assignee": assignee.display_name, "deadline": deadline.isoformat()},
        notify_roles=(Role.CS,), notify_users=(assignee.id,), rows=rows,
    )


def _route_to_impl(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "reason")
    t.handling_department = "impl"
    return Step(State.IMPL_QUEUE, None, d["reason"], notify_roles=(Role.IMPL_MANAGER,))


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
    return Step(State.CLOSED, CloseReason.INVALID, d["reason"], data, rows=rows)


def _approve_urgent(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "request")
    t.urgent = True
    t.urgent_request = d["request"]
    t.urgent_approved_by_id = actor.id
    t.urgent_approved_at = utcnow()
    return Step(None, None, d["request"], notify_roles=(Role.DEV_MANAGER, Role.IMPL_MANAGER))


def _notify_deadline(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "whom", "method")
    told_at = d.get("told_at") or utcnow()
    t.deadline_notified_at = told_at
    return Step(
        None, None, d.get("text") or "",
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
    return Step(State.RESOLVED, None, d["result"], {"hours_spent": str(hours)}, notify_roles=(Role.CS,))


def _answer(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "answer")
    t.result = d["answer"]
    t.resolved_at = utcnow()
    return Step(State.CLOSED, CloseReason.ANSWERED, d["answer"])


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
        return Step(State.CALLBACK_DONE, None, d["text"], data, notify_roles=(Role.MARKET,), rows=[callback])
    # Not solved: back to the engineer, never closed.
    t.resolved_at = None
    return Step(State.ASSIGNED, None, d["text"], data, notify_users=(t.assignee_id,), rows=[callback])


def _close(t: Ticket, actor: User, d: dict) -> Step:
    return Step(State.CLOSED, CloseReason.SOLVED, d.get("note") or "")


def _reopen(t: Ticket, actor: User, d: dict) -> Step:
    _require(d, "reason")
    if d.get("deadline"):
        if d["deadline"] <= utcnow():
            raise InvalidInput(_l("The deadline must be in the future."), {"deadline": _l("The deadline must be in the future.")})
        t.deadline = d["deadline"]
    elif t.deadline is None or t.deadline <= utcnow():  # reopened overdue at once helps nobody
        msg = _l("The previous deadline has passed: set a new one.")
        raise InvalidInput(msg, {"deadline": msg})
    t.resolved_at = None
    t.deadline_notified_at = None
    t.assigned_at = utcnow()
    return Step(State.ASSIGNED, None, d["reason"], {"deadline": t.deadline.isoformat()},  # the deadline in force
                notify_users=(t.assignee_id,), notify_roles=(Role.CS,))


def _comment(t: Ticket, actor: User, d: dict) -> Step:
    if not (d.get("text") or "").strip() and not d.get("has_files"):
        raise InvalidInput(_l("Write a note or attach a file."), {"text": _l("This field is required.")})
    return Step(None, None, d.get("text") or "")


_M = MARKET_ROLES
ACTIONS: dict[str, Action] = {
    a.key: a
    for a in [
        Action("record_contact", _l("Record customer contact"),
               {r: _states(State.AWAITING_MARKET) for r in _M}, _record_contact),
        Action("suspend_for_fee", _l("Suspend for fee"),
               {Role.DEV_MANAGER: _states(State.REGISTERED)}, _suspend_for_fee,
               types=frozenset({TicketType.REQUIREMENT})),
        Action("record_fee", _l("Record fee agreement"),
               {r: _states(State.PENDING_FEE) for r in _M}, _record_fee,
               types=frozenset({TicketType.REQUIREMENT})),
        Action("assign", _l("Assign"),
               {Role.DEV_MANAGER: _states(State.REGISTERED, State.READY_TO_ASSIGN),
                Role.IMPL_MANAGER: _states(State.IMPL_QUEUE)}, _assign),
        Action("route_to_impl", _l("Route to implementation"),
               {Role.DEV_MANAGER: _states(State.REGISTERED)}, _route_to_impl,
               # a problem may belong to 实施部; a new requirement must pass the fee gate first
               types=frozenset({TicketType.MAINTENANCE})),
        Action("reject", _l("Reject as duplicate / invalid"),
               {Role.DEV_MANAGER: _states(State.REGISTERED), Role.IMPL_MANAGER: _states(State.IMPL_QUEUE)}, _reject),
        Action("approve_urgent", _l("Approve urgent handling"),
               {r: OPEN for r in _M}, _approve_urgent, types=frozenset({TicketType.MAINTENANCE})),
        Action("notify_deadline", _l("Record deadline told to customer"),
               {Role.CS: _states(State.ASSIGNED, State.RESOLVED)}, _notify_deadline),
        Action("resolve", _l("Resolve"), {Role.ENGINEER: _states(State.ASSIGNED)}, _resolve, assignee_only=True),
        Action("answer", _l("Answer consultation"),
               {Role.IMPL_MANAGER: _states(State.IMPL_QUEUE), Role.IMPL_ENGINEER: _states(State.IMPL_QUEUE)},
               _answer, types=frozenset({TicketType.CONSULTATION})),
        Action("callback", _l("Record callback"), {Role.CS: _states(State.RESOLVED)}, _callback),
        Action("close", _l("Close"), {r: _states(State.CALLBACK_DONE) for r in _M}, _close),
        Action("reopen", _l("Reopen"), {r: _states(State.CLOSED) for r in _M}, _reopen),
        Action("comment", _l("Internal note"), {}, _comment, any_viewer=True),
    ]
}

# Refinements that the from-state alone cannot express. They are part of `_check`, so the ticket
# page never offers an action that `perform` would then refuse.
def _not_now(action: Action, t: Ticket):
    return _l("%(action)s is not possible while the ticket is “%(state)s”.", action=action.title,
              state=State(t.state).title)


def _ticket_refusal(action: Action, t: Ticket):
    """None if the ticket's type and details allow the action, else the reason why not."""
    if TicketType(t.type) not in action.types:
        return _not_now(action, t)
    if action.key == "assign":
        # New requirements pass the fee gate first; consultations are answered, not assigned.
        if t.state == State.REGISTERED.value and t.type == TicketType.REQUIREMENT.value:
            return _not_now(action, t)
        if t.state == State.IMPL_QUEUE.value and t.type == TicketType.CONSULTATION.value:
            return _not_now(action, t)
    if action.key == "approve_urgent" and t.urgent:
        return _l("This ticket is already urgent.")
    if action.key == "notify_deadline" and t.deadline_notified_at is not None:
        return _l("The customer has already been told the deadline for this assignment.")
    if action.key == "reopen" and (t.assignee_id is None or t.deadline is None):
        return _l("This ticket was never assigned, so it cannot be reopened to an assignee.")
    return None


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
    if State(t.state) not in action.states_for(user):
        raise WrongState(_not_now(action, t))
    refusal = _ticket_refusal(action, t)
    if refusal is not None:
        raise WrongState(refusal)


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


def _set_state(t: Ticket, to: State, reason: CloseReason | None) -> None:
    t.state = to.value
    if to is State.CLOSED:
        t.close_reason = reason.value
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
        if step.to_state is not None:
            _set_state(t, step.to_state, step.close_reason)
        changed = step.to_state is not None or db.session.is_modified(t)
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
    _notify(t, event, actor, step)
    return event


def initial_state(ticket_type: TicketType, maintenance_status: MaintenanceStatus) -> State:
    if maintenance_status is MaintenanceStatus.STOPPED:
        return State.AWAITING_MARKET
    if ticket_type is TicketType.CONSULTATION:
        return State.IMPL_QUEUE
    return State.REGISTERED


def start(t: Ticket, actor: User, text: str = "", data: dict | None = None) -> Event:
    """`register`: a new ticket takes its first state (SPEC §3) and its first history event."""
    state = initial_state(TicketType(t.type), t.customer.status)
    t.state = state.value
    if state is State.IMPL_QUEUE:
        t.handling_department = "impl"
    event = Event(ticket_id=t.id, actor_id=actor.id, action="register", from_state=None,
                  to_state=state.value, text=text, data=data or {})
    db.session.add(event)
    db.session.flush()
    who = {State.AWAITING_MARKET: (Role.MARKET,), State.IMPL_QUEUE: (Role.IMPL_MANAGER,),
           State.REGISTERED: (Role.DEV_MANAGER,)}[state]
    _notify(t, event, actor, Step(state, notify_roles=who))
    return event


# The obligations of 客服 that an action creates, and the ones it fulfils (SPEC §4): after each
# assignment tell the customer the deadline; after each resolution call back. A closed ticket
# owes nothing any more.
OPENS = {"assign": "tell_deadline", "reopen": "tell_deadline", "resolve": "callback_due"}
SETTLES = {"assign": ("tell_deadline",), "reopen": ("tell_deadline", "callback_due"),
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
    if kind:
        hours = policy().tell_deadline_within_hours if kind == "tell_deadline" else policy().callback_within_hours
        reminders.open_many([dict(key=f"{kind}:{t.id}:{event.id}", kind=kind, role=Role.CS.value, ticket_id=t.id,
                                  due_at=event.created_at + timedelta(hours=hours))])


def _notify(t: Ticket, event: Event, actor: User, step: Step) -> None:
    _obligations(t, event)
    user_ids = set(u for u in step.notify_users if u)
    if step.notify_roles:
        user_ids |= set(
            db.session.scalars(
                select(User.id).join(UserRole, UserRole.user_id == User.id)
                .where(UserRole.role.in_([r.value for r in step.notify_roles]), User.active.is_(True))
            )
        )
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
