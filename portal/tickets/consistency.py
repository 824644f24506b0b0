"""History consistency: every ticket's events (处理记录) must tell the story of its current row.

`portal.tickets.workflow` writes one Event per action with the from-state and to-state, bumps the
ticket's version on every change of the row (a comment changes nothing), and sets the columns
each state implies. This module checks, for every ticket at once, that this still holds:

* the history starts with one `register` event into an intake state of the ticket's type
  (workflow.REGISTER), and every later event starts where the one before it ended;
* each event is a transition the workflow table declares — one of the action's from-states to
  one of its targets, for the ticket's type (nothing follows `closed` but the actions that may
  start there: a reopen or a note); event times never go backwards;
* the last event ends in the ticket's state; the version is 1 + the number of events that
  changed the row (the INSERT is version 1, `register` sets the number and the first state);
* the columns the history implies agree: closed_at and the closing reason (the table's, for the
  action that closed it), resolved_at (set by
  resolve/answer, cleared by a failed callback or a reopen), the assignee of the last
  assignment or reassignment (none after a hand-back; of a consultation: who answered it), whether the
  deadline was told since it last changed (an assignment, a reopen, a failed callback, a deadline change, a
  reassignment with a new deadline, a resume, a hand-back), the urgent flag, the hours summed over the
  resolutions, one callback record per callback event.

A ticket's type can be corrected (`edit`, whose event records `type_before` → `type`): each event is
judged by the type in force when it was taken.

It runs as two SQL statements (window functions over the events in (ticket_id, id) order, and
an aggregate per ticket) whose rows are streamed, so a million tickets need bounded memory.
`flask --app app check-history` prints the problems; tests and the load test call `check()`.
"""
from __future__ import annotations

from typing import Iterator, NamedTuple

from flask_babel import gettext
from sqlalchemy import Numeric, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from portal.core.enums import State, TicketType
from portal.extensions import db
from portal.tickets import workflow
from portal.tickets.models import Callback, Event, Ticket, TicketAssignee

S = State
ALL_STATES = frozenset(s.value for s in State)
# Which transitions, closing reasons and intake states are allowed, which actions change the row and
# which add a callback record: all read from workflow.ACTIONS / workflow.REGISTER when a check runs.
# What follows is what particular columns mean, which the table does not say: resolve and answer set
# resolved_at (a failed callback and a reopen clear it); assign and reopen start an assignment, and
# they and a failed callback set a deadline the customer must be told anew.
RESOLVING = ("resolve", "answer")
# assign and reassign name the assignee (event data assignee_id); a hand-back leaves none.
ASSIGNING = ("assign", "reassign", "hand_back")
# Events after which the customer is owed the deadline again (a reassignment only with a new one).
NEW_DEADLINE = ("assign", "reopen", "change_deadline", "resume", "hand_back")


def N_(msgid: str) -> str:
    """Marks a msgid for extraction; translated when the message is shown."""
    return msgid


MESSAGES = {
    "no_history": N_("The ticket has no history."),
    "first_not_register": N_("The history does not begin with the registration (event %(event)s: %(action)s)."),
    "register_not_first": N_("Event %(event)s registers the ticket a second time."),
    "intake_state": N_("Event %(event)s registers the ticket into “%(to)s”, not an intake state of its type."),
    "chain_broken": N_("Event %(event)s (%(action)s) starts from “%(from)s”, but the event before it ended in "
                       "“%(prev)s”."),
    "event_after_close": N_("Event %(event)s (%(action)s) follows the closing; only a reopen or a note may."),
    "illegal_transition": N_("Event %(event)s: %(action)s cannot lead from “%(from)s” to “%(to)s”."),
    "wrong_type": N_("Event %(event)s: %(action)s does not apply to a ticket of this type."),
    "time_backwards": N_("Event %(event)s is dated before the event before it."),
    "before_created": N_("Event %(event)s is dated before the ticket was created."),
    "state_mismatch": N_("The ticket is “%(state)s”, but its history ends in “%(last)s”."),
    "version_mismatch": N_("The ticket is at version %(version)s, but its history records %(changes)s changes "
                           "(version %(expected)s expected)."),
    "updated_at_mismatch": N_("The time of the last change is outside the ticket's history."),
    "closed_at_mismatch": N_("The closing time does not agree with the state."),
    "close_reason_mismatch": N_("The closing reason “%(reason)s” does not match the action that closed the ticket "
                                "(%(action)s)."),
    "resolved_at_mismatch": N_("The resolution time does not agree with the history (resolved, then not reopened)."),
    "assignee_mismatch": N_("The assignee, deadline or assignment times do not agree with the last assignment "
                            "in the history."),
    "deadline_told_mismatch": N_("Whether the customer was told the deadline does not agree with the history."),
    "urgent_mismatch": N_("The urgent flag does not agree with the approvals in the history."),
    "hours_mismatch": N_("The hours spent (%(hours)s) are not the sum of the resolutions (%(sum)s)."),
    "callbacks_mismatch": N_("%(events)s callback events but %(rows)s callback records."),
}
KINDS = tuple(MESSAGES)


class Problem(NamedTuple):
    ticket_id: int
    number: str | None
    kind: str  # a key of MESSAGES
    params: dict

    @property
    def message(self) -> str:
        """In the current language (Chinese by default)."""
        return gettext(MESSAGES[self.kind], **{k: _title(v) for k, v in self.params.items()})

    def __str__(self) -> str:
        return f"{self.number or '#' + str(self.ticket_id)}: {self.message}"


def _title(value):
    if isinstance(value, str) and value in ALL_STATES:
        return str(State(value).title)
    if isinstance(value, str) and value in workflow.ACTIONS:
        return str(workflow.ACTIONS[value].title)
    return "—" if value is None else value


def check(limit: int | None = None) -> list[Problem]:
    """All problems (or the first `limit`), as (ticket id, number, kind, params) tuples."""
    out = []
    for p in iter_problems():
        out.append(p)
        if limit is not None and len(out) >= limit:
            break
    return out


def iter_problems(batch: int = 2000) -> Iterator[Problem]:
    """Stream the problems: first those of single events, then those of whole tickets."""
    yield from _event_problems(batch)
    yield from _ticket_problems(batch)


# --- single events, against the one before them --------------------------------------------------

def _not(cond) -> object:
    """NOT cond, where a NULL inside cond counts as false (so NOT gives true)."""
    return case((cond, 0), else_=1) == 1


def _values(states) -> list[str]:
    return sorted(s.value for s in states)


def _legal_transition(e, ticket_type) -> object:
    """SQL: the event's (action, from, to) is one the workflow table declares for the ticket's type."""
    alts = []
    for key, action in workflow.ACTIONS.items():
        for target in action.targets:
            to = e.c.from_state if target.to is None else target.to.value  # None: the action stays
            cond = [e.c.action == key, e.c.from_state.in_(_values(action.from_states)), e.c.to_state == to]
            if target.types is not None:  # (the action's own types are `wrong_type`'s business)
                cond.append(ticket_type.in_(_values(action.types_of(target))))
            alts.append(and_(*cond))
    return or_(*alts)


def _type_allows(e, ticket_type) -> object:
    return or_(*[and_(e.c.action == key, ticket_type.in_(_values(a.types))) for key, a in workflow.ACTIONS.items()])


def _intake_ok(e, ticket_type) -> object:
    """SQL: the register event leads into a state the table's intake rules allow for the type."""
    return or_(*[and_(ticket_type == t.value, e.c.to_state.in_(_values(workflow.REGISTER.states_for(t))))
                 for t in TicketType])


def _after_close_allowed() -> list[str]:
    """The actions that may follow the closing (a reopen, a note)."""
    return sorted(key for key, a in workflow.ACTIONS.items() if State.CLOSED in a.from_states)


def _type_change(event) -> object:
    return and_(event.action == "edit", event.data["type"].as_string().is_not(None))


def _event_problems(batch: int) -> Iterator[Problem]:
    w = dict(partition_by=Event.ticket_id, order_by=Event.id)
    e = select(
        Event.id, Event.ticket_id, Event.action, Event.from_state, Event.to_state, Event.created_at,
        func.row_number().over(**w).label("n"),
        func.lag(Event.to_state).over(**w).label("prev_to"),
        func.lag(Event.created_at).over(**w).label("prev_at"),
        # the last type correction up to this event, and the ticket's first one
        func.max(case((_type_change(Event), Event.id))).over(**w).label("last_type_change"),
        func.min(case((_type_change(Event), Event.id))).over(partition_by=Event.ticket_id).label("first_type_change"),
    ).subquery("e")
    last_tc, first_tc = aliased(Event), aliased(Event)
    # The type in force when the event was taken: set by the last correction so far, else the type
    # before the first correction, else the ticket's type (never corrected).
    ticket_type = func.coalesce(last_tc.data["type"].as_string(), first_tc.data["type_before"].as_string(), Ticket.type)
    first, later = e.c.n == 1, e.c.n > 1
    is_register, not_register = e.c.action == "register", e.c.action != "register"
    after_close = and_(func.coalesce(e.c.from_state, "") == S.CLOSED.value, e.c.action.not_in(_after_close_allowed()))
    conditions = {
        "first_not_register": and_(first, or_(not_register, e.c.from_state.is_not(None))),
        "register_not_first": and_(later, is_register),
        "intake_state": and_(first, is_register, _not(_intake_ok(e, ticket_type))),
        "chain_broken": and_(later, e.c.from_state.is_distinct_from(e.c.prev_to)),
        "event_after_close": and_(later, not_register, after_close),
        "illegal_transition": and_(later, not_register, _not(after_close), _not(_legal_transition(e, ticket_type))),
        "wrong_type": and_(not_register, _not(_type_allows(e, ticket_type))),
        "time_backwards": and_(later, e.c.created_at < e.c.prev_at),
        "before_created": and_(first, e.c.created_at < Ticket.created_at),
    }
    flags = [case((cond, 1), else_=0).label(kind) for kind, cond in conditions.items()]
    stmt = (
        select(e.c.id, e.c.ticket_id, e.c.action, e.c.from_state, e.c.to_state, e.c.prev_to, Ticket.number, *flags)
        .join(Ticket, Ticket.id == e.c.ticket_id)
        .outerjoin(last_tc, last_tc.id == e.c.last_type_change)
        .outerjoin(first_tc, first_tc.id == e.c.first_type_change)
        .where(or_(*conditions.values()))
        .order_by(e.c.ticket_id, e.c.id)
    )
    for row in db.session.execute(stmt, execution_options={"yield_per": batch}):
        m = row._mapping
        params = {"event": row.id, "action": row.action, "from": row.from_state, "to": row.to_state,
                  "prev": row.prev_to}
        for kind in conditions:
            if m[kind]:
                yield Problem(row.ticket_id, row.number, kind, params)


# --- whole tickets, against their history ---------------------------------------------------------

def _last_id(cond) -> object:
    return func.max(case((cond, Event.id)))


def _leaving_row_alone() -> list[str]:
    """The actions that UPDATE nothing (a note), so do not bump the version."""
    return sorted(key for key, a in workflow.ACTIONS.items() if not a.changes_row)


def _recording(kind: type) -> list[str]:
    """The actions that add a record of this kind besides their event."""
    return sorted(key for key, a in workflow.ACTIONS.items() if kind in a.rows)


def _ticket_problems(batch: int) -> Iterator[Problem]:
    hours = cast(Event.data["hours_spent"].as_string(), Numeric(12, 2))
    h = (
        select(
            Event.ticket_id.label("ticket_id"),
            func.count().label("events"),
            func.count(case((Event.action.not_in(_leaving_row_alone()), 1))).label("changes"),
            func.max(Event.id).label("last_id"),
            _last_id(Event.action.in_(RESOLVING)).label("last_resolution"),
            _last_id(or_(Event.action == "reopen",
                         and_(Event.action == "callback", Event.to_state == S.ASSIGNED.value))).label("last_unresolve"),
            _last_id(Event.action == "assign").label("last_assign"),
            _last_id(Event.action == "answer").label("last_answer"),
            _last_id(Event.action.in_(ASSIGNING)).label("last_assignee_event"),
            # a new deadline to tell: NEW_DEADLINE, a failed callback (which sets one), a reassignment with a new one
            _last_id(or_(Event.action.in_(NEW_DEADLINE),
                         and_(Event.action == "callback", Event.to_state == S.ASSIGNED.value),
                         and_(Event.action == "reassign",
                              Event.data["deadline_changed"].as_boolean().is_(True)))).label("last_assignment"),
            _last_id(Event.action == "notify_deadline").label("last_told"),
            _last_id(and_(Event.to_state == S.CLOSED.value, Event.from_state != S.CLOSED.value)).label("last_closing"),
            func.count(case((Event.action == "approve_urgent", 1))).label("urgent_events"),
            func.count(case((Event.action.in_(_recording(Callback)), 1))).label("callback_events"),
            func.sum(case((Event.action == "resolve", hours))).label("hours"),
        )
        .group_by(Event.ticket_id)
        .subquery("h")
    )
    cb = (select(Callback.ticket_id.label("ticket_id"), func.count().label("rows"))
          .where(Callback.ticket_id.is_not(None)).group_by(Callback.ticket_id).subquery("cb"))
    last, assign_ev, answer_ev, closing = aliased(Event), aliased(Event), aliased(Event), aliased(Event)
    t = Ticket

    resolved_expected = and_(h.c.last_resolution.is_not(None),
                             or_(h.c.last_unresolve.is_(None), h.c.last_resolution > h.c.last_unresolve))
    told_expected = and_(h.c.last_told.is_not(None),
                         or_(h.c.last_assignment.is_(None), h.c.last_told > h.c.last_assignment))
    ever_assigned = h.c.last_assignee_event.is_not(None)
    # a consultation: its answerer handled it (answered after its last assignment event, if any)
    answered = and_(h.c.last_answer.is_not(None),
                    or_(h.c.last_assignee_event.is_(None), h.c.last_answer > h.c.last_assignee_event))
    assigned_last = and_(ever_assigned, ~answered)
    reason_expected = case(*[(closing.action == key, literal(a.closing_reason.value))
                             for key, a in workflow.ACTIONS.items() if a.closing_reason], else_=None)
    assignee_recorded = exists().where(TicketAssignee.ticket_id == t.id, TicketAssignee.user_id == t.assignee_id)
    cb_rows = func.coalesce(cb.c.rows, 0)

    conditions = {
        "no_history": h.c.events.is_(None),
        "state_mismatch": and_(h.c.events.is_not(None), last.to_state.is_distinct_from(t.state)),
        "version_mismatch": and_(h.c.events.is_not(None), t.version != h.c.changes + 1),
        "updated_at_mismatch": and_(h.c.events.is_not(None),
                                    or_(t.updated_at < t.created_at, t.updated_at > last.created_at)),
        "closed_at_mismatch": or_(and_(t.state == S.CLOSED.value, t.closed_at.is_(None)),
                                  and_(t.state != S.CLOSED.value, t.closed_at.is_not(None))),
        "close_reason_mismatch": and_(t.state == S.CLOSED.value, h.c.events.is_not(None),
                                      t.close_reason.is_distinct_from(reason_expected)),
        "resolved_at_mismatch": and_(h.c.events.is_not(None),
                                     or_(and_(resolved_expected, t.resolved_at.is_(None)),
                                         and_(~resolved_expected, t.resolved_at.is_not(None)))),
        "assignee_mismatch": and_(h.c.events.is_not(None), or_(
            and_(assigned_last, assign_ev.action != "hand_back",
                 or_(t.assignee_id.is_distinct_from(assign_ev.data["assignee_id"].as_integer()),
                     t.deadline.is_(None), t.first_assigned_at.is_(None), t.assigned_at.is_(None),
                     ~assignee_recorded)),
            and_(assigned_last, assign_ev.action == "hand_back",
                 or_(t.assignee_id.is_not(None), t.deadline.is_not(None), t.first_assigned_at.is_(None),
                     t.assigned_at.is_not(None))),
            and_(answered, or_(t.assignee_id.is_distinct_from(answer_ev.actor_id), ~assignee_recorded)),
            and_(~ever_assigned, ~answered, t.assignee_id.is_not(None)),
            and_(~ever_assigned, or_(t.deadline.is_not(None),
                                     t.first_assigned_at.is_not(None), t.assigned_at.is_not(None))),
        )),
        "deadline_told_mismatch": and_(h.c.events.is_not(None),
                                       or_(and_(told_expected, t.deadline_notified_at.is_(None)),
                                           and_(~told_expected, t.deadline_notified_at.is_not(None)))),
        "urgent_mismatch": and_(h.c.events.is_not(None),
                                or_(h.c.urgent_events > 1,
                                    and_(h.c.urgent_events == 1, or_(t.urgent.is_(False), t.urgent_approved_at.is_(None))),
                                    and_(h.c.urgent_events == 0, t.urgent.is_(True)))),
        # (SQLite sums the JSON strings as floats: compare to the cent)
        "hours_mismatch": and_(h.c.events.is_not(None), or_(
            and_(t.hours_spent.is_(None), h.c.hours.is_not(None)), and_(t.hours_spent.is_not(None), h.c.hours.is_(None)),
            func.abs(t.hours_spent - h.c.hours) > 0.005)),
        "callbacks_mismatch": func.coalesce(h.c.callback_events, 0) != cb_rows,
    }
    flags = [case((cond, 1), else_=0).label(kind) for kind, cond in conditions.items()]
    stmt = (
        select(t.id, t.number, t.state, t.version, t.close_reason, t.hours_spent, h.c.changes, h.c.hours,
               h.c.callback_events, cb_rows.label("cb_rows"), last.to_state.label("last_state"),
               closing.action.label("closing_action"), *flags)
        .select_from(t)
        .outerjoin(h, h.c.ticket_id == t.id)
        .outerjoin(last, last.id == h.c.last_id)
        .outerjoin(assign_ev, assign_ev.id == h.c.last_assignee_event)
        .outerjoin(answer_ev, answer_ev.id == h.c.last_answer)
        .outerjoin(closing, closing.id == h.c.last_closing)
        .outerjoin(cb, cb.c.ticket_id == t.id)
        .where(or_(*conditions.values()))
        .order_by(t.id)
    )
    for row in db.session.execute(stmt, execution_options={"yield_per": batch}):
        m = row._mapping
        changes = row.changes or 0
        params = {
            "state": row.state, "last": row.last_state, "version": row.version, "changes": changes,
            "expected": changes + 1, "reason": row.close_reason, "action": row.closing_action,
            "hours": row.hours_spent, "sum": row.hours, "events": row.callback_events or 0, "rows": row.cb_rows,
        }
        for kind in conditions:
            if m[kind]:
                yield Problem(row.id, row.number, kind, params)
