"""seed-bench: bulk synthetic data that is exactly what the workflow would have produced."""
from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select

from portal.auth.models import User
from bench.seed import BENCH_PASSWORD, BENCH_USERS, seed
from portal.core.enums import Channel, CloseReason, MaintenanceStatus, Role, State, TicketType
from portal.core.timeutil import utcnow
from portal.core.validators import normalize_cn_phone
from portal.customers.models import Contact, Contract, CustomerUnit, MaintenanceStatusChange
from portal.extensions import db
from portal.tickets.models import Callback, Event, Ticket, TicketAssignee, TicketLink
from portal.tickets.workflow import ACTIONS

TICKETS, UNITS = 300, 20
WORK_IN_PROGRESS = {State.ASSIGNED.value, State.RESOLVED.value, State.CALLBACK_DONE.value}


def quiet(*_):
    pass


@pytest.fixture
def seeded(app):
    seed(tickets=TICKETS, customers=UNITS, echo=quiet)
    db.session.expire_all()
    return db.session.scalars(select(Ticket).order_by(Ticket.id)).all()


def events_by_ticket() -> dict[int, list[Event]]:
    out = defaultdict(list)
    for e in db.session.scalars(select(Event).order_by(Event.id)):
        out[e.ticket_id].append(e)
    return out


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_creates_the_requested_units_and_tickets(seeded):
    assert len(seeded) == TICKETS
    assert count(CustomerUnit) == UNITS
    per_unit_contacts = Counter(db.session.scalars(select(Contact.customer_id)))
    per_unit_contracts = Counter(db.session.scalars(select(Contract.customer_id)))
    for unit_id in db.session.scalars(select(CustomerUnit.id)):
        assert 1 <= per_unit_contacts[unit_id] <= 3
        assert 1 <= per_unit_contracts[unit_id] <= 2
    assert count(User) == len(BENCH_USERS)


def test_units_have_unique_names_pinyin_initials_and_every_maintenance_status(app):
    seed(tickets=0, customers=200, echo=quiet)
    units = db.session.scalars(select(CustomerUnit)).all()
    assert len({u.name for u in units}) == 200
    assert all(re.fullmatch(r"[a-z0-9]+", u.name_initials) for u in units)
    statuses = Counter(u.maintenance_status for u in units)
    assert set(statuses) == {s.value for s in MaintenanceStatus}
    assert statuses["ordinary"] > statuses["vip"] > 0 and statuses["stopped"] > 0
    # Every unit's current status is the last recorded change (the market manager's history).
    last = {}
    for change in db.session.scalars(select(MaintenanceStatusChange).order_by(MaintenanceStatusChange.id)):
        last[change.customer_id] = change.to_status
    assert all(last[u.id] == u.maintenance_status for u in units)


def test_every_state_type_channel_and_closing_reason_appears(seeded):
    assert {t.state for t in seeded} == {s.value for s in State}
    assert {t.type for t in seeded} == {t.value for t in TicketType}
    assert {t.channel for t in seeded} == {c.value for c in Channel}
    assert {t.close_reason for t in seeded if t.close_reason} == {r.value for r in CloseReason}
    assert any(t.urgent for t in seeded)


def test_ticket_columns_match_their_state(seeded):
    assignees = set(db.session.execute(select(TicketAssignee.ticket_id, TicketAssignee.user_id)).all())
    for t in seeded:
        assert t.number == f"SH-{t.number[3:7]}-{t.id:06d}" and 2023 <= int(t.number[3:7]) <= 2026
        assert (t.state == State.CLOSED.value) == (t.close_reason is not None) == (t.closed_at is not None)
        if t.state in WORK_IN_PROGRESS:
            assert t.assignee_id and t.deadline and t.assigned_at and t.first_assigned_at
        if t.assignee_id:
            assert (t.id, t.assignee_id) in assignees
        if t.assignee_id and t.type != TicketType.CONSULTATION.value:
            assert t.created_at <= t.first_assigned_at <= t.assigned_at < t.deadline
        elif t.type == TicketType.CONSULTATION.value:
            assert t.first_assigned_at is None and t.deadline is None
        else:
            assert t.first_assigned_at is None and t.deadline is None
        if t.state in (State.RESOLVED.value, State.CALLBACK_DONE.value) or t.close_reason == CloseReason.SOLVED.value:
            assert t.resolved_at and t.process and t.result and t.hours_spent > 0
            assert t.assigned_at <= t.resolved_at
        if t.closed_at:
            assert t.resolved_at is None or t.resolved_at <= t.closed_at
        if t.urgent:
            assert t.type == TicketType.MAINTENANCE.value and t.urgent_approved_by_id and t.urgent_approved_at
        if t.type == TicketType.REQUIREMENT.value and t.assignee_id:
            assert t.fee is not None and t.agreed_requirements
        if t.type == TicketType.CONSULTATION.value:  # never assigned; who answered it handled it (issue 14)
            assert (t.assignee_id is not None) == (t.close_reason == CloseReason.ANSWERED.value)
    assert count(TicketAssignee) == sum(1 for t in seeded if t.assignee_id)


def test_history_replays_through_allowed_transitions_to_each_tickets_state(seeded):
    roles = {u.id: u.roles for u in db.session.scalars(select(User))}
    history = events_by_ticket()
    for t in seeded:
        events = history[t.id]
        first, rest = events[0], events[1:]
        assert (first.action, first.from_state, first.created_at) == ("register", None, t.created_at)
        assert Role.CS in roles[first.actor_id]
        state, at = first.to_state, first.created_at
        for e in rest:
            assert e.created_at >= at, f"{t.number}: events out of time order"
            assert e.from_state == state, f"{t.number}: {e.action} from {e.from_state}, ticket was {state}"
            action = ACTIONS[e.action]
            if action.assignee_only:
                assert e.actor_id == t.assignee_id
            elif not action.any_viewer:
                allowed = {s for role in roles[e.actor_id] for s in action.allowed.get(role, ())}
                assert State(state) in allowed, f"{t.number}: {e.action} not allowed in {state}"
            if e.action in ("approve_urgent", "notify_deadline", "comment"):
                assert e.to_state == state
            state, at = e.to_state, e.created_at
        assert state == t.state
        assert at <= t.updated_at or events[-1].action == "comment"
        moves = [e for e in events if e.action != "comment"]
        assert t.updated_at == moves[-1].created_at
        if t.closed_at:
            assert t.closed_at == next(e.created_at for e in reversed(events) if e.to_state == State.CLOSED.value)


def test_each_assignment_is_followed_by_telling_the_customer_the_deadline(seeded):
    history = events_by_ticket()
    for t in seeded:
        actions = [e.action for e in history[t.id]]
        if t.state in (State.RESOLVED.value, State.CALLBACK_DONE.value) or t.close_reason == CloseReason.SOLVED.value:
            # a failed callback sets a new deadline, told again (issue 14)
            failed = sum(1 for e in history[t.id] if e.action == "callback" and e.to_state == State.ASSIGNED.value)
            assert actions.count("assign") == 1 and actions.count("notify_deadline") == 1 + failed
            assert t.deadline_notified_at is not None


def test_tickets_past_resolution_have_callbacks_mostly_satisfied(seeded):
    history = events_by_ticket()
    callbacks = db.session.scalars(select(Callback)).all()
    assert len(callbacks) == sum(1 for es in history.values() for e in es if e.action == "callback")
    by_ticket = defaultdict(list)
    for c in callbacks:
        by_ticket[c.ticket_id].append(c)
        assert 1 <= c.satisfaction <= 5 and c.kind == "ticket"
    for t in seeded:
        if t.state == State.CALLBACK_DONE.value or t.close_reason == CloseReason.SOLVED.value:
            assert any(c.solved for c in by_ticket[t.id])
            assert all(c.customer_id == t.customer_id for c in by_ticket[t.id])
    solved_scores = [c.satisfaction for c in callbacks if c.solved]
    assert sum(s >= 4 for s in solved_scores) / len(solved_scores) > 0.7


def test_phone_numbers_pass_the_portals_validator(seeded):
    phones = [t.reporter_phone for t in seeded]
    phones += list(db.session.scalars(select(Contact.phone)))
    phones += list(db.session.scalars(select(CustomerUnit.phone)))
    assert all(normalize_cn_phone(p) == p for p in phones), [p for p in phones if normalize_cn_phone(p) != p]


def test_some_tickets_have_a_thirty_event_history(seeded):
    sizes = Counter(db.session.scalars(select(Event.ticket_id)))
    assert sizes[seeded[0].id] == 30
    assert sum(1 for n in sizes.values() if n > 6) >= 5  # others carry a few notes


def test_duplicates_link_to_an_earlier_ticket_of_the_same_unit(app):
    seed(tickets=2000, customers=10, echo=quiet)
    links = db.session.scalars(select(TicketLink)).all()
    assert links
    for link in links:
        dup, original = db.session.get(Ticket, link.from_id), db.session.get(Ticket, link.to_id)
        assert link.kind == "duplicate_of" and dup.duplicate_of_id == original.id
        assert dup.close_reason == CloseReason.INVALID.value and original.id < dup.id
        assert dup.customer_id == original.customer_id


def test_running_twice_appends_without_conflicts(app):
    seed(tickets=TICKETS, customers=UNITS, echo=quiet)
    first_max = db.session.scalar(select(func.max(Ticket.id)))
    seed(tickets=TICKETS, customers=UNITS, echo=quiet)
    assert count(Ticket) == 2 * TICKETS and count(CustomerUnit) == 2 * UNITS
    assert db.session.scalar(select(func.min(Ticket.id)).where(Ticket.id > first_max)) == first_max + 1
    assert count(User) == len(BENCH_USERS)
    assert db.session.scalar(select(func.count(func.distinct(CustomerUnit.name)))) == 2 * UNITS


def test_same_seed_and_time_on_the_same_database_give_the_same_data(app):
    from tests.conftest import _wipe

    now = utcnow()

    def snapshot():
        seed(tickets=60, customers=5, echo=quiet, random_seed=7, now=now)
        return db.session.execute(select(Ticket.number, Ticket.state, Ticket.summary, Ticket.reporter_phone,
                                         Ticket.created_at).order_by(Ticket.id)).all()

    first = snapshot()
    _wipe(db)
    assert snapshot() == first


def test_new_rows_after_seeding_get_fresh_ids(app, ticket_factory):
    """On PostgreSQL the sequences must have been moved past the explicit ids."""
    seed(tickets=50, customers=3, echo=quiet)
    t = ticket_factory()
    assert t.id == 51 and t.customer_id == 4


def test_bench_users_log_in_with_the_documented_password(app, client):
    seed(tickets=0, customers=0, echo=quiet)
    r = client.post("/login", data={"username": "bench_engineer1", "password": BENCH_PASSWORD})
    assert r.status_code == 302


def test_cli_command_seeds_and_reports(app):
    result = app.test_cli_runner().invoke(args=["seed-bench", "--tickets", "40", "--customers", "3"])
    assert result.exit_code == 0, result.output
    assert "40 tickets" in result.output
    assert count(Ticket) == 40 and count(CustomerUnit) == 3


def test_cli_refuses_tickets_without_any_customer_unit(app):
    result = app.test_cli_runner().invoke(args=["seed-bench", "--tickets", "10", "--customers", "0"])
    assert result.exit_code != 0 and "客户单位" in result.output
    assert count(Ticket) == 0


def test_seeded_tickets_get_the_service_level_clocks_the_workflow_would_keep(seeded):
    """One first-reply clock per ticket; emergency clocks on the urgent ones; a callback clock per resolution;
    outcomes consistent with the times (kept within the limit, broken past it, void only on closed tickets,
    running ones hold their run key); the working-day limit is the same local time 3 working days later."""
    from datetime import datetime

    from portal.core.policy import workday_after
    from portal.core.timeutil import from_local, to_local
    from portal.sla.models import ServiceClock

    clocks = db.session.scalars(select(ServiceClock)).all()
    by_key = defaultdict(list)
    for c in clocks:
        by_key[c.key].append(c)
    tickets = {t.id: t for t in seeded}
    assert {c.ticket_id for c in by_key["first_reply"]} == set(tickets)
    assert {c.ticket_id for c in by_key["emergency_response"]} == {t.id for t in seeded if t.urgent}
    assert {c.ticket_id for c in by_key["callback"]} == {t.id for t in seeded if t.resolved_at}
    assert by_key["onsite_24h"] and by_key["tell_deadline"]
    outcomes = Counter(c.outcome for c in clocks)
    assert outcomes["kept"] and outcomes["breached"]
    for c in clocks:
        if c.outcome in ("kept", "breached"):
            assert c.outcome == ("kept" if c.stopped_at <= c.due_at else "breached"), c.key
        elif c.outcome == "void":
            assert tickets[c.ticket_id].closed_at is not None
        else:
            assert c.stopped_at is None and c.run_key == f"{c.key}:t{c.ticket_id}"
    for c in by_key["first_reply"][:50]:
        local = to_local(c.started_at)
        due = from_local(datetime.combine(workday_after(local.date(), 3), local.time().replace(tzinfo=None)))
        assert abs((c.due_at - due).total_seconds()) < 1
