"""项目组客户转为售后客户 (售后服务规范 四、五): 客服 sends the 售后服务通知函 to every user (contact)
of the unit, phones each of them, archives every letter, and records the project-implementation
callback. The handover is complete when all of that is done. Never touches `request`, never commits."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.auth.models import User
from portal.core.enums import CallbackKind, ContactMethod
from portal.core.kernel import kernel
from portal.core.timeutil import utcnow
from portal.customers.models import Contact, CustomerUnit
from portal.documents import operations as documents
from portal.documents.models import Document
from portal.extensions import db
from portal.handover.models import Handover, HandoverCall
from portal.tickets.models import Callback



class HandoverError(Exception):
    def __init__(self, message, status: int = 422, errors: dict | None = None):
        super().__init__(str(message))
        self.message, self.status, self.errors = message, status, errors or {}


def can_act(user: User) -> bool:
    return kernel.allows(user, "handover.act")


def _require_cs(actor: User) -> None:
    if not can_act(actor):
        raise HandoverError(_l("Only customer service hands units over to after-sales."), 403)


def for_unit(unit_id: int) -> Handover | None:
    return db.session.scalar(select(Handover).where(Handover.customer_id == unit_id))


def start(unit: CustomerUnit, actor: User) -> Handover:
    """Turn the project unit into an after-sales customer and ask for a letter to every contact."""
    _require_cs(actor)
    if for_unit(unit.id) is not None:
        raise HandoverError(_l("This unit's handover has already been started."), 409)
    if not unit.is_project:
        raise HandoverError(_l("This unit is not a project unit; it is already an after-sales customer."), 409)
    if not unit.contacts:
        raise HandoverError(_l("Add the unit's contacts first: every user of the system receives the notice."), 422)
    handover = Handover(customer_id=unit.id, started_by_id=actor.id)
    db.session.add(handover)
    try:
        db.session.flush()
    except IntegrityError:  # started at the same moment by someone else (unique per unit)
        raise HandoverError(_l("This unit's handover has already been started."), 409)
    unit.is_project = False
    for contact in unit.contacts:
        documents.request_contact_letter(contact, actor, handover_id=handover.id)
    return handover


def _contact_of(handover: Handover, contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.customer_id != handover.customer_id:
        raise HandoverError(_l("Not a contact of this unit."), 404)
    return contact


def send_letter(handover: Handover, contact_id: int, actor: User) -> Document:
    """A letter to a contact added after the start, or a new revision of one."""
    _require_cs(actor)
    contact = _contact_of(handover, contact_id)
    return documents.request_contact_letter(contact, actor, handover_id=handover.id)


def record_call(handover: Handover, contact_id: int, actor: User, *, reached: bool, outcome: str,
                called_at: datetime | None = None) -> HandoverCall:
    _require_cs(actor)
    contact = _contact_of(handover, contact_id)
    outcome = (outcome or "").strip()
    if not outcome:
        raise HandoverError(_l("Please correct the marked fields."), 422, {"outcome": _l("This field is required.")})
    call = HandoverCall(handover_id=handover.id, contact_id=contact.id, called_by_id=actor.id,
                        called_at=called_at or utcnow(), reached=bool(reached), outcome=outcome[:2000])
    db.session.add(call)
    db.session.flush()
    refresh_completion(handover.id)
    return call


def record_implementation_callback(handover: Handover, actor: User, *, method: str, contact_person: str,
                                   outcome: str, satisfaction: int | None = None) -> Callback:
    """项目实施回访: a Callback of kind `implementation`, linked to the handover."""
    _require_cs(actor)
    errors = {}
    try:
        ContactMethod(method)
    except ValueError:
        errors["method"] = _l("Choose how the callback was made.")
    if not (contact_person or "").strip():
        errors["contact_person"] = _l("This field is required.")
    if not (outcome or "").strip():
        errors["outcome"] = _l("This field is required.")
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        errors["satisfaction"] = _l("Satisfaction is scored 1 to 5.")
    if errors:
        raise HandoverError(_l("Please correct the marked fields."), 422, errors)
    cb = Callback(kind=CallbackKind.IMPLEMENTATION.value, customer_id=handover.customer_id, method=method,
                  contact_person=contact_person.strip()[:64], outcome=outcome.strip(), satisfaction=satisfaction,
                  made_by_id=actor.id, made_at=utcnow())
    db.session.add(cb)
    db.session.flush()
    handover.callback_id = cb.id
    refresh_completion(handover.id)
    return cb


# --- progress ---------------------------------------------------------------------------

@dataclass
class ContactProgress:
    contact: Contact
    letter: Document | None
    calls: list[HandoverCall] = field(default_factory=list)

    @property
    def letter_ready(self) -> bool:
        return self.letter is not None and self.letter.is_ready

    @property
    def phoned(self) -> bool:
        return any(c.reached for c in self.calls)

    @property
    def done(self) -> bool:
        return self.letter_ready and self.phoned


@dataclass
class Progress:
    handover: Handover
    contacts: list[ContactProgress]
    callback: Callback | None

    @property
    def letters_ready(self) -> int:
        return sum(1 for c in self.contacts if c.letter_ready)

    @property
    def phoned(self) -> int:
        return sum(1 for c in self.contacts if c.phoned)

    @property
    def complete(self) -> bool:
        return bool(self.contacts) and all(c.done for c in self.contacts) and self.callback is not None


def letter_series(handover_id: int, contact_id: int) -> str:
    return f"service_notice:handover:{handover_id}:contact:{contact_id}"


def progress(handover: Handover) -> Progress:
    unit = handover.customer
    contacts = list(unit.contacts)
    letters = documents.latest_of_series([letter_series(handover.id, c.id) for c in contacts])
    calls: dict[int, list[HandoverCall]] = {}
    for call in db.session.scalars(select(HandoverCall).where(HandoverCall.handover_id == handover.id)
                                   .order_by(HandoverCall.called_at.desc(), HandoverCall.id.desc())):
        calls.setdefault(call.contact_id, []).append(call)
    rows = [ContactProgress(c, letters.get(letter_series(handover.id, c.id)), calls.get(c.id, [])) for c in contacts]
    callback = db.session.get(Callback, handover.callback_id) if handover.callback_id else None
    return Progress(handover, rows, callback)


def document_ready(document: Document) -> None:
    """Listener (kernel event "document_ready"): a handover letter filed may complete its handover."""
    if document.handover_id:
        refresh_completion(document.handover_id)


def refresh_completion(handover_id: int) -> bool:
    """Note the moment the handover is first complete (the page shows the live state)."""
    handover = db.session.get(Handover, handover_id)
    if handover is None:
        return False
    done = progress(handover).complete
    if done and handover.completed_at is None:
        handover.completed_at = utcnow()
    return done


@dataclass
class UnitStatus:
    """What the unit page shows: not started (a project unit) / in progress / complete."""
    state: str  # "project" | "in_progress" | "complete"
    handover: Handover | None = None
    progress: Progress | None = None


def unit_status(unit: CustomerUnit) -> UnitStatus | None:
    handover = for_unit(unit.id)
    if handover is None:
        return UnitStatus("project") if unit.is_project else None
    p = progress(handover)
    return UnitStatus("complete" if p.complete else "in_progress", handover, p)
