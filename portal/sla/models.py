"""One row per promise per subject: a ticket's 2-hour emergency response, a visit's 24-hour on-site."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.timeutil import utcnow
from portal.extensions import db


class ServiceClock(db.Model):
    __tablename__ = "service_clocks"
    __table_args__ = (
        # One clock of a kind per subject at a time (a reopened ticket starts a new one only once the
        # previous one has stopped): `run_key` is "<key>:<subject>" while running, NULL once stopped.
        Index("ix_service_clocks_running", "stopped_at", "due_at"),
        Index("ix_service_clocks_ticket", "ticket_id", "key"),
        Index("ix_service_clocks_period", "key", "started_at"),
        CheckConstraint("outcome IS NULL OR outcome IN ('kept','breached','void')", name="outcome_known"),
        CheckConstraint("(stopped_at IS NULL) = (outcome IS NULL)", name="stopped_has_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))  # the kernel Clock's key
    run_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    visit_id: Mapped[int | None] = mapped_column(Integer)  # the on-site visit, when the promise is about one
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer_units.id"))
    level: Mapped[str] = mapped_column(String(20))  # the unit's maintenance level when the clock started
    department: Mapped[str] = mapped_column(String(20), default="")  # dev | impl | cs | '' (who must keep it)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the person who must keep it, if one
    role: Mapped[str | None] = mapped_column(String(20))  # … or the role whose work it is
    escalate_role: Mapped[str | None] = mapped_column(String(20))  # the manager told when it breaches
    limit_value: Mapped[float] = mapped_column(Float)  # the limit in the clock's unit, as the policy said when it started
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    remind_at: Mapped[datetime]  # the reminder goes when this passes and the clock still runs
    stopped_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(10))  # kept | breached | void (no longer applies)
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # every change (started, stopped, reminded, escalated): the metrics refresh reads what changed since its last run
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def running(self) -> bool:
        return self.stopped_at is None
