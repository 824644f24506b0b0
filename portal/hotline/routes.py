"""热线值班记录: customer service's hotline duty records; one click turns a record into a ticket
(the intake form at /tickets/new?hotline_record_id=<id> prefills from it and links it)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from portal.core.kernel import guard_blueprint, requires
from portal.core.params import parse_id
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.hotline import operations as ops
from portal.hotline.forms import HotlineRecordForm
from portal.hotline.models import HotlineRecord

bp = Blueprint("hotline", __name__, url_prefix="/hotline")

from portal.hotline.roster import bp as roster_bp  # noqa: E402  (nested: /hotline/roster, hotline.roster.*)
from portal.hotline.roster import duty_bp  # noqa: E402  (nested: /hotline/duty, hotline.duty.*)

bp.register_blueprint(roster_bp)
bp.register_blueprint(duty_bp)

# Each part has its own guard: the records are 客服's; the roster is also the duty manager's (who need not be
# 客服); checking in is for whoever takes duty.
guard_blueprint(roster_bp, "hotline.roster_view")
guard_blueprint(duty_bp, "hotline.duty")


@bp.get("")
@requires("hotline.use")
def index():
    open_only = request.args.get("open") == "1"
    before = parse_id(request.args.get("before"))  # an id: older records than it
    records, next_before = ops.list_records(open_only=open_only, before=before)
    return render_template("hotline/index.html", records=records, open_only=open_only, before=before,
                           next_before=next_before)


@bp.route("/new", methods=["GET", "POST"])
@requires("hotline.use")
def new():
    form = HotlineRecordForm()
    if form.validate_on_submit():
        data = ops.RecordInput(
            unit_name=form.unit_name.data, address=form.address.data or "", phone=form.phone.data,
            contact_name=form.contact_name.data, content=form.content.data, handling=form.handling.data or "",
            customer_id=form.customer_id.data,
        )
        try:
            record = ops.create_record(current_user, data)
        except ops.HotlineError as e:
            db.session.rollback()
            for name, msg in e.errors.items():
                getattr(form, name).errors = list(getattr(form, name).errors) + [str(msg)]
        else:
            db.session.commit()
            flash(_("Hotline record saved."), "success")
            return redirect(url_for("hotline.show", record_id=record.id))
    unit = db.session.get(CustomerUnit, form.customer_id.data) if form.customer_id.data else None
    status = 422 if form.is_submitted() else 200
    return render_template("hotline/new.html", form=form, unit=unit), status


@bp.get("/<int:record_id>")
@requires("hotline.use")
def show(record_id: int):
    record = db.session.get(HotlineRecord, record_id,
                            options=[selectinload(HotlineRecord.ticket), selectinload(HotlineRecord.customer),
                                     selectinload(HotlineRecord.recorded_by)])
    if record is None:
        abort(404)
    return render_template("hotline/show.html", record=record)
