"""The service plan's periodic sweep (SPEC §4): monthly phone callbacks for every unit under
maintenance, on-site visits (VIP monthly, ordinary quarterly), maintenance summaries (VIP
quarterly and yearly, ordinary yearly). The database is the source of truth for what is due:
the sweep works from today's date, so a missed run is caught up by the next one."""
from __future__ import annotations

from datetime import date

from sqlalchemy import String, and_, cast, exists, literal, select

from portal.core.enums import CallbackKind, MaintenanceStatus, Role
from portal.core.timeutil import today_local, utcnow
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.jobs.runtime import job
from portal.notifications import reminders
from portal.notifications.jobs import announce
from portal.notifications.models import Reminder
from portal.service_plan import periods
from portal.tickets.models import Callback

UNDER_MAINTENANCE = (MaintenanceStatus.ORDINARY.value, MaintenanceStatus.VIP.value)
# (reminder kind, callback kind that settles it)
SETTLED_BY = {"monthly_callback": CallbackKind.MONTHLY.value, "visit": CallbackKind.VISIT.value}


def _open_for_units(kind: str, period: periods.Period, statuses: tuple[str, ...], role: Role, due) -> int:
    """One INSERT … SELECT for every unit with one of the statuses that has no such reminder yet."""
    key = literal(f"{kind}:") + cast(CustomerUnit.id, String) + literal(f":{period.key}")
    sel = select(
        key, literal(kind), literal(role.value), CustomerUnit.id, literal(period.key), literal(due), literal(utcnow()),
    ).where(CustomerUnit.maintenance_status.in_(statuses), CustomerUnit.created_at < period.end_utc)
    return reminders.open_from_select(sel, ["key", "kind", "role", "customer_id", "period", "due_at", "created_at"])


def _settle_done(kind: str, period: periods.Period) -> int:
    """Close this period's reminders whose callback / visit has been recorded."""
    done = exists().where(
        Callback.customer_id == Reminder.customer_id, Callback.kind == SETTLED_BY[kind],
        Callback.made_at >= period.start_utc, Callback.made_at < period.end_utc,
    )
    return reminders.settle(Reminder.kind == kind, Reminder.period == period.key, done, note="recorded")


def _settle_off_plan() -> int:
    """Close callbacks and visits the unit's maintenance level no longer asks for: maintenance
    stopped (客服 cannot record them any more), or a visit of the other level's period after the
    level changed (VIP: monthly keys like 2026-05, ordinary: quarterly keys like 2026Q2)."""
    def units(*statuses):
        return Reminder.customer_id.in_(select(CustomerUnit.id).where(CustomerUnit.maintenance_status.in_(statuses)))

    vip, ordinary = MaintenanceStatus.VIP.value, MaintenanceStatus.ORDINARY.value
    return (
        reminders.settle(Reminder.kind.in_(list(SETTLED_BY)), units(MaintenanceStatus.STOPPED.value),
                         note="maintenance stopped")
        + reminders.settle(Reminder.kind == "visit", units(ordinary), ~Reminder.period.contains("Q", autoescape=True),
                           note="level changed")
        + reminders.settle(Reminder.kind == "visit", units(vip), Reminder.period.contains("Q", autoescape=True),
                           note="level changed")
    )


def sweep(today: date | None = None) -> dict[str, int]:
    today = today or today_local()
    m, q, y = periods.month(today), periods.quarter(today), periods.year(today)
    vip, ordinary = (MaintenanceStatus.VIP.value,), (MaintenanceStatus.ORDINARY.value,)
    created = {
        "monthly_callback": _open_for_units("monthly_callback", m, UNDER_MAINTENANCE, Role.CS, m.end_utc),
        "visit_vip": _open_for_units("visit", m, vip, Role.CS, m.end_utc),
        "visit_ordinary": _open_for_units("visit", q, ordinary, Role.CS, q.end_utc),
    }
    # Summaries cover a finished period: this quarter's sweep asks for last quarter's.
    last_q, last_y = periods.previous(q, periods.quarter), periods.previous(y, periods.year)
    created["summary_quarter"] = _open_for_units("summary", last_q, vip, Role.CS, last_q.end_utc + (q.end_utc - q.start_utc) / 6)
    created["summary_year"] = _open_for_units("summary", last_y, UNDER_MAINTENANCE, Role.CS, last_y.end_utc + (y.end_utc - y.start_utc) / 24)
    settled = _settle_done("monthly_callback", m) + _settle_done("visit", m) + _settle_done("visit", q)
    created["settled"] = settled + _settle_off_plan()
    return created


@job
def sweep_service_plan() -> dict[str, int]:
    created = sweep()
    announce([("monthly_callback", Role.CS.value, created.get("monthly_callback", 0)),
              ("visit", Role.CS.value, created.get("visit_vip", 0) + created.get("visit_ordinary", 0)),
              ("summary", Role.CS.value, created.get("summary_quarter", 0) + created.get("summary_year", 0))],
             period=periods.month(today_local()).key)
    return created
