"""The complaint workflow — the only code that changes Complaint.state. Callable from a route, a job or
a test alike; it never touches `request` and never commits (the caller does, once).

    register  客服, 市场部, 市场部经理, admin     (new) → received
    handle    the named handler, the managers, admin  received → handled      (what was done, outcome)
    confirm   客服, 市场部, 市场部经理, admin     handled → confirmed         (the customer accepts)
                                                   handled → received          (the customer does not: handle again)
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm.exc import StaleDataError

from portal.auth.models import User, UserRole
from portal.complaints.models import Complaint, ComplaintEvent, ComplaintState
from portal.core.enums import ContactMethod
from portal.core.kernel import kernel
from portal.core.timeutil import from_local, utcnow
from portal.core.validators import normalize_cn_phone
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.notifications.models import Notification
from portal.tickets.models import Ticket

RECEIVED, HANDLED, CONFIRMED = (s.value for s in ComplaintState)


class ComplaintError(Exception):
    def __init__(self, message, status: int = 422, errors: dict | None = None):
        super().__init__(str(message))
        self.message, self.status, self.errors = message, status, errors or {}


def may_view(user: User) -> bool:
    return kernel.allows(user, "complaints.view")


def may_register(user: User) -> bool:
    return kernel.allows(user, "complaints.receive")


def may_handle(user: User, c: Complaint) -> bool:
    return c.state == RECEIVED and (c.handler_id == user.id or kernel.allows(user, "complaints.handle"))


def may_confirm(user: User, c: Complaint) -> bool:
    return c.state == HANDLED and kernel.allows(user, "complaints.receive")


def eligible_handlers() -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_([r.value for r in kernel.roles_with("complaints.be_handler")]), User.active.is_(True))
        .distinct().order_by(User.display_name)))


def _record(c: Complaint, actor: User, action: str, from_state: str | None, text: str) -> None:
    db.session.add(ComplaintEvent(complaint_id=c.id, actor_id=actor.id, action=action, from_state=from_state,
                                  to_state=c.state, text=text))


def _notify(c: Complaint, user_id: int | None, kind: str, actor: User, step: int) -> None:
    if not user_id or user_id == actor.id:
        return
    db.session.add(Notification(key=f"complaint:{c.id}:{step}:{kind}:{user_id}", user_id=user_id, kind=kind,
                                text=f"投诉 #{c.id}：{c.customer.name}", link=f"/complaints/{c.id}"))


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        raise ComplaintError(_l("Someone else changed this complaint after you opened it. Reload and try again."), 409)


def _check_version(c: Complaint, expected_version) -> None:
    if expected_version is not None and str(expected_version) != str(c.version):
        raise ComplaintError(_l("Someone else changed this complaint after you opened it. Reload and try again."), 409)


def register(actor: User, *, customer_id: int | None, ticket_number: str = "", channel: str, complainant: str,
             complainant_phone: str = "", content: str, handler_id: int | None,
             received_at: datetime | None = None) -> Complaint:
    if not may_register(actor):
        raise ComplaintError(_l("Your role may not register complaints."), 403)
    errors = {}
    ticket = None
    ticket_number = (ticket_number or "").strip().upper()
    if ticket_number:
        ticket = db.session.scalar(select(Ticket).where(Ticket.number == ticket_number))
        if ticket is None:
            errors["ticket_number"] = _l("No such ticket number.")
        elif customer_id and customer_id != ticket.customer_id:
            errors["ticket_number"] = _l("This ticket belongs to another unit.")
        else:
            customer_id = ticket.customer_id
    unit = db.session.get(CustomerUnit, customer_id) if customer_id else None
    if unit is None and "ticket_number" not in errors:
        errors["customer_id"] = _l("Choose the unit the complaint is about, or give a ticket number.")
    if channel not in ContactMethod._value2member_map_:
        errors["channel"] = _l("Choose how the complaint was received.")
    if not (complainant or "").strip():
        errors["complainant"] = _l("This field is required.")
    if not (content or "").strip():
        errors["content"] = _l("This field is required.")
    phone = (complainant_phone or "").strip()
    if phone:
        phone = normalize_cn_phone(phone) or ""
        if not phone:
            errors["complainant_phone"] = _l("Enter a valid phone number.")
    handler = db.session.get(User, handler_id) if handler_id else None
    if handler is None or not handler.active or not kernel.allows(handler, "complaints.be_handler"):
        errors["handler_id"] = _l("Choose who is to handle it.")
    now = utcnow()
    if received_at is not None and received_at > now + timedelta(minutes=5):
        errors["received_at"] = _l("The time received cannot be in the future.")
    if errors:
        raise ComplaintError(_l("Please correct the marked fields."), 422, errors)
    c = Complaint(customer_id=unit.id, customer=unit, ticket_id=ticket.id if ticket else None, channel=channel,
                  complainant=complainant.strip(), complainant_phone=phone, content=content.strip(),
                  received_at=received_at or now, received_by_id=actor.id, handler_id=handler.id,
                  state=RECEIVED, updated_at=now)
    db.session.add(c)
    db.session.flush()
    _record(c, actor, "register", None, c.content)
    _notify(c, handler.id, "complaint_to_handle", actor, 0)
    return c


def handle(c: Complaint, actor: User, *, handling: str, outcome: str, expected_version=None) -> Complaint:
    if c.state != RECEIVED:
        raise ComplaintError(_l("This complaint is not waiting to be handled."), 409)
    if not may_handle(actor, c):
        raise ComplaintError(_l("Only the person named to handle it, or a manager, may record the handling."), 403)
    _check_version(c, expected_version)
    errors = {k: _l("This field is required.") for k, v in (("handling", handling), ("outcome", outcome))
              if not (v or "").strip()}
    if errors:
        raise ComplaintError(_l("Please correct the marked fields."), 422, errors)
    c.handling, c.outcome = handling.strip(), outcome.strip()
    c.handled_at, c.handled_by_id = utcnow(), actor.id
    c.state, c.updated_at = HANDLED, utcnow()
    _flush()
    _record(c, actor, "handle", RECEIVED, f"{c.handling}\n{c.outcome}")
    _notify(c, c.received_by_id, "complaint_to_confirm", actor, _steps(c))
    return c


def confirm(c: Complaint, actor: User, *, accepted: bool | None, confirmation: str, expected_version=None) -> Complaint:
    """Record what the customer said about the handling: accepted → confirmed; not accepted → handle again."""
    if c.state != HANDLED:
        raise ComplaintError(_l("This complaint is not waiting for the customer's confirmation."), 409)
    if not may_confirm(actor, c):
        raise ComplaintError(_l("Your role may not confirm complaints with the customer."), 403)
    _check_version(c, expected_version)
    errors = {}
    if accepted is None:
        errors["accepted"] = _l("Say whether the customer accepts the outcome.")
    if not (confirmation or "").strip():
        errors["confirmation"] = _l("This field is required.")
    if errors:
        raise ComplaintError(_l("Please correct the marked fields."), 422, errors)
    c.confirmation = confirmation.strip()
    c.updated_at = utcnow()
    if accepted:
        c.state, c.confirmed_at, c.confirmed_by_id = CONFIRMED, utcnow(), actor.id
        _flush()
        _record(c, actor, "confirm", HANDLED, c.confirmation)
    else:
        c.state = RECEIVED
        _flush()
        _record(c, actor, "reopen", HANDLED, c.confirmation)
        _notify(c, c.handler_id, "complaint_to_handle", actor, _steps(c))
    return c


def _steps(c: Complaint) -> int:
    return db.session.scalar(select(db.func.count()).select_from(ComplaintEvent)
                             .where(ComplaintEvent.complaint_id == c.id)) or 0


def history(c: Complaint) -> list[ComplaintEvent]:
    return list(db.session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id)
                                   .order_by(ComplaintEvent.id)))


# --- finding complaints ------------------------------------------------------------------------

def filtered(q, *, received_from: date | None = None, received_to: date | None = None, customer_id: int | None = None,
             level: str | None = None, department: str | None = None, engineer_id: int | None = None,
             state: str | None = None):
    """Complaints received in [from, to] (local days), about a unit / a level / a department's or an
    engineer's tickets, in a state. The dashboard counts with the same conditions."""
    if received_from:
        q = q.where(Complaint.received_at >= from_local(datetime.combine(received_from, time.min)))
    if received_to:
        q = q.where(Complaint.received_at < from_local(datetime.combine(received_to + timedelta(days=1), time.min)))
    if customer_id:
        q = q.where(Complaint.customer_id == customer_id)
    # Complaints are few and tickets many: correlated look-ups, never a scan of every ticket.
    if level:
        q = q.where(exists().where(CustomerUnit.id == Complaint.customer_id, CustomerUnit.maintenance_status == level))
    if department or engineer_id:
        about = [Ticket.id == Complaint.ticket_id]
        if department:
            about.append(Ticket.handling_department == department)
        if engineer_id:
            about.append(Ticket.assignee_id == engineer_id)
        q = q.where(exists().where(*about))
    if state:
        q = q.where(Complaint.state == state)
    return q
