"""Everything that changes an article, callable from a route, a job, the CLI or a test (no `request` here).

Rules:
- who may see an article: published ones, anyone with kb.view; drafts and archived ones, their owner and
  the reviewers (kb.publish). Anyone else gets "no such article" (404), exactly as for a missing one;
- who may change it: its owner edits it while it is a draft; reviewers (kb.publish) edit any article that is
  not archived, publish (draft → published, or re-confirm a published one: its review date moves), send back
  to draft with a comment, archive and restore;
- every change appends one ArticleRevision holding a full copy of every field as it stood after the change:
  old text is never overwritten, and `revision_no` is the optimistic lock (two people editing the same
  version: the second is refused, nothing is lost).
"""
from __future__ import annotations

import difflib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import abort
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import and_, false, or_, select

from portal.auth.models import User
from portal.core import uploads
from portal.core.enums import State
from portal.core.kernel import kernel
from portal.core.policy import policy_for
from portal.core.timeutil import utcnow
from portal.customers.models import Contact
from portal.extensions import db
from portal.kb import personal
from portal.kb.models import (
    NUMBER_PREFIX, TEXT_FIELDS, Article, ArticleAttachment, ArticleRevision, ArticleState, ArticleTicket,
    Visibility,
)
from portal.notifications import reminders
from portal.notifications.models import Reminder
from portal.tickets import access
from portal.tickets.models import Ticket

MAX_TAGS = 12
MAX_TAG = 30
TAG_SPLIT = re.compile(r"[,，;；、\s]+")
NUMBER_RE = re.compile(rf"^{NUMBER_PREFIX}\d{{1,12}}$")
# Tickets whose solution is known (the engineer's process and result, or the consultation's answer).
SOLVED_STATES = (State.RESOLVED.value, State.CALLBACK_DONE.value, State.CLOSED.value)
STALE_KIND = "kb_stale"
PROCESS, RESULT = _l("Process"), _l("Result")  # the headings of a solution written from a ticket


class KbError(Exception):
    def __init__(self, message, status: int = 422, errors: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.status = status
        self.errors = errors or {}


@dataclass
class ArticleInput:
    title: str = ""
    symptom: str = ""
    cause: str = ""
    solution: str = ""
    internal_notes: str = ""
    module: str = ""
    versions: str = ""
    tags: str = ""
    visibility: str = Visibility.INTERNAL.value


# --- who may ----------------------------------------------------------------------------------------------

def may_view(user) -> bool:
    return kernel.allows(user, "kb.view")


def may_write(user) -> bool:
    return kernel.allows(user, "kb.write")


def may_review(user) -> bool:
    return kernel.allows(user, "kb.publish")


def may_see(user, article: Article) -> bool:
    if article.state == ArticleState.PUBLISHED.value:
        return may_view(user)
    return may_review(user) or (may_write(user) and article.owner_id == user.id)


def may_edit(user, article: Article) -> bool:
    if article.state == ArticleState.ARCHIVED.value:
        return False
    if may_review(user):
        return True
    return may_write(user) and article.owner_id == user.id and article.state == ArticleState.DRAFT.value


def visible_condition(user):
    """may_see as SQL, for lists (None: every article)."""
    if may_review(user):
        return None
    published = Article.state == ArticleState.PUBLISHED.value
    if may_write(user):
        return or_(published, Article.owner_id == user.id)
    return published if may_view(user) else false()


def get_article_or_404(number: str, user) -> Article:
    number = (number or "").upper()
    if not NUMBER_RE.match(number):
        abort(404)
    article = db.session.scalar(select(Article).where(Article.number == number))
    if article is None or not may_see(user, article):
        abort(404)
    return article


# --- writing ----------------------------------------------------------------------------------------------

def normalise_tags(raw: str) -> str:
    tags: list[str] = []
    for t in TAG_SPLIT.split(raw or ""):
        t = t.strip()[:MAX_TAG]
        if t and t not in tags:
            tags.append(t)
    return ",".join(tags[:MAX_TAGS])


def _clean(data: ArticleInput) -> ArticleInput:
    data = ArticleInput(**{f: (getattr(data, f) or "") for f in TEXT_FIELDS})
    data.title = " ".join(data.title.split())
    data.module = data.module.strip()
    data.versions = ", ".join(dict.fromkeys(v.strip() for v in re.split(r"[,，;；、]+", data.versions) if v.strip()))
    data.tags = normalise_tags(data.tags)
    errors = {}
    if not data.title:
        errors["title"] = _l("Give the article a title.")
    elif len(data.title) > 200:
        errors["title"] = _l("At most %(n)d characters.", n=200)
    if len(data.module) > 100:
        errors["module"] = _l("At most %(n)d characters.", n=100)
    if len(data.versions) > 200:
        errors["versions"] = _l("At most %(n)d characters.", n=200)
    if len(data.tags) > 500:
        errors["tags"] = _l("Too many tags.")
    if data.visibility not in (Visibility.INTERNAL.value, Visibility.CUSTOMER.value):
        errors["visibility"] = _l("Choose who may read the article.")
    if errors:
        raise KbError(_l("Please correct the marked fields."), errors=errors)
    return data


def _revise(article: Article, actor: User | None, action: str, comment: str = "") -> ArticleRevision:
    rev = ArticleRevision(article_id=article.id, revision_no=article.revision_no, action=action,
                          author_id=actor.id if actor else None, comment=comment or "", created_at=utcnow(),
                          state=article.state, **{f: getattr(article, f) for f in TEXT_FIELDS})
    db.session.add(rev)
    return rev


def _step(article: Article, expected_revision: int | None) -> None:
    if expected_revision is not None and expected_revision != article.revision_no:
        raise KbError(_l("Someone else changed this article meanwhile: reload it and make your change again."),
                      status=409)
    article.revision_no += 1
    article.updated_at = utcnow()


def create(actor: User, data: ArticleInput, *, source_ticket: Ticket | None = None, comment: str = "") -> Article:
    """A new draft owned by `actor` (its first revision), linked to the ticket it was written from."""
    if not may_write(actor):
        raise KbError(_l("You may not write knowledge articles."), status=403)
    data = _clean(data)
    now = utcnow()
    article = Article(owner_id=actor.id, state=ArticleState.DRAFT.value, revision_no=1, created_at=now,
                      updated_at=now, source_ticket_id=source_ticket.id if source_ticket else None,
                      review_comment="", **{f: getattr(data, f) for f in TEXT_FIELDS})
    db.session.add(article)
    db.session.flush()
    article.number = f"{NUMBER_PREFIX}{article.id:05d}"
    _revise(article, actor, "create", comment)
    if source_ticket is not None:
        link_ticket(article, source_ticket, actor)
    return article


def edit(article: Article, actor: User, data: ArticleInput, *, expected_revision: int | None,
         comment: str = "") -> Article:
    if not may_edit(actor, article):
        raise KbError(_l("You may not edit this article."), status=403)
    data = _clean(data)
    if all(getattr(article, f) == getattr(data, f) for f in TEXT_FIELDS):
        raise KbError(_l("Nothing was changed."), status=422)
    _step(article, expected_revision)
    for f in TEXT_FIELDS:
        setattr(article, f, getattr(data, f))
    _revise(article, actor, "edit", comment)
    return article


def publish(article: Article, actor: User, *, expected_revision: int | None = None, comment: str = "") -> Article:
    """A reviewer publishes a draft, or re-confirms a published article (its review date moves on)."""
    if not may_review(actor):
        raise KbError(_l("Only a reviewer may publish articles."), status=403)
    if article.state == ArticleState.ARCHIVED.value:
        raise KbError(_l("An archived article cannot be published: restore it first."), status=409)
    missing = {f: _l("Needed before publishing.") for f in ("symptom", "solution") if not getattr(article, f).strip()}
    if missing:
        raise KbError(_l("An article is published with its symptom and its solution."), errors=missing)
    _step(article, expected_revision)
    action = "publish" if article.state == ArticleState.DRAFT.value else "review"
    article.state = ArticleState.PUBLISHED.value
    article.reviewed_at = utcnow()
    article.reviewed_by_id = actor.id
    article.review_comment = ""
    _revise(article, actor, action, comment)
    _settle_stale(article, note=action)
    return article


def send_back(article: Article, actor: User, *, comment: str, expected_revision: int | None = None) -> Article:
    """A reviewer sends a draft (or a published article that needs work) back to its owner, saying why."""
    if not may_review(actor):
        raise KbError(_l("Only a reviewer may send articles back."), status=403)
    comment = (comment or "").strip()
    if not comment:
        raise KbError(_l("Say what must change."), errors={"comment": _l("Say what must change.")})
    if article.state == ArticleState.ARCHIVED.value:
        raise KbError(_l("This article is archived."), status=409)
    _step(article, expected_revision)
    article.state = ArticleState.DRAFT.value
    article.review_comment = comment
    _revise(article, actor, "send_back", comment)
    _settle_stale(article, note="send_back")
    return article


def archive(article: Article, actor: User, *, comment: str = "", expected_revision: int | None = None) -> Article:
    if not may_review(actor):
        raise KbError(_l("Only a reviewer may archive articles."), status=403)
    if article.state == ArticleState.ARCHIVED.value:
        raise KbError(_l("This article is archived already."), status=409)
    _step(article, expected_revision)
    if article.reviewed_at is None:
        article.reviewed_at = utcnow()  # (an archived article says who last looked at it)
        article.reviewed_by_id = actor.id
    article.state = ArticleState.ARCHIVED.value
    _revise(article, actor, "archive", comment)
    _settle_stale(article, note="archive")
    return article


def restore(article: Article, actor: User, *, expected_revision: int | None = None) -> Article:
    """An archived article back to draft (to be reviewed and published again)."""
    if not may_review(actor):
        raise KbError(_l("Only a reviewer may restore articles."), status=403)
    if article.state != ArticleState.ARCHIVED.value:
        raise KbError(_l("Only an archived article can be restored."), status=409)
    _step(article, expected_revision)
    article.state = ArticleState.DRAFT.value
    _revise(article, actor, "restore")
    return article


def link_ticket(article: Article, ticket: Ticket, actor: User) -> bool:
    """Link the article and the ticket (once). False if they were linked already."""
    if db.session.get(ArticleTicket, (article.id, ticket.id)) is not None:
        return False
    db.session.add(ArticleTicket(article_id=article.id, ticket_id=ticket.id, created_by_id=actor.id,
                                 created_at=utcnow()))
    return True


def attach(article: Article, actor: User, files: list[uploads.CheckedFile]) -> list[ArticleAttachment]:
    if not may_edit(actor, article):
        raise KbError(_l("You may not edit this article."), status=403)
    out = []
    for f in files:
        a = ArticleAttachment(id=secrets.token_hex(16), article_id=article.id, filename=f.filename,
                              stored_name=uploads.store(f), content_type=f.content_type, size=len(f.content),
                              is_image=f.is_image, uploaded_by_id=actor.id, created_at=utcnow())
        db.session.add(a)
        out.append(a)
    return out


# --- reading ----------------------------------------------------------------------------------------------

def revisions(article: Article) -> list[ArticleRevision]:
    return list(db.session.scalars(select(ArticleRevision).where(ArticleRevision.article_id == article.id)
                                   .order_by(ArticleRevision.revision_no.desc())))


def revision(article: Article, no: int) -> ArticleRevision | None:
    return db.session.scalar(select(ArticleRevision).where(ArticleRevision.article_id == article.id,
                                                           ArticleRevision.revision_no == no))


FIELD_TITLES = {
    "title": _l("Title"), "symptom": _l("Symptom"), "cause": _l("Cause"), "solution": _l("Solution"),
    "internal_notes": _l("Internal notes"), "module": _l("Product module"), "versions": _l("Affected versions"),
    "tags": _l("Tags"), "visibility": _l("Visibility"), "state": _l("State"),
}


@dataclass
class FieldDiff:
    name: str
    title: object
    html: Markup  # the lines, escaped, in <del>/<ins>


def diff(old: ArticleRevision, new: ArticleRevision) -> list[FieldDiff]:
    """What changed between two revisions, field by field, line by line (every piece escaped)."""
    out = []
    for name in (*TEXT_FIELDS, "state"):
        a, b = getattr(old, name) or "", getattr(new, name) or ""
        if a == b:
            continue
        parts: list[Markup] = []
        for line in difflib.ndiff(a.splitlines(), b.splitlines()):
            tag, body = line[:2], line[2:]
            if tag == "- ":
                parts.append(Markup("<del>%s</del>") % body)
            elif tag == "+ ":
                parts.append(Markup("<ins>%s</ins>") % body)
            elif tag == "  ":
                parts.append(Markup("<span>%s</span>") % body)
        out.append(FieldDiff(name, FIELD_TITLES[name], Markup("\n").join(parts)))
    return out


def linked_tickets(article: Article, user: User) -> list[Ticket]:
    """The article's tickets that this user may see (portal.tickets.access decides; the others are not shown)."""
    q = (select(Ticket).join(ArticleTicket, ArticleTicket.ticket_id == Ticket.id)
         .where(ArticleTicket.article_id == article.id).order_by(Ticket.id.desc()))
    return list(db.session.scalars(access.restrict(q, user)))


def articles_for_ticket(ticket: Ticket, user: User) -> list[Article]:
    """The articles linked to a ticket that this user may see (for the ticket page)."""
    if not may_view(user):
        return []
    q = (select(Article).join(ArticleTicket, ArticleTicket.article_id == Article.id)
         .where(ArticleTicket.ticket_id == ticket.id).order_by(Article.id))
    cond = visible_condition(user)
    return list(db.session.scalars(q if cond is None else q.where(cond)))


def attachments(article: Article) -> list[ArticleAttachment]:
    return list(db.session.scalars(select(ArticleAttachment).where(ArticleAttachment.article_id == article.id)
                                   .order_by(ArticleAttachment.created_at)))


PUBLIC_FIELDS = ("number", "title", "symptom", "cause", "solution", "module", "versions")


def public_view(article: Article) -> dict | None:
    """What a customer may read of an article: None unless it is published and customer-visible; never the
    internal notes, the owner, the review or the tickets (a whitelist, so a new field stays internal)."""
    if article.state != ArticleState.PUBLISHED.value or article.visibility != Visibility.CUSTOMER.value:
        return None
    out = {f: getattr(article, f) for f in PUBLIC_FIELDS}
    out["tags"] = article.tag_list
    out["updated_at"] = article.updated_at
    return out


# --- review period ----------------------------------------------------------------------------------------

def stale_before(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=policy_for(None).kb_review_days)


def stale_condition(now: datetime | None = None):
    return and_(Article.state == ArticleState.PUBLISHED.value, Article.reviewed_at < stale_before(now))


def is_stale(article: Article, now: datetime | None = None) -> bool:
    return (article.state == ArticleState.PUBLISHED.value and article.reviewed_at is not None
            and article.reviewed_at < stale_before(now))


def _stale_key(article_id: int, reviewed_at: datetime) -> str:
    return f"{STALE_KIND}:{article_id}:{reviewed_at:%Y%m%d%H%M%S}"


def open_stale_reminders(now: datetime | None = None) -> int:
    """One reminder to its owner per stale article and review (the key holds the review date: a second run
    creates nothing; a later review that goes stale again is a new reminder)."""
    now = now or utcnow()
    rows = [{"key": _stale_key(aid, reviewed), "kind": STALE_KIND, "user_id": owner, "due_at": now,
             "period": number}
            for aid, number, owner, reviewed in db.session.execute(
                select(Article.id, Article.number, Article.owner_id, Article.reviewed_at)
                .where(stale_condition(now)))]
    return reminders.open_many(rows)


def _settle_stale(article: Article, note: str) -> None:
    reminders.settle(Reminder.kind == STALE_KIND, Reminder.key.like(f"{STALE_KIND}:{article.id}:%"), note=note)


# --- from a solved ticket ---------------------------------------------------------------------------------

@dataclass
class Prefill:
    data: ArticleInput
    removed: list[personal.Removed] = field(default_factory=list)


def may_write_from(ticket: Ticket) -> bool:
    return ticket.state in SOLVED_STATES and bool((ticket.process or "").strip() or (ticket.result or "").strip())


def prefill_from_ticket(ticket: Ticket, user: User) -> Prefill:
    """The article as the solved ticket tells it, without the customer's personal data: the unit's contacts'
    and the reporter's names and numbers, and anything that looks like a phone number or an e-mail address.
    What was removed is listed (masked where the user sees this ticket's personal data masked)."""
    contacts = db.session.execute(select(Contact.name, Contact.phone, Contact.email)
                                  .where(Contact.customer_id == ticket.customer_id)).all()
    names = [ticket.reporter_name, *(c.name for c in contacts)]
    numbers = [ticket.reporter_phone, *(c.phone for c in contacts), *(c.email for c in contacts)]
    s = personal.stripper_for(names, numbers)
    process, result = s.strip(ticket.process), s.strip(ticket.result)
    solution = "\n\n".join(p for p in (
        f"{PROCESS}：\n{process}" if process else "", f"{RESULT}：\n{result}" if result else "") if p)
    data = ArticleInput(title=s.strip(ticket.summary)[:200], symptom=s.strip(ticket.description), cause="",
                        solution=solution)
    removed = s.removed
    if access.personal_data_masked(user, ticket):
        removed = [personal.Removed(r.kind, access.mask_name(r.text) if r.kind == "name" else
                                    access.mask_phone(r.text)) for r in removed]
    return Prefill(data=data, removed=removed)

