from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.enums import ContactMethod, LabeledEnum
from portal.core.timeutil import utcnow
from portal.extensions import db


class ComplaintState(LabeledEnum):
    RECEIVED = "received", _l("Received")
    HANDLED = "handled", _l("Handled")
    CONFIRMED = "confirmed", _l("Confirmed with the customer")


_STATES = ComplaintState.sql_values()
_METHODS = ContactMethod.sql_values()


class Complaint(db.Model):
    """投诉: against a unit, and optionally one of its tickets. Only portal.complaints.operations changes `state`."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(f"state IN ({_STATES})", name="complaint_state_known"),
        CheckConstraint(f"channel IN ({_METHODS})", name="complaint_channel_known"),
        # Handled (and confirmed) complaints say who handled them, when, and with what outcome.
        CheckConstraint("state = 'received' OR (handled_at IS NOT NULL AND handled_by_id IS NOT NULL "
                        "AND outcome IS NOT NULL)", name="complaint_handled_has_outcome"),
        CheckConstraint("state <> 'confirmed' OR (confirmed_at IS NOT NULL AND confirmed_by_id IS NOT NULL)",
                        name="complaint_confirmed_has_confirmation"),
        Index("ix_complaints_received", "received_at"),
        Index("ix_complaints_customer", "customer_id", "received_at"),
        Index("ix_complaints_state", "state", "received_at"),
        Index("ix_complaints_ticket", "ticket_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer_units.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    channel: Mapped[str] = mapped_column(String(20))  # how it was received (ContactMethod)
    complainant: Mapped[str] = mapped_column(String(64))
    complainant_phone: Mapped[str] = mapped_column(String(40), default="")
    content: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    handler_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # who is to handle it
    state: Mapped[str] = mapped_column(String(20), default=ComplaintState.RECEIVED.value)
    handling: Mapped[str | None] = mapped_column(Text)  # what was done
    outcome: Mapped[str | None] = mapped_column(Text)
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmation: Mapped[str | None] = mapped_column(Text)  # what the customer said
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    customer = relationship("CustomerUnit", lazy="joined", innerjoin=True)
    ticket = relationship("Ticket", lazy="joined")
    received_by = relationship("User", foreign_keys=[received_by_id], lazy="joined")
    handler = relationship("User", foreign_keys=[handler_id], lazy="joined")
    handled_by = relationship("User", foreign_keys=[handled_by_id])
    confirmed_by = relationship("User", foreign_keys=[confirmed_by_id])

    @property
    def state_enum(self) -> ComplaintState:
        return ComplaintState(self.state)


class ComplaintEvent(db.Model):
    """A complaint's history: append-only, one row per step."""

    __tablename__ = "complaint_events"
    __table_args__ = (Index("ix_complaint_events_complaint", "complaint_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))  # register | handle | confirm | reopen
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor = relationship("User", lazy="joined")
