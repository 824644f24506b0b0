"""The tables behind the exports: the dashboard's (summary, trend, by engineer, by level), the ticket
list's and a unit's history. Each is built from the same figures the pages show."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from portal.complaints.models import Complaint, ComplaintState
from portal.core.enums import CallbackKind, CloseReason, DepartmentKey, MaintenanceStatus, State, TicketType
from portal.core.policy import policy_for
from portal.customers.models import CustomerUnit, MaintenanceStatusChange
from portal.extensions import db
from portal.metrics.dashboard import DAY, Dashboard, hours
from portal.metrics.exports import Column, Table, Typed
from portal.tickets.access import mask_name, mask_phone
from portal.tickets.models import Callback, Ticket


def _title(enum, value) -> str:
    try:
        return str(enum(value).title)
    except ValueError:
        return value or ""


def _yes_no(ok: bool | None) -> str:
    return "" if ok is None else (_("yes") if ok else _("no"))


def summary_table(d: Dashboard) -> Table:
    pol, f, r, du, c = policy_for(d.scope.level), d.figures, d.ratios, d.durations, d.complaints
    judged = not (d.scope.department or d.scope.engineer_id)
    plan_ok = d.scope.period.ended and judged

    def at_least(value, target):
        return None if value is None else value >= target

    def above(value, target):  # the standard: satisfaction above 85 %
        return None if value is None else value > target

    rows = [
        [_("Tickets raised"), f["raised"], "int", None, None],
        [_("Tickets solved"), f["solved"], "int", None, None],
        [_("Resolution rate"), r["resolution_rate"], "pct", pol.resolution_rate_target,
         at_least(r["resolution_rate"], pol.resolution_rate_target)],
        [_("Response time, median (working hours)"), hours(du["response_p50"]), "float1", None, None],
        [_("Response time, P90 (working hours)"), hours(du["response_p90"]), "float1",
         pol.first_reply_working_days * 24,
         None if du["response_p90"] is None else du["response_p90"] <= pol.first_reply_working_days * DAY],
        [_("Resolution time, median (working hours)"), hours(du["resolution_p50"]), "float1", None, None],
        [_("Resolution time, P90 (working hours)"), hours(du["resolution_p90"]), "float1", None, None],
        [_("Deadlines kept"), f["deadline_kept"], "int", None, None],
        [_("Deadlines missed"), f["deadline_missed"], "int", None, None],
        [_("Deadlines kept (share)"), r["deadline_kept_rate"], "pct", pol.deadline_kept_target,
         at_least(r["deadline_kept_rate"], pol.deadline_kept_target)],
        [_("Callbacks scored"), f["callbacks_scored"], "int", None, None],
        [_("Callbacks scored 4–5"), f["callbacks_satisfied"], "int", None, None],
        [_("Satisfaction (share scored 4–5)"), r["satisfied_rate"], "pct", pol.satisfaction_target,
         above(r["satisfied_rate"], pol.satisfaction_target)],
        [_("Mean satisfaction (1–5)"), r["satisfaction_mean"], "float2", None, None],
    ]
    if judged:
        rows += [
            [_("Monthly phone callbacks due"), f["plan_callbacks_due"], "int", None, None],
            [_("Monthly phone callbacks done"), f["plan_callbacks_done"], "int", None, None],
            [_("Monthly phone callbacks (share done)"), r["plan_callbacks_rate"], "pct", pol.plan_completion_target,
             at_least(r["plan_callbacks_rate"], pol.plan_completion_target) if plan_ok else None],
            [_("On-site visits due"), f["plan_visits_due"], "int", None, None],
            [_("On-site visits done"), f["plan_visits_done"], "int", None, None],
            [_("On-site visits (share done)"), r["plan_visits_rate"], "pct", pol.plan_completion_target,
             at_least(r["plan_visits_rate"], pol.plan_completion_target) if plan_ok else None],
        ]
    rows += [
        [_("Service hours (h)"), f["hours"], "float1", None, None],
        [_("Complaints received"), c["received"], "int", None, None],
        [_("Complaints open"), c["open"], "int", None, None],
        [_("Complaints confirmed with the customer"), c["confirmed"], "int", None, None],
    ]
    columns = [Column(_("Figure"), "text", 38), Column(_("Value"), "float1", 12), Column(_("Target"), "text", 10),
               Column(_("Target met"), "text", 10)]
    out = []
    for name, value, kind, target, ok in rows:
        strict = name == _("Satisfaction (share scored 4–5)")
        target_text = "" if target is None else (
            f"{'>' if strict else '≥'} {target * 100:.0f}%" if kind == "pct" else f"≤ {target}")
        out.append([name, Typed(value, kind), target_text, _yes_no(ok)])
    return Table(_("Summary of figures"), columns, out)


def _figure_columns(first: list[Column]) -> list[Column]:
    return first + [
        Column(_("Raised"), "int", 8), Column(_("Solved"), "int", 8), Column(_("Resolution rate"), "pct", 10),
        Column(_("Deadlines kept"), "int", 10), Column(_("Deadlines missed"), "int", 10),
        Column(_("Deadlines kept (share)"), "pct", 12),
        Column(_("Mean response (working hours)"), "float1", 14),
        Column(_("Mean resolution time (working hours)"), "float1", 16),
        Column(_("Service hours"), "float1", 10), Column(_("Callbacks scored"), "int", 10),
        Column(_("Satisfaction (share scored 4–5)"), "pct", 12), Column(_("Mean satisfaction (1–5)"), "float2", 10),
    ]


def _figure_values(f: dict) -> list:
    return [f["raised"], f["solved"], f["resolution_rate"], f["deadline_kept"], f["deadline_missed"],
            f["deadline_kept_rate"], hours(f["response_mean"]), hours(f["resolution_mean"]), f["hours"],
            f["callbacks_scored"], f["satisfied_rate"], f["satisfaction_mean"]]


def trend_table(d: Dashboard) -> Table:
    columns = _figure_columns([Column(_("Reporting period"), "text", 16), Column(_("First day"), "date", 12),
                               Column(_("Last day"), "date", 12)])
    columns += [Column(_("Monthly phone callbacks (share done)"), "pct", 14),
                Column(_("On-site visits (share done)"), "pct", 14), Column(_("Complaints received"), "int", 10)]
    rows = []
    for p, t, r, c in zip(d.trend_periods, d.trend, d.trend_ratios, d.complaints_trend):
        f = dict(t, **r)
        rows.append([p.label, p.start, p.last] + _figure_values(f)
                    + [r["plan_callbacks_rate"], r["plan_visits_rate"], c])
    return Table(_("Trend"), columns, rows)


def engineer_table(d: Dashboard) -> Table:
    return Table(_("By engineer"), _figure_columns([Column(_("Engineer"), "text", 14)]),
                 [[e["name"]] + _figure_values(e) for e in d.engineers])


def level_table(d: Dashboard) -> Table:
    columns = _figure_columns([Column(_("Maintenance level"), "text", 14)])
    columns += [Column(_("Monthly phone callbacks (share done)"), "pct", 14),
                Column(_("On-site visits (share done)"), "pct", 14)]
    return Table(_("By maintenance level"), columns,
                 [[_title(MaintenanceStatus, lv["level"])] + _figure_values(lv)
                  + [lv["plan_callbacks_rate"], lv["plan_visits_rate"]] for lv in d.levels])


def _clock_values(f: dict | None) -> list:
    f = f or {"kept": 0, "breached": 0, "running": 0}
    counted = f["kept"] + f["breached"]
    return [f["kept"], f["breached"], f["running"], f["kept"] / counted if counted else None]


def compliance_table(d: Dashboard) -> Table:
    """Each promise: the whole scope, then by department, maintenance level and engineer."""
    columns = [Column(_("Promise"), "text", 18), Column(_("Breakdown"), "text", 12), Column(_("Of"), "text", 16),
               Column(_("Kept"), "int", 8), Column(_("Broken"), "int", 8), Column(_("Still running"), "int", 10),
               Column(_("Share kept"), "pct", 10), Column(_("Target"), "pct", 8), Column(_("Target met"), "text", 10)]
    departments = {"dev": _("Development"), "impl": _("Implementation"), "cs": _title(DepartmentKey, "cs"),
                   "market": _title(DepartmentKey, "market")}
    rows = []
    for p in d.promises:
        rows.append([p.title, _("Total"), ""] + _clock_values(p.figures) + [p.target, _yes_no(p.ok)])
        for dept, f in sorted(p.by_department.items()):
            rows.append([p.title, _("Department"), departments.get(dept, dept)] + _clock_values(f) + [p.target, ""])
        for lv, f in sorted(p.by_level.items()):
            rows.append([p.title, _("Maintenance level"), _title(MaintenanceStatus, lv)] + _clock_values(f)
                        + [p.target, ""])
        for eid, f in sorted(p.by_engineer.items(), key=lambda e: d.engineer_names.get(e[0], "")):
            rows.append([p.title, _("Engineer"), d.engineer_names.get(eid, "?")] + _clock_values(f) + [p.target, ""])
    return Table(_("Service-level promises"), columns, rows)


def compliance_trend_table(d: Dashboard) -> Table:
    columns = [Column(_("Reporting period"), "text", 16), Column(_("First day"), "date", 12),
               Column(_("Last day"), "date", 12), Column(_("Promise"), "text", 18), Column(_("Kept"), "int", 8),
               Column(_("Broken"), "int", 8), Column(_("Still running"), "int", 10), Column(_("Share kept"), "pct", 10)]
    rows = []
    for i, period in enumerate(d.trend_periods):
        for p in d.promises:
            rows.append([period.label, period.start, period.last, p.title] + _clock_values(p.trend[i]))
    return Table(_("Promises kept, trend"), columns, rows)


def dashboard_tables(d: Dashboard) -> dict[str, Table]:
    return {"summary": summary_table(d), "trend": trend_table(d), "engineers": engineer_table(d),
            "levels": level_table(d), "compliance": compliance_table(d), "compliance_trend": compliance_trend_table(d)}


# --- the ticket list ---------------------------------------------------------------------------


def ticket_columns() -> list[Column]:
    return [
        Column(_("Number"), "text", 16), Column(_("Type"), "text", 10), Column(_("State"), "text", 12),
        Column(_("Closing reason"), "text", 10), Column(_("Urgent"), "text", 6), Column(_("Customer unit"), "text", 26),
        Column(_("Reporter"), "text", 10), Column(_("Reporter's department"), "text", 12),
        Column(_("Reporter's phone"), "text", 14), Column(_("Summary"), "text", 40), Column(_("Handling department"), "text", 10),
        Column(_("Assignee"), "text", 10), Column(_("Registered at"), "datetime", 17),
        Column(_("First assigned at"), "datetime", 17), Column(_("Deadline"), "datetime", 17),
        Column(_("Resolved at"), "datetime", 17), Column(_("Closed at"), "datetime", 17),
        Column(_("Hours spent"), "float1", 8),
    ]


def ticket_row(t: Ticket, masked: bool) -> list:
    dept = {"dev": _("Development"), "impl": _("Implementation")}.get(t.handling_department, t.handling_department)
    return [
        t.number, _title(TicketType, t.type), _title(State, t.state),
        _title(CloseReason, t.close_reason) if t.close_reason else "", _("yes") if t.urgent else "",
        t.customer.name, mask_name(t.reporter_name) if masked else t.reporter_name, t.reporter_dept,
        mask_phone(t.reporter_phone) if masked else t.reporter_phone, t.summary, dept,
        t.assignee.display_name if t.assignee else "", t.created_at, t.first_assigned_at, t.deadline,
        t.resolved_at, t.closed_at, t.hours_spent,
    ]


# --- a unit's history ---------------------------------------------------------------------------

def unit_history_table(unit: CustomerUnit) -> Table:
    """Everything that happened with a unit, oldest first: tickets, callbacks and visits, complaints,
    maintenance-status changes. No reporters' phone numbers: a history is not a contact list."""
    columns = [Column(_("Date and time"), "datetime", 17), Column(_("Kind"), "text", 14),
               Column(_("Number"), "text", 16), Column(_("Content"), "text", 48),
               Column(_("State / result"), "text", 16), Column(_("Person"), "text", 10),
               Column(_("Satisfaction"), "int", 8), Column(_("Hours spent"), "float1", 8)]
    rows: list[tuple[datetime, int, list]] = []
    tickets = db.session.scalars(select(Ticket).where(Ticket.customer_id == unit.id).order_by(Ticket.id)).all()
    numbers = {t.id: t.number for t in tickets}
    for t in tickets:
        state = _title(State, t.state) + (f"（{_title(CloseReason, t.close_reason)}）" if t.close_reason else "")
        rows.append((t.created_at, 0, [t.created_at, _title(TicketType, t.type), t.number, t.summary, state,
                                       t.assignee.display_name if t.assignee else "", None, t.hours_spent]))
    for cb in db.session.scalars(select(Callback).where(Callback.customer_id == unit.id).order_by(Callback.id)):
        result = "" if cb.solved is None else (_("solved") if cb.solved else _("not solved"))
        rows.append((cb.made_at, 1, [cb.made_at, _title(CallbackKind, cb.kind), numbers.get(cb.ticket_id, ""),
                                     cb.outcome, result, cb.made_by.display_name if cb.made_by else "",
                                     cb.satisfaction, None]))
    for c in db.session.scalars(select(Complaint).where(Complaint.customer_id == unit.id).order_by(Complaint.id)):
        rows.append((c.received_at, 2, [c.received_at, _("Complaint"), numbers.get(c.ticket_id, "") or f"#{c.id}",
                                        c.content, _title(ComplaintState, c.state),
                                        c.handler.display_name if c.handler else "", None, None]))
    changes = db.session.scalars(select(MaintenanceStatusChange).where(
        MaintenanceStatusChange.customer_id == unit.id).order_by(MaintenanceStatusChange.id))
    for ch in changes:
        if ch.kept:  # a lapsed contract answered by keeping the status (portal.customers.operations.keep_status)
            move = _("Kept %(status)s", status=_title(MaintenanceStatus, ch.to_status))
        else:
            move = f"{_title(MaintenanceStatus, ch.from_status)} → {_title(MaintenanceStatus, ch.to_status)}"
        rows.append((ch.changed_at, 3, [ch.changed_at, _("Maintenance status"), "", ch.reason, move,
                                        ch.changed_by.display_name if ch.changed_by else "", None, None]))
    rows.sort(key=lambda r: (r[0], r[1]))
    return Table(_("Unit history"), columns, [r[2] for r in rows])

