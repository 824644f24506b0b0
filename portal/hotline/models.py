from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.timeutil import utcnow
from portal.extensions import db


class HotlineRecord(db.Model):
    """热线值班记录: the fields the standard lists; may become a ticket."""

    __tablename__ = "hotline_records"
    __table_args__ = (Index("ix_hotline_open", "ticket_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40))
    contact_name: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    handling: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer_units.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer = relationship("CustomerUnit")
    ticket = relationship("Ticket")
    recorded_by = relationship("User")


class DutyShift(db.Model):
    """值班安排: who is on hotline duty in one half-day shift (am / pm) of a day."""

    __tablename__ = "duty_shifts"
    __table_args__ = (
        UniqueConstraint("day", "half", "user_id"),
        CheckConstraint("half IN ('am','pm')", name="half_known"),
        Index("ix_duty_shifts_day", "day", "half"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    half: Mapped[str] = mapped_column(String(2))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_in_at: Mapped[datetime | None]  # 签到: set once, by the person on the shift (roster.check_in)

    user = relationship("User", foreign_keys=[user_id], lazy="joined")
