"""On-site visit pages: the list (mine / my department / all) and one visit with its steps as htmx forms.
Routes parse, call an operation, commit once and answer; a refusal is the visit block again with the reason
(403 / 409 / 422) in Chinese."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.core import htmx, pagination, uploads
from portal.core.kernel import can, guard_blueprint
from portal.core.pagination import Key, Keyset
from portal.core.templating import render_page
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.visits import operations as ops
from portal.visits.forms import STEP_FORMS, PlanForm, VisitArgs
from portal.visits.jobs import report_of
from portal.visits.models import Visit, VisitState

bp = Blueprint("visits", __name__)
guard_blueprint(bp, "visits.view")
PAGE = 50
NEWEST = Keyset("visits.newest", Key("id", Visit.id, int, descending=True))


@bp.get("/visits")
def index():
    args = VisitArgs()
    scopes = ops.scopes_of(current_user)
    scope = args.scope.data if args.scope.data in scopes else scopes[-1]
    stmt = select(Visit)
    cond = ops.visibility_filter(current_user, scope)
    if cond is not None:
        stmt = stmt.where(cond)
    if args.state.data:
        stmt = stmt.where(Visit.state == args.state.data)
    unit = db.session.get(CustomerUnit, args.unit.data) if args.unit.data else None
    if unit is not None:
        stmt = stmt.where(Visit.customer_id == unit.id)
    q = (args.q.data or "").strip()
    if q:
        stmt = stmt.where(Visit.customer_id.in_(select(CustomerUnit.id).where(CustomerUnit.name.contains(q))))
    page = pagination.page(NEWEST, stmt, args.after.data, PAGE)
    return render_page("visits/index.html", "results", page=page, scope=scope, scopes=scopes,
                       state=args.state.data or "", unit=unit, q=q, states=list(VisitState),
                       ignored_titles=args.ignored_titles())


def _context(visit: Visit, failed: str | None = None, form=None, error: str | None = None) -> dict:
    steps = ops.available_steps(visit, current_user)
    forms = {}
    for step in steps:
        if failed == step.key and form is not None:
            forms[step.key] = form
            continue
        f = STEP_FORMS[step.key](formdata=None, prefix=step.key)
        if step.key == "book":
            f.engineer_id.data = visit.engineer_id or current_user.id
            f.customer_contact.data = visit.customer_contact or (visit.ticket.reporter_name if visit.ticket else "")
            f.appointment_at.data = None
        if step.key == "record_work":
            f.result.data = visit.result
        forms[step.key] = f
    people = ops.visitors() if "book" in forms else []
    for key in ("book",):
        if key in forms:
            forms[key].engineer_id.choices = [("", "—")] + [(u.id, u.display_name) for u in people]
            forms[key].companion_ids.choices = [(u.id, u.display_name) for u in people]
    clock = ops.onsite_clock(visit.id)
    return dict(visit=visit, steps=steps, forms=forms, failed=failed, error=error, events=ops.history(visit),
                clock=clock, report=report_of(visit.id), can_archive=can("archive.view"))


@bp.get("/visits/<int:visit_id>")
def show(visit_id: int):
    visit = ops.get_visit_or_404(visit_id, current_user)
    return render_page("visits/show.html", "visit", **_context(visit))


def _checked_sheet(form) -> tuple[uploads.CheckedFile | None, str | None]:
    upload = request.files.get(f"{form._prefix}sheet")
    if uploads.unreadable_files(f"{form._prefix}sheet"):
        return None, uploads.unreadable_files(f"{form._prefix}sheet")[0]
    if not upload or not upload.filename:
        return None, None
    try:
        return uploads.check(upload), None
    except uploads.UploadError as e:
        return None, f"{e.filename}: {e.message}"


def _take(visit: Visit, key: str, form) -> None:
    """Call the step's operation with the form's values (raises ops.VisitError)."""
    if key == "book":
        ops.book(visit, current_user, appointment_at=form.appointment_at.utc(), engineer_id=form.engineer_id.data,
                 companion_ids=form.companion_ids.data or [], customer_contact=form.customer_contact.data or "",
                 note=form.note.data or "")
    elif key in ("depart", "arrive", "leave"):
        getattr(ops, key)(visit, current_user, form.at.utc())
    elif key == "record_work":
        done = request.form.getlist("done")
        notes = {i["key"]: request.form.get(f"note-{i['key']}", "")[:500] for i in visit.checklist}
        ops.record_work(visit, current_user, done=done, notes=notes, result=form.result.data or "")
    elif key == "confirm":
        sheet, sheet_error = _checked_sheet(form)
        if sheet_error:
            raise ops.VisitError(_("Please correct the marked fields."), 422, {"sheet": sheet_error})
        ops.confirm(visit, current_user, name=form.name.data or "", text=form.text.data or "", sheet=sheet)
    elif key == "cancel":
        ops.cancel(visit, current_user, form.reason.data or "")


@bp.post("/visits/<int:visit_id>/<step>")
def act(visit_id: int, step: str):
    visit = ops.get_visit_or_404(visit_id, current_user)
    if step not in ops.STEPS:
        abort(404)
    form = STEP_FORMS[step](prefix=step)
    if step == "book":
        form.engineer_id.choices = [("", "—")] + [(u.id, u.display_name) for u in ops.visitors()]
        form.companion_ids.choices = [(u.id, u.display_name) for u in ops.visitors()]
    status, error = 200, None
    try:
        ops.check(visit, step, current_user)
        if not form.validate():
            raise ops.VisitError(_("Please correct the marked fields."), 422)
        _take(visit, step, form)
        db.session.commit()
    except ops.VisitError as e:
        db.session.rollback()
        status, error = e.status, str(e.message)
        for name, message in e.errors.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = list(field.errors) + [str(message)]
            elif str(message) != error:
                error = f"{error} {message}"
        visit = ops.get_visit_or_404(visit_id, current_user)
    if status == 200 and not htmx.is_fragment_request():
        return redirect(url_for("visits.show", visit_id=visit.id), 303)
    ctx = _context(visit, failed=step if status != 200 else None, form=form if status != 200 else None,
                   error=error)
    return htmx.response(render_page("visits/show.html", "visit", **ctx), status,
                         **({"trigger": "visit-changed"} if status == 200 else {}))


@bp.get("/visits/<int:visit_id>/sheet")
def sheet(visit_id: int):
    visit = ops.get_visit_or_404(visit_id, current_user)
    if not visit.signed_sheet:
        abort(404)
    try:
        return uploads.send(visit.signed_sheet, thumb=False, content_type=visit.signed_sheet_type or "",
                            filename=visit.signed_sheet_name or "sheet")
    except FileNotFoundError:
        abort(404)


@bp.post("/visits/plan/<int:unit_id>")
def plan(unit_id: int):
    unit = db.get_or_404(CustomerUnit, unit_id)
    form = PlanForm()
    if not form.validate():
        return render_page("visits/_plan_error.html", None, error=_("Please correct the marked fields.")), 422
    try:
        visit = ops.plan_visit(unit, current_user, reason=form.reason.data or "", department=form.department.data)
        db.session.commit()
    except ops.VisitError as e:
        db.session.rollback()
        return render_page("visits/_plan_error.html", None, error=str(e.message)), e.status
    target = url_for("visits.show", visit_id=visit.id)
    return htmx.redirect(target) if htmx.is_htmx_request() else redirect(target, 303)
