"""The handover page for 客服: start the handover of a project unit, follow each contact's letter
and phone call, record the project-implementation callback; and the list of handovers."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import exists, select

from jinja2_fragments.flask import render_block

from portal.core.htmx import is_fragment_request
from portal.core.kernel import can, guard_blueprint
from portal.customers.models import CustomerUnit
from portal.documents import operations as documents
from portal.extensions import db
from portal.handover import operations as ops
from portal.handover.forms import CallForm, ImplementationCallbackForm
from portal.handover.models import Handover

bp = Blueprint("handover", __name__)
LIST_LIMIT = 100


guard_blueprint(bp, "handover.view")


@bp.get("/handover")
@login_required
def index():
    waiting = list(db.session.scalars(
        select(CustomerUnit).where(CustomerUnit.is_project.is_(True),
                                   ~exists().where(Handover.customer_id == CustomerUnit.id))
        .order_by(CustomerUnit.name).limit(LIST_LIMIT)))
    handovers = list(db.session.scalars(
        select(Handover).order_by(Handover.completed_at.is_not(None), Handover.started_at.desc()).limit(LIST_LIMIT)))
    return render_template("handover/index.html", waiting=waiting, handovers=handovers, can_act=can("handover.act"))


def _page(unit: CustomerUnit, status: int = 200, call_forms: dict | None = None,
          callback_form: ImplementationCallbackForm | None = None, error: str | None = None):
    handover = ops.for_unit(unit.id)
    progress = ops.progress(handover) if handover else None
    call_forms = call_forms or {}
    if progress:
        for row in progress.contacts:
            call_forms.setdefault(row.contact.id, CallForm(formdata=None, prefix=f"c{row.contact.id}"))
    callback_form = callback_form or ImplementationCallbackForm(formdata=None)
    ctx = dict(unit=unit, handover=handover, progress=progress, call_forms=call_forms, callback_form=callback_form,
               error=error, can_act=can("handover.act"))
    if handover and request.args.get("part") == "progress" and is_fragment_request():
        return render_block("handover/show.html", "progress", **ctx), status  # refreshed once a letter is ready
    return render_template("handover/show.html", **ctx), status


def _unit(unit_id: int) -> CustomerUnit:
    return db.get_or_404(CustomerUnit, unit_id)


def _handover(unit: CustomerUnit) -> Handover:
    handover = ops.for_unit(unit.id)
    if handover is None:
        abort(404)
    return handover


def _back(unit: CustomerUnit, anchor: str = ""):
    return redirect(url_for("handover.show", unit_id=unit.id) + anchor)


@bp.get("/handover/units/<int:unit_id>")
@login_required
def show(unit_id: int):
    return _page(_unit(unit_id))


@bp.post("/handover/units/<int:unit_id>/start")
@login_required
def start(unit_id: int):
    unit = _unit(unit_id)
    try:
        ops.start(unit, current_user)
        db.session.commit()
    except (ops.HandoverError, documents.DocumentError) as e:
        db.session.rollback()
        return _page(db.get_or_404(CustomerUnit, unit_id), e.status, error=str(e.message))
    flash(_("Handover started: the notice letters are being generated."), "success")
    return _back(unit)


@bp.post("/handover/units/<int:unit_id>/contacts/<int:contact_id>/letter")
@login_required
def send_letter(unit_id: int, contact_id: int):
    unit = _unit(unit_id)
    try:
        ops.send_letter(_handover(unit), contact_id, current_user)
        db.session.commit()
    except (ops.HandoverError, documents.DocumentError) as e:
        db.session.rollback()
        return _page(unit, e.status, error=str(e.message))
    flash(_("The notice letter is being generated."), "success")
    return _back(unit, f"#contact-{contact_id}")


@bp.post("/handover/units/<int:unit_id>/contacts/<int:contact_id>/calls")
@login_required
def record_call(unit_id: int, contact_id: int):
    unit = _unit(unit_id)
    handover = _handover(unit)
    form = CallForm(prefix=f"c{contact_id}")
    if form.validate():
        try:
            ops.record_call(handover, contact_id, current_user, reached=form.reached.data, outcome=form.outcome.data)
            db.session.commit()
        except ops.HandoverError as e:
            db.session.rollback()
            if e.status in (403, 404):
                abort(e.status)
            for name, message in e.errors.items():
                getattr(form, name).errors = list(getattr(form, name).errors) + [str(message)]
        else:
            flash(_("Call recorded."), "success")
            return _back(unit, f"#contact-{contact_id}")
    return _page(unit, 422, call_forms={contact_id: form})


@bp.post("/handover/units/<int:unit_id>/callback")
@login_required
def record_callback(unit_id: int):
    unit = _unit(unit_id)
    handover = _handover(unit)
    form = ImplementationCallbackForm()
    if form.validate():
        try:
            ops.record_implementation_callback(handover, current_user, method=form.method.data,
                                               contact_person=form.contact_person.data, outcome=form.outcome.data,
                                               satisfaction=form.satisfaction_value)
            db.session.commit()
        except ops.HandoverError as e:
            db.session.rollback()
            if e.status == 403:
                abort(403)
            for name, message in e.errors.items():
                getattr(form, name).errors = list(getattr(form, name).errors) + [str(message)]
        else:
            flash(_("Project implementation callback recorded."), "success")
            return _back(unit, "#callback")
    return _page(unit, 422, callback_form=form)
