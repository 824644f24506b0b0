"""What the knowledge base is worth, kept small.

- `ArticleViewDay`: one row per article per (Shanghai) day it was opened, counting the openings. A view is an
  increment in Redis (a page read writes no row), added to this row by a roll-up every few minutes
  (portal/kb_work/measures.py), never a row of its own, so the table grows with articles × days read, not with
  clicks (20,000 articles read every day for ten years would be 73M rows at worst; in practice a few
  hundred articles are read on a day). Who read what is not kept: the figure is "how often", not "by whom".
- `ArticleVote`: a staff member's "helpful / not helpful" on an article — one per user and article (the
  primary key), changed in place when they change their mind.
- `ArticleAnswer`: a consultation answered by sending an article (written by the ticket workflow's `answer`
  action, beside its history event, which names the article too).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.timeutil import utcnow
from portal.extensions import db


class ArticleViewDay(db.Model):
    __tablename__ = "kb_article_view_days"
    # (day, views): the period's sum reads the index alone (a year of 300,000 rows: 30 ms instead of 900 on SQLite)
    __table_args__ = (Index("ix_kb_article_view_days_day", "day", "views"),)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)  # Asia/Shanghai
    views: Mapped[int] = mapped_column(default=0)


class ArticleVote(db.Model):
    __tablename__ = "kb_article_votes"
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    helpful: Mapped[bool]
    voted_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleAnswer(db.Model):
    __tablename__ = "kb_article_answers"
    __table_args__ = (Index("ix_kb_article_answers_article", "article_id", "answered_at"),
                      Index("ix_kb_article_answers_answered_at", "answered_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
