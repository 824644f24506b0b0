"""The service plan's periodic sweep (SPEC §4): monthly phone callbacks for every unit under
maintenance, on-site visits (VIP monthly, ordinary quarterly), maintenance summaries (VIP
quarterly and yearly, ordinary yearly). The database is the source of truth for what is due:
the sweep works from today's date, so a missed run is caught up by the next one."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import String, cast, exists, literal, select

from portal.core.enums import Role
from portal.core.policy import CADENCE, policy_for
from portal.core.timeutil import today_local, utcnow
from portal.customers.models import CustomerUnit
from portal.jobs.runtime import job
from portal.notifications import reminders
from portal.notifications.jobs import announce
from portal.notifications.models import Reminder
from portal.service_plan import periods
from portal.service_plan.operations import DONE_NOTE, PLAN_KINDS
from portal.tickets.models import Callback
from portal.visits.operations import done_plan_visit_exists

# (reminder kind, callback kind that settles it)
SETTLED_BY = {reminder: callback for callback, reminder in PLAN_KINDS.items()}


def _levels(pick) -> dict[str, tuple[str, ...]]:
    """{period kind: the maintenance levels whose cadence picks it}, from the policy's cadence table."""
    out: dict[str, list[str]] = {}
    for level, c in CADENCE.items():
        for kind in pick(c):
            out.setdefault(kind, []).append(level.value)
    return {k: tuple(v) for k, v in out.items()}


def _open_for_units(kind: str, period: periods.Period, statuses: tuple[str, ...], role: Role, due) -> int:
    """One INSERT … SELECT for every unit with one of the statuses that has no such reminder yet."""
    key = literal(f"{kind}:") + cast(CustomerUnit.id, String) + literal(f":{period.key}")
    sel = select(
        key, literal(kind), literal(role.value), CustomerUnit.id, literal(period.key), literal(due), literal(utcnow()),
    ).where(CustomerUnit.maintenance_status.in_(statuses), CustomerUnit.created_at < period.end_utc)
    return reminders.open_from_select(sel, ["key", "kind", "role", "customer_id", "period", "due_at", "created_at"])


def _settle_done(kind: str, period: periods.Period) -> int:
    """Close this period's reminders whose callback has been recorded, or whose visit is done (arrival recorded:
    a phone record never settles a visit)."""
    if kind == "visit":
        return reminders.settle(Reminder.kind == kind, Reminder.period == period.key, done_plan_visit_exists(),
                                note=DONE_NOTE)
    done = exists().where(
        Callback.customer_id == Reminder.customer_id, Callback.kind == SETTLED_BY[kind],
        Callback.made_at >= period.start_utc, Callback.made_at < period.end_utc,
    )
    return reminders.settle(Reminder.kind == kind, Reminder.period == period.key, done, note=DONE_NOTE)


def _settle_off_plan() -> int:
    """Close callbacks and visits the unit's maintenance level no longer asks for: none at all (maintenance
    stopped: 客服 cannot record them any more), or a visit of another period than the level's (after the
    level changed, e.g. VIP monthly 2026-05 → ordinary quarterly 2026Q2)."""
    def units(*statuses):
        return Reminder.customer_id.in_(select(CustomerUnit.id).where(CustomerUnit.maintenance_status.in_(statuses)))

    none = [level.value for level, c in CADENCE.items() if c.callback is None and c.visit is None]
    settled = reminders.settle(Reminder.kind.in_(list(SETTLED_BY)), units(*none), note="maintenance stopped")
    for kind, levels in _levels(lambda c: [c.visit] if c.visit else []).items():
        settled += reminders.settle(Reminder.kind == "visit", units(*levels),
                                    Reminder.period.not_like(periods.KEY_PATTERN[kind]), note="level changed")
    return settled


def sweep(today: date | None = None) -> dict[str, int]:
    """Each level's callbacks, visits and summaries as the cadence table asks (portal/core/policy.py)."""
    today = today or today_local()
    created: dict[str, int] = {"monthly_callback": 0}
    settled = 0
    for kind, levels in _levels(lambda c: [c.callback] if c.callback else []).items():
        p = periods.of(kind, today)
        created["monthly_callback"] += _open_for_units("monthly_callback", p, levels, Role.CS, p.end_utc)
        settled += _settle_done("monthly_callback", p)
    for level, c in CADENCE.items():
        if c.visit:
            p = periods.of(c.visit, today)
            created[f"visit_{level.value}"] = _open_for_units("visit", p, (level.value,), Role.CS, p.end_utc)
    for kind in _levels(lambda c: [c.visit] if c.visit else []):
        settled += _settle_done("visit", periods.of(kind, today))
    # Summaries cover a finished period: this quarter's sweep asks for last quarter's.
    due_after = timedelta(days=policy_for(None).summary_due_days)
    for kind, levels in _levels(lambda c: c.summaries).items():
        last = periods.previous(periods.of(kind, today), periods.OF_KIND[kind])
        created[f"summary_{kind}"] = _open_for_units("summary", last, levels, Role.CS, last.end_utc + due_after)
    created["settled"] = settled + _settle_off_plan()
    return created


@job
def sweep_service_plan() -> dict[str, int]:
    created = sweep()
    def total(prefix: str) -> int:
        return sum(n for key, n in created.items() if key.startswith(prefix))

    announce([("monthly_callback", Role.CS.value, created.get("monthly_callback", 0)),
              ("visit", Role.CS.value, total("visit_")), ("summary", Role.CS.value, total("summary_"))],
             period=periods.month(today_local()).key)
    return created
