"""Starting and stopping the service-level clocks (callable from a request, a job, the CLI or a test alike).

    clocks.start("onsite_24h", started_at=…, policy=ticket_policy(t), ticket_id=t.id, visit_id=v.id,
                 level=t.customer.maintenance_status, department="dev", user_id=v.engineer_id,
                 escalate_role="dev_manager")
    clocks.stop("onsite_24h", at=v.arrived_at, visit_id=v.id)

Both are idempotent: starting a clock that already runs for the subject does nothing, stopping one that
does not run does nothing. Nothing is ever deleted: a stopped clock keeps its outcome.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update

from portal.core.kernel import kernel
from portal.core.policy import Policy, workday_after
from portal.core.timeutil import from_local, to_local, utcnow
from portal.extensions import db
from portal.notifications import reminders
from portal.notifications.models import Reminder
from portal.sla.models import ServiceClock

REMINDER_KINDS = ("clock_due_soon", "clock_breached")  # the sweep's (portal/sla/sweep.py), keyed "<kind>:<clock id>"


def _settle_reminders(ids: list[int], note: str) -> None:
    """A stopped clock gets nothing more: its open reminder and escalation are settled with it."""
    if ids:
        reminders.settle(Reminder.key.in_([f"{k}:{i}" for i in ids for k in REMINDER_KINDS]), note=note)


def _outcome(row: ServiceClock, at: datetime, void: bool) -> str:
    """kept within the limit, breached past it; void when the promise no longer applies — unless it had
    already been broken by then (a breach stays a breach, whatever happens to the ticket afterwards)."""
    if at > row.due_at:
        return "breached"
    return "void" if void else "kept"


def _subject(ticket_id: int | None, visit_id: int | None) -> str:
    if visit_id is not None:
        return f"v{visit_id}"
    if ticket_id is not None:
        return f"t{ticket_id}"
    raise ValueError("a clock needs a ticket or a visit")


def due_at(key: str, started_at: datetime, p: Policy) -> tuple[float, datetime]:
    """(the limit in the clock's unit, the moment it breaches) for a clock started at `started_at`."""
    limit = float(getattr(p, kernel.clock(key).limit))
    return limit, _due(key, started_at, limit)


def _due(key: str, started_at: datetime, limit: float) -> datetime:
    """The moment a clock with this limit (in its unit) breaches."""
    if kernel.clock(key).unit == "hours":
        return started_at + timedelta(hours=limit)
    # working days: the same local time of day, that many Chinese working days later
    return _working_days_due(started_at, int(limit))


def _remind_at(key: str, started_at: datetime, due: datetime) -> datetime:
    return due - (due - started_at) * kernel.clock(key).remind_before


def start(key: str, *, started_at: datetime, policy: Policy, level: str, ticket_id: int | None = None,
          visit_id: int | None = None, customer_id: int | None = None, department: str = "",
          user_id: int | None = None, role: str | None = None, escalate_role: str | None = None) -> ServiceClock:
    run_key = f"{key}:{_subject(ticket_id, visit_id)}"
    running = db.session.scalar(select(ServiceClock).where(ServiceClock.run_key == run_key))
    if running is not None:
        return running
    limit, due = due_at(key, started_at, policy)
    remind = _remind_at(key, started_at, due)
    row = ServiceClock(key=key, run_key=run_key, ticket_id=ticket_id, visit_id=visit_id, customer_id=customer_id,
                       level=str(level), department=department, user_id=user_id, role=role,
                       escalate_role=escalate_role, limit_value=limit, started_at=started_at, due_at=due,
                       remind_at=remind)
    db.session.add(row)
    db.session.flush()
    return row


def stop(key: str, *, at: datetime | None = None, ticket_id: int | None = None, visit_id: int | None = None,
         void: bool = False) -> int:
    """Stop the running clock: kept if `at` is within its limit, breached if past it; `void` when the promise
    no longer applies (the ticket was closed as a duplicate before anyone could act) — a clock already past
    its limit then stays breached. Returns rows stopped."""
    at = at or utcnow()
    run_key = f"{key}:{_subject(ticket_id, visit_id)}"
    row = db.session.scalar(select(ServiceClock).where(ServiceClock.run_key == run_key))
    if row is None:
        return 0
    row.stopped_at = at
    row.outcome = _outcome(row, at, void)
    row.run_key = None
    db.session.flush()
    _settle_reminders([row.id], note=row.outcome)
    return 1


def stop_all(ticket_id: int, *, at: datetime | None = None, void: bool = True) -> int:
    """Every clock still running for a ticket (e.g. when it is closed)."""
    at = at or utcnow()
    rows = db.session.scalars(select(ServiceClock).where(ServiceClock.ticket_id == ticket_id,
                                                         ServiceClock.stopped_at.is_(None))).all()
    for row in rows:
        row.stopped_at = at
        row.outcome = _outcome(row, at, void)
        row.run_key = None
    db.session.flush()
    _settle_reminders([r.id for r in rows], note="stopped")
    return len(rows)


def reschedule_working_days(first_day) -> int:
    """The working-day calendar changed from `first_day` on (an administrator entered 2027's holidays): the
    running working-day clocks due from that day on get their due date (and reminder time) again. A clock
    already reminded or escalated keeps that: nothing is sent twice."""
    keys = [c.key for c in kernel.clocks.values() if c.unit == "working_days"]
    if not keys:
        return 0
    since = from_local(datetime.combine(first_day, datetime.min.time()))
    rows = db.session.scalars(select(ServiceClock).where(ServiceClock.stopped_at.is_(None),
                                                         ServiceClock.key.in_(keys), ServiceClock.due_at >= since))
    moved = 0
    for row in rows:
        due = _working_days_due(row.started_at, int(row.limit_value))
        if due != row.due_at:
            row.due_at = due
            row.remind_at = _remind_at(row.key, row.started_at, due)
            moved += 1
    db.session.flush()
    return moved


def restart_from(ticket_id: int, keys: Iterable[str], started_at: datetime) -> int:
    """The moment these clocks of a ticket run from was corrected (the customer's report time, typed wrong at
    intake): each counts again from `started_at`, with the limit it started with. A running clock gets its due
    and reminder times again; a reminder or an escalation already sent stays sent (nothing is sent twice) — an
    escalation whose new limit lies ahead stays open too: the manager was told, and stopping the clock settles
    it. A stopped clock gets its outcome again (kept or breached by when it stopped; a void stays void).
    Announces `service_clocks_moved` with the local days the moved clocks fell due on before and now, whose
    figures the metrics recount. Returns the clocks moved."""
    rows = db.session.scalars(select(ServiceClock).where(ServiceClock.ticket_id == ticket_id,
                                                         ServiceClock.key.in_(list(keys)),
                                                         ServiceClock.started_at != started_at)).all()
    days = set()
    for row in rows:
        due = _due(row.key, started_at, row.limit_value)
        days |= {to_local(row.due_at).date(), to_local(due).date()}
        row.started_at, row.due_at, row.remind_at = started_at, due, _remind_at(row.key, started_at, due)
        if not row.running and row.outcome != "void":
            row.outcome = _outcome(row, row.stopped_at, void=False)
    db.session.flush()  # (updated_at moves with the row: the metrics refresh reads it)
    if days:
        kernel.emit("service_clocks_moved", days=sorted(days))
    return len(rows)


def _working_days_due(started_at: datetime, days: int) -> datetime:
    local = to_local(started_at)
    day = workday_after(local.date(), days)
    return from_local(datetime.combine(day, local.time().replace(tzinfo=None)))


def for_ticket(ticket_id: int) -> list[ServiceClock]:
    """A ticket's clocks, running and stopped (its visits' included), oldest first."""
    return list(db.session.scalars(select(ServiceClock).where(ServiceClock.ticket_id == ticket_id)
                                   .order_by(ServiceClock.started_at, ServiceClock.id)))
