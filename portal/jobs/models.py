from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.timeutil import utcnow
from portal.extensions import db


class OutboxMessage(db.Model):
    """A job to enqueue, written in the same transaction as the change that asks for it.

    Nothing is enqueued for a transaction that rolls back, and nothing is lost while Redis
    is down: unsent rows are pushed to RQ after the commit, or later by `drain_outbox`.
    A pushed row stays owed until the job itself records `done_at` in the transaction of its
    effect; `resend_lost_jobs` pushes again a row whose job Redis no longer holds (lost with
    the server). `failed_at`: RQ gave up on it (its failed registry shows why; no more re-sends).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"), Index("ix_outbox_owed", "done_at", "sent_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    func: Mapped[str] = mapped_column(String(200))  # dotted path of the job function
    args: Mapped[list] = mapped_column(JSON, default=list)
    job_id: Mapped[str] = mapped_column(String(120), unique=True)
    queue: Mapped[str] = mapped_column(String(40), default="default")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    resent: Mapped[int] = mapped_column(default=0, server_default="0")  # pushes again after its Redis copy was lost
