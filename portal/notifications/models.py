from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.timeutil import utcnow
from portal.extensions import db


class Notification(db.Model):
    """提醒: what a user must do next. `key` makes each reminder exist at most once."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"))
    delivered_at: Mapped[datetime | None]  # e-mail sent (set once: delivering twice does nothing)


class Reminder(db.Model):
    """Something the service plan says is due (SPEC §4): created once per key (what, for whom,
    which period) by a sweep or a workflow step, closed when the matching record is made."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_open", "closed_at", "role", "due_at"),
        Index("ix_reminders_customer", "customer_id", "kind", "period"),
        Index("ix_reminders_ticket", "ticket_id", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    role: Mapped[str | None] = mapped_column(String(20))  # the role whose work it is …
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # … or one person
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer_units.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    period: Mapped[str | None] = mapped_column(String(20))  # 2026-11, 2026Q4, 2026, 2026-11-27am …
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_note: Mapped[str | None] = mapped_column(Text)
