"""The figures of a maintenance summary (维护总结) for one unit and one period, computed in SQL:
a handful of aggregate queries whose number does not grow with the data.

Tickets counted are those registered in the period. "Solved" means the ticket reached a
resolution that still stands (resolved_at is set by resolve/answer and cleared again by an
unsolved callback or a reopen). Times are hours between the recorded instants."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, case, func, select

from portal.core.enums import CallbackKind, State, TicketType
from portal.core.policy import cadence, policy_for
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.service_plan import periods
from portal.tickets.models import Callback, Ticket
from portal.visits.models import Visit, VisitOrigin, VisitState

PERIOD_RE = re.compile(r"^(\d{4})(?:Q([1-4]))?$")
LISTED_TICKETS = 200


def parse_period(key: str) -> periods.Period | None:
    """'2026Q3' → that quarter, '2026' → that year; anything else → None."""
    m = PERIOD_RE.match((key or "").strip())
    if not m:
        return None
    year = int(m.group(1))
    if not 2000 <= year <= 2100:
        return None
    if m.group(2):
        return periods.quarter(date(year, 3 * int(m.group(2)) - 2, 1))
    return periods.year(date(year, 1, 1))


def is_quarter(p: periods.Period) -> bool:
    return "Q" in p.key


def hours_between(later, earlier):
    """(later − earlier) in hours, for the running database."""
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


@dataclass
class TicketRow:
    number: str
    created_at: datetime
    type: str
    summary: str
    state: str
    resolved_at: datetime | None


@dataclass
class Figures:
    period: periods.Period
    by_type_state: dict[tuple[str, str], int] = field(default_factory=dict)
    raised: int = 0
    solved: int = 0
    avg_response_hours: float | None = None     # registered → first assigned
    avg_resolution_hours: float | None = None   # registered → resolved / answered
    deadline_total: int = 0                     # deadlines that have come (or were met)
    deadline_kept: int = 0
    callbacks: dict[str, int] = field(default_factory=dict)  # by Callback kind
    planned_monthly: int = 0
    planned_visits: int = 0
    visits_done: dict[str, int] = field(default_factory=dict)  # done on-site visits by origin (plan | ticket)
    scored: int = 0
    avg_satisfaction: float | None = None
    satisfied: int = 0                           # scores of 4 or 5
    tickets: list[TicketRow] = field(default_factory=list)

    @property
    def resolution_rate(self) -> float | None:
        return self.solved / self.raised if self.raised else None

    @property
    def deadline_rate(self) -> float | None:
        return self.deadline_kept / self.deadline_total if self.deadline_total else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.scored if self.scored else None

    @property
    def satisfaction_target(self) -> float:
        return policy_for(None).satisfaction_target

    @property
    def satisfaction_met(self) -> bool:
        """Above the target, strictly, as the standard says (满意率 > 85%)."""
        return self.satisfaction_rate is not None and self.satisfaction_rate > self.satisfaction_target

    @property
    def maintenance_visits(self) -> int:
        """Planned maintenance visits done: on-site visit records, plus those recorded as callbacks before
        on-site service had records of its own (issue 15; no longer recordable that way)."""
        return self.visits_done.get(VisitOrigin.PLAN.value, 0) + self.callbacks.get("visit", 0)

    @property
    def types(self) -> list[str]:
        return [t.value for t in TicketType]

    @property
    def states(self) -> list[str]:
        """The states that occur, in workflow order."""
        present = {s for (_t, s) in self.by_type_state}
        return [s.value for s in State if s.value in present]

    def count(self, ticket_type: str | None = None, state: str | None = None) -> int:
        return sum(n for (t, s), n in self.by_type_state.items()
                   if (ticket_type is None or t == ticket_type) and (state is None or s == state))


def compute(customer_id: int, period: periods.Period, maintenance_status: str, as_of: datetime | None = None) -> Figures:
    as_of = min(as_of or utcnow(), period.end_utc)
    f = Figures(period=period)
    in_period = and_(Ticket.customer_id == customer_id, Ticket.created_at >= period.start_utc,
                     Ticket.created_at < period.end_utc)

    for ticket_type, state, n in db.session.execute(
            select(Ticket.type, Ticket.state, func.count()).where(in_period).group_by(Ticket.type, Ticket.state)):
        f.by_type_state[(ticket_type, state)] = n
    f.raised = sum(f.by_type_state.values())

    solved = Ticket.resolved_at.is_not(None)
    deadline_due = and_(Ticket.deadline.is_not(None), (Ticket.resolved_at.is_not(None)) | (Ticket.deadline < as_of))
    row = db.session.execute(select(
        func.count(case((solved, 1))),
        func.avg(case((Ticket.first_assigned_at.is_not(None), hours_between(Ticket.first_assigned_at, Ticket.created_at)))),
        func.avg(case((solved, hours_between(Ticket.resolved_at, Ticket.created_at)))),
        func.count(case((deadline_due, 1))),
        func.count(case((and_(deadline_due, solved, Ticket.resolved_at <= Ticket.deadline), 1))),
    ).where(in_period)).one()
    f.solved, f.avg_response_hours, f.avg_resolution_hours, f.deadline_total, f.deadline_kept = (
        row[0], _float(row[1]), _float(row[2]), row[3], row[4])

    cb_in_period = and_(Callback.customer_id == customer_id, Callback.made_at >= period.start_utc,
                        Callback.made_at < period.end_utc)
    f.callbacks = {kind: n for kind, n in db.session.execute(
        select(Callback.kind, func.count()).where(cb_in_period).group_by(Callback.kind))}
    scored = db.session.execute(select(
        func.count(Callback.satisfaction), func.avg(Callback.satisfaction),
        func.count(case((Callback.satisfaction >= 4, 1))),
    ).where(cb_in_period)).one()
    f.scored, f.avg_satisfaction, f.satisfied = scored[0], _float(scored[1]), scored[2]

    f.visits_done = {origin: n for origin, n in db.session.execute(
        select(Visit.origin, func.count()).where(
            Visit.customer_id == customer_id, Visit.state == VisitState.DONE.value,
            Visit.left_at >= period.start_utc, Visit.left_at < period.end_utc).group_by(Visit.origin))}

    months = periods.MONTHS["quarter" if is_quarter(period) else "year"]
    level = cadence(maintenance_status)
    if level.callback:
        f.planned_monthly = months // periods.MONTHS[level.callback]
    if level.visit:
        f.planned_visits = months // periods.MONTHS[level.visit]

    f.tickets = [TicketRow(*r) for r in db.session.execute(
        select(Ticket.number, Ticket.created_at, Ticket.type, Ticket.summary, Ticket.state, Ticket.resolved_at)
        .where(in_period).order_by(Ticket.created_at, Ticket.id).limit(LISTED_TICKETS))]
    return f


def _float(value) -> float | None:
    return None if value is None else float(value)


CALLBACK_KINDS = [k.value for k in CallbackKind]
