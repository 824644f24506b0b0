"""The workflow table says everything (portal.tickets.workflow.ACTIONS and REGISTER).

Across the whole matrix (every situation × action × persona of test_workflow_matrix.py), what
each successful action actually wrote lands in what its table entry declares: one of its
targets for the ticket's type (state and closing reason), that target's recipients, only the
columns and kinds of records the entry lists, a version bump exactly when it changes the row.
Every declared target and guard is reached by some case, so the table declares nothing the
handlers never do; an undeclared outcome is refused by the dispatcher and writes nothing.

This compares the code with its own table; the hand-written SPEC oracle stays in
test_workflow_matrix.py, which checks the table against the SPEC.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from portal.auth.models import User, UserRole
from portal.core.enums import CloseReason, MaintenanceStatus, Role, State, TicketType
from portal.extensions import db
from portal.notifications.models import Notification
from portal.tickets import workflow
from portal.tickets.models import Callback, TicketAssignee, TicketLink
from portal.tickets.workflow import (ACTIONS, ASSIGNEE, DISPATCHER_COLUMNS, MANAGER, MANAGER_ROLE, PREVIOUS_ASSIGNEE,
                                    REGISTER, Step, TableViolation)
from tests.tickets.test_workflow_matrix import (  # noqa: F401 (world and _clean are fixtures)
    PERSONAS, SITUATIONS, VARIANTS, Situation, _clean, _counts, _row, recorded_writes, rolled_back, world,
)

ROW_KINDS = {"callbacks": Callback, "links": TicketLink, "assignees": TicketAssignee}


@dataclass
class Case:
    situation: Situation
    key: str
    persona: str
    failing_guards: tuple[str, ...]  # the action's guards that do not hold for the ticket beforehand
    refusal: workflow.WorkflowError | None = None
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    added: dict = field(default_factory=dict)  # row kind → how many the action added
    event: tuple = ()  # (action, from, to)
    recipients: set = field(default_factory=set)


def _observe(world, s: Situation, variant: str, persona: str) -> Case:
    ticket, actor = world.ticket(s.key), world.user(persona)
    key, data = world.data_for(variant, s.state, s)
    failing = tuple(g.name for g in ACTIONS[key].guards if not g.holds(ticket))
    before, counts = _row(ticket.id), _counts(ticket.id)
    try:
        event = workflow.perform(ticket, key, actor, data)
    except workflow.WorkflowError as refusal:
        return Case(s, key, persona, failing, refusal)
    db.session.flush()
    counts_after = _counts(ticket.id)
    recipients = set(db.session.scalars(select(Notification.user_id).where(
        Notification.id > counts["last_notification"], Notification.ticket_id == ticket.id)))
    return Case(s, key, persona, failing, None, before, _row(ticket.id),
                {kind: counts_after[kind] - counts[kind] for kind in ROW_KINDS},
                (event.action, event.from_state, event.to_state), recipients)


@pytest.fixture(scope="module")
def cases(world) -> list[Case]:
    out = []
    for s in SITUATIONS:
        for variant in VARIANTS:
            for persona in PERSONAS:
                with rolled_back():
                    out.append(_observe(world, s, variant, persona))
    return out


def declared_targets(case: Case) -> list[workflow.Target]:
    """The action's declared targets that match what the case wrote."""
    action, s, after = ACTIONS[case.key], case.situation, case.after
    return [t for t in action.targets
            if TicketType(after["type"]) in action.types_of(t)  # (the type after the action: `edit` corrects it)
            and after["state"] == (s.state if t.to is None else t.to.value)
            and after["close_reason"] == (s.close_reason if t.to is None
                                          else t.close_reason.value if t.close_reason else None)]


def recipients_of(world, case: Case, target: workflow.Target) -> set[int]:
    """Whom the target says to notify, for this case (before the actor is left out)."""
    want = set()
    for r in target.notifies:
        if r == ASSIGNEE:
            want |= {case.after["assignee_id"]} - {None}  # (need_onsite: a ticket still in a queue has none)
        elif r == PREVIOUS_ASSIGNEE:
            want |= {case.before["assignee_id"]}
        elif r == MANAGER:
            want |= role_holders(MANAGER_ROLE[case.after["handling_department"]])
        else:
            want |= role_holders(r)
    return want


def landed_target(world, case: Case) -> workflow.Target | None:
    """The declared target the case landed in. `edit` may stay, or move into a state that can be the one
    it started from (a ticket of 市场部's corrected again): then the recipients tell which it was."""
    matching = declared_targets(case)
    if len(matching) > 1:
        exact = [t for t in matching
                 if case.recipients == recipients_of(world, case, t) - {world.users[case.persona]}]
        matching = exact or matching
    return matching[0] if matching else None


def role_holders(role: Role) -> set[int]:
    return set(db.session.scalars(select(User.id).join(UserRole, UserRole.user_id == User.id)
                                  .where(UserRole.role == role.value, User.active.is_(True))))


def test_every_success_across_the_matrix_lands_in_what_its_table_entry_declares(world, cases):
    successes = [c for c in cases if c.refusal is None]
    assert len(successes) > 100, "the matrix exercises the workflow"
    wrong = []
    for c in successes:
        action, where = ACTIONS[c.key], f"{c.situation.key} {c.key} as {c.persona}"
        target = landed_target(world, c)
        if target is None:
            wrong.append(f"{where}: ended in {c.after['state']}/{c.after['close_reason']}, not a declared target")
            continue
        if State(c.situation.state) not in action.from_states or c.event != (c.key, c.situation.state,
                                                                             c.after["state"]):
            wrong.append(f"{where}: event {c.event} is not the declared (from, to)")
        want = recipients_of(world, c, target)
        if c.recipients != want - {world.users[c.persona]}:
            wrong.append(f"{where}: notified {c.recipients}, the table says {want}")
        written = {k for k in c.after if c.after[k] != c.before[k]} - DISPATCHER_COLUMNS
        if not written <= action.records:
            wrong.append(f"{where}: wrote {written - action.records}, not among its records")
        kinds = {ROW_KINDS[k] for k, n in c.added.items() if n}
        if not kinds <= set(action.rows):
            wrong.append(f"{where}: added {kinds}, not among its rows")
        if c.after["version"] - c.before["version"] != (1 if action.changes_row else 0):
            wrong.append(f"{where}: version {c.before['version']} → {c.after['version']}")
    assert not wrong, "\n".join(wrong)


def test_every_target_the_table_declares_is_reached_by_some_case(world, cases):
    reached = {(c.key, landed_target(world, c)) for c in cases if c.refusal is None}
    declared = {(key, t) for key, a in ACTIONS.items() for t in a.targets}
    assert declared - reached == set()


def test_every_guard_refuses_with_its_own_message_and_no_success_passes_a_failing_guard(cases):
    for key, action in ACTIONS.items():
        for g in action.guards:
            blocked = [c for c in cases if c.key == key and g.name in c.failing_guards]
            assert not [c for c in blocked if c.refusal is None], f"{g.name} held nothing back"
            if g.message is not None:
                heard = {str(c.refusal.message) for c in blocked if isinstance(c.refusal, workflow.WrongState)}
                assert str(g.message) in heard, f"nobody was refused by {g.name}"
            else:  # the general message, to someone whose role and state would otherwise allow it
                assert [c for c in blocked if isinstance(c.refusal, workflow.WrongState)
                        and State(c.situation.state) in action.allowed.get(Role(c.persona), ())], g.name


# --- the dispatcher refuses what the table does not declare ---------------------------------------

def _patched(monkeypatch, key: str, handler) -> None:
    monkeypatch.setitem(ACTIONS, key, dataclasses.replace(ACTIONS[key], handler=handler))


def _close_as(step_to, writes=None, rows=()):
    def handler(t, actor, data):
        for column, value in (writes or {}).items():
            setattr(t, column, value)
        return Step(step_to, "关闭", rows=list(rows))

    return handler


@pytest.mark.parametrize("handler", [
    _close_as(State.REGISTERED),  # a state `close` does not lead to
    _close_as(None),  # `close` always moves the ticket
    _close_as(State.CLOSED, writes={"fee": 1, "analysis": "改写"}),  # columns it does not record
    _close_as(State.CLOSED, writes={"state": "registered"}),  # the dispatcher's column
], ids=["undeclared-state", "undeclared-stay", "undeclared-columns", "state-by-hand"])
def test_an_outcome_the_table_does_not_declare_is_refused_and_writes_nothing(world, monkeypatch, handler):
    ticket = world.ticket("maint_callback_done")
    before = _row(ticket.id)
    _patched(monkeypatch, "close", handler)
    with recorded_writes() as writes, pytest.raises(TableViolation):
        try:
            workflow.perform(ticket, "close", world.user("market"), {"note": "关闭"})
        finally:
            db.session.flush()
    assert writes == [] and _row(ticket.id) == before


def test_a_record_the_table_does_not_declare_is_refused_and_writes_nothing(world, monkeypatch):
    ticket = world.ticket("maint_callback_done")
    link = TicketLink(from_id=ticket.id, to_id=world.original_id, kind="duplicate_of")
    _patched(monkeypatch, "close", _close_as(State.CLOSED, rows=[link]))
    with recorded_writes() as writes, pytest.raises(TableViolation):
        try:
            workflow.perform(ticket, "close", world.user("market"), {"note": "关闭"})
        finally:
            db.session.flush()
    assert writes == []


# --- the table's own rules, checked at import ---------------------------------------------------------

def _broken(key: str, **changes) -> dict:
    return {**ACTIONS, key: dataclasses.replace(ACTIONS[key], **changes)}


@pytest.mark.parametrize("actions", [
    _broken("close", targets=(workflow.goes_to(State.CLOSED),)),  # closes without a reason
    _broken("callback", targets=(workflow.Target(State.ASSIGNED, CloseReason.SOLVED),)),  # a reason, not closing
    _broken("callback", targets=(workflow.goes_to(State.ASSIGNED), workflow.goes_to(State.ASSIGNED))),
    _broken("approve_urgent", targets=(workflow.stays(notifies=("the_boss",)),)),
    _broken("route_to_impl", targets=(workflow.goes_to(State.IMPL_QUEUE, types={TicketType.CONSULTATION}),)),
    _broken("assign", records=frozenset({"state"})),
    _broken("assign", records=frozenset({"no_such_column"})),
    _broken("comment", targets=()),
    _broken("resolve", any_viewer=True),
    _broken("comment", assignee_from=frozenset({State.ASSIGNED})),  # anyone, and the assignee besides
    _broken("reassign", allowed={Role.CS: frozenset({State.ASSIGNED})}),  # own department, but no manager
], ids=["closing-without-reason", "reason-without-closing", "target-twice", "unknown-recipient",
        "target-type-outside-action", "records-dispatcher-column", "records-unknown-column", "no-target",
        "two-kinds-of-who", "anyone-and-the-assignee", "own-department-without-a-manager"])
def test_a_malformed_table_entry_fails_at_import(actions):
    with pytest.raises(ValueError):
        workflow._validate(actions, REGISTER)


def test_a_ticket_type_without_a_first_state_fails_at_import():
    partial = dataclasses.replace(REGISTER, intake=tuple(r for r in REGISTER.intake if r.to is not State.IMPL_QUEUE))
    with pytest.raises(ValueError, match="no first state"):
        workflow._validate(ACTIONS, partial)
    assert workflow.initial_state(TicketType.CONSULTATION, MaintenanceStatus.VIP) is State.IMPL_QUEUE
