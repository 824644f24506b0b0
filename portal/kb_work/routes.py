"""The knowledge base where the work is: suggestion fragments (intake, hotline, the ticket's 相关知识, the
consultation answer form) and the staff's vote on an article.

Every fragment lists published articles only, from portal.kb.search.suggest; stored text reaches the page
escaped (titles and snippets are Markup the search escaped, the rest is auto-escaped), never as an attribute
htmx would act on.
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request
from flask_login import current_user
from sqlalchemy import select

from portal.core import htmx
from portal.core.kernel import requires
from portal.extensions import db
from portal.kb import operations as kb
from portal.kb.models import Article
from portal.kb_work import measures, suggestions
from portal.kb_work.area import article_url
from portal.kb_work.answers import normal_number, published_by_number
from portal.kb_work.forms import VoteForm
from portal.tickets import access, workflow

bp = Blueprint("kb_work", __name__)


def _typed() -> str:
    """The text being typed: `q`, or the field htmx sent by its own name (the intake summary, the hotline
    record's problem content)."""
    for name in ("q", "summary", "content"):
        value = request.args.get(name)
        if value:
            return value
    return ""


@bp.get("/kb/suggest")
@requires("kb_work.suggest")
def suggest():
    """Articles for the intake summary / the hotline problem being typed (客服)."""
    q = suggestions.bounded(_typed())
    hits = suggestions.for_text(q, current_user)
    return render_template("kb_work/_suggestions.html", hits=hits, q=q)


@bp.get("/kb/related/<number>")
@requires("kb_work.related")
def related(number: str):
    """The ticket page's 相关知识 panel, loaded after the page (a ticket this user may not see: 404)."""
    ticket = access.get_ticket_or_404(number, current_user)
    hits = suggestions.for_ticket(ticket, current_user)
    return render_template("kb_work/_related.html", ticket=ticket, hits=hits, linked=suggestions.linked_ids(ticket),
                           query=suggestions.ticket_text(ticket)[:60])


def _answerable_or_404(number: str):
    ticket = access.get_ticket_or_404(number, current_user)
    try:
        workflow.check("answer", ticket, current_user)
    except workflow.WorkflowError:
        abort(404)  # nothing to pick for a consultation this user cannot answer now
    return ticket


@bp.get("/kb/answer-pick/<number>")
@requires("kb_work.related")
def answer_pick(number: str):
    """In the consultation's answer form: the articles suggested for it, each with a button that puts its number
    and its solution into the form."""
    ticket = _answerable_or_404(number)
    hits = suggestions.for_ticket(ticket, current_user)
    solutions = {row.id: row.solution for row in db.session.execute(
        select(Article.id, Article.solution).where(Article.id.in_([h.id for h in hits])))} if hits else {}
    return render_template("kb_work/_answer_pick.html", ticket=ticket, hits=hits, solutions=solutions)


@bp.get("/kb/answer-pick/<number>/article")
@requires("kb_work.related")
def answer_pick_by_number(number: str):
    """The article whose number is typed into the answer form (search by number): its title, or why not."""
    _answerable_or_404(number)
    ref = normal_number(request.args.get("answer-article") or request.args.get("ref"))
    article = published_by_number(ref) if ref else None
    return render_template("kb_work/_answer_article.html", ref=ref, article=article)


@bp.post("/kb/<number>/vote")
@requires("kb.view")
def vote(number: str):
    """A staff member's "helpful / not helpful" (one per person and article; voting again changes it)."""
    article = kb.get_article_or_404(number, current_user)  # a draft: only for its owner and the reviewers
    form = VoteForm()
    status, error = 200, None
    if not form.validate():
        status, error = 422, "；".join(str(m) for f in form for m in f.errors)
    else:
        try:
            measures.vote(article, current_user, form.helpful.data == "yes")
            db.session.commit()
        except measures.VoteError as e:
            db.session.rollback()
            status, error = 409, str(e.message)
    if not htmx.is_fragment_request():
        if status != 200:
            abort(status)
        return redirect(article_url(article.number), 303)
    return render_template("kb_work/_measures.html", article=article, vote_error=error), status
