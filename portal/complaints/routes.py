"""投诉 pages: the list (filterable; the dashboard's complaint figures link here), registering a
complaint, one complaint with its history, and its two steps (handle, confirm with the customer)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.complaints import operations as ops
from portal.complaints.forms import ComplaintFilterForm, ComplaintForm, ConfirmForm, HandleForm
from portal.complaints.models import Complaint
from portal.core import pagination
from portal.core.kernel import guard_blueprint
from portal.core.pagination import Key, Keyset
from portal.core.params import parse_id
from portal.core.templating import render_page
from portal.core.timeutil import from_local
from portal.customers.models import CustomerUnit
from portal.customers.operations import search_units
from portal.extensions import db
from portal.tickets.models import Ticket

bp = Blueprint("complaints", __name__)
guard_blueprint(bp, "complaints.view")
PAGE = 50


NEWEST_FIRST = Keyset("complaints.newest", Key("id", Complaint.id, descending=True))


@bp.get("/complaints")
@login_required
def index():
    form = ComplaintFilterForm(request.args)
    valid = form.validate()
    q = select(Complaint)
    if valid:
        q = ops.filtered(q, received_from=form.received_from.data, received_to=form.received_to.data,
                         customer_id=form.customer_id.data, level=form.level.data or None,
                         department=form.department.data or None, engineer_id=form.engineer.data,
                         state=form.state.data or None)
    total = db.session.scalar(select(db.func.count()).select_from(q.subquery())) if valid else 0
    page = pagination.page(NEWEST_FIRST, q, form.after.data, PAGE) if valid else pagination.Window([], None, True)
    rows = page.rows
    unit = db.session.get(CustomerUnit, form.customer_id.data) if valid and form.customer_id.data else None
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    status = 200 if valid else 400
    return render_page("complaints/index.html", "results", form=form, rows=rows, total=total, unit=unit,
                       next_url=url_for("complaints.index", **args, after=page.next_cursor) if page.next_cursor else None,
                       can_register=ops.may_register(current_user), args=args), status


@bp.get("/complaints/units")
@login_required
def unit_options():
    """htmx search-select of units for the new-complaint form."""
    if not ops.may_register(current_user):
        abort(403)
    q = request.args.get("customer_q", "")
    units = search_units(q, limit=12) if q.strip() else []
    return render_template("complaints/_unit_options.html", units=units, q=q)


def _new_form() -> ComplaintForm:
    form = ComplaintForm()
    form.handler_id.choices = [(0, _("— choose —"))] + [(u.id, u.display_name) for u in ops.eligible_handlers()]
    return form


@bp.route("/complaints/new", methods=["GET", "POST"])
@login_required
def new():
    if not ops.may_register(current_user):
        abort(403)
    form = _new_form()
    ticket = None
    if request.method == "GET":
        number = (request.args.get("ticket") or "").strip().upper()
        if number:
            ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
            if ticket is not None:
                form.ticket_number.data, form.customer_id.data = ticket.number, ticket.customer_id
        elif parse_id(request.args.get("customer_id")):
            form.customer_id.data = parse_id(request.args.get("customer_id"))
    error = None
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                c = ops.register(
                    current_user, customer_id=form.customer_id.data, ticket_number=form.ticket_number.data or "",
                    channel=form.channel.data, complainant=form.complainant.data,
                    complainant_phone=form.complainant_phone.data or "", content=form.content.data,
                    handler_id=form.handler_id.data or None,
                    received_at=from_local(form.received_at.data) if form.received_at.data else None)
            except ops.ComplaintError as e:
                db.session.rollback()
                error = str(e.message)
                for name, msg in e.errors.items():
                    getattr(form, name).errors = list(getattr(form, name).errors) + [str(msg)]
            else:
                db.session.commit()
                return redirect(url_for("complaints.show", complaint_id=c.id))
        else:
            error = _("Please correct the marked fields.")
    unit = db.session.get(CustomerUnit, form.customer_id.data) if form.customer_id.data else None
    status = 422 if request.method == "POST" else 200
    return render_template("complaints/new.html", form=form, unit=unit, error=error), status


def _show(c: Complaint, handle_form=None, confirm_form=None, error=None, status=200):
    if handle_form is None and ops.may_handle(current_user, c):
        handle_form = HandleForm(formdata=None, version=c.version)
    if confirm_form is None and ops.may_confirm(current_user, c):
        confirm_form = ConfirmForm(formdata=None, version=c.version)
    return render_template("complaints/show.html", c=c, events=ops.history(c), error=error,
                           handle_form=handle_form if ops.may_handle(current_user, c) else None,
                           confirm_form=confirm_form if ops.may_confirm(current_user, c) else None), status


def _get(complaint_id: int) -> Complaint:
    return db.get_or_404(Complaint, complaint_id)


@bp.get("/complaints/<int:complaint_id>")
@login_required
def show(complaint_id: int):
    return _show(_get(complaint_id))


@bp.post("/complaints/<int:complaint_id>/handle")
@login_required
def handle(complaint_id: int):
    c = _get(complaint_id)
    form = HandleForm()
    if not form.validate_on_submit():
        return _show(c, handle_form=form, error=_("Please correct the marked fields."), status=422)
    try:
        ops.handle(c, current_user, handling=form.handling.data, outcome=form.outcome.data,
                   expected_version=form.version.data or None)
    except ops.ComplaintError as e:
        db.session.rollback()
        return _show(db.get_or_404(Complaint, complaint_id), handle_form=form, error=str(e.message), status=e.status)
    db.session.commit()
    return redirect(url_for("complaints.show", complaint_id=c.id))


@bp.post("/complaints/<int:complaint_id>/confirm")
@login_required
def confirm(complaint_id: int):
    c = _get(complaint_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _show(c, confirm_form=form, error=_("Please correct the marked fields."), status=422)
    try:
        ops.confirm(c, current_user, accepted=form.accepted.data == "yes", confirmation=form.confirmation.data,
                    expected_version=form.version.data or None)
    except ops.ComplaintError as e:
        db.session.rollback()
        return _show(db.get_or_404(Complaint, complaint_id), confirm_form=form, error=str(e.message), status=e.status)
    db.session.commit()
    return redirect(url_for("complaints.show", complaint_id=c.id))
