"""The archive (OA归档): browse and filter, one document with its revisions and its generation
status (an htmx component that polls until the file is ready), download, generate, regenerate,
retry, upload, record sending; and the letterhead settings (admin)."""
from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.core import htmx, storage, uploads
from portal.core.kernel import requires
from portal.core.templating import render_page
from portal.core.timeutil import today_local
from portal.customers.models import Contract, CustomerUnit
from portal.documents import content, letterhead
from portal.documents import operations as ops
from portal.documents.forms import (ArchiveListArgs, ExpiryNoticeForm, LetterheadForm, RevisionUploadForm, SentForm,
                                    SummaryForm, UploadForm)
from portal.documents.models import Document, DocumentKind
from portal.extensions import db
from portal.handover import operations as handover

bp = Blueprint("documents", __name__)


def require_archive() -> None:
    """The archive holds customers' personal data: to anyone else it does not exist."""
    if not ops.can_use_archive(current_user):
        abort(404)


def get_document_or_404(doc_id: str) -> Document:
    """`doc_id` is the document's random public id (what its URLs carry)."""
    require_archive()
    doc = None
    if re.fullmatch(r"[0-9a-f]{32}", doc_id):
        doc = db.session.scalar(select(Document).where(Document.public_id == doc_id))
    if doc is None:
        abort(404)
    return doc


def _error_to_form(form, error: ops.DocumentError) -> None:
    target = getattr(form, error.field, None) if error.field else None
    if target is not None:
        target.errors = list(target.errors) + [str(error.message)]
    else:
        form.form_errors.append(str(error.message))


# --- browsing ----------------------------------------------------------------------------

@bp.get("/documents")
@requires("archive.view", refuse=404)
def index():
    args = ArchiveListArgs()
    unit = db.session.get(CustomerUnit, args.unit_id.data) if args.unit_id.data else None
    f = ops.Filters(unit_id=unit.id if unit else None, q=(request.args.get("q") or "").strip()[:100],
                    kind=request.args.get("kind", ""), period=(request.args.get("period") or "").strip()[:10])
    bad_period = bool(f.period) and ops.period_condition(f.period) is None
    page = ops.list_documents(f, args.after.data)
    return render_page("documents/index.html", "results", page=page, f=f, unit=unit, kinds=DocumentKind.choices(),
                       bad_period=bad_period, ignored_titles=args.ignored_titles())


@bp.get("/documents/<doc_id>")
@login_required
def show(doc_id: str):
    doc = get_document_or_404(doc_id)
    part = request.args.get("part")  # a card refreshing itself once the file is settled
    return render_page("documents/show.html", part if part in ("revisions", "sent") else None, doc=doc,
                       revisions=ops.revisions(doc), sent_form=SentForm(formdata=None),
                       upload_form=RevisionUploadForm(formdata=None))


@bp.get("/documents/<doc_id>/status")
@login_required
def status(doc_id: str):
    """The status component; polled every second while pending, 286 (stop) once settled or stuck."""
    doc = get_document_or_404(doc_id)
    body = render_template("documents/_status.html", doc=doc)
    if doc.is_pending and not doc.is_stuck():
        return body, 200, {"Cache-Control": "no-store"}
    # settled: stop polling, and let the rest of the page (the revisions list) refresh itself
    return htmx.response(body, htmx.STOP_POLLING, {"Cache-Control": "no-store"}, trigger="document-settled")


@bp.get("/documents/<doc_id>/download")
@login_required
def download(doc_id: str):
    doc = get_document_or_404(doc_id)
    if not doc.is_ready:
        abort(404)
    try:
        return storage.send(ops.archive(), doc.storage_key, mimetype=doc.content_type, as_attachment=True,
                            download_name=uploads.download_name(doc.filename, "document"),
                            etag=doc.sha256 or False, conditional=False)
    except FileNotFoundError:  # a ready row whose file is not in the store: say so in the log, answer 404
        current_app.logger.error("document %s: %s is missing from the archive's store", doc.id, doc.storage_key)
        abort(404)


# --- generating ---------------------------------------------------------------------------

def _after_request_document(doc: Document):
    db.session.commit()
    # No flash: "being generated" is said by the page's status component alone, which the ready state
    # replaces (a flash would go on saying it after the file is there).
    return redirect(url_for("documents.show", doc_id=doc.public_id))


def _refused(error: ops.DocumentError, back: str):
    db.session.rollback()
    flash(str(error.message), "error")
    return redirect(back), 303


@bp.post("/documents/<doc_id>/regenerate")
@login_required
def regenerate(doc_id: str):
    doc = get_document_or_404(doc_id)
    try:
        new = ops.regenerate(doc, current_user)
    except ops.DocumentError as e:
        return _refused(e, url_for("documents.show", doc_id=doc.public_id))
    return _after_request_document(new)


@bp.post("/documents/<doc_id>/retry")
@login_required
def retry(doc_id: str):
    doc = get_document_or_404(doc_id)
    try:
        ops.retry(doc)
        db.session.commit()
    except ops.DocumentError as e:
        if not htmx.is_fragment_request():
            return _refused(e, url_for("documents.show", doc_id=doc.public_id))
        db.session.rollback()  # (already there: the component shows it)
    if htmx.is_fragment_request():
        return render_template("documents/_status.html", doc=db.session.get(Document, doc.id))
    return redirect(url_for("documents.show", doc_id=doc.public_id))


def _summary_choices(unit: CustomerUnit) -> list[tuple[str, str]]:
    """Recent periods for the unit's level, and any older one whose summary is still due."""
    choices = ops.summary_periods(unit)
    offered = {key for key, _title in choices}
    return choices + [(p, content.period_title(p)) for p in ops.open_summary_reminders(unit.id) if p not in offered]


def _unit_or_404(unit_id: int) -> CustomerUnit:
    require_archive()
    return db.get_or_404(CustomerUnit, unit_id)


@bp.post("/documents/units/<int:unit_id>/summary")
@login_required
def generate_summary(unit_id: int):
    unit = _unit_or_404(unit_id)
    form = SummaryForm()
    form.period.choices = _summary_choices(unit)
    back = url_for("customers.show", unit_id=unit.id) + "#documents"
    if not form.validate():
        flash(_("Choose a period."), "error")
        return redirect(back), 303
    try:
        doc = ops.request_summary(unit, form.period.data, current_user)
    except ops.DocumentError as e:
        return _refused(e, back)
    return _after_request_document(doc)


@bp.post("/documents/contracts/<int:contract_id>/letter")
@login_required
def generate_contract_letter(contract_id: int):
    require_archive()
    contract = db.get_or_404(Contract, contract_id)
    try:
        doc = ops.request_contract_letter(contract, current_user)
    except ops.DocumentError as e:
        return _refused(e, url_for("customers.show", unit_id=contract.customer_id) + "#contracts")
    return _after_request_document(doc)


def _expiry_form(contract: Contract, formdata=True) -> ExpiryNoticeForm:
    renew_by = max(contract.end_date, today_local())  # an ended contract: renew at once
    kwargs = {} if formdata else dict(formdata=None, boxes=content.FAX_BOXES_DEFAULT, renew_by=renew_by)
    form = ExpiryNoticeForm(**kwargs)
    contacts = contract.customer.contacts
    form.contact_id.choices = [(c.id, f"{c.name} {c.department}".strip()) for c in contacts] or [(0, _("(the unit)"))]
    form.boxes.choices = [(k, label) for k, label in content.FAX_BOXES]
    return form


@bp.route("/documents/contracts/<int:contract_id>/expiry-notice", methods=["GET", "POST"])
@login_required
def expiry_notice(contract_id: int):
    require_archive()
    contract = db.get_or_404(Contract, contract_id)
    if request.method == "GET":
        form = _expiry_form(contract, formdata=False)
    else:
        form = _expiry_form(contract)
        if form.validate():
            contact = next((c for c in contract.customer.contacts if c.id == form.contact_id.data), None)
            try:
                doc = ops.request_expiry_notice(contract, current_user, contact=contact, fax=form.fax.data or "",
                                                boxes=form.boxes.data or [], renew_by=form.renew_by.data)
            except ops.DocumentError as e:
                db.session.rollback()
                _error_to_form(form, e)
            else:
                return _after_request_document(doc)
    status = 422 if request.method == "POST" else 200
    return render_template("documents/expiry_form.html", form=form, contract=contract, unit=contract.customer,
                           lh=letterhead.current()), status


# --- uploads and sending -------------------------------------------------------------------

@bp.route("/documents/units/<int:unit_id>/upload", methods=["GET", "POST"])
@login_required
def upload(unit_id: int):
    unit = _unit_or_404(unit_id)
    form = UploadForm()
    if form.validate_on_submit():
        try:
            checked = uploads.check(form.file.data)
            doc = ops.upload(unit, checked, current_user, kind=form.kind.data, title=form.title.data,
                             period=form.period.data or "")
            db.session.commit()
        except uploads.UploadError as e:
            db.session.rollback()
            form.file.errors = list(form.file.errors) + [str(e.message)]
        except ops.DocumentError as e:
            db.session.rollback()
            _error_to_form(form, e)
        else:
            flash(_("Document filed in the archive."), "success")
            return redirect(url_for("documents.show", doc_id=doc.public_id))
    return render_template("documents/upload.html", form=form, unit=unit), 422 if request.method == "POST" else 200


@bp.post("/documents/<doc_id>/revisions")
@login_required
def upload_revision(doc_id: str):
    doc = get_document_or_404(doc_id)
    form = RevisionUploadForm()
    error = None
    if form.validate():
        try:
            checked = uploads.check(form.file.data)
            new = ops.upload(doc.customer, checked, current_user, kind=doc.kind, title=doc.title, period=doc.period,
                             revision_of=doc)
            db.session.commit()
        except uploads.UploadError as e:
            db.session.rollback()
            error = str(e.message)
        except ops.DocumentError as e:
            db.session.rollback()
            error = str(e.message)
        else:
            flash(_("New revision filed."), "success")
            return redirect(url_for("documents.show", doc_id=new.public_id))
    else:
        error = " ".join(str(m) for m in form.file.errors) or _("Choose a file.")
    return render_template("documents/show.html", doc=doc, revisions=ops.revisions(doc), upload_error=error,
                           sent_form=SentForm(formdata=None), upload_form=form), 422


@bp.post("/documents/<doc_id>/sent")
@login_required
def record_sent(doc_id: str):
    doc = get_document_or_404(doc_id)
    form = SentForm()
    if form.validate():
        try:
            ops.record_sent(doc, current_user, form.note.data)
            db.session.commit()
        except ops.DocumentError as e:
            db.session.rollback()
            _error_to_form(form, e)
        else:
            flash(_("Sending recorded."), "success")
            return redirect(url_for("documents.show", doc_id=doc.public_id))
    return render_template("documents/show.html", doc=doc, revisions=ops.revisions(doc), sent_form=form,
                           upload_form=RevisionUploadForm(formdata=None)), 422


# --- letterhead ------------------------------------------------------------------------------

@bp.route("/documents/settings", methods=["GET", "POST"])
@requires("archive.settings", refuse=404)
def settings():
    if request.method == "GET":
        form = LetterheadForm(formdata=None, data=letterhead.as_dict(letterhead.current()))
    else:
        form = LetterheadForm()
        if form.validate():
            letterhead.save(form.data, current_user)
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("documents.settings"))
    return render_template("documents/settings.html", form=form), 422 if request.method == "POST" else 200


# --- the unit page's documents card -----------------------------------------------------------

def unit_panel(unit: CustomerUnit, user) -> dict:
    """Context for templates/documents/_unit_card.html on the unit page (empty for other roles)."""
    if not ops.can_use_archive(user):
        return {}
    form = SummaryForm(formdata=None)
    form.period.choices = _summary_choices(unit)
    due = ops.open_summary_reminders(unit.id)
    if due:
        form.period.data = due[-1]
    return dict(documents_panel=dict(latest=ops.latest_for_unit(unit.id), summary_form=form, due_summaries=due,
                                     handover=handover.unit_status(unit), letterhead_missing=not letterhead.current().complete))
