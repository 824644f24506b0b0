"""常用语: my replies and the shared ones (/replies), their forms and history, and the picker fragment that
fills them from a ticket (/replies/pick), for every action form's text box."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.core.kernel import guard_blueprint
from portal.extensions import db
from portal.replies import operations as ops
from portal.replies.forms import ReplyForm
from portal.replies.models import Reply, ReplyKind
from portal.replies.placeholders import KNOWN, fill, values_for
from portal.tickets.access import get_ticket_or_404, personal_data_masked

bp = Blueprint("replies", __name__, url_prefix="/replies")
guard_blueprint(bp, "replies.use")

FIELD_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,60}$")  # the id of the text box the picker fills
KINDS = {k.value for k in ReplyKind}


@bp.get("")
def index():
    archived = request.args.get("archived") == "1"
    replies = ops.listing(current_user, archived=archived)
    by_kind = [(k, [r for r in replies if r.kind == k.value]) for k in ReplyKind]
    return render_template("replies/index.html", by_kind=by_kind, archived=archived,
                           manages_shared=ops.may_manage_shared(current_user), known=KNOWN)


def _form_page(form: ReplyForm, *, reply: Reply | None, shared: bool, status: int = 200):
    return render_template("replies/form.html", form=form, reply=reply, shared=shared, known=KNOWN), status


@bp.route("/new", methods=["GET", "POST"])
def new():
    shared = request.args.get("scope") == "shared"
    if shared and not ops.may_manage_shared(current_user):
        abort(403)
    form = ReplyForm()
    if request.method == "GET" and request.args.get("kind") in KINDS:
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            ops.create(current_user, kind=form.kind.data, title=form.title.data, body=form.body.data, shared=shared)
        except ops.ReplyError as e:
            db.session.rollback()
            if e.status == 403:
                abort(403)
            form.body.errors = list(form.body.errors) + [str(e.message)]
        else:
            db.session.commit()
            flash(_("Reply saved."), "success")
            return redirect(url_for("replies.index"))
    return _form_page(form, reply=None, shared=shared, status=422 if form.is_submitted() else 200)


@bp.route("/<int:reply_id>/edit", methods=["GET", "POST"])
def edit(reply_id: int):
    reply = ops.get_reply_or_404(reply_id, current_user, edit=True)
    form = ReplyForm(obj=reply)
    if form.validate_on_submit():
        try:
            changed = ops.edit(reply, current_user, kind=form.kind.data, title=form.title.data, body=form.body.data)
        except ops.ReplyError as e:
            db.session.rollback()
            if e.status == 403:
                abort(403)
            form.body.errors = list(form.body.errors) + [str(e.message)]
        else:
            db.session.commit()
            flash(_("Reply saved.") if changed else _("The text is unchanged: no new version was saved."), "success")
            return redirect(url_for("replies.index"))
    return _form_page(form, reply=reply, shared=reply.shared, status=422 if form.is_submitted() else 200)


@bp.post("/<int:reply_id>/archive")
def archive(reply_id: int):
    reply = ops.get_reply_or_404(reply_id, current_user, edit=True)
    ops.archive(reply, current_user)
    db.session.commit()
    flash(_("Reply archived: it is no longer offered, and its history is kept."), "success")
    return redirect(url_for("replies.index"))


@bp.post("/<int:reply_id>/restore")
def restore(reply_id: int):
    reply = ops.get_reply_or_404(reply_id, current_user, edit=True)
    ops.restore(reply, current_user)
    db.session.commit()
    flash(_("Reply restored."), "success")
    return redirect(url_for("replies.index"))


@bp.get("/<int:reply_id>")
def history(reply_id: int):
    reply = ops.get_reply_or_404(reply_id, current_user)
    return render_template("replies/history.html", reply=reply, may_edit=ops.may_edit(current_user, reply))


@bp.get("/pick")
def pick():
    """The picker's list for one text box: the replies of the kind, filled from the ticket (one the user may
    see — else 404, as if it did not exist)."""
    field = request.args.get("field", "")
    if not FIELD_ID.match(field):
        abort(404)
    kind = request.args.get("kind")
    kind = kind if kind in KINDS else None
    number = request.args.get("ticket")
    ticket = get_ticket_or_404(number, current_user) if number else None
    values = values_for(ticket, masked=bool(ticket) and personal_data_masked(current_user, ticket))
    items = [(r, fill(r.body, values)) for r in ops.for_picking(current_user, kind)]
    return render_template("replies/_pick.html", items=items, field=field, kind=kind)
