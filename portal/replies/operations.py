"""Standard replies: who sees and edits which, and every change kept as a revision (nothing is ever lost:
editing appends a revision, removing archives). Callable from a route, a job or a test alike; the caller
commits."""
from __future__ import annotations

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from portal.core.kernel import kernel
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.replies.models import Reply, ReplyKind, ReplyRevision, ReplyScope
from portal.replies.placeholders import KNOWN, unknown_placeholders

TITLE_MAX = 60
BODY_MAX = 2000


class ReplyError(Exception):
    def __init__(self, status: int, message):
        super().__init__(str(message))
        self.status = status
        self.message = message


def may_manage_shared(user) -> bool:
    return kernel.allows(user, "replies.manage_shared")


def visible_condition(user):
    """The replies the user may read and use: every shared one and their own personal ones."""
    return or_(Reply.scope == ReplyScope.SHARED.value,
               and_(Reply.scope == ReplyScope.PERSONAL.value, Reply.owner_id == user.id))


def may_edit(user, reply: Reply) -> bool:
    if reply.shared:
        return may_manage_shared(user)
    return reply.owner_id == user.id


def get_reply_or_404(reply_id: int, user, *, edit: bool = False) -> Reply:
    """Someone else's personal reply does not exist for the user (404); a shared one they may read but not
    edit is a 403 when they ask to edit it."""
    reply = db.session.scalar(select(Reply).where(Reply.id == reply_id, visible_condition(user)))
    if reply is None:
        abort(404)
    if edit and not may_edit(user, reply):
        abort(403)
    return reply


def listing(user, *, archived: bool = False) -> list[Reply]:
    cond = Reply.archived_at.is_not(None) if archived else Reply.archived_at.is_(None)
    return list(db.session.scalars(
        select(Reply).where(visible_condition(user), cond).order_by(Reply.kind, Reply.scope, Reply.title, Reply.id)))


def for_picking(user, kind: str | None = None) -> list[Reply]:
    """The live replies offered in the picker: the kind's own first (personal before shared), then the
    general ones; without a kind, every kind."""
    q = select(Reply).where(visible_condition(user), Reply.archived_at.is_(None))
    if kind:
        q = q.where(Reply.kind.in_([kind, ReplyKind.GENERAL.value]))
    rows = list(db.session.scalars(q.order_by(Reply.title, Reply.id)))
    rows.sort(key=lambda r: (r.kind != kind, r.kind, r.scope != ReplyScope.PERSONAL.value))
    return rows


def _check(kind: str, title: str, body: str) -> None:
    """The same rules as the form, for callers without one (a job, the CLI, a test)."""
    if kind not in {k.value for k in ReplyKind}:
        raise ReplyError(422, _l("Choose a kind of reply."))
    if not title.strip() or not body.strip():
        raise ReplyError(422, _l("This field is required."))
    if len(title) > TITLE_MAX or len(body) > BODY_MAX:
        raise ReplyError(422, _l("Too long: a title has at most %(t)d characters, a text at most %(b)d.",
                                   t=TITLE_MAX, b=BODY_MAX))
    unknown = unknown_placeholders(title + "\n" + body)
    if unknown:
        raise ReplyError(422, unknown_message(unknown))


def unknown_message(names: list[str]):
    return _l("Unknown placeholder: %(names)s. Use only %(known)s — or remove the braces.",
              names="、".join("{%s}" % n for n in names), known="、".join("{%s}" % k for k in KNOWN))


def _revise(reply: Reply, user, change: str) -> None:
    db.session.add(ReplyRevision(reply_id=reply.id, version=reply.version, change=change, kind=reply.kind,
                                 title=reply.title, body=reply.body, changed_by_id=user.id if user else None,
                                 changed_at=reply.updated_at))


def create(user, *, kind: str, title: str, body: str, shared: bool) -> Reply:
    if shared and not may_manage_shared(user):
        raise ReplyError(403, _l("Only a department manager may add shared replies."))
    if not kernel.allows(user, "replies.use"):
        raise ReplyError(403, _l("You may not use standard replies."))
    _check(kind, title, body)
    now = utcnow()
    reply = Reply(kind=kind, scope=(ReplyScope.SHARED if shared else ReplyScope.PERSONAL).value,
                  owner_id=None if shared else user.id, title=title.strip(), body=body, version=1,
                  created_at=now, updated_at=now, updated_by_id=user.id)
    db.session.add(reply)
    db.session.flush()
    _revise(reply, user, "create")
    return reply


def edit(reply: Reply, user, *, kind: str, title: str, body: str) -> bool:
    """Change a reply; a revision is appended only when something changed. Returns whether it did."""
    if not may_edit(user, reply):
        raise ReplyError(403, _l("You may not edit this reply."))
    if reply.archived:
        raise ReplyError(409, _l("This reply is archived: restore it before editing."))
    _check(kind, title, body)
    title = title.strip()
    if (kind, title, body) == (reply.kind, reply.title, reply.body):
        return False
    reply.kind, reply.title, reply.body = kind, title, body
    _bump(reply, user, "edit")
    return True


def archive(reply: Reply, user) -> None:
    if not may_edit(user, reply):
        raise ReplyError(403, _l("You may not edit this reply."))
    if reply.archived:
        return  # twice is once
    reply.archived_at = utcnow()
    _bump(reply, user, "archive")


def restore(reply: Reply, user) -> None:
    if not may_edit(user, reply):
        raise ReplyError(403, _l("You may not edit this reply."))
    if not reply.archived:
        return
    reply.archived_at = None
    _bump(reply, user, "restore")


def _bump(reply: Reply, user, change: str) -> None:
    reply.version += 1
    reply.updated_at = utcnow()
    reply.updated_by_id = user.id
    db.session.flush()
    _revise(reply, user, change)
