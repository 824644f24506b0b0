"""A visit (上门服务) and its append-only history. Its state moves one way: needed → booked → on the way →
on site → done, or cancelled with a reason; the database refuses a row whose times or state contradict."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.enums import LabeledEnum
from portal.core.timeutil import utcnow
from portal.extensions import db


class VisitState(LabeledEnum):
    NEEDED = "needed", _l("On-site needed")
    BOOKED = "booked", _l("Booked")
    ON_THE_WAY = "on_the_way", _l("On the way")
    ON_SITE = "on_site", _l("Arrived on site")
    DONE = "done", _l("Visit done")
    CANCELLED = "cancelled", _l("Cancelled")


class VisitOrigin(LabeledEnum):
    TICKET = "ticket", _l("Ticket the phone could not solve")
    PLAN = "plan", _l("Service plan maintenance visit")


_STATES = VisitState.sql_values()


class Visit(db.Model):
    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint(f"state IN ({_STATES})", name="state_known"),
        CheckConstraint("origin IN ('ticket','plan')", name="origin_known"),
        CheckConstraint("(origin = 'ticket') = (ticket_id IS NOT NULL)", name="ticket_origin_has_ticket"),
        CheckConstraint("(origin = 'plan') = (plan_period IS NOT NULL)", name="plan_origin_has_period"),
        CheckConstraint("arrived_at IS NULL OR (departed_at IS NOT NULL AND arrived_at >= departed_at)",
                        name="arrival_after_departure"),
        CheckConstraint("left_at IS NULL OR (arrived_at IS NOT NULL AND left_at >= arrived_at)",
                        name="leaving_after_arrival"),
        CheckConstraint("state <> 'done' OR (left_at IS NOT NULL AND confirmed_at IS NOT NULL)",
                        name="done_is_confirmed"),
        CheckConstraint("(state = 'cancelled') = (cancel_reason IS NOT NULL)", name="cancelled_has_reason"),
        Index("ix_visits_ticket", "ticket_id"),
        Index("ix_visits_customer", "customer_id", "state"),
        Index("ix_visits_engineer", "engineer_id", "id"),
        Index("ix_visits_department", "department", "id"),
        Index("ix_visits_state", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(10))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer_units.id"))
    plan_period: Mapped[str | None] = mapped_column(String(10))  # 2026-05 | 2026Q2: the plan period it serves
    department: Mapped[str] = mapped_column(String(10), default="dev")  # dev | impl: whose engineers go
    state: Mapped[str] = mapped_column(String(12), default=VisitState.NEEDED.value)
    reason: Mapped[str] = mapped_column(Text, default="")  # why the phone could not solve it / what is planned
    needed_at: Mapped[datetime] = mapped_column(default=utcnow)  # when on-site was found necessary
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the appointment agreed with the customer
    appointment_at: Mapped[datetime | None]
    customer_contact: Mapped[str] = mapped_column(String(64), default="")  # with whom it was agreed
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # who goes (leads)
    # the visit itself
    departed_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    checklist: Mapped[list] = mapped_column(JSON, default=list)  # [{key, label, done, note}], copied from config
    result: Mapped[str] = mapped_column(Text, default="")
    # the customer's confirmation (用户签字确认)
    confirmed_by_name: Mapped[str | None] = mapped_column(String(64))
    confirmation_text: Mapped[str | None] = mapped_column(Text)
    signed_sheet: Mapped[str | None] = mapped_column(String(64))  # stored name (portal.core.uploads)
    signed_sheet_name: Mapped[str | None] = mapped_column(String(255))
    signed_sheet_type: Mapped[str | None] = mapped_column(String(100))
    confirmed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket = relationship("Ticket", lazy="joined")
    customer = relationship("CustomerUnit", lazy="joined", innerjoin=True)
    engineer = relationship("User", foreign_keys=[engineer_id], lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id])
    companions = relationship("VisitCompanion", lazy="selectin", cascade="all, delete-orphan",
                              order_by="VisitCompanion.user_id")

    @property
    def state_enum(self) -> VisitState:
        return VisitState(self.state)

    @property
    def is_open(self) -> bool:
        return self.state not in (VisitState.DONE.value, VisitState.CANCELLED.value)

    @property
    def checklist_done(self) -> bool:
        return bool(self.checklist) and all(item.get("done") for item in self.checklist)

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class VisitCompanion(db.Model):
    """Who goes along with the visit's engineer."""

    __tablename__ = "visit_companions"
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)

    user = relationship("User", lazy="joined")


class VisitEvent(db.Model):
    """Every change of a visit, appended, never edited."""

    __tablename__ = "visit_events"
    __table_args__ = (Index("ix_visit_events_visit", "visit_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor = relationship("User", lazy="joined")
