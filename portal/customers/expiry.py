"""Contracts ending and ended (SPEC §4, issue 15): the one definition of "in its expiry window" and "lapsed"
that the sweep, 市场部's home and the customer list's 即将到期 filter share, so what the reminder says, what
the home shows and what the filter finds can never disagree.

- In its window: the unit's latest contract (no later one follows it) ends between today and today + the
  policy's window (90 days), for a unit under maintenance. 市场部 sees it from the window's first day.
- Lapsed: that latest contract has ended and the unit is still under maintenance. Nobody changes the status
  silently: 市场部经理 is reminded to set it, until it is set or the contract is renewed — or until the manager
  keeps it, with a reason (operations.keep_status): the reminder is settled as KEPT and, its key being taken,
  never opened again, except on the 复查日期 the decision may carry, when the sweep opens it again.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import String, cast, exists, func, literal, select
from sqlalchemy.orm import aliased

from portal.core.enums import MaintenanceStatus, Role
from portal.core.policy import policy_for
from portal.core.timeutil import today_local, utcnow
from portal.customers.models import Contract, CustomerUnit, MaintenanceStatusChange
from portal.extensions import db
from portal.notifications import reminders
from portal.notifications.models import Reminder

HOME_ROWS = 10
KEPT = "status kept"  # the closing note of a lapse reminder answered by keeping the status


def renewed():
    """A later contract of the same unit follows this one (answered from ix_contracts_customer_start)."""
    later = aliased(Contract)
    return exists().where(later.customer_id == Contract.customer_id, later.start_date > Contract.start_date)


def under_maintenance():
    return CustomerUnit.maintenance_status != MaintenanceStatus.STOPPED.value


def in_window(today: date):
    """Contracts in their expiry window today (from the end_date index)."""
    end = today + timedelta(days=policy_for(None).contract_expiry_window_days)
    return (Contract.end_date >= today, Contract.end_date <= end, ~renewed(), under_maintenance())


def lapsed(today: date):
    return (Contract.end_date < today, ~renewed(), under_maintenance())


def review_due(today: date):
    """The units whose latest status decision is a kept status with its 复查日期 reached (a subquery): a later
    decision — a change, or another keep with a later date — answers for it."""
    later = aliased(MaintenanceStatusChange)
    decision = MaintenanceStatusChange
    return select(decision.customer_id).where(
        decision.from_status == decision.to_status, decision.review_on <= today,
        ~exists().where(later.customer_id == decision.customer_id, later.id > decision.id))


def expiring_unit_ids(today: date):
    """The units with a contract in its window: the customer list's 即将到期 filter (a subquery)."""
    return (select(Contract.customer_id).join(CustomerUnit, CustomerUnit.id == Contract.customer_id)
            .where(*in_window(today)))


def for_home(today: date | None = None, limit: int = HOME_ROWS) -> tuple[int, list]:
    """市场部's home: how many contracts are in their window (capped at 100) and the soonest ending, each with
    its unit and the days left — two bounded statements."""
    today = today or today_local()
    base = select(Contract.id).join(CustomerUnit, CustomerUnit.id == Contract.customer_id).where(*in_window(today))
    count = db.session.scalar(select(func.count()).select_from(base.limit(100).subquery()))
    rows = db.session.execute(
        select(Contract, CustomerUnit.name).join(CustomerUnit, CustomerUnit.id == Contract.customer_id)
        .where(*in_window(today)).order_by(Contract.end_date, Contract.id).limit(limit)).all()
    return count, [(c, name, (c.end_date - today).days) for c, name in rows]


def sweep(today: date | None = None) -> dict[str, int]:
    """Open the reminders for contracts in their window (市场部) and for lapsed ones (市场部经理) — again for a
    lapsed one whose kept status is due for review; settle those a renewal or a stopped maintenance has
    answered. Set-based: the number of statements does not grow with the data."""
    today = today or today_local()
    now = utcnow()
    sel = (
        select(literal("contract_expiry:") + cast(Contract.id, String), literal("contract_expiry"),
               literal(Role.MARKET.value), Contract.customer_id, Contract.id, Contract.end_date, literal(now))
        .join(CustomerUnit, CustomerUnit.id == Contract.customer_id).where(*in_window(today))
    )
    columns = ["key", "kind", "role", "customer_id", "contract_id", "due_at", "created_at"]
    created = reminders.open_from_select(sel, columns)
    lapse = (
        select(literal("contract_lapsed:") + cast(Contract.id, String), literal("contract_lapsed"),
               literal(Role.MARKET_MANAGER.value), Contract.customer_id, Contract.id, literal(now), literal(now))
        .join(CustomerUnit, CustomerUnit.id == Contract.customer_id).where(*lapsed(today))
    )
    created_lapsed = reminders.open_from_select(lapse, columns)
    # A kept status holds until its 复查日期: that day the still-lapsed contract's reminder opens again. (A key
    # once taken is never inserted again, so a kept status without a date is never asked about again.)
    lapsed_ids = select(Contract.id).join(CustomerUnit, CustomerUnit.id == Contract.customer_id).where(*lapsed(today))
    created_lapsed += reminders.reopen(Reminder.kind == "contract_lapsed", Reminder.closed_note == KEPT,
                                       Reminder.contract_id.in_(lapsed_ids),
                                       Reminder.customer_id.in_(review_due(today)), at=now)
    # A renewal settles the reminders of the contract it follows; a lapsed unit whose maintenance stopped
    # (the status set) owes nothing more.
    renewed_ids = select(Contract.id).where(renewed())
    settled = reminders.settle(Reminder.kind.in_(("contract_expiry", "contract_lapsed")),
                               Reminder.contract_id.in_(renewed_ids), note="renewed")
    stopped = select(CustomerUnit.id).where(~under_maintenance())
    settled += reminders.settle(Reminder.kind == "contract_lapsed", Reminder.customer_id.in_(stopped),
                                note="maintenance stopped")
    return {"contract_expiry": created, "contract_lapsed": created_lapsed, "settled": settled}
