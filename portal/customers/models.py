from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.enums import MaintenanceStatus
from portal.core.timeutil import utcnow
from portal.extensions import db


class CustomerUnit(db.Model):
    __tablename__ = "customer_units"
    __table_args__ = (
        CheckConstraint(
            "maintenance_status IN ('stopped','ordinary','vip')", name="maintenance_status_known"
        ),
        CheckConstraint("user_count >= 0", name="user_count_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # pypinyin initials of the name, e.g. 北京市第一医院 → bjsdyyy, for quick lookup.
    name_initials: Mapped[str] = mapped_column(String(200), index=True, default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="", index=True)  # intake finds the caller by it
    user_count: Mapped[int] = mapped_column(default=0)
    maintenance_status: Mapped[str] = mapped_column(String(20), default=MaintenanceStatus.ORDINARY.value)
    is_project: Mapped[bool] = mapped_column(default=False)  # still with the project team (not yet handed over)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contacts: Mapped[list["Contact"]] = relationship(back_populates="customer", order_by="Contact.id")
    contracts: Mapped[list["Contract"]] = relationship(
        back_populates="customer", order_by="Contract.start_date.desc()"
    )

    @property
    def status(self) -> MaintenanceStatus:
        return MaintenanceStatus(self.maintenance_status)

    def current_contract(self, today: date) -> "Contract | None":
        for c in self.contracts:
            if c.start_date <= today <= c.end_date:
                return c
        return None


class Contact(db.Model):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer_units.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40), default="", index=True)  # intake finds the caller by it
    email: Mapped[str] = mapped_column(String(255), default="")

    customer: Mapped[CustomerUnit] = relationship(back_populates="contacts")


class Contract(db.Model):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="period_ordered"),
        CheckConstraint("fee >= 0", name="fee_not_negative"),
        # "is it followed by a later contract?" (the expiry window, a lapse) is one index probe
        Index("ix_contracts_customer_start", "customer_id", "start_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer_units.id"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date] = mapped_column(index=True)
    fee: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    free_year: Mapped[bool] = mapped_column(default=False)  # the first year after purchase is free
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[CustomerUnit] = relationship(back_populates="contracts")


class MaintenanceStatusChange(db.Model):
    """Append-only record of every maintenance-status decision (only 市场部经理 makes them): a change, or —
    from_status equal to to_status — the status kept after a contract lapsed (operations.keep_status), which
    may hold only until `review_on` (复查日期), when the lapse sweep asks again."""

    __tablename__ = "maintenance_status_changes"
    __table_args__ = (Index("ix_status_changes_customer", "customer_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer_units.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    review_on: Mapped[date | None]

    changed_by = relationship("User", lazy="joined")

    @property
    def kept(self) -> bool:
        return self.from_status == self.to_status
