"""A project unit's handover to after-sales service: one per unit. The letters are archive
documents (handover_id), the phone calls are HandoverCall rows (append-only), the
project-implementation callback is a Callback of kind `implementation`."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.timeutil import utcnow
from portal.extensions import db


class Handover(db.Model):
    __tablename__ = "handovers"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer_units.id"), unique=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callbacks.id"))  # the implementation callback
    completed_at: Mapped[datetime | None]  # first time every part was done

    customer = relationship("CustomerUnit", lazy="joined", innerjoin=True)
    started_by = relationship("User", lazy="joined")
    callback = relationship("Callback")


class HandoverCall(db.Model):
    """客服 phoned a contact about the after-sales terms (one row per call, failed ones too)."""

    __tablename__ = "handover_calls"
    __table_args__ = (Index("ix_handover_calls_handover", "handover_id", "contact_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    called_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    called_at: Mapped[datetime] = mapped_column(default=utcnow)
    reached: Mapped[bool] = mapped_column(default=True)
    outcome: Mapped[str] = mapped_column(Text, default="")

    called_by = relationship("User", lazy="joined")
