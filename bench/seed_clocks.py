"""The service-level clocks (portal.sla) of seeded tickets, written set-based: one INSERT … SELECT per promise.

What the workflow would have kept for each ticket (see portal.sla.clocks; limits: the policy's defaults):

* emergency_response — urgent tickets: from when the customer asked (reported_at) to the first assignment, 2 h;
  department: the handling one; escalates to its manager.
* first_reply — every ticket: from reported_at to the first assignment, 3 working days (Chinese calendar:
  the same local time that many working days later); 客服's.
* tell_deadline — assigned tickets: from the first assignment, 4 h, to when 客服 told the customer the
  deadline (synthetic: 0–5 h later, so about one in six is broken).
* onsite_24h — every 20th assigned ticket needs someone on site: from the first assignment, 24 h, to the
  engineer's arrival (synthetic: 0–29 h later, about one in six broken); the assignee's.
* callback — resolved tickets: from the resolution, 24 h, to the first callback made after it; 客服's.

A clock whose stop would lie after `now` is still running (running past its limit counts as broken); one that
never stopped on a ticket that was closed is void (the promise no longer applied). Limits are whole hours and
days, so nothing here needs Python per ticket: the working-day limit is read from a small temporary table
(local day → calendar days until the third working day after it), computed once from the calendar.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import text

from portal.core import workcalendar
from portal.core.policy import policy, workday_after
from portal.core.timeutil import to_local

OFFSETS = "bench_workday_offsets"


def _offsets(conn, first: date, last: date, days: int) -> None:
    """A temporary table: each local day → the calendar days to its `days`-th working day after it."""
    pg = conn.dialect.name == "postgresql"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {OFFSETS}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {OFFSETS} (day {'DATE' if pg else 'TEXT'} PRIMARY KEY, "
                         f"plus INTEGER NOT NULL)")
    workcalendar.prime(conn)  # the administrators' holidays, read in this connection's own transaction
    rows, d = [], first
    while d <= last:
        rows.append({"day": d if pg else d.isoformat(), "plus": (workday_after(d, days) - d).days})
        d += timedelta(days=1)
    conn.execute(text(f"INSERT INTO {OFFSETS} (day, plus) VALUES (:day, :plus)"), rows)


def add_clocks(conn, first_ticket_id: int, now: datetime, echo=print) -> dict[str, int]:
    """Clocks for the tickets with id >= first_ticket_id. Returns rows written per promise."""
    pg = conn.dialect.name == "postgresql"
    pol = policy()

    def plus_hours(expr: str, hours: str) -> str:
        if pg:
            return f"({expr} + ({hours}) * INTERVAL '1 hour')"
        return f"(strftime('%Y-%m-%d %H:%M:%f', {expr}, '+' || ({hours}) || ' hours') || '000')"

    def plus_days(expr: str, days: str) -> str:
        if pg:
            return f"({expr} + ({days}) * INTERVAL '1 day')"
        return f"(strftime('%Y-%m-%d %H:%M:%f', {expr}, '+' || ({days}) || ' days') || '000')"

    local_day = "CAST((t.reported_at + INTERVAL '8 hours') AS DATE)" if pg else "date(t.reported_at, '+8 hours')"
    bounds = conn.execute(text("SELECT MIN(reported_at), MAX(reported_at) FROM tickets WHERE id >= :first"),
                          {"first": first_ticket_id}).one()
    if bounds[0] is None:
        return {}
    lo, hi = (v if isinstance(v, datetime) else datetime.fromisoformat(v) for v in bounds)
    _offsets(conn, to_local(lo).date() - timedelta(days=1), to_local(hi).date() + timedelta(days=1),
             pol.first_reply_working_days)
    first_callback = ("(SELECT MIN(c.made_at) FROM callbacks c WHERE c.ticket_id = t.id AND c.kind = 'ticket' "
                      "AND c.made_at >= t.resolved_at)")
    # key: (limit, start, due, stop, extra join, where, department, user, role, escalate)
    promises = {
        "emergency_response": (pol.emergency_response_hours, "t.reported_at",
                               plus_hours("t.reported_at", str(pol.emergency_response_hours)), "t.first_assigned_at",
                               "", "t.urgent", "t.handling_department", "CAST(NULL AS INTEGER)", "CAST(NULL AS VARCHAR)",
                               "CASE WHEN t.handling_department = 'impl' THEN 'impl_manager' ELSE 'dev_manager' END"),
        "first_reply": (pol.first_reply_working_days, "t.reported_at", plus_days("t.reported_at", "o.plus"),
                        "t.first_assigned_at", f"JOIN {OFFSETS} o ON o.day = {local_day}", "1 = 1", "'cs'", "CAST(NULL AS INTEGER)",
                        "'cs'", "'cs'"),
        "tell_deadline": (pol.tell_deadline_within_hours, "t.first_assigned_at",
                          plus_hours("t.first_assigned_at", str(pol.tell_deadline_within_hours)),
                          plus_hours("t.first_assigned_at", "t.id % 6"), "", "t.first_assigned_at IS NOT NULL",
                          "'cs'", "CAST(NULL AS INTEGER)", "'cs'", "'cs'"),
        "onsite_24h": (pol.onsite_within_hours, "t.first_assigned_at",
                       plus_hours("t.first_assigned_at", str(pol.onsite_within_hours)),
                       plus_hours("t.first_assigned_at", "(t.id / 20) % 30"), "",
                       "t.first_assigned_at IS NOT NULL AND t.assignee_id IS NOT NULL AND t.id % 20 = 0",
                       "t.handling_department", "t.assignee_id", "CAST(NULL AS VARCHAR)",
                       "CASE WHEN t.handling_department = 'impl' THEN 'impl_manager' ELSE 'dev_manager' END"),
        "callback": (pol.callback_within_hours, "t.resolved_at",
                     plus_hours("t.resolved_at", str(pol.callback_within_hours)), first_callback, "",
                     "t.resolved_at IS NOT NULL", "'cs'", "CAST(NULL AS INTEGER)", "'cs'", "'cs'"),
    }
    written = {}
    now_param = now if pg else now.isoformat(" ", "microseconds")
    for key, (limit, start, due, stop, join, where, dept, user, role, escalate) in promises.items():
        inner = (f"SELECT t.id, t.customer_id, u.maintenance_status AS level, {dept} AS dept, {user} AS user_id, "
                 f"{role} AS role, {escalate} AS escalate, {start} AS started, {due} AS due, "
                 f"CASE WHEN {stop} <= :now THEN {stop} END AS stop, t.closed_at "
                 f"FROM tickets t JOIN customer_units u ON u.id = t.customer_id {join} "
                 f"WHERE t.id >= :first AND {where} AND {start} IS NOT NULL")
        run_key = f"'{key}:t' || CAST(s.id AS TEXT)"
        sql = (
            "INSERT INTO service_clocks (key, run_key, ticket_id, visit_id, customer_id, level, department, user_id, "
            "role, escalate_role, limit_value, started_at, due_at, remind_at, stopped_at, outcome, reminded_at, "
            "escalated_at, created_at, updated_at) "
            f"SELECT '{key}', CASE WHEN s.stop IS NULL AND s.closed_at IS NULL THEN {run_key} END, s.id, NULL, "
            f"s.customer_id, s.level, s.dept, s.user_id, s.role, s.escalate, {float(limit)}, s.started, s.due, s.due, "
            "COALESCE(s.stop, s.closed_at), "
            "CASE WHEN s.stop IS NOT NULL THEN CASE WHEN s.stop <= s.due THEN 'kept' ELSE 'breached' END "
            "     WHEN s.closed_at IS NOT NULL THEN 'void' END, "
            "NULL, NULL, s.started, COALESCE(s.stop, s.closed_at, s.started) "
            f"FROM ({inner}) s"
        )
        result = conn.execute(text(sql), {"first": first_ticket_id, "now": now_param})
        written[key] = result.rowcount
        conn.commit()
        echo(f"service clocks: {key} {result.rowcount:,}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {OFFSETS}")
    conn.commit()
    return written


def vacuum(conn) -> None:
    """PostgreSQL: statistics and the visibility map for the freshly loaded clocks (as seed._finish_postgres)."""
    if conn.dialect.name != "postgresql":
        return
    raw = conn.connection.driver_connection
    raw.autocommit = True
    try:
        raw.execute("VACUUM (ANALYZE) service_clocks")
    finally:
        raw.autocommit = False
