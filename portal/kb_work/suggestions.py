"""Suggestions where the work is (issue 16, item 4): the published articles that match what someone is typing
or reading — the intake summary (客服), the hotline record's problem content (客服), the ticket page's
"相关知识" panel (the engineers and managers who solve and answer), and the consultation answer form.

Everything here goes through portal.kb.search.suggest (published articles only, any word may match, ranked
title → symptom → tags → body); this module only decides what text is asked about and bounds it.
"""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.kb.models import ArticleTicket
from portal.kb.search import Hit, suggest
from portal.tickets.models import Ticket

MAX_QUERY = 200  # characters of typed text looked at (a summary is at most 200)
MIN_QUERY = 2  # fewer characters suggest nothing (one character matches half the base)
LIMIT = 5


def bounded(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_QUERY]


def for_text(text: str | None, user, limit: int = LIMIT) -> list[Hit]:
    """Articles for text being typed (a summary, a hotline note)."""
    q = bounded(text)
    if len(q) < MIN_QUERY:
        return []
    return suggest(q, user=user, limit=limit)


def ticket_text(ticket: Ticket) -> str:
    """What a ticket is about: its summary first, then the start of its description."""
    return bounded(f"{ticket.summary} {ticket.description or ''}")


def for_ticket(ticket: Ticket, user, limit: int = LIMIT) -> list[Hit]:
    return for_text(ticket_text(ticket), user, limit)


def linked_ids(ticket: Ticket) -> set[int]:
    """The articles already linked to the ticket (written from it, or linked by hand)."""
    return set(db.session.scalars(select(ArticleTicket.article_id).where(ArticleTicket.ticket_id == ticket.id)))
