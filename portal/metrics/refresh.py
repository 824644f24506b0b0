"""Keeping the metrics pre-aggregate current (see models.py for the tables).

`refresh()` (every few minutes) reads what changed since the last run and recomputes only that:
the facts of tickets with new history events, of open tickets whose deadline has just passed and
of units whose maintenance level changed; then the daily rows of every day those tickets, new
callbacks and changed service-plan reminders fall on. `rebuild()` (nightly, and the first time)
recomputes everything in chunks, each its own short transaction, so SQLite writers are not held
up for long. Every statement is set-based (INSERT … SELECT); nothing loops over tickets in Python.

The service-level clocks (portal.sla) are counted on the local day their limit falls on (`due_at`): a
period's compliance is then final soon after the period ends (every clock due in it is kept, broken, or
void by then), and a later change of the policy, which only sets the limits of clocks started after it,
never moves a clock from one period to another. A clock still running past its limit counts as broken as of
the refresh that saw it; void clocks are not counted. The refresh recomputes the days of the clocks changed
since its last run (`updated_at`) and of those whose limit has passed meanwhile while they ran.

On PostgreSQL ids are taken by transactions that may commit after a refresh has read past them; each
run therefore looks back a few ids (LOOKBACK). The nightly rebuild is the safety net for anything else
(e.g. a service-plan sweep that was still inserting while a refresh ran).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, delete, func, insert, literal_column, or_, select, text, union, union_all
from sqlalchemy.orm import aliased

from portal.core.enums import State
from portal.core.redis_conn import get_redis
from portal.core.timeutil import from_local, to_local, utcnow
from portal.customers.models import CustomerUnit, MaintenanceStatusChange
from portal.extensions import db
from portal.metrics import calendar
from portal.metrics.calendar import local_day, month_start, working_seconds_before
from portal.metrics.models import (ClockDaily, ClockMonthly, DailyFigures, MonthlyFigures, RefreshState, TicketFact,
                                   WorkCalendarDay)
from portal.notifications.models import Reminder
from portal.service_plan import operations as service_plan
from portal.sla.models import ServiceClock
from portal.tickets import conditions
from portal.tickets.models import Callback, Event, Ticket

# PostgreSQL hands out ids before commit: a row just below the last refresh's mark may have been
# committed after it. Each refresh re-reads the last few ids below the mark that are recent (MARGIN).
# SQLite writers take turns, so nothing is in flight there.
LOOKBACK = {"event_id": 200, "callback_id": 50, "reminder_id": 50, "status_change_id": 10}
MAX_CHANGED_TICKETS = 50_000  # beyond this a full rebuild is quicker
MARGIN = timedelta(minutes=10)  # for times: deadlines passed, reminders closed
TICKET_CHUNK = 50_000
PER_STATEMENT = 900  # bound parameters in one IN (…)
PLAN_KINDS = tuple(service_plan.PLAN_KINDS.values())  # the service plan's reminders the dashboard counts
PLAN_DONE_NOTE = service_plan.DONE_NOTE  # what the service plan closes them with when the callback / visit is made

FACT_COLUMNS = ["ticket_id", "day", "department", "assignee_id", "customer_id", "level", "solved", "response_s",
                "resolution_s", "deadline_kept", "deadline_missed", "hours"]
MEASURES = ["raised", "solved", "responded", "response_s_sum", "resolution_s_sum", "deadline_kept", "deadline_missed",
            "hours", "callbacks_scored", "callbacks_satisfied", "satisfaction_sum", "plan_callbacks_due",
            "plan_callbacks_done", "plan_visits_due", "plan_visits_done"]
DIMENSIONS = ["day", "department", "assignee_id", "level"]
CLOCK_DIMENSIONS = ["day", "key", "department", "assignee_id", "level"]
CLOCK_MEASURES = ["kept", "breached", "running"]


def _flag(condition):
    return case((condition, 1), else_=0)


def facts_select(where):
    """One fact row per ticket matching `where` (a condition on Ticket)."""
    c0, c1, c2 = aliased(WorkCalendarDay), aliased(WorkCalendarDay), aliased(WorkCalendarDay)
    start = working_seconds_before(c0, Ticket.created_at)
    resolved = Ticket.resolved_at
    return (
        select(
            Ticket.id, c0.day, Ticket.handling_department, func.coalesce(Ticket.assignee_id, 0), Ticket.customer_id,
            CustomerUnit.maintenance_status,
            _flag(conditions.solved()),
            working_seconds_before(c1, Ticket.first_assigned_at) - start,
            working_seconds_before(c2, resolved) - start,
            _flag(conditions.deadline_kept()),
            _flag(conditions.deadline_missed()),
            func.coalesce(Ticket.hours_spent, 0),
        )
        .select_from(Ticket)
        .join(CustomerUnit, CustomerUnit.id == Ticket.customer_id)
        .join(c0, c0.day == local_day(Ticket.created_at))
        .outerjoin(c1, c1.day == local_day(Ticket.first_assigned_at))
        .outerjoin(c2, c2.day == local_day(resolved))
        .where(where)
    )


def _measures(**given) -> list:
    return [given[m].label(m) if m in given else literal_column("0").label(m) for m in MEASURES]


def ticket_part(where):
    f = TicketFact
    return select(
        f.day.label("day"), f.department.label("department"), f.assignee_id.label("assignee_id"),
        f.level.label("level"),
        *_measures(raised=literal_column("1"), solved=f.solved, responded=_flag(f.response_s.is_not(None)),
                   response_s_sum=func.coalesce(f.response_s, 0), resolution_s_sum=func.coalesce(f.resolution_s, 0),
                   deadline_kept=f.deadline_kept, deadline_missed=f.deadline_missed, hours=f.hours),
    ).where(where)


def callback_part(where):
    """Callbacks of every kind; those about a ticket count for the ticket's department and engineer."""
    return (
        select(
            local_day(Callback.made_at).label("day"),
            func.coalesce(Ticket.handling_department, literal_column("''")).label("department"),
            func.coalesce(Ticket.assignee_id, 0).label("assignee_id"),
            CustomerUnit.maintenance_status.label("level"),
            *_measures(callbacks_scored=_flag(Callback.satisfaction.is_not(None)),
                       callbacks_satisfied=_flag(Callback.satisfaction >= 4),
                       satisfaction_sum=func.coalesce(Callback.satisfaction, 0)),
        )
        .select_from(Callback)
        .join(CustomerUnit, CustomerUnit.id == Callback.customer_id)
        .outerjoin(Ticket, Ticket.id == Callback.ticket_id)
        .where(where)
    )


def plan_day():
    """A service-plan reminder is due at the end of its period: it counts on the period's last day."""
    return local_day(Reminder.due_at, minus_days=1)


def in_plan():
    """Monthly callbacks and visits the plan asked for: still open, or closed because they were made
    (not those settled because the unit's maintenance stopped or its level changed)."""
    return and_(Reminder.kind.in_(list(PLAN_KINDS)),
                or_(Reminder.closed_at.is_(None), Reminder.closed_note == PLAN_DONE_NOTE))


def plan_part(where):
    done = and_(Reminder.closed_at.is_not(None), Reminder.closed_note == PLAN_DONE_NOTE)
    is_cb, is_visit = Reminder.kind == "monthly_callback", Reminder.kind == "visit"
    return (
        select(
            plan_day().label("day"), literal_column("''").label("department"), literal_column("0").label("assignee_id"),
            CustomerUnit.maintenance_status.label("level"),
            *_measures(plan_callbacks_due=_flag(is_cb), plan_callbacks_done=_flag(and_(is_cb, done)),
                       plan_visits_due=_flag(is_visit), plan_visits_done=_flag(and_(is_visit, done))),
        )
        .select_from(Reminder)
        .join(CustomerUnit, CustomerUnit.id == Reminder.customer_id)
        .where(in_plan(), where)
    )


def daily_select(ticket_where, callback_where, plan_where, group_by=DIMENSIONS):
    parts = union_all(ticket_part(ticket_where), callback_part(callback_where), plan_part(plan_where)).subquery()
    return (
        select(*[parts.c[d] for d in group_by], *[func.sum(parts.c[m]).label(m) for m in MEASURES])
        .group_by(*[parts.c[d] for d in group_by])
    )


def clock_measures(now: datetime) -> list:
    """kept / broken / still running within the limit, for one clock row (void rows are filtered out)."""
    c = ServiceClock
    running = c.stopped_at.is_(None)
    return [_flag(c.outcome == "kept"),
            _flag(or_(c.outcome == "breached", and_(running, c.due_at < now))),
            _flag(and_(running, c.due_at >= now))]


def counted_clocks():
    """The clocks the compliance figures count: every one but the void."""
    return or_(ServiceClock.outcome.is_(None), ServiceClock.outcome != "void")


def clock_select(where, now: datetime, group_by=CLOCK_DIMENSIONS):
    """The clock figures of the clocks matching `where`, per local day of their limit and the dimensions."""
    c = ServiceClock
    columns = {"day": local_day(c.due_at), "key": c.key, "department": c.department,
               "assignee_id": func.coalesce(c.user_id, 0), "level": c.level}
    rows = select(*[columns[d].label(d) for d in group_by],
                  *[m.label(name) for m, name in zip(clock_measures(now), CLOCK_MEASURES)]
                  ).where(counted_clocks(), where).subquery()
    return (select(*[rows.c[d] for d in group_by], *[func.sum(rows.c[m]).label(m) for m in CLOCK_MEASURES])
            .group_by(*[rows.c[d] for d in group_by]))


# --- writing --------------------------------------------------------------------------------

def _utc_midnight(d: date) -> datetime:
    return from_local(datetime.combine(d, time.min))


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days: [(first, last), …]."""
    runs: list[tuple[date, date]] = []
    for d in days:
        if runs and d == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def _write_day_range(first: date, last: date) -> None:
    db.session.execute(delete(DailyFigures).where(DailyFigures.day >= first, DailyFigures.day <= last))
    lo, hi = _utc_midnight(first), _utc_midnight(last + timedelta(days=1))
    sel = daily_select(
        and_(TicketFact.day >= first, TicketFact.day <= last),
        and_(Callback.made_at >= lo, Callback.made_at < hi),
        and_(Reminder.due_at >= lo + timedelta(days=1), Reminder.due_at < hi + timedelta(days=1)),
    )
    db.session.execute(insert(DailyFigures).from_select(DIMENSIONS + MEASURES, sel))
    db.session.execute(delete(ClockDaily).where(ClockDaily.day >= first, ClockDaily.day <= last))
    clocks = clock_select(and_(ServiceClock.due_at >= lo, ServiceClock.due_at < hi), utcnow())
    db.session.execute(insert(ClockDaily).from_select(CLOCK_DIMENSIONS + CLOCK_MEASURES, clocks))


def _write_months(first: date, last: date, months: list[date] | None = None) -> None:
    """Sum the daily rows of [first, last] (whole months) into their months — or only into `months`."""
    m = month_start(DailyFigures.day)
    where = [DailyFigures.day >= first, DailyFigures.day <= last]
    gone = [MonthlyFigures.day >= first, MonthlyFigures.day <= last]
    if months is not None:
        where.append(m.in_(months))
        gone.append(MonthlyFigures.day.in_(months))
    db.session.execute(delete(MonthlyFigures).where(*gone))
    dims = [m, DailyFigures.department, DailyFigures.assignee_id, DailyFigures.level]
    sel = (select(*dims, *[func.sum(getattr(DailyFigures, k)) for k in MEASURES])
           .where(*where).group_by(*dims))
    db.session.execute(insert(MonthlyFigures).from_select(DIMENSIONS + MEASURES, sel))
    cm = month_start(ClockDaily.day)
    where = [ClockDaily.day >= first, ClockDaily.day <= last]
    gone = [ClockMonthly.day >= first, ClockMonthly.day <= last]
    if months is not None:
        where.append(cm.in_(months))
        gone.append(ClockMonthly.day.in_(months))
    db.session.execute(delete(ClockMonthly).where(*gone))
    dims = [cm, ClockDaily.key, ClockDaily.department, ClockDaily.assignee_id, ClockDaily.level]
    sel = (select(*dims, *[func.sum(getattr(ClockDaily, k)) for k in CLOCK_MEASURES]).where(*where).group_by(*dims))
    db.session.execute(insert(ClockMonthly).from_select(CLOCK_DIMENSIONS + CLOCK_MEASURES, sel))


def _month_end(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _write_facts(ticket_where) -> None:
    """Recompute the facts of the tickets matching `ticket_where` (ids in a range or in a list)."""
    db.session.execute(delete(TicketFact).where(TicketFact.ticket_id.in_(select(Ticket.id).where(ticket_where))))
    db.session.execute(insert(TicketFact).from_select(FACT_COLUMNS, facts_select(ticket_where)))


def _marks() -> dict:
    """The newest ids now: the next refresh reads from here (minus LOOKBACK)."""
    return {
        "event_id": db.session.scalar(select(func.max(Event.id))) or 0,
        "callback_id": db.session.scalar(select(func.max(Callback.id))) or 0,
        "reminder_id": db.session.scalar(select(func.max(Reminder.id))) or 0,
        "status_change_id": db.session.scalar(select(func.max(MaintenanceStatusChange.id))) or 0,
    }


def _state() -> RefreshState | None:
    return db.session.get(RefreshState, 1)


def _save_state(marks: dict, now: datetime, rebuilt: bool) -> None:
    state = _state() or RefreshState(id=1)
    for k, v in marks.items():
        setattr(state, k, v)
    state.refreshed_at = now
    if rebuilt:
        state.rebuilt_at = now
    db.session.add(state)


def _dates(stmt) -> set[date]:
    out = set()
    for (d,) in db.session.execute(stmt):
        out.add(d if isinstance(d, date) else date.fromisoformat(d))
    return out


def rebuild(commit=None) -> dict:
    """Recompute everything. `commit` (e.g. db.session.commit) is called after every chunk."""
    commit = commit or (lambda: None)
    now, marks = utcnow(), _marks()
    calendar.ensure()
    commit()
    lo, hi = db.session.execute(select(func.min(Ticket.id), func.max(Ticket.id))).one()
    if lo is not None:
        for start in range(lo, hi + 1, TICKET_CHUNK):
            _write_facts(and_(Ticket.id >= start, Ticket.id < start + TICKET_CHUNK))
            commit()
    today = to_local(now).date()
    first = min(d for d in (_first_day(), today) if d)
    first = date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)  # whole quarters, so whole months
    last = date(today.year + 1, 12, 31)  # plan reminders fall due up to a quarter ahead
    for table in (DailyFigures, MonthlyFigures, ClockDaily, ClockMonthly):
        db.session.execute(delete(table).where(or_(table.day < first, table.day > last)))
    day = first
    while day <= last:
        end = _month_end(_month_end(_month_end(day) + timedelta(days=1)) + timedelta(days=1))
        _write_day_range(day, end)
        _write_months(day, end)
        commit()
        day = end + timedelta(days=1)
    _save_state(marks, now, rebuilt=True)
    commit()
    _analyze()
    return {"tickets": db.session.scalar(select(func.count()).select_from(TicketFact))}


def _first_day() -> date | None:
    firsts = [db.session.scalar(select(func.min(TicketFact.day))),
              db.session.scalar(select(func.min(Callback.made_at))),
              db.session.scalar(select(func.min(Reminder.due_at)).where(in_plan())),
              db.session.scalar(select(func.min(ServiceClock.due_at)))]
    days = []
    for v in firsts:
        if v is None:
            continue
        if isinstance(v, str):
            v = date.fromisoformat(v[:10])
        days.append(to_local(v).date() if isinstance(v, datetime) else v)
    return min(days) if days else None


def _analyze() -> None:
    """Fresh planner statistics after a rebuild (the query planner picks the percentile indexes by them)."""
    for table in ("metrics_ticket_facts", "metrics_daily", "metrics_monthly", "metrics_clock_daily",
                  "metrics_clock_monthly"):
        db.session.execute(text(f"ANALYZE {table}"))


def refresh(commit=None) -> dict:
    """Bring the pre-aggregate up to date with what changed since the last run (a rebuild the first time)."""
    state = _state()
    if state is None or state.refreshed_at is None:
        return rebuild(commit)
    now, marks = utcnow(), _marks()
    since = state.refreshed_at - MARGIN
    changed_from = calendar.ensure()
    if changed_from is not None and changed_from <= to_local(now).date():
        # The official schedule of a past day changed (chinesecalendar upgraded): working times move.
        return rebuild(commit)

    def since_last(id_column, time_column, mark: str):
        """Rows added since the last refresh: newer ids, and (PostgreSQL) recent rows just below the mark
        that a transaction still running then may have committed since."""
        newer = id_column > getattr(state, mark)
        if db.engine.dialect.name != "postgresql":
            return newer
        return or_(newer, and_(id_column > getattr(state, mark) - LOOKBACK[mark], time_column >= since))

    new_units = select(MaintenanceStatusChange.customer_id).where(since_last(
        MaintenanceStatusChange.id, MaintenanceStatusChange.changed_at, "status_change_id"))
    changed = set(db.session.scalars(union(
        select(Event.ticket_id).where(since_last(Event.id, Event.created_at, "event_id")),
        # a deadline that passed since the last run turns an open ticket's deadline into a missed one
        select(Ticket.id).where(Ticket.state == State.ASSIGNED.value, Ticket.deadline >= since, Ticket.deadline < now),
        select(Ticket.id).where(Ticket.customer_id.in_(new_units)),
    )))
    if len(changed) > MAX_CHANGED_TICKETS:
        return rebuild(commit)
    days: set[date] = set()
    cb_day = local_day(Callback.made_at)
    ordered_ids = sorted(changed)
    for i in range(0, len(ordered_ids), PER_STATEMENT):
        chunk = ordered_ids[i:i + PER_STATEMENT]
        _write_facts(Ticket.id.in_(chunk))
        days |= _dates(select(TicketFact.day).where(TicketFact.ticket_id.in_(chunk)).distinct())
        days |= _dates(select(cb_day).where(Callback.ticket_id.in_(chunk)).distinct())
    days |= _dates(select(cb_day).where(since_last(Callback.id, Callback.made_at, "callback_id")).distinct())
    days |= _dates(select(cb_day).where(Callback.customer_id.in_(new_units)).distinct())
    days |= _dates(select(plan_day()).where(in_plan(), since_last(Reminder.id, Reminder.created_at, "reminder_id"))
                   .distinct())
    days |= _dates(select(plan_day()).where(in_plan(), Reminder.closed_at >= since).distinct())
    days |= _dates(select(plan_day()).where(in_plan(), Reminder.customer_id.in_(new_units)).distinct())
    clock_day = local_day(ServiceClock.due_at)
    # clocks started, stopped (kept, broken, void) or otherwise changed since the last run …
    days |= _dates(select(clock_day).where(ServiceClock.updated_at >= since).distinct())
    # … and those still running whose limit has passed since (they now count as broken)
    days |= _dates(select(clock_day).where(ServiceClock.stopped_at.is_(None), ServiceClock.due_at >= since,
                                           ServiceClock.due_at < now).distinct())
    ordered = sorted(days)
    for first, last in _runs(ordered):  # each a range the indexes on the days serve
        _write_day_range(first, last)
    months = sorted({d.replace(day=1) for d in ordered})
    for i in range(0, len(months), PER_STATEMENT):
        chunk = months[i:i + PER_STATEMENT]
        _write_months(chunk[0], _month_end(chunk[-1]), chunk)
    _save_state(marks, now, rebuilt=False)
    return {"days": len(ordered)}


def refresh_days(days: list[date]) -> dict:
    """Recount the figures of these days and of their months (a clock moved from one day to another:
    portal.metrics.area.clocks_moved). Nothing before the first refresh, which counts everything anyway."""
    if _state() is None:
        return {"days": 0}
    ordered = sorted(set(days))
    for first, last in _runs(ordered):
        _write_day_range(first, last)
    months = sorted({d.replace(day=1) for d in ordered})
    if months:
        _write_months(months[0], _month_end(months[-1]), months)
    return {"days": len(ordered)}


# --- one refresh at a time ----------------------------------------------------------------------

class Busy(Exception):
    """Another refresh or rebuild is running."""


@contextmanager
def exclusive(timeout: int = 3600):
    lock = get_redis().lock("portal:metrics:refresh", timeout=timeout, blocking=False)
    if not lock.acquire(blocking=False):
        raise Busy()
    try:
        yield
    finally:
        try:
            lock.release()
        except Exception:  # expired meanwhile: nothing to release
            pass


def run_in_this_process(work) -> tuple[dict, float]:
    """Run `refresh` or `rebuild` here and now (a command, not a job), under the jobs' lock; commits.
    Returns what it did and how many seconds it took; raises Busy if a job is running one."""
    import time as clock

    with exclusive():
        started = clock.perf_counter()
        result = work(db.session.commit)
        db.session.commit()
    return result, clock.perf_counter() - started


def status() -> dict:
    state = _state()
    return {"refreshed_at": state.refreshed_at if state else None, "rebuilt_at": state.rebuilt_at if state else None}
