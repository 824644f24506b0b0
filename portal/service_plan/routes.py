"""客服's service plan: this month's phone callbacks and on-site visits per unit — done, due
or overdue — each with a one-click record form."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal.core import pagination
from portal.core.enums import CallbackKind, ContactMethod, MaintenanceStatus
from portal.core.kernel import can, requires
from portal.core.pagination import Key, Keyset
from portal.core.params import parse_int
from portal.core.templating import render_page
from portal.core.timeutil import today_local
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.service_plan import operations as ops
from portal.service_plan import periods
from portal.service_plan.forms import PlanArgs
from portal.tickets.models import Callback
from portal.visits.operations import done_plan_visits

bp = Blueprint("service_plan", __name__)
PAGE = 50


def _satisfaction(raw: str | None) -> int | None:
    """The score as typed; a value that is not a small whole number becomes 0, which ops.record refuses
    with its own message ("scored 1 to 5")."""
    if not raw:
        return None
    value = parse_int(raw, -99, 99)
    return 0 if value is None else value


def _rows(units: list[CustomerUnit], month: periods.Period) -> list[dict]:
    """Each unit with its last monthly callback this month and its maintenance visit (portal/visits) of its visit
    period: done (arrival recorded) or still planned."""
    if not units:
        return []
    visit_periods = {u.id: ops.visit_period(u, month.start) for u in units}
    start = min([month.start_utc, *(p.start_utc for p in visit_periods.values())])
    end = max([month.end_utc, *(p.end_utc for p in visit_periods.values())])
    found = db.session.execute(
        select(Callback.customer_id, Callback.kind, func.max(Callback.made_at))
        .where(Callback.customer_id.in_([u.id for u in units]),
               Callback.kind == CallbackKind.MONTHLY.value,
               Callback.made_at >= start, Callback.made_at < end)
        .group_by(Callback.customer_id, Callback.kind)
    ).all()
    last = {(cid, kind): at for cid, kind, at in found}
    plan_visits = done_plan_visits([u.id for u in units], {p.key for p in visit_periods.values()})
    today = today_local()
    out = []
    for u in units:
        vp = visit_periods[u.id]
        monthly = last.get((u.id, CallbackKind.MONTHLY.value))
        monthly = monthly if monthly and month.start_utc <= monthly < month.end_utc else None
        planned = plan_visits.get(u.id)
        planned = planned if planned is not None and planned.plan_period == vp.key else None
        visit = planned.arrived_at if planned is not None and planned.state == "done" else None
        out.append(dict(
            unit=u, monthly=monthly, visit=visit, visit_period=vp, planned_visit=planned,
            monthly_status="done" if monthly else ("overdue" if today >= month.end else "due"),
            visit_status="done" if visit else ("overdue" if today >= vp.end else "due"),
        ))
    return out


BY_NAME = Keyset("service_plan.name", Key("name", CustomerUnit.name, str), Key("id", CustomerUnit.id))


@bp.get("/service-plan")
@requires("service_plan.view")
def index():
    args = PlanArgs()
    month = periods.month(args.month.data or today_local().replace(day=1))
    level = args.level.data or ""
    stmt = select(CustomerUnit).where(CustomerUnit.maintenance_status.in_(
        [level] if level else [MaintenanceStatus.VIP.value, MaintenanceStatus.ORDINARY.value]))
    page = pagination.page(BY_NAME, stmt, args.after.data, PAGE)
    rows = _rows(page.rows, month)
    prev_month = periods.month(month.start.replace(day=1) - timedelta(days=1)).start
    return render_page("service_plan/index.html", "plan", rows=rows, month=month, level=level,
                       next_after=page.next_cursor, prev_month=prev_month, next_month=month.end,
                       methods=ContactMethod.choices(), can_record=can("service_plan.record"),
                       ignored_titles=args.ignored_titles())


@bp.post("/service-plan/<int:unit_id>/record")
@login_required
def record(unit_id: int):
    unit = db.get_or_404(CustomerUnit, unit_id)
    kind = request.form.get("kind", "")
    sat = request.form.get("satisfaction") or None
    status, error, errors = 200, None, {}
    try:
        ops.record(unit, kind, current_user, method=request.form.get("method", "phone"),
                   contact_person=request.form.get("contact_person", ""), outcome=request.form.get("outcome", ""),
                   satisfaction=_satisfaction(sat))
        db.session.commit()
    except ops.PlanError as e:
        db.session.rollback()
        status, error, errors = e.status, str(e.message), {k: str(v) for k, v in e.errors.items()}
    except ValueError:
        db.session.rollback()
        status, error = 400, _("Unknown contact method.")
    month = periods.month(today_local())
    row = _rows([unit], month)[0]
    return render_template("service_plan/_row.html", r=row, month=month, methods=ContactMethod.choices(),
                           can_record=True, error=error, errors=errors, open_kind=kind if error else None), status
