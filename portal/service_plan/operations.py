"""Recording the service plan's contacts: monthly phone callbacks, the same Callback records the tickets use
(kind monthly). An on-site visit is a visit of its own (portal/visits): a phone record never settles the
plan's "visit" reminder, only a done visit with its arrival does. Callbacks of kind visit recorded before
stay in the history as they were."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.auth.models import User
from portal.core.enums import CallbackKind, ContactMethod, MaintenanceStatus
from portal.core.kernel import kernel
from portal.core.policy import cadence
from portal.core.timeutil import to_local, utcnow
from portal.customers.models import CustomerUnit
from portal.documents.models import Document, DocumentKind
from portal.extensions import db
from portal.notifications import reminders
from portal.notifications.models import Reminder
from portal.service_plan import periods
from portal.tickets.models import Callback

PLAN_KINDS = {CallbackKind.MONTHLY.value: "monthly_callback", CallbackKind.VISIT.value: "visit"}
# The kinds a callback may still be recorded as here (a visit is recorded on its own page).
PHONE_RECORDED = (CallbackKind.MONTHLY.value,)
# The note a plan reminder is closed with when its callback / visit is recorded (the dashboard counts
# those as done; other closings — level changed, maintenance stopped — are not the plan kept).
DONE_NOTE = "recorded"


class PlanError(Exception):
    def __init__(self, message, status: int = 422, errors: dict | None = None):
        super().__init__(str(message))
        self.message, self.status, self.errors = message, status, errors or {}


def summary_filed(document: Document) -> None:
    """Listener (kernel event "document_ready"): a maintenance summary in the archive settles its reminder."""
    if document.kind == DocumentKind.SUMMARY.value:
        reminders.settle(Reminder.kind == "summary", Reminder.customer_id == document.customer_id,
                         Reminder.period == document.period, note="generated")


def visit_period(unit: CustomerUnit, d) -> periods.Period:
    """The period a visit to this unit counts for (its level's cadence)."""
    return periods.of(cadence(unit.maintenance_status).visit or "quarter", d)


def record(unit: CustomerUnit, kind: str, actor: User, *, method: str, contact_person: str, outcome: str,
           satisfaction: int | None = None, made_at: datetime | None = None) -> Callback:
    if not kernel.allows(actor, "service_plan.record"):
        raise PlanError(_l("Only customer service records callbacks and visits."), 403)
    if kind == CallbackKind.VISIT.value:
        raise PlanError(_l("An on-site visit is not a phone record: plan it and record it as a visit."), 409)
    if kind not in PHONE_RECORDED:
        raise PlanError(_l("Unknown kind of record."), 400)
    if unit.maintenance_status == MaintenanceStatus.STOPPED.value:
        raise PlanError(_l("This unit's maintenance has stopped; it is not in the service plan."), 409)
    ContactMethod(method)
    errors = {}
    if not (contact_person or "").strip():
        errors["contact_person"] = _l("This field is required.")
    if not (outcome or "").strip():
        errors["outcome"] = _l("This field is required.")
    if satisfaction is not None and not 1 <= int(satisfaction) <= 5:
        errors["satisfaction"] = _l("Satisfaction is scored 1 to 5.")
    if errors:
        raise PlanError(_l("Please correct the marked fields."), 422, errors)
    made_at = made_at or utcnow()
    cb = Callback(kind=kind, customer_id=unit.id, method=method, contact_person=contact_person.strip(),
                  outcome=outcome.strip(), satisfaction=satisfaction, made_by_id=actor.id, made_at=made_at)
    db.session.add(cb)
    day = to_local(made_at).date()
    level = cadence(unit.maintenance_status)
    period = periods.of(level.callback or "month", day)
    reminders.settle(Reminder.kind == PLAN_KINDS[kind], Reminder.customer_id == unit.id,
                     Reminder.period == period.key, note=DONE_NOTE)
    return cb
