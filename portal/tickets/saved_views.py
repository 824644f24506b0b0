"""Personal saved views of the ticket list: a name and the list's normalised query string, per user,
shown in that user's navigation under 工单."""
from __future__ import annotations

from urllib.parse import parse_qsl

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal.auth.models import User
from portal.core.params import parse_id
from portal.extensions import db
from portal.tickets.models import SavedView

MAX_PER_USER = 20  # what the menu shows; more would not fit
QUERY_MAX = 1000  # the column's length


class ViewError(ValueError):
    pass


def args_of(query: str) -> MultiDict:
    return MultiDict(parse_qsl(query[:1000], keep_blank_values=False))


def save(user: User, name: str, query: str) -> SavedView:
    name = (name or "").strip()[:40]
    if not name:
        raise ViewError(str(_l("Give the view a name.")))
    if len(query) > QUERY_MAX:  # (normalising can lengthen a query: 2026-1-5 → 2026-01-05)
        raise ViewError(str(_l("This list has too many filters to save as a view.")))
    existing = db.session.scalar(select(SavedView).where(SavedView.user_id == user.id, SavedView.name == name))
    if existing is not None:  # the same name again: the view now shows this list
        existing.query = query
        return existing
    if db.session.scalar(select(func.count()).select_from(SavedView).where(SavedView.user_id == user.id)) \
            >= MAX_PER_USER:
        raise ViewError(str(_l("At most %(n)d saved views: delete one first.", n=MAX_PER_USER)))
    view = SavedView(user_id=user.id, name=name, query=query)
    db.session.add(view)
    db.session.flush()
    return view


def owned_or_404(view_id: str, user: User) -> SavedView:
    """The user's own view; another's, like a missing one, is a 404."""
    vid = parse_id(view_id)
    view = db.session.get(SavedView, vid) if vid is not None else None
    if view is None or view.user_id != user.id:
        abort(404)
    return view


def views_for(user) -> list[SavedView]:
    """The user's views for the menu: one query, bounded."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(select(SavedView).where(SavedView.user_id == user.id)
                                   .order_by(SavedView.name).limit(MAX_PER_USER)))
