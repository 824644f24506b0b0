"""A consultation answered by sending an article: which article a typed reference names. Used by the ticket
workflow's `answer` action (portal/tickets/workflow.py), so it imports nothing of the workflow's own."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.kb.models import NUMBER_PREFIX, Article, ArticleState

NUMBER = re.compile(rf"^{NUMBER_PREFIX}\d{{1,12}}$")


def normal_number(ref: str | None) -> str:
    """"kb-12 " → "KB-12"; anything else as typed, trimmed and bounded."""
    return (ref or "").strip().upper()[:20]


def published_by_number(ref: str | None) -> Article | None:
    """A published article by its number (case and surrounding spaces forgiven); None if there is none."""
    ref = normal_number(ref)
    if not NUMBER.match(ref):
        return None
    return db.session.scalar(select(Article).where(Article.number == ref,
                                                   Article.state == ArticleState.PUBLISHED.value))
