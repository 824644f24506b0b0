from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.enums import Channel, CloseReason, State, TicketType
from portal.core.timeutil import utcnow
from portal.extensions import db

_STATES = State.sql_values()
_REASONS = CloseReason.sql_values()


class Ticket(db.Model):
    """A problem a customer reported (问题反馈). Only portal.tickets.workflow changes `state`."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(f"state IN ({_STATES})", name="state_known"),
        CheckConstraint("type IN ('maintenance','requirement','consultation')", name="type_known"),
        CheckConstraint("channel IN ('hotline','email','online','visit')", name="channel_known"),
        # A closed ticket always says why; an open one never does.
        CheckConstraint(
            f"(state = 'closed' AND close_reason IN ({_REASONS})) OR (state <> 'closed' AND close_reason IS NULL)",
            name="closed_has_reason",
        ),
        # Work in progress always has someone doing it, with a deadline.
        CheckConstraint(
            "state NOT IN ('assigned','waiting_customer','resolved','callback_done') "
            "OR (assignee_id IS NOT NULL AND deadline IS NOT NULL)",
            name="assigned_has_assignee",
        ),
        CheckConstraint("hours_spent IS NULL OR hours_spent >= 0", name="hours_not_negative"),
        CheckConstraint("fee IS NULL OR fee >= 0", name="fee_not_negative"),
        Index("ix_tickets_queue", "state", "urgent", "id"),
        Index("ix_tickets_list", "urgent", "id"),
        Index("ix_tickets_assignee", "assignee_id", "state", "deadline"),
        Index("ix_tickets_customer", "customer_id", "id"),
        Index("ix_tickets_created", "created_at"),
        Index("ix_tickets_type", "type", "urgent", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    close_reason: Mapped[str | None] = mapped_column(String(20))
    urgent: Mapped[bool] = mapped_column(default=False)
    urgent_request: Mapped[str | None] = mapped_column(Text)
    urgent_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    urgent_approved_at: Mapped[datetime | None]

    customer_id: Mapped[int] = mapped_column(ForeignKey("customer_units.id"))
    reporter_name: Mapped[str] = mapped_column(String(64))
    reporter_dept: Mapped[str] = mapped_column(String(100))
    reporter_phone: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    handling_department: Mapped[str] = mapped_column(String(20), default="dev")  # dev | impl
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deadline: Mapped[datetime | None]
    deadline_notified_at: Mapped[datetime | None]  # reset by every assignment (SPEC: once per assignment)
    analysis: Mapped[str | None] = mapped_column(Text)
    process: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    hours_spent: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    fee: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    agreed_requirements: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the customer reported the problem (a hotline record or an e-mail may be older than the ticket):
    # every service-level clock runs from here. Never in the future, never after created_at.
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The service-level policy in force for the unit's level when the ticket was registered
    # (portal.core.policy.snapshot): the limits this ticket is held to, whatever the policy says later.
    policy_snapshot: Mapped[dict | None] = mapped_column(JSON)
    first_assigned_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Optimistic lock: every UPDATE checks and bumps it (a stale form or a concurrent
    # request loses with a 409 instead of overwriting).
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    customer = relationship("CustomerUnit", lazy="joined", innerjoin=True)
    assignee = relationship("User", foreign_keys=[assignee_id], lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id])
    urgent_approved_by = relationship("User", foreign_keys=[urgent_approved_by_id])
    duplicate_of = relationship("Ticket", remote_side=[id])

    @property
    def state_enum(self) -> State:
        return State(self.state)

    @property
    def type_enum(self) -> TicketType:
        return TicketType(self.type)

    @property
    def channel_enum(self) -> Channel:
        return Channel(self.channel)

    @property
    def title(self) -> str:
        """The title the standard demands: 反馈人 / 科室 / 电话 / 摘要."""
        return f"{self.reporter_name} / {self.reporter_dept} / {self.reporter_phone} / {self.summary}"

    @property
    def deadline_running(self) -> bool:
        """Whether the deadline still counts: only while the work is under way (once resolved or
        closed, time left or overdue means nothing)."""
        return self.state == State.ASSIGNED.value and self.deadline is not None

    def is_overdue(self, now: datetime) -> bool:
        """(A ticket waiting for the customer is not: its clock has stopped.)"""
        return self.deadline_running and self.deadline < now

    @property
    def waiting_customer(self) -> bool:
        return self.state == State.WAITING_CUSTOMER.value

    @property
    def deadline_told(self) -> bool:
        return self.deadline_notified_at is not None


class TicketAssignee(db.Model):
    """Everyone who is or was assigned a ticket: they keep seeing it (SPEC §1)."""

    __tablename__ = "ticket_assignees"
    __table_args__ = (Index("ix_ticket_assignees_user", "user_id", "ticket_id"),)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class Event(db.Model):
    """History (处理记录): append-only; one row per transition, note or comment."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_ticket", "ticket_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor = relationship("User", lazy="joined")


class Attachment(db.Model):
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_ticket", "ticket_id"),)
    # Random public id: attachment URLs cannot be guessed or enumerated.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    is_image: Mapped[bool] = mapped_column(default=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketLink(db.Model):
    """Related tickets: a follow-up registered from a consultation, a duplicate, …"""

    __tablename__ = "ticket_links"
    __table_args__ = (UniqueConstraint("from_id", "to_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    from_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    to_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # follow_up | duplicate_of
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Callback(db.Model):
    """回访记录: after a ticket, monthly phone callbacks, on-site visits, implementation callbacks."""

    __tablename__ = "callbacks"
    __table_args__ = (
        CheckConstraint("satisfaction IS NULL OR (satisfaction BETWEEN 1 AND 5)", name="satisfaction_range"),
        Index("ix_callbacks_customer", "customer_id", "made_at"),
        Index("ix_callbacks_ticket", "ticket_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer_units.id"))
    method: Mapped[str] = mapped_column(String(20))
    contact_person: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    solved: Mapped[bool | None]
    satisfaction: Mapped[int | None]
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[datetime] = mapped_column(default=utcnow)

    made_by = relationship("User", lazy="joined")


class TicketFollower(db.Model):
    """关注: someone who asked to hear of every event of a ticket (portal/tickets/followers.py).
    Only while they may see it: losing access stops the notices, the row may stay."""

    __tablename__ = "ticket_followers"
    __table_args__ = (Index("ix_ticket_followers_user", "user_id", "ticket_id"),)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedView(db.Model):
    """A person's named ticket list: the list's query string, normalised by its GET form (listing.Filters)."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_views_user_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    query: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
