from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from portal.complaints.models import Complaint
from portal.core import htmx, uploads
from portal.core.kernel import requires
from portal.core.params import ID_MAX, parse_id, parse_int
from portal.core.templating import render_page
from portal.core.timeutil import to_local, today_local, utcnow
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.hotline.models import HotlineRecord
from portal.hotline.roster import on_duty_now
from portal.hotline.operations import AlreadyLinked
from portal.notifications.reading import mark_ticket_read, unread_about
from portal.tickets import access, bulk, followers, listing, operations, saved_views, workflow
from portal.tickets.forms import (ACTION_FORMS, AssignForm, BulkForm, ChangeDeadlineForm, EditForm, ReassignForm,
                                  SavedViewForm, TicketForm, action_data, prefill_from_reporter)
from portal.tickets.models import Attachment, Callback, Event, Ticket

bp = Blueprint("tickets", __name__)

from portal.tickets.history_routes import bp as history_bp  # noqa: E402  (the customer-history fragments)

bp.register_blueprint(history_bp)


def _checked_attachments(field_name: str) -> tuple[list[uploads.CheckedFile], list[str]]:
    """The field's files checked, and a refusal for each one that arrived without a readable name."""
    files, errors = uploads.check_all(request.files.getlist(field_name))
    return files, errors + uploads.unreadable_files(field_name)


# --- intake -----------------------------------------------------------------

@bp.route("/tickets/new", methods=["GET", "POST"])
@requires("tickets.register")
def new():
    form = TicketForm()
    hotline = None
    raw_hotline_id = request.values.get("hotline_record_id")
    hotline_id = parse_id(raw_hotline_id)
    if raw_hotline_id and hotline_id is None:
        abort(404)  # like a record that does not exist
    if hotline_id:
        hotline = db.get_or_404(HotlineRecord, hotline_id)
        if hotline.ticket_id:
            return redirect(url_for("tickets.show", number=hotline.ticket.number))
    if request.method == "GET" and hotline is not None:
        form.channel.data = "hotline"
        form.reporter_name.data = hotline.contact_name
        form.reporter_phone.data = hotline.phone
        form.summary.data = hotline.content[:200]
        form.description.data = hotline.content
        form.customer_id.data = hotline.customer_id
        form.hotline_record_id.data = str(hotline.id)
    if request.method == "GET":  # the customer called when the hotline record was made, else now
        form.reported_at.data = to_local(hotline.created_at if hotline is not None else utcnow()).replace(
            tzinfo=None, second=0, microsecond=0)
    file_errors: list[str] = []
    if request.method == "POST":
        contact_error = None
        try:
            contact = operations.picked_contact(form.contact_id.data, form.customer_id.data)
        except workflow.InvalidInput as e:
            contact, contact_error = None, str(e.message)
        if contact is not None:
            form.fill_blanks_from(contact)
        ok = form.validate_on_submit()
        if contact_error:
            form.contact_id.errors = [contact_error]
            ok = False
        files, file_errors = _checked_attachments(form.attachments.name)
        if ok and not file_errors:
            intake = operations.Intake(
                channel=form.channel.data, customer_id=form.customer_id.data, type=form.type.data,
                reporter_name=form.reporter_name.data, reporter_dept=form.reporter_dept.data,
                reporter_phone=form.reporter_phone.data, summary=form.summary.data,
                description=form.description.data or "", save_as_contact=bool(form.save_contact.data),
                hotline_record_id=hotline.id if hotline is not None else None,
                reported_at=form.reported_at.utc() or (hotline.created_at if hotline is not None else None),
                recorded_at=hotline.created_at if hotline is not None else None,
            )
            try:
                ticket = operations.register_ticket(current_user, intake, files)
            except AlreadyLinked as e:  # turned into a ticket meanwhile, from another desk: show that one
                db.session.rollback()
                record = db.session.get(HotlineRecord, e.record_id)
                return redirect(url_for("tickets.show", number=record.ticket.number))
            except workflow.WorkflowError as e:
                db.session.rollback()
                for name, msg in e.errors.items():
                    getattr(form, name).errors = list(getattr(form, name).errors) + [msg]
                if not e.errors:
                    file_errors.append(str(e.message))
            else:
                number = ticket.number  # read before the commit expires it: once saved, the answer needs no query
                try:
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    raise
                if intake.save_as_contact:
                    flash(_("The reporter is one of the unit's contacts now."), "success")
                return redirect(url_for("tickets.show", number=number))
    unit = db.session.get(CustomerUnit, form.customer_id.data) if form.customer_id.data else None
    status = 422 if request.method == "POST" else 200
    return render_template("tickets/new.html", form=form, unit=unit, file_errors=file_errors, hotline=hotline,
                           on_duty=on_duty_now()), status


# --- list -------------------------------------------------------------------

@bp.get("/tickets")
@login_required
def index():
    params = listing.Filters.from_args(request.args)
    page = listing.fetch(params, current_user)
    return render_page("tickets/index.html", "results", page=page, f=params, **listing.choices(params),
                       bulk_actions=bulk.available(current_user), bulk_form=BulkForm(formdata=None),
                       view_form=SavedViewForm(formdata=None, query=listing.normal_query(request.args)))


@bp.get("/tickets/jump")
@login_required
def jump():
    """Open a ticket by its number, or by the number's digits ("17" → SH-<this year>-000017)."""
    raw = request.args.get("n", "")
    ticket = listing.find_by_number(raw, current_user)
    if ticket is None:
        flash(_("No ticket %(n)s that you may see.", n=raw.strip()[:30]), "error")
        return redirect(url_for("tickets.index"))
    return redirect(url_for("tickets.show", number=ticket.number))


@bp.post("/tickets/bulk")
@login_required
def bulk_action():
    """The same action on several ticked tickets: each through the workflow, each whole or not at all."""
    form = BulkForm()
    items = bulk.parse_items(request.form.getlist("t"))
    error = None
    if not form.validate():
        error = "; ".join(str(m) for field in form for m in field.errors) or _("Please correct the marked fields.")
    elif form.action.data not in bulk.available(current_user):
        return render_template("tickets/bulk.html", outcomes=[], error=_("Your role may not do this."),
                               form=form), 403
    elif not items:
        error = _("Tick at least one ticket.")
    elif len(items) > bulk.MAX_TICKETS:
        error = _("At most %(n)d tickets at once.", n=bulk.MAX_TICKETS)
    if error:
        return render_template("tickets/bulk.html", outcomes=[], error=error, form=form), 422
    outcomes = bulk.run(current_user, form.action.data, items, form.action_data())
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return render_template("tickets/bulk.html", outcomes=outcomes, error=None, form=form)


@bp.post("/tickets/views")
@login_required
def view_create():
    form = SavedViewForm()
    if not form.validate():
        flash("; ".join(str(m) for field in form for m in field.errors), "error")
        return redirect(url_for("tickets.index"), 303)
    query = listing.normal_query(saved_views.args_of(form.query.data or ""))
    try:
        saved_views.save(current_user, form.name.data, query)
        db.session.commit()
    except (saved_views.ViewError, IntegrityError) as e:
        # (IntegrityError: the same name saved twice at once, e.g. a double click — the first one stands)
        db.session.rollback()
        flash(str(e) if isinstance(e, saved_views.ViewError) else _("A view of that name exists already."),
              "error")
        return redirect(url_for("tickets.index") + ("?" + query if query else ""), 303)
    flash(_("View “%(name)s” saved: it is in the menu.", name=form.name.data.strip()), "success")
    return redirect(url_for("tickets.index") + ("?" + query if query else ""), 303)


@bp.post("/tickets/views/<view_id>/delete")
@login_required
def view_delete(view_id: str):
    view = saved_views.owned_or_404(view_id, current_user)
    name = view.name
    db.session.delete(view)
    db.session.commit()
    flash(_("View “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("tickets.index"), 303)


# --- one ticket -----------------------------------------------------------------

def _assignee_choices(ticket: Ticket) -> list[tuple]:
    return [("", _("Choose…"))] + [(u.id, u.display_name) for u in workflow.assignable_users(ticket)
                                   if u.id != ticket.assignee_id]


def _prepare(form, ticket: Ticket, fresh: bool, deadline_request: Event | None = None) -> None:
    """Choices an action's form needs, and (for a form just shown) what it starts from."""
    if isinstance(form, (AssignForm, ReassignForm)):
        form.assignee_id.choices = _assignee_choices(ticket)
    if isinstance(form, EditForm):
        form.customer_id.choices = [(ticket.customer_id, ticket.customer.name)]
        if fresh:  # the ticket as it is: the user changes only what is wrong
            for name in workflow.EDITABLE:
                getattr(form, name).data = getattr(ticket, name)
            form.reported_at.data = to_local(ticket.reported_at).replace(tzinfo=None, second=0, microsecond=0)
    if isinstance(form, ChangeDeadlineForm) and fresh:
        request_event = deadline_request
        if request_event is not None:  # the assignee asked: the manager decides on what was asked
            asked = datetime.fromisoformat(request_event.data["requested_deadline"])
            form.deadline.data = to_local(asked).replace(tzinfo=None)
            form.reason.data = request_event.text


def _visible_links(ticket: Ticket) -> list[tuple[str, Ticket, bool]]:
    """Linked tickets, each with whether this user may open it (one query for all of them)."""
    links = operations.linked_tickets(ticket)
    if not links:
        return []
    ids = [other.id for _, other in links]
    visible = set(db.session.scalars(access.restrict(select(Ticket.id).where(Ticket.id.in_(ids)), current_user)))
    return [(kind, other, other.id in visible) for kind, other in links]


def _ticket_context(ticket: Ticket, failed: tuple[str, object] | None = None, error: str | None = None) -> dict:
    events = list(db.session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id)))
    attachments = list(db.session.scalars(
        select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.created_at)))
    callbacks = list(db.session.scalars(select(Callback).where(Callback.ticket_id == ticket.id).order_by(Callback.id)))
    masked = access.personal_data_masked(current_user, ticket)
    forms = {}
    deadline_request = workflow.pending_deadline_request(ticket)
    for action in workflow.available_actions(ticket, current_user):
        if failed and failed[0] == action.key:
            form = failed[1]
        else:
            form = ACTION_FORMS[action.key](formdata=None, prefix=action.key)
            form.version.data = ticket.version
            prefill_from_reporter(form, ticket)
        _prepare(form, ticket, fresh=not (failed and failed[0] == action.key), deadline_request=deadline_request)
        forms[action.key] = (action, form)
    return dict(
        ticket=ticket, events=events, attachments=attachments, callbacks=callbacks, masked=masked,
        links=_visible_links(ticket), forms=forms, error=error, failed_action=failed[0] if failed else None,
        deadline_request=deadline_request,
        current_contract=ticket.customer.current_contract(today_local()),
        **followers.page_context(ticket, current_user),
        complaints=list(db.session.scalars(select(Complaint).where(Complaint.ticket_id == ticket.id)
                                           .order_by(Complaint.id))),
    )


@bp.get("/tickets/<number>")
@login_required
def show(number: str):
    ticket = access.get_ticket_or_404(number, current_user)
    page = render_page("tickets/show.html", "ticket", **_ticket_context(ticket))
    ticket_id, unread = ticket.id, unread_about(current_user.id, ticket.id)
    if unread:  # seen now: the bell (loaded after the page) stops counting them
        # End the read first, so that on SQLite the write waits its turn (busy_timeout) instead of
        # failing at once on a snapshot another writer has moved past.
        db.session.commit()
        try:
            mark_ticket_read(current_user.id, ticket_id)
            db.session.commit()
        except OperationalError:  # best effort: the page is shown either way; the next opening marks them
            db.session.rollback()  # (SQLite busy past its timeout under a burst of writers)
            current_app.logger.info("notifications of %s not marked read this time (database busy)", number)
    return page


@bp.post("/tickets/<number>/actions/<action>")
@login_required
def act(number: str, action: str):
    ticket = access.get_ticket_or_404(number, current_user)
    if action not in ACTION_FORMS:
        abort(404)
    form = ACTION_FORMS[action](prefix=action)
    _prepare(form, ticket, fresh=False)
    status, error, mentioned = 200, None, []
    try:
        try:
            workflow.check(action, ticket, current_user)
        except (workflow.NotAllowed, workflow.WrongState):
            # Refused on a ticket someone changed since the form was shown (e.g. reassigned while its
            # engineer was resolving it): say that, the real reason, rather than what it has become.
            posted = parse_int(form.version.data, 0, ID_MAX)
            if (posted is not None and posted != ticket.version
                    and workflow.may_take(workflow.ACTIONS[action], current_user)):
                raise workflow.StaleTicket(_("Someone else changed this ticket after you opened it. "
                                             "Reload and try again."))
            raise
        files, file_errors = ([], [])
        if "attachments" in form._fields:
            files, file_errors = _checked_attachments(form.attachments.name)
        if not form.validate() or file_errors:
            raise workflow.InvalidInput("; ".join(file_errors) or _("Please correct the marked fields."))
        version = parse_int(form.version.data, 0, ID_MAX)
        if version is None:  # a form always carries the version it was shown with
            raise workflow.StaleTicket(_("This form is out of date. Reload the ticket and try again."))
        data = action_data(form)
        event = operations.take_action(ticket, action, current_user, data, expected_version=version, files=files)
        if action == "comment":  # who the note's @names reached, for the author (resolved once, when notified)
            mentioned = event.mentioned.messages()
        db.session.commit()
    except workflow.WorkflowError as e:
        db.session.rollback()
        for name, msg in e.errors.items():
            if name in form._fields:
                form._fields[name].errors = list(form._fields[name].errors) + [str(msg)]
        status, error = e.status, str(e.message)
        if isinstance(e, (workflow.StaleTicket, workflow.WrongState)):
            db.session.expire_all()
            ticket = access.get_ticket_or_404(number, current_user)
    if status == 200 and not htmx.is_fragment_request():
        for category, message in mentioned:
            flash(message, category)
        return redirect(url_for("tickets.show", number=number))  # (the saved ticket's number: no query after the commit)
    if status == 200:
        ctx = _ticket_context(ticket)
        ctx["mentioned"] = mentioned
    else:
        keep = None
        if status == 422:
            keep = (action, form)
        elif status == 409:
            # Changed meanwhile: show the ticket as it is now and keep what the user typed, with the
            # current version, so that sending it again is a decision taken on what they now see.
            form.version.data = ticket.version
            keep = (action, form)
        ctx = _ticket_context(ticket, failed=keep, error=error)
    return htmx.response(render_page("tickets/show.html", "ticket", **ctx), status,
                         trigger="ticket-changed" if status == 200 else None)


@bp.get("/tickets/<number>/attachments/<att_id>")
@login_required
def attachment(number: str, att_id: str):
    ticket = access.get_ticket_or_404(number, current_user)
    if access.personal_data_masked(current_user, ticket) or not att_id.isalnum() or len(att_id) > 32:
        abort(404)  # (an id is 32 hex digits: anything else, a NUL or a path, is no attachment)
    att = db.session.scalar(select(Attachment).where(Attachment.id == att_id, Attachment.ticket_id == ticket.id))
    if att is None:
        abort(404)
    return uploads.serve(att, thumb=request.args.get("thumb") == "1")


# --- following (关注) ----------------------------------------------------------------

def _followers_answer(number: str):
    """The followers box for htmx, else the ticket page again."""
    if not htmx.is_fragment_request():
        return redirect(url_for("tickets.show", number=number))
    ticket = access.get_ticket_or_404(number, current_user)
    return render_page("tickets/show.html", "followers", ticket=ticket, **followers.page_context(ticket, current_user))


@bp.post("/tickets/<number>/follow")
@login_required
def follow(number: str):
    ticket = access.get_ticket_or_404(number, current_user)
    followers.follow(ticket, current_user)
    db.session.commit()
    return _followers_answer(number)


@bp.post("/tickets/<number>/unfollow")
@login_required
def unfollow(number: str):
    ticket = access.get_ticket_or_404(number, current_user)
    followers.unfollow(ticket, current_user)
    db.session.commit()
    return _followers_answer(number)
