"""知识库 (knowledge base): articles, their append-only revisions, their links to tickets and their files.

An article's text lives in `Article` (what is current) and, for every edit or review step, in one
`ArticleRevision` holding a full copy of every field: the old text stays byte-identical forever (revisions
are never updated or deleted). Only portal.kb.operations changes an article. The search index (kb_search,
not a model: see portal/kb/index.py) is rewritten in the same transaction as the article.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.enums import LabeledEnum
from portal.core.timeutil import utcnow
from portal.extensions import db


class ArticleState(LabeledEnum):
    DRAFT = "draft", _l("Draft")
    PUBLISHED = "published", _l("Published")
    ARCHIVED = "archived", _l("Archived")


class Visibility(LabeledEnum):
    INTERNAL = "internal", _l("Internal (staff only)")
    CUSTOMER = "customer", _l("Customer-visible")


# The fields an author edits; each revision keeps a copy of every one of them (and the state).
TEXT_FIELDS = ("title", "symptom", "cause", "solution", "internal_notes", "module", "versions", "tags", "visibility")
NUMBER_PREFIX = "KB-"


class Article(db.Model):
    """知识库文章. `number` (KB-00001) is set right after the INSERT, from the id."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        CheckConstraint(f"state IN ({ArticleState.sql_values()})", name="kb_article_state_known"),
        CheckConstraint(f"visibility IN ({Visibility.sql_values()})", name="kb_article_visibility_known"),
        CheckConstraint("state = 'draft' OR reviewed_at IS NOT NULL", name="kb_article_published_was_reviewed"),
        Index("ix_kb_articles_state", "state", "updated_at"),
        Index("ix_kb_articles_owner", "owner_id", "state"),
        Index("ix_kb_articles_module", "module", "state"),
        Index("ix_kb_articles_reviewed", "state", "reviewed_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    symptom: Mapped[str] = mapped_column(Text, default="")  # 现象
    cause: Mapped[str] = mapped_column(Text, default="")  # 原因
    solution: Mapped[str] = mapped_column(Text, default="")  # 解决方法
    internal_notes: Mapped[str] = mapped_column(Text, default="")  # never customer-visible, not indexed
    module: Mapped[str] = mapped_column(String(100), default="")  # product module
    versions: Mapped[str] = mapped_column(String(200), default="")  # affected versions, free text
    tags: Mapped[str] = mapped_column(String(500), default="")  # comma-separated, normalised by operations
    visibility: Mapped[str] = mapped_column(String(10), default=Visibility.INTERNAL.value)
    state: Mapped[str] = mapped_column(String(10), default=ArticleState.DRAFT.value)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]  # last publish (or re-confirmation) by a reviewer
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_comment: Mapped[str] = mapped_column(Text, default="")  # the last send-back's comment
    source_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))  # written from this ticket
    revision_no: Mapped[int] = mapped_column(default=1)  # the current revision (also the edit's expected version)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner = relationship("User", foreign_keys=[owner_id], lazy="joined", innerjoin=True)
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])

    @property
    def state_enum(self) -> ArticleState:
        return ArticleState(self.state)

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]

    @property
    def is_published(self) -> bool:
        return self.state == ArticleState.PUBLISHED.value


class ArticleRevision(db.Model):
    """One step of an article's history: a full copy of every field as it stood after the step.
    Append-only: never updated, never deleted."""

    __tablename__ = "kb_article_revisions"
    __table_args__ = (
        UniqueConstraint("article_id", "revision_no", name="uq_kb_article_revisions_article_no"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"))
    revision_no: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))  # create | edit | publish | send_back | archive | restore
    title: Mapped[str] = mapped_column(String(200))
    symptom: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)
    internal_notes: Mapped[str] = mapped_column(Text)
    module: Mapped[str] = mapped_column(String(100))
    versions: Mapped[str] = mapped_column(String(200))
    tags: Mapped[str] = mapped_column(String(500))
    visibility: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author = relationship("User", lazy="joined")


class ArticleTicket(db.Model):
    """An article ↔ ticket link (the ticket it was written from, or another with the same problem)."""

    __tablename__ = "kb_article_tickets"
    __table_args__ = (Index("ix_kb_article_tickets_ticket", "ticket_id"),)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket = relationship("Ticket", lazy="joined", innerjoin=True)


class ArticleAttachment(db.Model):
    """A file or image of an article (stored through portal.core.uploads; served only to who sees the article)."""

    __tablename__ = "kb_article_attachments"
    __table_args__ = (Index("ix_kb_article_attachments_article", "article_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random: URLs cannot be guessed
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    is_image: Mapped[bool] = mapped_column(default=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
