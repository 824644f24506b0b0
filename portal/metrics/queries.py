"""The dashboard's figures, every one computed in SQL from the pre-aggregate (portal.metrics.refresh).

Definitions (a "period" is a range of local days; tickets belong to the day they were registered):
- raised: tickets registered in the period; solved: those of them that stand resolved now (a ticket
  reopened after an unsolved callback or by 市场部 is unsolved until it is resolved again);
  resolution rate = solved / raised.
- response time: working time from registration to the first assignment; resolution time: from
  registration to the (latest) resolution — medians and 90th percentiles (percentile_cont: linear
  interpolation between the two nearest values, the same on both databases).
- deadlines: kept = resolved by the promised deadline; missed = resolved after it, or still open past it.
- service hours: hours the engineers recorded on the period's tickets.
- satisfaction: callbacks made in the period (ticket callbacks, monthly phone callbacks, visits, …)
  that were scored; satisfied = scored 4 or 5.
- service plan: monthly phone callbacks and on-site visits due in the period (their period ends in
  it) — done = made.
- complaints: received in the period.
- service-level promises (portal.sla clocks: 2-hour emergency response, 24-hour on-site, first reply, …):
  a clock counts in the period its limit (due_at) falls in — kept, broken (stopped past the limit, or
  still running past it), or still running within it; void ones are not counted; share kept =
  kept / (kept + broken), against the policy's target (100 % unless a `<key>_target` field says otherwise).
  By department and engineer: the clock's own (who had to keep it), by level: the unit's when it started.
Department, engineer and maintenance level filters apply to what has them: the service plan belongs
to no department or engineer; callbacks not about a ticket belong to no department or engineer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from portal.auth.models import User
from portal.complaints import operations as complaint_ops
from portal.complaints.models import Complaint, ComplaintState
from portal.core.timeutil import from_local, utcnow
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.metrics import refresh
from portal.metrics.models import ClockDaily, ClockMonthly, DailyFigures, MonthlyFigures, TicketFact
from portal.metrics.periods import DashPeriod
from portal.notifications.models import Reminder
from portal.sla.models import ServiceClock
from portal.tickets.models import Callback, Ticket

MEASURES = refresh.MEASURES


@dataclass(frozen=True)
class Scope:
    period: DashPeriod
    department: str | None = None  # dev | impl; None = the whole company
    engineer_id: int | None = None
    customer_id: int | None = None
    level: str | None = None  # maintenance status of the unit

    def for_period(self, period: DashPeriod) -> "Scope":
        return replace(self, period=period)

    @property
    def start_utc(self) -> datetime:
        return from_local(datetime.combine(self.period.start, time.min))

    @property
    def end_utc(self) -> datetime:
        return from_local(datetime.combine(self.period.end, time.min))


# --- additive figures ---------------------------------------------------------------------------

def _source(scope: Scope):
    """Where the additive figures come from: the monthly table when the period is made of whole
    months, else the daily one — or, for one unit (which the tables do not keep apart), the very same
    daily figures computed on the fly from that unit's facts, callbacks and plan reminders."""
    if scope.customer_id is None:
        return (DailyFigures if scope.period.kind == "custom" else MonthlyFigures).__table__
    cid = scope.customer_id
    return refresh.daily_select(TicketFact.customer_id == cid, Callback.customer_id == cid,
                                Reminder.customer_id == cid).subquery("unit_daily")


def scope_conditions(scope: Scope, *, department=None, engineer=None, customer=None, level=None) -> list:
    """The scope's department / engineer / unit / level filters on the columns that hold them in a given table
    (a filter whose column is not given is left out: the table is already narrowed to it, or cannot be)."""
    return [column == value for value, column in ((scope.department, department), (scope.engineer_id, engineer),
                                                  (scope.customer_id, customer), (scope.level, level))
            if value and column is not None]


def _dimensions(src, scope: Scope) -> list:
    c = src.c
    return scope_conditions(scope, department=c.department, engineer=c.assignee_id, level=c.level)


def _sums(src) -> list:
    return [func.coalesce(func.sum(src.c[m]), 0).label(m) for m in MEASURES]


def _as_numbers(mapping) -> dict:
    return {m: (float(mapping[m]) if m == "hours" else int(mapping[m] or 0)) for m in MEASURES}


def totals(scope: Scope) -> dict:
    src = _source(scope)
    row = db.session.execute(
        select(*_sums(src)).where(src.c.day >= scope.period.start, src.c.day < scope.period.end,
                                  *_dimensions(src, scope))
    ).one()
    return _as_numbers(row._mapping)


def trend(scope: Scope, periods: list[DashPeriod]) -> list[dict]:
    """Totals for each of the (consecutive) periods, in one query."""
    src = _source(scope.for_period(periods[0]))
    ends = [p.end for p in periods]
    index = case(*[(src.c.day < end, i) for i, end in enumerate(ends)])
    per_day = (select(index.label("i"), *[src.c[m] for m in MEASURES])
               .where(src.c.day >= periods[0].start, src.c.day < ends[-1], *_dimensions(src, scope))
               .subquery())
    rows = db.session.execute(
        select(per_day.c.i, *[func.sum(per_day.c[m]).label(m) for m in MEASURES]).group_by(per_day.c.i)
    ).all()
    found = {r.i: _as_numbers(r._mapping) for r in rows}
    empty = {m: (0.0 if m == "hours" else 0) for m in MEASURES}
    return [found.get(i, dict(empty)) for i in range(len(periods))]


def by_engineer(scope: Scope) -> list[dict]:
    """Totals per engineer (current assignee) with any figure in the period, busiest first."""
    src = _source(scope)
    rows = db.session.execute(
        select(src.c.assignee_id, *_sums(src))
        .where(src.c.day >= scope.period.start, src.c.day < scope.period.end, src.c.assignee_id != 0,
               *_dimensions(src, scope))
        .group_by(src.c.assignee_id)
    ).all()
    names = dict(db.session.execute(select(User.id, User.display_name).where(
        User.id.in_([r.assignee_id for r in rows]))).all()) if rows else {}
    out = [dict(_as_numbers(r._mapping), engineer_id=r.assignee_id, name=names.get(r.assignee_id, "?"))
           for r in rows]
    return sorted(out, key=lambda r: (-r["raised"], r["name"]))


def by_level(scope: Scope) -> list[dict]:
    src = _source(scope)
    rows = db.session.execute(
        select(src.c.level, *_sums(src))
        .where(src.c.day >= scope.period.start, src.c.day < scope.period.end, *_dimensions(src, scope))
        .group_by(src.c.level)
    ).all()
    order = {"vip": 0, "ordinary": 1, "stopped": 2}
    return sorted((dict(_as_numbers(r._mapping), level=r.level) for r in rows), key=lambda r: order.get(r["level"], 9))


# --- medians and percentiles ----------------------------------------------------------------------

class unindexed(FunctionElement):
    """The column unchanged — but on SQLite written `+column`, which tells the planner not to use an
    index for that term (how SQLite lets a query choose between two plans)."""

    inherit_cache = True

    def __init__(self, column):
        self.type = column.type
        super().__init__(column)


@compiles(unindexed)
def _unindexed(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return "+" + compiler.process(element.clauses, **kw)


def _fact_conditions(scope: Scope, wrap=lambda column: column) -> list:
    f = TicketFact
    return [wrap(f.day) >= scope.period.start, wrap(f.day) < scope.period.end,
            *scope_conditions(scope, department=wrap(f.department), engineer=wrap(f.assignee_id),
                              level=wrap(f.level), customer=f.customer_id)]


PERCENTS = (0.5, 0.9)
# Reading one index entry in value order costs about a tenth of sorting one row.
SORT_COST = 10


def percentiles(scope: Scope, column, count: int) -> tuple[float | None, ...]:
    """Median and 90th percentile of a fact column (seconds) over the scope's tickets that have it.

    For each percentile the two values around its position are read with ORDER BY … LIMIT 2 OFFSET k, and
    interpolated the way percentile_cont does. `count` is how many tickets have the value (known from the
    totals). Two plans: walk the index on the column in value order from the nearer end until k matching rows
    have passed (cheap when the scope is a large share of all tickets: a year — at 1M tickets a third of the
    time of sorting the year's values), or take the scope's rows by day and sort them (cheap when it is a
    small one: a month, an engineer, a unit). PostgreSQL sorts with percentile_cont, both percentiles in one
    statement, when the walk is not the cheaper plan; SQLite has no percentile_cont.
    """
    if count <= 0:
        return tuple(None for _p in PERCENTS)
    everything = db.session.scalar(select(func.max(TicketFact.ticket_id))) or count
    plans = []
    for p in PERCENTS:
        position = p * (count - 1)
        lower = math.floor(position)
        upper = min(lower + 1, count - 1)
        from_top = lower >= count / 2
        skipped = count - 1 - upper if from_top else lower
        plans.append((position, lower, upper, from_top, skipped,
                      skipped * everything < SORT_COST * count * count))  # walk the value index?
    if db.engine.dialect.name == "postgresql" and not all(walk for *_rest, walk in plans):
        row = db.session.execute(select(*[func.percentile_cont(p).within_group(column) for p in PERCENTS])
                                 .where(column.is_not(None), *_fact_conditions(scope))).one()
        return tuple(float(v) if v is not None else None for v in row)
    out = []
    for position, lower, upper, from_top, skipped, walk in plans:
        if walk:
            where, order = [column.is_not(None), *_fact_conditions(scope, unindexed)], column
        else:  # take the rows by day and sort them
            where, order = [unindexed(column).is_not(None), *_fact_conditions(scope)], unindexed(column)
        q = select(column).where(*where).limit(upper - lower + 1).offset(skipped)
        values = db.session.scalars(q.order_by(order.desc() if from_top else order.asc())).all()
        if from_top:
            values.reverse()
        if not values:
            out.append(None)
            continue
        low, high = values[0], values[-1]
        out.append(low + (position - lower) * (high - low))
    return tuple(out)


def durations(scope: Scope, figures: dict) -> dict:
    response = percentiles(scope, TicketFact.response_s, figures["responded"])
    resolution = percentiles(scope, TicketFact.resolution_s, figures["solved"])
    return {"response_p50": response[0], "response_p90": response[1],
            "resolution_p50": resolution[0], "resolution_p90": resolution[1]}


# --- complaints (few: counted live) --------------------------------------------------------------

def _complaint_query(scope: Scope, *columns):
    """Complaints about the scope's unit, level, department or engineer (the complaint list's own filters)."""
    return complaint_ops.filtered(select(*columns).select_from(Complaint), customer_id=scope.customer_id,
                                  level=scope.level, department=scope.department, engineer_id=scope.engineer_id)


def complaints(scope: Scope) -> dict:
    received = ComplaintState.RECEIVED.value
    row = db.session.execute(_complaint_query(
        scope, func.count(),
        func.coalesce(func.sum(case((Complaint.state != received, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Complaint.state == ComplaintState.CONFIRMED.value, 1), else_=0)), 0),
    ).where(Complaint.received_at >= scope.start_utc, Complaint.received_at < scope.end_utc)).one()
    return {"received": int(row[0]), "handled": int(row[1]), "confirmed": int(row[2]),
            "open": int(row[0]) - int(row[1])}


def complaints_trend(scope: Scope, periods: list[DashPeriod]) -> list[int]:
    bounds = [scope.for_period(p) for p in periods]
    index = case(*[(Complaint.received_at < s.end_utc, i) for i, s in enumerate(bounds)])
    inner = _complaint_query(scope, index.label("i")).where(
        Complaint.received_at >= bounds[0].start_utc, Complaint.received_at < bounds[-1].end_utc).subquery()
    found = dict(db.session.execute(select(inner.c.i, func.count()).group_by(inner.c.i)).all())
    return [int(found.get(i, 0)) for i in range(len(periods))]


# --- ratios -------------------------------------------------------------------------------------

def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def derived(f: dict) -> dict:
    """The ratios and means shown next to the counts."""
    return {
        "resolution_rate": ratio(f["solved"], f["raised"]),
        "deadline_kept_rate": ratio(f["deadline_kept"], f["deadline_kept"] + f["deadline_missed"]),
        "satisfied_rate": ratio(f["callbacks_satisfied"], f["callbacks_scored"]),
        "satisfaction_mean": ratio(f["satisfaction_sum"], f["callbacks_scored"]),
        "plan_callbacks_rate": ratio(f["plan_callbacks_done"], f["plan_callbacks_due"]),
        "plan_visits_rate": ratio(f["plan_visits_done"], f["plan_visits_due"]),
        "response_mean": ratio(f["response_s_sum"], f["responded"]),
        "resolution_mean": ratio(f["resolution_s_sum"], f["solved"]),
    }


def freshness() -> dict:
    return refresh.status()



# --- the lists behind the callback and service-plan figures -----------------------------------------

def callbacks_query(scope: Scope, scored: bool = False, satisfied: bool = False):
    """The callbacks counted by the satisfaction figures (the same conditions as refresh.callback_part)."""
    q = (select(Callback).join(CustomerUnit, CustomerUnit.id == Callback.customer_id)
         .outerjoin(Ticket, Ticket.id == Callback.ticket_id)
         .where(Callback.made_at >= scope.start_utc, Callback.made_at < scope.end_utc,
                *scope_conditions(scope, department=Ticket.handling_department, engineer=Ticket.assignee_id,
                                  customer=Callback.customer_id, level=CustomerUnit.maintenance_status)))
    if scored or satisfied:
        q = q.where(Callback.satisfaction.is_not(None))
    if satisfied:
        q = q.where(Callback.satisfaction >= 4)
    return q


def plan_query(scope: Scope, kind: str, done: bool | None = None):
    """The service-plan items counted by the completion figures (as refresh.plan_part): due in the period."""
    q = (select(Reminder, CustomerUnit).join(CustomerUnit, CustomerUnit.id == Reminder.customer_id)
         .where(refresh.in_plan(), Reminder.kind == kind,
                Reminder.due_at >= scope.start_utc + timedelta(days=1),
                Reminder.due_at < scope.end_utc + timedelta(days=1)))
    if scope.department or scope.engineer_id:
        q = q.where(false())
    q = q.where(*scope_conditions(scope, customer=Reminder.customer_id, level=CustomerUnit.maintenance_status))
    if done is True:
        q = q.where(Reminder.closed_at.is_not(None))
    elif done is False:
        q = q.where(Reminder.closed_at.is_(None))
    return q


def count(q) -> int:
    return db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))


# --- compliance: the service-level clocks (portal.sla) ---------------------------------------------
# A clock counts in the period its limit (due_at, local day) falls in: kept, broken (stopped past its
# limit, or still running past it when the figures were last refreshed) or still running within it; void
# clocks (the promise no longer applied) are not counted. Share kept = kept / (kept + broken).

CLOCK_MEASURES = refresh.CLOCK_MEASURES


def _clock_source(scope: Scope):
    """The monthly clock table for whole months, the daily one for a custom range; for one unit, the same
    figures computed on the fly from that unit's clocks (an index on (customer_id, due_at) serves them)."""
    if scope.customer_id is None:
        return (ClockDaily if scope.period.kind == "custom" else ClockMonthly).__table__
    return refresh.clock_select(ServiceClock.customer_id == scope.customer_id, utcnow()).subquery("unit_clocks")


def _clock_numbers(row) -> dict:
    return {"kept": int(row.kept or 0), "breached": int(row.breached or 0), "running": int(row.running or 0)}


def compliance_rows(scope: Scope) -> list[dict]:
    """The period's clock figures per promise, department, engineer and level: one query, a few thousand rows
    for a year at most; every breakdown the dashboard shows is summed from these."""
    src = _clock_source(scope)
    dims = [src.c.key, src.c.department, src.c.assignee_id, src.c.level]
    rows = db.session.execute(
        select(*dims, *[func.sum(src.c[m]).label(m) for m in CLOCK_MEASURES])
        .where(src.c.day >= scope.period.start, src.c.day < scope.period.end, *_dimensions(src, scope))
        .group_by(*dims)
    ).all()
    return [dict(_clock_numbers(r), key=r.key, department=r.department, assignee_id=r.assignee_id,
                 level=r.level) for r in rows]


def compliance_by(rows: list[dict], *dims: str) -> dict:
    """The rows summed per value of `dims` (e.g. ("key",) or ("key", "level")): {values: figures}."""
    out: dict = {}
    for r in rows:
        k = tuple(r[d] for d in dims)
        f = out.setdefault(k, {m: 0 for m in CLOCK_MEASURES})
        for m in CLOCK_MEASURES:
            f[m] += r[m]
    return out


def kept_share(f: dict | None) -> float | None:
    return None if not f else ratio(f["kept"], f["kept"] + f["breached"])


def compliance_trend(scope: Scope, periods: list[DashPeriod]) -> list[dict]:
    """For each (consecutive) period: {promise key: figures}, in one query."""
    src = _clock_source(scope.for_period(periods[0]))
    ends = [p.end for p in periods]
    index = case(*[(src.c.day < end, i) for i, end in enumerate(ends)])
    per_day = (select(index.label("i"), src.c.key, *[src.c[m] for m in CLOCK_MEASURES])
               .where(src.c.day >= periods[0].start, src.c.day < ends[-1], *_dimensions(src, scope))
               .subquery())
    rows = db.session.execute(
        select(per_day.c.i, per_day.c.key, *[func.sum(per_day.c[m]).label(m) for m in CLOCK_MEASURES])
        .group_by(per_day.c.i, per_day.c.key)
    ).all()
    out: list[dict] = [{} for _p in periods]
    for r in rows:
        out[r.i][r.key] = _clock_numbers(r)
    return out


def clocks_query(scope: Scope, key: str, outcome: str, now: datetime):
    """The clocks counted by a compliance figure (the same conditions as refresh.clock_select): the promise
    `key` whose limit falls in the period, `outcome` kept | breached (stopped past the limit or running past
    it now) | running (within the limit) | all (every counted one)."""
    c = ServiceClock
    q = select(c).where(c.key == key, c.due_at >= scope.start_utc, c.due_at < scope.end_utc, refresh.counted_clocks(),
                        *scope_conditions(scope, department=c.department, engineer=c.user_id,
                                          customer=c.customer_id, level=c.level))
    running = c.stopped_at.is_(None)
    if outcome == "kept":
        q = q.where(c.outcome == "kept")
    elif outcome == "breached":
        q = q.where(or_(c.outcome == "breached", and_(running, c.due_at < now)))
    elif outcome == "running":
        q = q.where(running, c.due_at >= now)
    return q


def user_names(ids) -> dict[int, str]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
