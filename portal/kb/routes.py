"""知识库 pages: the list and search (/kb), an article, writing (also from a solved ticket), review steps,
revisions and their differences, files, links to tickets. Load → check (operations.get_article_or_404: an
article the user may not see does not exist) → act through portal.kb.operations → commit once → respond."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.core import pagination, uploads
from portal.core.kernel import guard_blueprint, kernel, requires
from portal.core.pagination import Key, Keyset
from portal.core.policy import policy_for
from portal.core.templating import render_page
from portal.extensions import db
from portal.kb import operations as ops
from portal.kb import search as kb_search
from portal.kb.forms import ArticleForm, DiffForm, KbQueryForm, LinkTicketForm, ReviewForm
from portal.kb.models import TEXT_FIELDS, Article, ArticleAttachment, ArticleState
from portal.tickets import access
from portal.tickets.models import Ticket

bp = Blueprint("kb", __name__)
guard_blueprint(bp, "kb.view")
PAGE = 30
NEWEST_FIRST = Keyset("kb.newest", Key("id", Article.id, descending=True))


def _view_of(form: KbQueryForm) -> str:
    view = form.view.data or ""
    if view and not ops.may_write(current_user) and not ops.may_review(current_user):
        return ""
    if view == "archived" and not ops.may_review(current_user):
        return ""
    return view


def _view_condition(view: str):
    me = current_user
    if view == "drafts":
        return Article.state == ArticleState.DRAFT.value
    if view == "mine":
        return Article.owner_id == me.id
    if view == "stale":
        cond = ops.stale_condition()
        return cond if ops.may_review(me) else cond & (Article.owner_id == me.id)
    if view == "archived":
        return Article.state == ArticleState.ARCHIVED.value
    return Article.state == ArticleState.PUBLISHED.value


def _stale_count() -> int:
    if not (ops.may_write(current_user) or ops.may_review(current_user)):
        return 0
    return db.session.scalar(select(func.count()).select_from(Article).where(_view_condition("stale")))


@bp.get("/kb")
def index():
    form = KbQueryForm()
    view = _view_of(form)
    q = (form.q.data or "").strip()
    module, version, tag = (form.module.data or "").strip(), (form.version.data or "").strip(), \
        (form.tag.data or "").strip()
    next_url = None
    if q:
        hits = kb_search.search(q, user=current_user, module=module or None, version=version or None,
                                tag=tag or None, limit=kb_search.MAX_LIMIT, published_only=not view)
        if view:  # the view's own articles among the matches
            keep = set(db.session.scalars(_visible(select(Article.id).where(
                Article.id.in_([h.id for h in hits]), _view_condition(view)))))
            hits = [h for h in hits if h.id in keep]
    else:
        stmt = _visible(select(Article).where(
            _view_condition(view), *kb_search.filters(module=module, version=version, tag=tag, published_only=False)))
        window = pagination.page(NEWEST_FIRST, stmt, form.after.data, PAGE)
        hits = [kb_search.as_hit(a) for a in window.rows]
        if window.next_cursor:
            args = {k: v for k, v in request.args.items() if k != "after" and v}
            next_url = url_for("kb.index", **args, after=window.next_cursor)
    modules = list(db.session.scalars(select(Article.module).where(
        Article.state == ArticleState.PUBLISHED.value, Article.module != "").distinct().order_by(Article.module)
        .limit(200)))
    return render_page("kb/index.html", "results", form=form, view=view, q=q, hits=hits, next_url=next_url,
                       modules=modules, stale_count=_stale_count(), ignored=form.ignored_titles(),
                       review_days=policy_for(None).kb_review_days,
                       may_write=ops.may_write(current_user), may_review=ops.may_review(current_user))


def _visible(stmt):
    cond = ops.visible_condition(current_user)
    return stmt if cond is None else stmt.where(cond)


# --- one article ---------------------------------------------------------------------------------------

def _show(article: Article, *, error=None, status=200, review_form=None, link_form=None):
    return render_template(
        "kb/show.html", a=article, error=error, stale=ops.is_stale(article),
        tickets=ops.linked_tickets(article, current_user), files=ops.attachments(article),
        may_edit=ops.may_edit(current_user, article), may_review=ops.may_review(current_user),
        may_link=ops.may_write(current_user) or ops.may_review(current_user),
        review_form=review_form or ReviewForm(formdata=None, revision=article.revision_no),
        link_form=link_form or LinkTicketForm(formdata=None)), status


@bp.get("/kb/<number>")
def show(number: str):
    article = ops.get_article_or_404(number, current_user)
    kernel.emit("kb_article_viewed", article=article)  # (portal/kb_work counts it)
    return _show(article)


def _fill(form: ArticleForm, data: ops.ArticleInput) -> None:
    for f in TEXT_FIELDS:
        getattr(form, f).data = getattr(data, f)


def _input(form: ArticleForm) -> ops.ArticleInput:
    return ops.ArticleInput(**{f: getattr(form, f).data or "" for f in TEXT_FIELDS})


def _files(form: ArticleForm):
    files, errors = uploads.check_all(request.files.getlist("attachments"))
    return files, errors + uploads.unreadable_files("attachments")


def _source_ticket(number: str) -> Ticket:
    return access.get_ticket_or_404((number or "").strip().upper(), current_user)


@bp.route("/kb/new", methods=["GET", "POST"])
@requires("kb.write")
def new():
    form = ArticleForm()
    ticket, removed, error, status = None, [], None, 200
    source = request.args.get("from") if request.method == "GET" else form.source.data
    if source:
        ticket = _source_ticket(source)
        if not ops.may_write_from(ticket):
            error, status, ticket = _("Only a solved ticket (with its process and result) can become an article."), 422, None
    if request.method == "GET" and ticket is not None:
        prefill = ops.prefill_from_ticket(ticket, current_user)
        _fill(form, prefill.data)
        form.source.data = ticket.number
        removed = prefill.removed
    if request.method == "POST" and error is None:
        files, file_errors = _files(form)
        if form.validate_on_submit() and not file_errors:
            try:
                article = ops.create(current_user, _input(form), source_ticket=ticket, comment=form.comment.data or "")
                ops.attach(article, current_user, files)
            except ops.KbError as e:
                db.session.rollback()
                error, status = str(e.message), e.status
                _mark(form, e)
            else:
                db.session.commit()
                return redirect(url_for("kb.show", number=article.number))
        else:
            error, status = _("Please correct the marked fields."), 422
            form.attachments.errors = file_errors
    return render_template("kb/form.html", form=form, article=None, ticket=ticket, removed=removed,
                           error=error), status


def _mark(form: ArticleForm, e: ops.KbError) -> None:
    for name, msg in e.errors.items():
        if name in form._fields:
            getattr(form, name).errors = list(getattr(form, name).errors) + [str(msg)]


def _revision_of(form) -> int | None:
    raw = (form.revision.data or "").strip() if isinstance(form.revision.data, str) else form.revision.data
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return -1  # never a revision: refused as a conflict


@bp.route("/kb/<number>/edit", methods=["GET", "POST"])
@requires("kb.write")
def edit(number: str):
    article = ops.get_article_or_404(number, current_user)
    if not ops.may_edit(current_user, article):
        abort(403)
    form = ArticleForm()
    error, status = None, 200
    if request.method == "GET":
        _fill(form, ops.ArticleInput(**{f: getattr(article, f) for f in TEXT_FIELDS}))
        form.revision.data = str(article.revision_no)
    else:
        files, file_errors = _files(form)
        if form.validate_on_submit() and not file_errors:
            data = _input(form)
            try:
                changed = any((getattr(data, f) or "") != (getattr(article, f) or "") for f in TEXT_FIELDS)
                if changed or not files:
                    ops.edit(article, current_user, data, expected_revision=_revision_of(form),
                             comment=form.comment.data or "")
                ops.attach(article, current_user, files)
            except ops.KbError as e:
                db.session.rollback()
                error, status = str(e.message), e.status
                _mark(form, e)
                article = ops.get_article_or_404(number, current_user)
            else:
                db.session.commit()
                return redirect(url_for("kb.show", number=article.number))
        else:
            error, status = _("Please correct the marked fields."), 422
            form.attachments.errors = file_errors
    return render_template("kb/form.html", form=form, article=article, ticket=None, removed=[], error=error), status


def _review_step(number: str, step):
    article = ops.get_article_or_404(number, current_user)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _show(article, error=_("Please correct the marked fields."), status=422, review_form=form)
    try:
        step(article, form)
    except ops.KbError as e:
        db.session.rollback()
        if e.status == 403:
            abort(403)
        article = ops.get_article_or_404(number, current_user)
        if "comment" in e.errors:
            form.comment.errors = [str(e.errors["comment"])]
        return _show(article, error=str(e.message), status=e.status, review_form=form)
    db.session.commit()
    return redirect(url_for("kb.show", number=article.number))


@bp.post("/kb/<number>/publish")
@requires("kb.publish")
def publish(number: str):
    return _review_step(number, lambda a, f: ops.publish(a, current_user, expected_revision=_revision_of(f),
                                                         comment=f.comment.data or ""))


@bp.post("/kb/<number>/send-back")
@requires("kb.publish")
def send_back(number: str):
    return _review_step(number, lambda a, f: ops.send_back(a, current_user, comment=f.comment.data or "",
                                                           expected_revision=_revision_of(f)))


@bp.post("/kb/<number>/archive")
@requires("kb.publish")
def archive(number: str):
    return _review_step(number, lambda a, f: ops.archive(a, current_user, comment=f.comment.data or "",
                                                         expected_revision=_revision_of(f)))


@bp.post("/kb/<number>/restore")
@requires("kb.publish")
def restore(number: str):
    return _review_step(number, lambda a, f: ops.restore(a, current_user, expected_revision=_revision_of(f)))


@bp.post("/kb/<number>/tickets")
@requires("kb.write")
def link_ticket(number: str):
    article = ops.get_article_or_404(number, current_user)
    form = LinkTicketForm()
    if not form.validate_on_submit():
        return _show(article, error=_("Please correct the marked fields."), status=422, link_form=form)
    n = form.ticket_number.data.strip().upper()
    ticket = db.session.scalar(access.restrict(select(Ticket).where(Ticket.number == n), current_user)) \
        if len(n) <= 20 and "\x00" not in n else None
    if ticket is None:  # (one the user may not see is no ticket, as everywhere)
        form.ticket_number.errors = [_("No such ticket.")]
        return _show(article, error=_("No such ticket."), status=422, link_form=form)
    ops.link_ticket(article, ticket, current_user)
    db.session.commit()
    return redirect(url_for("kb.show", number=article.number))


@bp.get("/kb/<number>/files/<att_id>")
def attachment(number: str, att_id: str):
    article = ops.get_article_or_404(number, current_user)
    if not att_id.isalnum() or len(att_id) > 32:
        abort(404)
    att = db.session.scalar(select(ArticleAttachment).where(ArticleAttachment.id == att_id,
                                                            ArticleAttachment.article_id == article.id))
    if att is None:
        abort(404)
    return uploads.serve(att, thumb=request.args.get("thumb") == "1")


# --- revisions -----------------------------------------------------------------------------------------

@bp.get("/kb/<number>/revisions")
def revisions(number: str):
    article = ops.get_article_or_404(number, current_user)
    return render_template("kb/revisions.html", a=article, revisions=ops.revisions(article))


@bp.get("/kb/<number>/revisions/<int:no>")
def revision(number: str, no: int):
    article = ops.get_article_or_404(number, current_user)
    rev = ops.revision(article, no)
    if rev is None:
        abort(404)
    return render_template("kb/revision.html", a=article, rev=rev)


@bp.get("/kb/<number>/diff")
def diff(number: str):
    article = ops.get_article_or_404(number, current_user)
    form = DiffForm()
    a_no = form.a.data if form.a.data is not None else max(article.revision_no - 1, 1)
    b_no = form.b.data if form.b.data is not None else article.revision_no
    old, new = ops.revision(article, a_no), ops.revision(article, b_no)
    if old is None or new is None:
        abort(404)
    return render_template("kb/diff.html", a=article, old=old, new=new, changes=ops.diff(old, new),
                           revisions=ops.revisions(article))
