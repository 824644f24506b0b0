"""Customer units: list and search, detail, editing, contacts, contracts, maintenance status, Excel import."""
from __future__ import annotations

import io
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from portal.core import htmx
from portal.core.enums import MaintenanceStatus
from portal.core.kernel import can, requires
from portal.core.templating import render_page
from portal.core.timeutil import today_local
from portal.customers import importer
from portal.customers import operations as ops
from portal.customers.forms import (ContactForm, ContractForm, ImportConfirmForm, ImportUploadForm, KeepStatusForm,
                                    NewUnitForm, RenewForm, StatusForm, UnitForm, UnitListArgs)
from portal.customers.models import Contact, Contract, CustomerUnit
from portal.documents.operations import request_contract_letter
from portal.documents.routes import unit_panel
from portal.extensions import db

bp = Blueprint("customers", __name__)

def _field_error(form, error: ops.CustomerError) -> None:
    """Show an operation's refusal next to the field it concerns (or above the form)."""
    target = getattr(form, error.field, None) if error.field else None
    if target is not None:
        target.errors = list(target.errors) + [str(error.message)]
    else:
        form.form_errors.append(str(error.message))


def _commit_or_name_taken(form) -> bool:
    """Commit; a concurrent request may have taken the unit name between our check and the insert."""
    try:
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        form.name.errors = list(form.name.errors) + [_("A unit with this name already exists.")]
        return False


# --- list, lookup, detail -------------------------------------------------------------

@bp.get("/customers")
@requires("customers.view")
def index():
    args = UnitListArgs()
    q = (request.args.get("q") or "").strip()[:100]
    status = args.status.data or ""
    contract = args.contract.data or ""
    page = ops.list_units(q, status, args.after.data, expiring_on=today_local() if contract == "expiring" else None)
    return render_page("customers/index.html", "results", page=page, q=q, status=status, contract=contract,
                       statuses=MaintenanceStatus.choices(), can_edit=can("customers.edit"),
                       ignored_titles=args.ignored_titles())


@bp.get("/customers/lookup")
@requires("customers.lookup")
def lookup():
    """htmx search-select for the intake form: radio options, usable by keyboard."""
    q = request.args.get("customer_q", "").replace("\x00", "")[:100]  # (PostgreSQL refuses NUL in text)
    if ops.looks_like_phone(q):  # a caller's number: the units and contacts it belongs to
        matches = ops.find_caller(q)
        return render_template("customers/_lookup_options.html", matches=matches or [], phone=q.strip(),
                               bad_phone=matches is None)
    units = ops.search_units(q, limit=12) if q.strip() else []
    # the intake form's field, or the ticket correction form's (prefixed) one
    field_name = "edit-customer_id" if request.args.get("field") == "edit-customer_id" else "customer_id"
    return render_template("customers/_lookup_options.html", matches=[ops.CallerMatch(u, []) for u in units], q=q,
                           field_name=field_name)


def _show_context(unit: CustomerUnit, status_form: StatusForm | None = None, status_error: str | None = None,
                  keep_form: KeepStatusForm | None = None, status_notice: str | None = None) -> dict:
    can_change = ops.can_change_status(current_user)
    if can_change and status_form is None:
        status_form = StatusForm(formdata=None, status=unit.maintenance_status)
    lapse = ops.open_lapse_reminder(unit)
    if can_change and lapse is not None and keep_form is None:
        keep_form = KeepStatusForm(formdata=None)
    today = today_local()
    return dict(
        unit=unit, history=ops.status_history(unit), current_contract=unit.current_contract(today),
        can_edit=can("customers.edit"), status_form=status_form if can_change else None,
        status_error=status_error, latest_contract=ops.latest_contract(unit), lapse=lapse,
        keep_form=keep_form if can_change and lapse is not None else None, status_notice=status_notice,
        review_min=today + timedelta(days=1), review_max=today + timedelta(days=ops.REVIEW_WITHIN_DAYS),
        **unit_panel(unit, current_user),
    )


@bp.get("/customers/<int:unit_id>")
@requires("customers.view")
def show(unit_id: int):
    unit = db.get_or_404(CustomerUnit, unit_id)
    return render_template("customers/show.html", **_show_context(unit))


@bp.post("/customers/<int:unit_id>/status")
@requires("customers.set_status")
def change_status(unit_id: int):
    """Only the market manager; every change becomes a MaintenanceStatusChange row."""
    # Locked (PostgreSQL) so two simultaneous changes record the right "from" status.
    unit = db.session.get(CustomerUnit, unit_id, with_for_update=True) or abort(404)
    form = StatusForm()
    if not form.validate():
        return render_template("customers/show.html", **_show_context(unit, status_form=form)), 422
    try:
        ops.change_status(unit, MaintenanceStatus(form.status.data), form.reason.data, current_user)
        db.session.commit()
    except ops.CustomerError as e:
        db.session.rollback()
        unit = db.get_or_404(CustomerUnit, unit_id)
        ctx = _show_context(unit, status_form=form, status_error=str(e.message))
        return render_template("customers/show.html", **ctx), e.status
    flash(_("Maintenance status changed."), "success")
    return redirect(url_for("customers.show", unit_id=unit.id) + "#status")


@bp.post("/customers/<int:unit_id>/status/keep")
@requires("customers.set_status")
def keep_status(unit_id: int):
    """保持当前维护等级: answers the unit's lapsed-contract reminder without a change. htmx gets the status card
    back (refusals too, with their 4xx); a plain form post the page."""
    # Locked (PostgreSQL) like a change, so a keep and a change (or two keeps) never both answer one reminder.
    unit = db.session.get(CustomerUnit, unit_id, with_for_update=True) or abort(404)
    form = KeepStatusForm()
    error, status = None, 422
    if form.validate():
        try:
            ops.keep_status(unit, form.reason.data, current_user, review_on=form.review_on.data)
            db.session.commit()
        except ops.CustomerError as e:
            db.session.rollback()
            unit = db.get_or_404(CustomerUnit, unit_id)
            status = e.status
            if e.field:
                _field_error(form, e)
            else:
                error = str(e.message)
        else:
            if not htmx.is_fragment_request():
                flash(_("Maintenance status kept."), "success")
                return redirect(url_for("customers.show", unit_id=unit.id) + "#status")
            return render_page("customers/show.html", "status",
                               **_show_context(unit, status_notice=_("Maintenance status kept.")))
    return render_page("customers/show.html", "status",
                       **_show_context(unit, status_error=error, keep_form=form)), status


# --- create and edit ---------------------------------------------------------------

def _form_page(form, title: str, cancel: str, status: int = 200, unit: CustomerUnit | None = None,
               hint: str | None = None):
    return render_template("customers/form.html", form=form, title=title, cancel=cancel, unit=unit,
                           hint=hint), status


@bp.route("/customers/new", methods=["GET", "POST"])
@requires("customers.edit")
def new():
    form = NewUnitForm()
    may_set_status = ops.can_change_status(current_user)
    if not may_set_status:
        del form.status  # the market manager's decision: everyone else's new unit starts as 普通维护
    if form.validate_on_submit():
        status = MaintenanceStatus(form.status.data) if may_set_status else MaintenanceStatus.ORDINARY
        try:
            unit = ops.create_unit(form.name.data, address=form.address.data or "", phone=form.phone.data or "",
                                   user_count=form.user_count.data, status=status, actor=current_user)
            unit.is_project = bool(form.is_project.data)
        except ops.CustomerError as e:
            db.session.rollback()
            _field_error(form, e)
        else:
            if _commit_or_name_taken(form):
                flash(_("Unit created."), "success")
                return redirect(url_for("customers.show", unit_id=unit.id))
    return _form_page(form, _("New customer unit"), url_for("customers.index"),
                      422 if request.method == "POST" else 200,
                      hint=None if may_set_status else ops.STATUS_IS_THE_MANAGERS)


@bp.route("/customers/<int:unit_id>/edit", methods=["GET", "POST"])
@requires("customers.edit")
def edit(unit_id: int):
    unit = db.get_or_404(CustomerUnit, unit_id)
    form = UnitForm(obj=unit)
    if form.validate_on_submit():
        try:
            ops.update_unit(unit, name=form.name.data, address=form.address.data or "", phone=form.phone.data or "",
                            user_count=form.user_count.data)
        except ops.CustomerError as e:
            db.session.rollback()
            _field_error(form, e)
        else:
            if _commit_or_name_taken(form):
                flash(_("Changes saved."), "success")
                return redirect(url_for("customers.show", unit_id=unit.id))
    return _form_page(form, _("Edit unit"), url_for("customers.show", unit_id=unit.id),
                      422 if request.method == "POST" else 200, unit=unit)


@bp.route("/customers/<int:unit_id>/contacts/new", methods=["GET", "POST"])
@requires("customers.edit")
def new_contact(unit_id: int):
    unit = db.get_or_404(CustomerUnit, unit_id)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            ops.add_contact(unit, name=form.name.data, department=form.department.data or "",
                            phone=form.phone.data or "", email=form.email.data or "")
        except ops.CustomerError as e:
            db.session.rollback()
            _field_error(form, e)
        else:
            db.session.commit()
            flash(_("Contact added."), "success")
            return redirect(url_for("customers.show", unit_id=unit.id) + "#contacts")
    return _form_page(form, _("Add contact"), url_for("customers.show", unit_id=unit.id),
                      422 if request.method == "POST" else 200, unit=unit)


def _unit_and_own(model, unit_id: int, row_id: int):
    """The unit and one of its own contacts / contracts; another unit's row is a 404 like a missing one."""
    unit = db.get_or_404(CustomerUnit, unit_id)
    row = db.session.get(model, row_id)
    if row is None or row.customer_id != unit.id:
        abort(404)
    return unit, row


@bp.route("/customers/<int:unit_id>/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@requires("customers.edit")
def edit_contact(unit_id: int, contact_id: int):
    unit, contact = _unit_and_own(Contact, unit_id, contact_id)
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        try:
            ops.update_contact(contact, name=form.name.data, department=form.department.data or "",
                               phone=form.phone.data or "", email=form.email.data or "")
        except ops.CustomerError as e:
            db.session.rollback()
            _field_error(form, e)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("customers.show", unit_id=unit.id) + "#contacts")
    return _form_page(form, _("Edit contact"), url_for("customers.show", unit_id=unit.id),
                      422 if request.method == "POST" else 200, unit=unit)


@bp.route("/customers/<int:unit_id>/contracts/new", methods=["GET", "POST"])
@requires("customers.edit")
def new_contract(unit_id: int):
    unit = db.get_or_404(CustomerUnit, unit_id)
    form = ContractForm()
    if form.validate_on_submit():
        try:
            contract = ops.add_contract(unit, start_date=form.start_date.data, end_date=form.end_date.data,
                                        fee=form.fee.data, free_year=form.free_year.data, note=form.note.data or "")
        except ops.CustomerError as e:
            db.session.rollback()
            _field_error(form, e)
        else:
            # 签订维护合同的同时，需附带一份售后服务通知函: generated with it.
            db.session.flush()
            request_contract_letter(contract, current_user)
            db.session.commit()
            flash(_("Contract added; its after-sales service notice is being generated."), "success")
            return redirect(url_for("customers.show", unit_id=unit.id) + "#contracts")
    return _form_page(form, _("Add maintenance contract"), url_for("customers.show", unit_id=unit.id),
                      422 if request.method == "POST" else 200, unit=unit)


@bp.route("/customers/<int:unit_id>/contracts/<int:contract_id>/renew", methods=["GET", "POST"])
@requires("customers.edit")
def renew_contract(unit_id: int, contract_id: int):
    """A new period for the unit's latest contract, with its fee and the letter that goes with it."""
    unit, contract = _unit_and_own(Contract, unit_id, contract_id)
    status = 200
    if request.method == "GET":
        start = contract.end_date + timedelta(days=1)
        form = RenewForm(formdata=None, start_date=start, end_date=_one_year_from(start), fee=contract.fee)
    else:
        form = RenewForm()
        status = 422
        if form.validate():
            try:
                ops.renew_contract(contract, start_date=form.start_date.data, end_date=form.end_date.data,
                                   fee=form.fee.data, free_year=form.free_year.data, note=form.note.data or "",
                                   actor=current_user)
            except ops.CustomerError as e:
                db.session.rollback()
                _field_error(form, e)
                status = e.status
            else:
                db.session.commit()
                flash(_("Contract renewed; its after-sales service notice is being generated."), "success")
                return redirect(url_for("customers.show", unit_id=unit.id) + "#contracts")
    title = _("Renew contract %(start)s – %(end)s", start=contract.start_date.isoformat(),
              end=contract.end_date.isoformat())
    return _form_page(form, title, url_for("customers.show", unit_id=unit.id) + "#contracts", status, unit=unit)


def _one_year_from(start):
    """The day before the same date next year (29 Feb → 28 Feb)."""
    try:
        return start.replace(year=start.year + 1) - timedelta(days=1)
    except ValueError:
        return start.replace(year=start.year + 1, day=28)


# --- Excel import ---------------------------------------------------------------------

def _import_page(status: int = 200, **ctx):
    ctx.setdefault("upload_form", ImportUploadForm(formdata=None))
    ctx.setdefault("plan", None)
    ctx.setdefault("error", None)
    return render_template("customers/import.html", columns=importer.COLUMNS, nowrap_columns=importer.SHORT_COLUMNS,
                           required=[importer.COLUMNS[k] for k in importer.REQUIRED_COLUMNS], **ctx), status


def _preview(token: str, filename: str, plan: importer.Plan, status: int = 200, error: str | None = None):
    confirm = ImportConfirmForm(formdata=None, token=token, fingerprint=plan.fingerprint())
    return _import_page(status, plan=plan, filename=filename, confirm_form=confirm, error=error)


@bp.get("/customers/import")
@requires("customers.edit")
def import_start():
    return _import_page()


@bp.get("/customers/import/template.xlsx")
@requires("customers.edit")
def import_template():
    return send_file(io.BytesIO(importer.template_workbook()), as_attachment=True,
                     download_name="客户单位导入模板.xlsx", mimetype=importer.XLSX_MIME, max_age=0)


@bp.post("/customers/import")
@requires("customers.edit")
def import_preview():
    """Step 1: read the file and show what would happen. Nothing is written to the database."""
    form = ImportUploadForm()
    if not form.validate():
        return _import_page(422, upload_form=form)
    try:
        filename, rows = importer.read_workbook(form.file.data)
    except importer.ImportFileError as e:
        return _import_page(422, upload_form=form, error=str(e.message))
    plan = importer.build_plan(rows, may_set_status=ops.can_change_status(current_user))
    token = importer.stash(rows, filename, current_user)
    return _preview(token, filename, plan, 200 if plan.ok else 422)


@bp.post("/customers/import/confirm")
@requires("customers.edit")
def import_confirm():
    """Step 2: check the stashed rows again and write them all in one transaction — or nothing."""
    form = ImportConfirmForm()
    stashed = importer.unstash(form.token.data or "", current_user) if form.validate() else None
    if stashed is None:
        return _import_page(409, error=_("This import has expired or was already done. Upload the file again."))
    filename, rows = stashed
    plan = importer.build_plan(rows, may_set_status=ops.can_change_status(current_user))
    if not plan.ok:
        return _preview(form.token.data, filename, plan, 422,
                        error=_("The file has problems; nothing was imported. Correct the rows below in Excel "
                                "and upload the file again."))
    if plan.fingerprint() != form.fingerprint.data:
        return _preview(form.token.data, filename, plan, 409,
                        error=_("The customer data changed since the preview. Check the preview again and confirm."))
    if not importer.claim(form.token.data):
        return _import_page(409, error=_("This import has expired or was already done. Upload the file again."))
    try:
        units, contacts = importer.apply_plan(plan, current_user, filename)
        db.session.commit()
    except (ops.CustomerError, IntegrityError):
        db.session.rollback()
        plan = importer.build_plan(rows)
        token = importer.stash(rows, filename, current_user)
        return _preview(token, filename, plan, 409,
                        error=_("The customer data changed while importing; nothing was imported. "
                                "Check the preview again and confirm."))
    flash(_("Import done: %(units)d new units, %(contacts)d new contacts.", units=units, contacts=contacts),
          "success")
    return redirect(url_for("customers.index"))
