"""Service metrics pages: the dashboard, the lists behind its callback and service-plan figures, the
exports (dashboard tables, the ticket list with its filters, a unit's history) and the CLI commands
that refresh the pre-aggregate."""
from __future__ import annotations

import re
import time as clock
from dataclasses import replace
from io import BytesIO

import click
from flask import Blueprint, abort, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from portal.auth.models import User, UserRole
from portal.core.enums import CallbackKind, MaintenanceStatus, Role
from portal.core.kernel import requires
from portal.core.params import parse_id, parse_int
from portal.core.templating import render_page
from portal.core.uploads import download_name
from portal.customers.models import CustomerUnit
from portal.customers.operations import search_units
from portal.extensions import db
from portal.metrics import access, charts, dashboard, drilldown, exports, periods, queries, refresh, reports
from portal.metrics.forms import DashboardForm, period_choices, scope_args
from portal.core.timeutil import today_local, utcnow
from portal.sla.models import ServiceClock
from portal.tickets import access as ticket_access
from portal.tickets import listing
from portal.notifications.models import Reminder
from portal.tickets.models import Callback, Ticket

bp = Blueprint("metrics", __name__)
# Rows one export may hold: writing xlsx costs about half a millisecond a row, CSV a twentieth of that.
EXPORT_LIMIT = {"xlsx": 20_000, "csv": 200_000}
LIST_PAGE = 50
CLOCK_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")


@bp.app_template_global()
def may_export_tickets(user) -> bool:
    """For the ticket list's export link (templates/tickets/index.html)."""
    return access.may_export_tickets(user)


@bp.app_template_global()
def may_export_unit_history(user) -> bool:
    """For the unit page's history export link (templates/customers/show.html)."""
    return access.may_export_unit_history(user)


@bp.app_template_global()
def may_use_dashboard(user) -> bool:
    """For links to the dashboard from other pages (the unit page)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and access.may_use_dashboard(user))


def department_title(key: str | None) -> str:
    return {None: _("Whole company"), "dev": _("Development"), "impl": _("Implementation")}.get(key, key or "")


def _engineers(department: str | None) -> list[User]:
    roles = {"dev": [Role.ENGINEER.value], "impl": [Role.IMPL_ENGINEER.value]}.get(
        department, [Role.ENGINEER.value, Role.IMPL_ENGINEER.value])
    return list(db.session.scalars(select(User).join(UserRole, UserRole.user_id == User.id)
                                   .where(UserRole.role.in_(roles)).distinct().order_by(User.display_name)))


class _Refused(Exception):
    def __init__(self, message: str, status: int = 400, candidates=()):
        super().__init__(message)
        self.message, self.status, self.candidates = message, status, candidates


def _parse() -> tuple[DashboardForm, queries.Scope]:
    """The scope the request asks for: 403 for a dashboard the user may not see; _Refused for bad input."""
    if not access.may_use_dashboard(current_user):
        abort(403)
    options = access.viewable_departments(current_user)
    asked = request.args.get("department")
    department = (asked or None) if asked is not None else options[0]
    if not access.can_view_dashboard(current_user, department):
        abort(403)
    form = DashboardForm(request.args)
    form.department.choices = [("" if d is None else d, department_title(d)) for d in options]
    form.department.data = department or ""
    if not form.validate():
        raise _Refused("；".join(f"{f.label.text}：{e}" for f in form for e in f.errors), 400)
    unit_q = (form.unit.data or "").strip()
    if unit_q and not form.customer_id.data:
        found = search_units(unit_q, limit=6)
        if len(found) != 1:
            raise _Refused(_("No unit matches “%(q)s”.", q=unit_q) if not found else
                           _("Several units match “%(q)s”: choose one.", q=unit_q), 400, found)
        form.customer_id.data = found[0].id
    scope, error = form.scope(today_local())
    if error:
        raise _Refused(error, 400)
    return form, scope


def _page_context(form: DashboardForm, scope: queries.Scope | None) -> dict:
    department = form.department.data or None
    period = scope.period if scope else periods.of_kind("month", today_local())
    unit = db.session.get(CustomerUnit, scope.customer_id) if scope and scope.customer_id else None
    return dict(form=form, scope=scope, unit=unit, engineers=_engineers(department),
                period_groups=period_choices(period, today_local()), department_title=department_title,
                levels=MaintenanceStatus.choices(), scope_args=scope_args, dash_pct=dashboard.pct,
                dash_num=dashboard.num, dash_duration=dashboard.duration,
                dash_compliance_cell=_compliance_cell, compliance_departments=_compliance_departments,
                compliance_levels=_compliance_levels, compliance_engineers=_compliance_engineers,
                engineer_tickets=lambda engineer_id: url_for("tickets.index", **drilldown.ticket_args(
                    replace(scope, engineer_id=engineer_id))))


def _compliance_cell(f: dict | None) -> str:
    """"92.3% (12/13)": the share kept, of how many counted; "—" when none fell due."""
    if not f or not (f["kept"] + f["breached"]):
        return "—"
    return f"{dashboard.pct(queries.kept_share(f))} ({f['kept']}/{f['kept'] + f['breached']})"


def _compliance_departments(d: dashboard.Dashboard) -> list[str]:
    order = {"cs": 0, "dev": 1, "impl": 2}
    return sorted({k for p in d.promises for k in p.by_department}, key=lambda k: (order.get(k, 9), k))


def _compliance_levels(d: dashboard.Dashboard) -> list[str]:
    order = {"vip": 0, "ordinary": 1, "stopped": 2}
    return sorted({k for p in d.promises for k in p.by_level}, key=lambda k: (order.get(k, 9), k))


def _compliance_engineers(d: dashboard.Dashboard) -> list[tuple[int, str]]:
    ids = {k for p in d.promises for k in p.by_engineer}
    return sorted(((i, d.engineer_names.get(i, "?")) for i in ids), key=lambda e: e[1])


def _charts(d: dashboard.Dashboard) -> list:
    labels = periods.axis_labels(d.trend_periods)
    pol = dashboard.policy_for(d.scope.level)
    pct = dashboard.pct
    to_hours = [None if r["response_mean"] is None else r["response_mean"] / dashboard.HOUR for r in d.trend_ratios]
    titles = [_("Tickets raised and solved"), _("Resolution rate and deadlines kept"),
              _("Satisfaction (share scored 4–5)"), _("Mean response time (working hours)")]
    svgs = [
        charts.bars(titles[0], labels,
                    [(_("Raised"), [t["raised"] for t in d.trend]), (_("Solved"), [t["solved"] for t in d.trend])],
                    fmt=lambda v: dashboard.num(v)),
        charts.lines(titles[1], labels,
                     [(_("Resolution rate"), [r["resolution_rate"] for r in d.trend_ratios]),
                      (_("Deadlines kept"), [r["deadline_kept_rate"] for r in d.trend_ratios])],
                     fmt=pct, percent=True, target=pol.resolution_rate_target,
                     target_name=_("Target %(t)s", t=pct(pol.resolution_rate_target))),
        charts.lines(titles[2], labels, [(_("Satisfaction rate"), [r["satisfied_rate"] for r in d.trend_ratios])],
                     fmt=pct, percent=True, target=pol.satisfaction_target,
                     target_name=_("Target %(t)s", t=pct(pol.satisfaction_target))),
        charts.lines(titles[3], labels, [(_("Mean response"), to_hours)], fmt=lambda v: dashboard.num(v, 1)),
    ]
    return list(zip(titles, svgs))


def _compliance_charts(d: dashboard.Dashboard) -> list:
    """One small trend chart per promise (share kept over the twelve periods, against its target)."""
    labels = periods.axis_labels(d.trend_periods)
    pct = dashboard.pct
    return [(p.title, charts.lines(_("%(promise)s: share kept", promise=p.title), labels,
                                   [(_("Share kept"), [queries.kept_share(f) for f in p.trend])],
                                   fmt=pct, percent=True, target=p.target,
                                   target_name=_("Target %(t)s", t=pct(p.target))))
            for p in d.promises]


@bp.get("/metrics")
@requires("metrics.view")
def index():
    try:
        form, scope = _parse()
    except _Refused as e:
        form = DashboardForm(request.args)
        form.department.choices = [("" if d is None else d, department_title(d))
                                   for d in access.viewable_departments(current_user)]
        return render_page("metrics/dashboard.html", "figures", error=e.message, candidates=e.candidates,
                           dash=None, charts=[], **_page_context(form, None)), e.status
    started = clock.perf_counter()
    d = dashboard.build(scope)
    return render_page("metrics/dashboard.html", "figures", dash=d, charts=_charts(d),
                       compliance_charts=_compliance_charts(d), error=None, candidates=(),
                       elapsed_ms=round((clock.perf_counter() - started) * 1000), **_page_context(form, scope))


# --- the lists behind the callback and service-plan figures ---------------------------------------

@bp.get("/metrics/callbacks")
@requires("metrics.view")
def callbacks():
    try:
        form, scope = _parse()
    except _Refused as e:
        abort(e.status)
    q = queries.callbacks_query(scope, scored=request.args.get("scored") == "1",
                                satisfied=request.args.get("satisfied") == "1")
    total = queries.count(q)
    rows, next_url = _newest_first(q, Callback.id, "metrics.callbacks")
    numbers, units = _numbers_and_units(rows)
    return render_template("metrics/callbacks.html", rows=rows, total=total, scope=scope, numbers=numbers, units=units,
                           kinds=dict(CallbackKind.choices()), department_title=department_title,
                           next_url=next_url, back=url_for("metrics.index", **scope_args(scope)))


def _newest_first(q, id_column, endpoint: str) -> tuple[list, str | None]:
    """One keyset page of a drill-down list, newest id first (?after=<id>: those after it), and the next
    page's URL (None on the last)."""
    after = parse_id(request.args.get("after"))
    if after:
        q = q.where(id_column < after)
    rows = list(db.session.scalars(q.order_by(id_column.desc()).limit(LIST_PAGE + 1)))
    if len(rows) <= LIST_PAGE:
        return rows, None
    rows = rows[:LIST_PAGE]
    args = {k: v for k, v in request.args.items() if k != "after"}
    return rows, url_for(endpoint, **args, after=rows[-1].id)


def _numbers_and_units(rows) -> tuple[dict, dict]:
    """{ticket id: number} and {unit id: name} of the rows listed: two queries, however many rows."""
    numbers = dict(db.session.execute(select(Ticket.id, Ticket.number).where(
        Ticket.id.in_({r.ticket_id for r in rows if r.ticket_id}))).all())
    units = dict(db.session.execute(select(CustomerUnit.id, CustomerUnit.name).where(
        CustomerUnit.id.in_({r.customer_id for r in rows if r.customer_id}))).all())
    return numbers, units


@bp.get("/metrics/plan")
@requires("metrics.view")
def plan():
    try:
        form, scope = _parse()
    except _Refused as e:
        abort(e.status)
    kind = request.args.get("kind", "monthly_callback")
    if kind not in refresh.PLAN_KINDS:
        abort(400)
    done = {"1": True, "0": False}.get(request.args.get("done", ""))
    q = queries.plan_query(scope, kind, done)
    total = queries.count(q)
    page = parse_int(request.args.get("page"), 1, 10_000) or 1
    rows = db.session.execute(q.order_by(CustomerUnit.name, Reminder.id)
                              .limit(LIST_PAGE).offset((page - 1) * LIST_PAGE)).all()
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("metrics/plan.html", rows=rows, total=total, scope=scope, kind=kind, done=done,
                           next_url=url_for("metrics.plan", **args, page=page + 1)
                           if page * LIST_PAGE < total else None,
                           back=url_for("metrics.index", **scope_args(scope)))


# --- the clocks behind the compliance figures ---------------------------------------------------------

CLOCK_OUTCOMES = ("breached", "kept", "running", "all")


@bp.get("/metrics/clocks")
@requires("metrics.view")
def clocks():
    """Exactly the tickets and visits behind a compliance figure (by default: those that broke the promise),
    newest limit first, keyset pages; a ticket's clock only if the viewer may see the ticket."""
    try:
        form, scope = _parse()
    except _Refused as e:
        abort(e.status)
    key = request.args.get("key", "")
    outcome = request.args.get("outcome", "breached")
    if not CLOCK_KEY.fullmatch(key) or outcome not in CLOCK_OUTCOMES:
        abort(400)
    now = utcnow()
    q = queries.clocks_query(scope, key, outcome, now).outerjoin(Ticket, Ticket.id == ServiceClock.ticket_id)
    visible = ticket_access.visibility_filter(current_user)
    if visible is not None:
        q = q.where(or_(ServiceClock.ticket_id.is_(None), visible))
    total = queries.count(q)
    rows, next_url = _newest_first(q, ServiceClock.id, "metrics.clocks")
    numbers, units = _numbers_and_units(rows)
    people = queries.user_names(r.user_id for r in rows if r.user_id)
    return render_template("metrics/clocks.html", rows=rows, total=total, scope=scope, numbers=numbers, units=units,
                           people=people, title=dashboard.clock_title(key, scope.level), outcome=outcome, now=now,
                           department_title=department_title,
                           next_url=next_url, back=url_for("metrics.index", **scope_args(scope)))


# --- exports ---------------------------------------------------------------------------------------

def _send(content: bytes, name: str, fmt: str):
    return send_file(BytesIO(content), as_attachment=True, download_name=download_name(f"{name}.{fmt}"),
                     mimetype=exports.XLSX_MIMETYPE if fmt == "xlsx" else exports.CSV_MIMETYPE, max_age=0)


def _export_name(scope: queries.Scope) -> str:
    p = scope.period
    when = p.value if p.kind != "custom" else f"{p.start.isoformat()}_{p.last.isoformat()}"
    return f"{_('service-metrics')}-{when}"


@bp.get("/metrics/export.<any(xlsx, csv):fmt>")
@requires("metrics.view")
def export(fmt: str):
    try:
        _form, scope = _parse()
    except _Refused as e:
        abort(e.status)
    tables = reports.dashboard_tables(dashboard.build(scope))
    if fmt == "xlsx":
        return _send(exports.to_xlsx(list(tables.values())), _export_name(scope), fmt)
    table = request.args.get("table", "summary")
    if table not in tables:
        abort(404)
    return _send(exports.to_csv(tables[table]), f"{_export_name(scope)}-{table}", fmt)


ORDER = {
    "urgent": (Ticket.urgent.desc(), Ticket.id.desc()),
    "newest": (Ticket.id.desc(),),
    "oldest": (Ticket.id.asc(),),
    "deadline": (Ticket.deadline.asc(), Ticket.id.asc()),
}


@bp.get("/tickets/export.<any(xlsx, csv):fmt>")
@login_required
def tickets_export(fmt: str):
    """The ticket list as it is filtered now (every filter of the list, the dashboard's drill-down filters
    among them), as the user may see it: the list's own query, visibility rule and masking."""
    if not access.may_export_tickets(current_user):
        abort(403)
    f = listing.Filters.from_args(request.args)
    q = listing.base_query(f, current_user)
    if f.sort == "deadline":
        q = q.where(Ticket.deadline.is_not(None))
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
    if total > EXPORT_LIMIT[fmt]:
        return render_template("metrics/export_refused.html", total=total, limit=EXPORT_LIMIT[fmt], fmt=fmt,
                               back=url_for("tickets.index", **f.query_args(after=""))), 422
    result = db.session.execute(q.add_columns(ticket_access.masked_condition(current_user)).order_by(*ORDER[f.sort])
                                .execution_options(yield_per=2000))  # streamed, not held in memory
    table = exports.Table(_("Tickets"), reports.ticket_columns(), (reports.ticket_row(t, bool(m)) for t, m in result))
    name = f"{_('tickets')}-{today_local().isoformat()}"
    if fmt == "xlsx":
        return _send(exports.to_xlsx([table]), name, fmt)
    return _send(exports.to_csv(table), name, fmt)


@bp.get("/metrics/units/<int:unit_id>/history.<any(xlsx, csv):fmt>")
@login_required
def unit_history(unit_id: int, fmt: str):
    if not access.may_export_unit_history(current_user):
        abort(403)
    unit = db.get_or_404(CustomerUnit, unit_id)
    table = reports.unit_history_table(unit)
    name = f"{unit.name}-{_('history')}-{today_local().isoformat()}"
    if fmt == "xlsx":
        return _send(exports.to_xlsx([table]), name, fmt)
    return _send(exports.to_csv(table), name, fmt)


# --- refreshing the pre-aggregate by hand -------------------------------------------------------------

def _run_by_hand(name: str, work) -> None:
    result, seconds = refresh.run_in_this_process(work)
    click.echo(f"metrics {name}: {result} in {seconds:.1f} s")


@bp.cli.command("refresh")
def refresh_command():
    """Bring the metrics pre-aggregate up to date (what the job does every few minutes)."""
    _run_by_hand("refresh", refresh.refresh)


@bp.cli.command("rebuild")
def rebuild_command():
    """Recompute the whole metrics pre-aggregate (what the nightly job does)."""
    _run_by_hand("rebuild", refresh.rebuild)

