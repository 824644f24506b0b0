"""On-site visits: who sees which, and every step from "the phone cannot solve it" to the customer's signature.

Each step is one entry of STEPS (from which states, to which state, the permission it needs) and one function
here; `_step` checks it, moves the state and appends the history. The caller commits. Nothing here touches
`request`: a route, a job, the demo and the tests call the same functions.

The clocks: a ticket's visit starts `onsite_24h` at the moment on-site was found necessary; arrival stops it
(kept within the limit the ticket's policy snapshot gives, breached past it). Departure of the first visit of
an urgent ticket is its emergency response (`emergency_response` stops; nothing happens if it does not run).
A service-plan visit settles its period's "visit" reminder only when it is done, arrival recorded — a phone
callback never does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import abort, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, false, or_, select

from portal.auth.models import User, UserRole
from portal.core import uploads
from portal.core.enums import MaintenanceStatus, Role
from portal.core.kernel import kernel
from portal.core.policy import cadence, ticket_policy
from portal.core.timeutil import today_local, utcnow
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.jobs import queue
from portal.notifications import reminders
from portal.notifications.models import Reminder
from portal.service_plan.operations import DONE_NOTE, visit_period
from portal.sla import clocks
from portal.sla.models import ServiceClock
from portal.tickets.models import Ticket
from portal.visits.models import Visit, VisitCompanion, VisitEvent, VisitOrigin, VisitState

S = VisitState
# A moment typed as "now" may run this far ahead of the server's clock (the user's watch) and still count.
CLOCK_SLACK = timedelta(minutes=2)
SHEET_TYPES = {"pdf", *uploads.IMAGE_EXTENSIONS}
ESCALATE_TO = {"dev": Role.DEV_MANAGER.value, "impl": Role.IMPL_MANAGER.value}
VISITORS = (Role.ENGINEER.value, Role.IMPL_ENGINEER.value)


class VisitError(Exception):
    def __init__(self, message, status: int = 422, errors: dict | None = None):
        super().__init__(str(message))
        self.message, self.status, self.errors = message, status, errors or {}


@dataclass(frozen=True)
class StepRule:
    key: str
    title: object
    from_states: frozenset[VisitState]
    to: VisitState
    permission: str


STEPS = {s.key: s for s in (
    StepRule("book", _l("Book the appointment"), frozenset({S.NEEDED, S.BOOKED}), S.BOOKED, "visits.book"),
    StepRule("depart", _l("Record departure"), frozenset({S.BOOKED}), S.ON_THE_WAY, "visits.record"),
    StepRule("arrive", _l("Record arrival"), frozenset({S.ON_THE_WAY}), S.ON_SITE, "visits.record"),
    StepRule("record_work", _l("Record the work done"), frozenset({S.ON_SITE}), S.ON_SITE, "visits.record"),
    StepRule("confirm", _l("Record the customer's confirmation"), frozenset({S.ON_SITE}), S.ON_SITE,
             "visits.record"),
    StepRule("leave", _l("Record leaving (visit done)"), frozenset({S.ON_SITE}), S.DONE, "visits.record"),
    StepRule("cancel", _l("Cancel the visit"), frozenset({S.NEEDED, S.BOOKED, S.ON_THE_WAY}), S.CANCELLED,
             "visits.book"),
)}

# What each history entry says it was (the steps', and how a visit began).
ACTION_TITLES = {"need_onsite": _l("Phone cannot solve it: on-site needed"), "plan": _l("Plan a maintenance visit"),
                 **{key: rule.title for key, rule in STEPS.items()}}


def action_title(action: str) -> str:
    return str(ACTION_TITLES.get(action, action))


# --- who sees which visit ---------------------------------------------------------------------------

def departments_of(user) -> list[str]:
    """The departments whose visits the user oversees (a manager's own)."""
    return kernel.desks_granting(user, "visits.view_department") if kernel.allows(user, "visits.view_department") \
        else []


def _own(user):
    return or_(Visit.engineer_id == user.id,
               exists().where(VisitCompanion.visit_id == Visit.id, VisitCompanion.user_id == user.id))


def visibility_filter(user, scope: str = "all"):
    """The visits the user may see, narrowed to `scope` (mine / department / all); None: no limit."""
    if not kernel.allows(user, "visits.view"):
        return false()
    everything = kernel.allows(user, "visits.view_all")
    depts = departments_of(user)
    if scope == "mine":
        return _own(user)
    if scope == "department" and depts:
        return Visit.department.in_(depts)
    if everything:
        return None
    return or_(_own(user), Visit.department.in_(depts)) if depts else _own(user)


def scopes_of(user) -> list[str]:
    out = ["mine"]
    if departments_of(user):
        out.append("department")
    if kernel.allows(user, "visits.view_all"):
        out.append("all")
    return out


def may_see(visit: Visit, user) -> bool:
    cond = visibility_filter(user)
    if cond is None:
        return True
    return db.session.scalar(select(Visit.id).where(Visit.id == visit.id, cond)) is not None


def get_visit_or_404(visit_id: int, user) -> Visit:
    """A visit the user may not see is a 404, exactly like one that does not exist."""
    stmt = select(Visit).where(Visit.id == visit_id)
    cond = visibility_filter(user)
    visit = db.session.scalar(stmt if cond is None else stmt.where(cond))
    if visit is None:
        abort(404)
    return visit


def of_ticket(ticket_id: int) -> list[Visit]:
    return list(db.session.scalars(select(Visit).where(Visit.ticket_id == ticket_id).order_by(Visit.id)))


def open_visit_of_ticket(ticket_id: int) -> Visit | None:
    return db.session.scalar(select(Visit).where(Visit.ticket_id == ticket_id, Visit.state.notin_(
        [S.DONE.value, S.CANCELLED.value])).limit(1))


def onsite_clock(visit_id: int):
    """The visit's 24-hour on-site clock (the latest), if it has one."""
    return db.session.scalar(select(ServiceClock).where(ServiceClock.visit_id == visit_id,
                                                        ServiceClock.key == "onsite_24h")
                             .order_by(ServiceClock.id.desc()).limit(1))


def history(visit: Visit) -> list[VisitEvent]:
    return list(db.session.scalars(select(VisitEvent).where(VisitEvent.visit_id == visit.id).order_by(VisitEvent.id)))


def visitors() -> list[User]:
    """Who may go on a visit: the active engineers and implementation engineers."""
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(VISITORS), User.active.is_(True)).order_by(User.display_name, User.id).distinct()))


def checklist_for(origin: str) -> list[dict]:
    """The configured checklist (portal/config.py VISIT_CHECKLISTS), copied into the visit when it starts."""
    items = current_app.config.get("VISIT_CHECKLISTS", {}).get(origin, [])
    return [{"key": i["key"], "label": i["label"], "done": False, "note": ""} for i in items]


# --- the steps ------------------------------------------------------------------------------------------

def check(visit: Visit, key: str, actor: User, *, seen: bool | None = None) -> StepRule:
    rule = STEPS[key]
    if not kernel.allows(actor, rule.permission) or not (may_see(visit, actor) if seen is None else seen):
        raise VisitError(_l("Your role may not do this: %(action)s.", action=rule.title), 403)
    if S(visit.state) not in rule.from_states:
        raise VisitError(_l("%(action)s is not possible while the visit is “%(state)s”.", action=rule.title,
                            state=S(visit.state).title), 409)
    return rule


def available_steps(visit: Visit, actor: User) -> list[StepRule]:
    out, seen = [], may_see(visit, actor)  # asked once for the page
    for key in STEPS:
        try:
            check(visit, key, actor, seen=seen)
        except VisitError:
            continue
        out.append(STEPS[key])
    return out


def _event(visit: Visit, actor: User | None, action: str, from_state: str | None, text: str = "",
           data: dict | None = None, at: datetime | None = None) -> VisitEvent:
    event = VisitEvent(visit_id=visit.id, actor_id=actor.id if actor else None, action=action,
                       from_state=from_state, to_state=visit.state, text=text or "", data=data or {},
                       created_at=at or utcnow())
    db.session.add(event)
    return event


def _step(visit: Visit, key: str, actor: User, text: str = "", data: dict | None = None) -> VisitEvent:
    rule = check(visit, key, actor)
    before = visit.state
    visit.state = rule.to.value
    visit.updated_at = utcnow()
    db.session.flush()
    return _event(visit, actor, key, before, text, data)


def _moment(at: datetime | None, field: str, not_before: datetime | None, before_message) -> datetime:
    """A time the user states happened: never in the future, never before the step it follows."""
    at = at or utcnow()
    if at > utcnow() + CLOCK_SLACK:
        raise VisitError(_l("Please correct the marked fields."), 422,
                         {field: _l("This time is in the future; record it when it has happened.")})
    if not_before is not None and at < not_before:
        raise VisitError(_l("Please correct the marked fields."), 422, {field: before_message})
    return at


def new_ticket_visit(ticket: Ticket, actor: User, reason: str, at: datetime) -> Visit:
    """The visit a ticket needs (not yet added: the ticket workflow adds it after its own UPDATE)."""
    return Visit(origin=VisitOrigin.TICKET.value, ticket_id=ticket.id, customer_id=ticket.customer_id,
                 department=ticket.handling_department or "dev", state=S.NEEDED.value, reason=reason,
                 needed_at=at, created_by_id=actor.id, engineer_id=ticket.assignee_id,
                 checklist=checklist_for(VisitOrigin.TICKET.value), updated_at=at)


def ticket_visit_opened(visit: Visit, ticket: Ticket, actor: User) -> None:
    """Its first history entry and the 24-hour on-site clock, from the moment on-site was found necessary."""
    _event(visit, actor, "need_onsite", None, visit.reason, at=visit.needed_at)
    clocks.start("onsite_24h", started_at=visit.needed_at, policy=ticket_policy(ticket),
                 level=ticket.customer.maintenance_status, ticket_id=ticket.id, visit_id=visit.id,
                 customer_id=ticket.customer_id, department=visit.department, user_id=visit.engineer_id,
                 escalate_role=ESCALATE_TO.get(visit.department))


def plan_visit(unit: CustomerUnit, actor: User, *, reason: str = "", department: str = "impl",
               day=None) -> Visit:
    """A service-plan maintenance visit for the unit's current visit period (VIP monthly, ordinary quarterly)."""
    if not kernel.allows(actor, "visits.plan"):
        raise VisitError(_l("Your role may not do this: %(action)s.", action=_l("Plan a maintenance visit")), 403)
    if MaintenanceStatus(unit.maintenance_status) is MaintenanceStatus.STOPPED or \
            cadence(unit.maintenance_status).visit is None:
        raise VisitError(_l("This unit's maintenance has stopped; it is not in the service plan."), 409)
    if department not in ESCALATE_TO:
        raise VisitError(_l("Unknown department."), 422, {"department": _l("Unknown department.")})
    period = visit_period(unit, day or today_local())
    taken = db.session.scalar(select(Visit.id).where(
        Visit.customer_id == unit.id, Visit.origin == VisitOrigin.PLAN.value, Visit.plan_period == period.key,
        Visit.state != S.CANCELLED.value))
    if taken is not None:
        raise VisitError(_l("This unit's maintenance visit for %(period)s is already planned.", period=period.key),
                         409)
    now = utcnow()
    visit = Visit(origin=VisitOrigin.PLAN.value, customer_id=unit.id, plan_period=period.key, department=department,
                  state=S.NEEDED.value, reason=(reason or "").strip(), needed_at=now, created_by_id=actor.id,
                  checklist=checklist_for(VisitOrigin.PLAN.value), updated_at=now)
    db.session.add(visit)
    db.session.flush()
    _event(visit, actor, "plan", None, visit.reason, {"period": period.key})
    return visit


def book(visit: Visit, actor: User, *, appointment_at: datetime | None, engineer_id: int | None,
         companion_ids: list[int] = (), customer_contact: str = "", note: str = "") -> VisitEvent:
    check(visit, "book", actor)
    errors = {}
    if appointment_at is None:
        errors["appointment_at"] = _l("This field is required.")
    elif appointment_at < utcnow() - CLOCK_SLACK:
        errors["appointment_at"] = _l("The appointment cannot be in the past.")
    allowed = {u.id for u in visitors()}
    if engineer_id not in allowed:
        errors["engineer_id"] = _l("Choose an engineer or implementation engineer.")
    companions = sorted({int(c) for c in companion_ids} - {engineer_id})
    if set(companions) - allowed:
        errors["companion_ids"] = _l("Choose an engineer or implementation engineer.")
    if not (customer_contact or "").strip():
        errors["customer_contact"] = _l("This field is required.")
    if errors:
        raise VisitError(_l("Please correct the marked fields."), 422, errors)
    visit.appointment_at = appointment_at
    visit.engineer_id = engineer_id
    visit.customer_contact = customer_contact.strip()[:64]
    visit.companions = [VisitCompanion(user_id=c) for c in companions]
    return _step(visit, "book", actor, note, {"appointment_at": appointment_at.isoformat(),
                                              "engineer_id": engineer_id, "companion_ids": companions})


def depart(visit: Visit, actor: User, at: datetime | None = None) -> VisitEvent:
    check(visit, "depart", actor)
    visit.departed_at = _moment(at, "at", visit.needed_at,
                                _l("Departure cannot be before on-site was found necessary."))
    event = _step(visit, "depart", actor, data={"at": visit.departed_at.isoformat()})
    if visit.ticket is not None and visit.ticket.urgent:
        # the first on-site dispatch of an urgent ticket answers its emergency (no-op if it does not run)
        clocks.stop("emergency_response", at=visit.departed_at, ticket_id=visit.ticket_id)
    return event


def arrive(visit: Visit, actor: User, at: datetime | None = None) -> VisitEvent:
    check(visit, "arrive", actor)
    visit.arrived_at = _moment(at, "at", visit.departed_at, _l("Arrival cannot be before departure."))
    event = _step(visit, "arrive", actor, data={"at": visit.arrived_at.isoformat()})
    clocks.stop("onsite_24h", at=visit.arrived_at, visit_id=visit.id)
    return event


def record_work(visit: Visit, actor: User, *, done: list[str], notes: dict[str, str], result: str) -> VisitEvent:
    check(visit, "record_work", actor)
    done_keys = set(done)
    known = {i["key"] for i in visit.checklist}
    if done_keys - known:
        raise VisitError(_l("Unknown checklist item."), 422)
    items = []
    for item in visit.checklist:
        note = (notes.get(item["key"]) or "").strip()[:500]
        items.append({**item, "done": item["key"] in done_keys, "note": note})
    visit.checklist = items  # a new list: the JSON column sees the change
    visit.result = (result or "").strip()
    return _step(visit, "record_work", actor, visit.result,
                 {"done": sorted(done_keys), "notes": {i["key"]: i["note"] for i in items if i["note"]}})


def confirm(visit: Visit, actor: User, *, name: str, text: str = "", sheet: uploads.CheckedFile | None = None
            ) -> VisitEvent:
    check(visit, "confirm", actor)
    errors = {}
    if not (name or "").strip():
        errors["name"] = _l("Who confirmed the visit? Enter the customer's name.")
    if sheet is None and not (text or "").strip():
        errors["sheet"] = _l("Upload the signed sheet or type the customer's confirmation.")
    if sheet is not None and sheet.extension not in SHEET_TYPES:
        errors["sheet"] = _l("The signed sheet must be a PDF or an image.")
    if errors:
        raise VisitError(_l("Please correct the marked fields."), 422, errors)
    visit.confirmed_by_name = name.strip()[:64]
    visit.confirmation_text = (text or "").strip() or None
    if sheet is not None:
        visit.signed_sheet = uploads.store(sheet)
        visit.signed_sheet_name = sheet.filename
        visit.signed_sheet_type = sheet.content_type
    visit.confirmed_at = utcnow()
    return _step(visit, "confirm", actor, visit.confirmation_text or "",
                 {"name": visit.confirmed_by_name, "sheet": visit.signed_sheet_name})


def leave(visit: Visit, actor: User, at: datetime | None = None) -> VisitEvent:
    """The engineer leaves: the visit is done. It needs the result explained, every checklist item done or
    a note saying why not, and the customer's confirmation; the report is then generated and filed."""
    check(visit, "leave", actor)
    errors = {}
    if not visit.result:
        errors["result"] = _l("Explain the result before leaving.")
    if any(not i.get("done") and not i.get("note") for i in visit.checklist):
        errors["checklist"] = _l("Tick every checklist item, or say in its note why it was not done.")
    if not visit.confirmed:
        errors["confirmation"] = _l("The customer has not confirmed the visit yet.")
    if errors:
        raise VisitError(next(iter(errors.values())), 409, errors)
    visit.left_at = _moment(at, "at", visit.arrived_at, _l("Leaving cannot be before arrival."))
    event = _step(visit, "leave", actor, data={"at": visit.left_at.isoformat()})
    if visit.origin == VisitOrigin.PLAN.value:
        settle_plan_reminder(visit)
    queue.enqueue("portal.visits.jobs.file_visit_report", visit.id)
    return event


def settle_plan_reminder(visit: Visit) -> int:
    """A done maintenance visit (arrival recorded) keeps the service plan's promise for its period."""
    if visit.state != S.DONE.value or visit.arrived_at is None or visit.plan_period is None:
        return 0
    return reminders.settle(Reminder.kind == "visit", Reminder.customer_id == visit.customer_id,
                            Reminder.period == visit.plan_period, note=DONE_NOTE)


def cancel(visit: Visit, actor: User, reason: str) -> VisitEvent:
    check(visit, "cancel", actor)
    if not (reason or "").strip():
        raise VisitError(_l("Please correct the marked fields."), 422, {"reason": _l("Say why it is cancelled.")})
    visit.cancel_reason = reason.strip()
    event = _step(visit, "cancel", actor, visit.cancel_reason)
    # the promise no longer applies (e.g. solved by phone after all)
    clocks.stop("onsite_24h", visit_id=visit.id, void=True)
    return event


def done_plan_visit_exists():
    """SQL: a done maintenance visit with arrival for the reminder's unit and period (the sweep's settlement)."""
    return exists().where(Visit.customer_id == Reminder.customer_id, Visit.origin == VisitOrigin.PLAN.value,
                          Visit.plan_period == Reminder.period, Visit.state == S.DONE.value,
                          Visit.arrived_at.is_not(None))


def done_plan_visits(unit_ids: list[int], period_keys: set[str]) -> dict[int, Visit]:
    """The done maintenance visit of each unit for the given periods (the service-plan page)."""
    if not unit_ids:
        return {}
    rows = db.session.scalars(select(Visit).where(
        Visit.customer_id.in_(unit_ids), Visit.origin == VisitOrigin.PLAN.value,
        Visit.plan_period.in_(sorted(period_keys)), Visit.state != S.CANCELLED.value).order_by(Visit.id))
    out: dict[int, Visit] = {}
    for v in rows:
        if v.customer_id not in out or v.state == S.DONE.value:
            out[v.customer_id] = v
    return out

