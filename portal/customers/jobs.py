"""Contract expiry (SPEC §4): maintenance contracts ending within the configured window, and
not yet followed by a renewal, become a reminder for 市场部 (one set-based statement per run),
and the job asks the archive for each one's 维护到期通知函."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.orm import aliased

from portal.core.enums import MaintenanceStatus, Role
from portal.core.policy import policy_for
from portal.core.timeutil import today_local, utcnow
from portal.customers.models import Contract, CustomerUnit
from portal.documents.operations import request_expiry_notices
from portal.jobs.runtime import job
from portal.notifications import reminders
from portal.notifications.models import Reminder


def sweep(today: date | None = None) -> dict[str, int]:
    today = today or today_local()
    window_end = today + timedelta(days=policy_for(None).contract_expiry_window_days)
    later = aliased(Contract)
    renewed = exists().where(later.customer_id == Contract.customer_id, later.start_date > Contract.start_date)
    sel = (
        select(literal("contract_expiry:") + cast(Contract.id, String), literal("contract_expiry"),
               literal(Role.MARKET.value), Contract.customer_id, Contract.id, Contract.end_date, literal(utcnow()))
        .join(CustomerUnit, CustomerUnit.id == Contract.customer_id)
        .where(Contract.end_date >= today, Contract.end_date <= window_end, ~renewed,
               CustomerUnit.maintenance_status != MaintenanceStatus.STOPPED.value)
    )
    created = reminders.open_from_select(
        sel, ["key", "kind", "role", "customer_id", "contract_id", "due_at", "created_at"])
    # A renewal settles the reminder of the contract it follows.
    renewed_ids = select(Contract.id).where(renewed)
    settled = reminders.settle(Reminder.kind == "contract_expiry", Reminder.contract_id.in_(renewed_ids), note="renewed")
    return {"contract_expiry": created, "settled": settled}


@job
def sweep_contract_expiry() -> dict[str, int]:
    result = sweep()
    # …and the 维护到期通知函 of each such contract, generated once (portal.documents).
    result["expiry_notice"] = request_expiry_notices()
    return result
