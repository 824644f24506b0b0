"""A standard reply and its revisions. A reply is never deleted: removing one archives it, and every
create, edit, archive and restore appends a revision holding the whole text as it then was."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.enums import LabeledEnum
from portal.core.timeutil import utcnow
from portal.extensions import db


class ReplyKind(LabeledEnum):
    DEADLINE = "deadline", _l("Deadline call")
    CALLBACK = "callback", _l("Callback script")
    CONSULTATION = "consultation", _l("Consultation answer")
    GREETING = "greeting", _l("Hotline greeting")
    GENERAL = "general", _l("General")


class ReplyScope(LabeledEnum):
    SHARED = "shared", _l("Shared")
    PERSONAL = "personal", _l("Personal")


class Reply(db.Model):
    __tablename__ = "replies"
    __table_args__ = (
        CheckConstraint(f"kind IN ({ReplyKind.sql_values()})", name="kind_known"),
        CheckConstraint(f"scope IN ({ReplyScope.sql_values()})", name="scope_known"),
        # a personal text belongs to someone; a shared one to nobody in particular
        CheckConstraint("(scope = 'personal') = (owner_id IS NOT NULL)", name="personal_has_owner"),
        Index("ix_replies_owner", "owner_id", "kind"),
        Index("ix_replies_scope_kind", "scope", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(10))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)  # the number of its latest revision
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    archived_at: Mapped[datetime | None]

    owner = relationship("User", foreign_keys=[owner_id])
    updated_by = relationship("User", foreign_keys=[updated_by_id])
    revisions = relationship("ReplyRevision", order_by="ReplyRevision.version.desc()", viewonly=True)

    @property
    def shared(self) -> bool:
        return self.scope == ReplyScope.SHARED.value

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class ReplyRevision(db.Model):
    """Append-only: one row per change of a reply, the text as it was after the change."""

    __tablename__ = "reply_revisions"
    __table_args__ = (
        UniqueConstraint("reply_id", "version", name="uq_reply_revisions_reply_version"),
        CheckConstraint("change IN ('create','edit','archive','restore')", name="change_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("replies.id"))
    version: Mapped[int]
    change: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    changed_by = relationship("User", lazy="joined")
