"""Hotline duty records: creation and listing. Never commit; the caller does, once."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from portal.auth.models import User
from portal.core.enums import Channel
from portal.core.kernel import kernel
from portal.core.validators import PHONE_MESSAGE, normalize_cn_phone
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.hotline.models import HotlineRecord

PAGE_SIZE = 50
UNIT_MESSAGE = _l("Enter the unit name or choose a customer unit.")


class HotlineError(Exception):
    def __init__(self, message, errors: dict | None = None, status: int = 422):
        super().__init__(str(message))
        self.message = message
        self.errors = errors or {}
        self.status = status


@dataclass
class RecordInput:
    unit_name: str
    phone: str
    contact_name: str
    content: str
    address: str = ""
    handling: str = ""
    customer_id: int | None = None


def create_record(actor: User, data: RecordInput) -> HotlineRecord:
    if not kernel.allows(actor, "hotline.use"):
        raise HotlineError(_l("Only customer service keeps hotline records."), status=403)
    errors = {}
    customer = None
    if data.customer_id is not None:
        customer = db.session.get(CustomerUnit, data.customer_id)
        if customer is None:
            errors["customer_id"] = _l("This customer unit does not exist.")
    unit_name = (data.unit_name or "").strip() or (customer.name if customer else "")
    address = (data.address or "").strip() or (customer.address if customer else "")
    if not unit_name:
        errors["unit_name"] = UNIT_MESSAGE
    for name in ("contact_name", "content"):
        if not (getattr(data, name) or "").strip():
            errors[name] = _l("This field is required.")
    phone = normalize_cn_phone(data.phone)
    if phone is None:
        errors["phone"] = PHONE_MESSAGE if (data.phone or "").strip() else _l("This field is required.")
    if errors:
        raise HotlineError(_l("Please correct the marked fields."), errors)
    record = HotlineRecord(
        unit_name=unit_name, address=address, phone=phone,
        contact_name=data.contact_name.strip(), content=data.content.strip(), handling=(data.handling or "").strip(),
        customer_id=customer.id if customer else None, recorded_by_id=actor.id,
    )
    db.session.add(record)
    db.session.flush()
    return record


def list_records(*, open_only: bool = False, before: int | None = None, limit: int = PAGE_SIZE
                 ) -> tuple[list[HotlineRecord], int | None]:
    """Newest first, one bounded page; returns (rows, id to continue before or None)."""
    stmt = (select(HotlineRecord).options(selectinload(HotlineRecord.ticket))
            .order_by(HotlineRecord.id.desc()).limit(limit + 1))
    if open_only:
        stmt = stmt.where(HotlineRecord.ticket_id.is_(None))
    if before:
        stmt = stmt.where(HotlineRecord.id < before)
    rows = list(db.session.scalars(stmt))
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


class AlreadyLinked(HotlineError):
    """The hotline record became a ticket meanwhile (another click, another desk)."""

    def __init__(self, record_id: int):
        super().__init__(_l("This hotline record has already been registered as a ticket."), status=409)
        self.record_id = record_id


def record_ticket(ticket, actor: User, hotline_record_id: int | None = None) -> HotlineRecord | None:
    """(Listens for `ticket_registered`.) A new ticket and the hotline: the record it was registered from now
    names it (claimed in one conditional UPDATE, so two desks cannot both turn one record into a ticket); a
    hotline-channel ticket registered without a record gets one, written from the intake — every hotline call
    leaves a record. Returns the record written, if one was."""
    if hotline_record_id is not None:
        claimed = db.session.execute(
            update(HotlineRecord).where(HotlineRecord.id == hotline_record_id, HotlineRecord.ticket_id.is_(None))
            .values(ticket_id=ticket.id)).rowcount  # (also sets ticket_id on the record if the session holds it)
        if claimed != 1:
            raise AlreadyLinked(hotline_record_id)
        return None
    if ticket.channel != Channel.HOTLINE.value:
        return None
    unit = ticket.customer
    content = ticket.summary + (f"\n\n{ticket.description}" if ticket.description else "")
    record = HotlineRecord(
        unit_name=unit.name, address=unit.address, phone=ticket.reporter_phone, contact_name=ticket.reporter_name,
        content=content, customer_id=unit.id, ticket_id=ticket.id, recorded_by_id=actor.id,
    )
    db.session.add(record)
    return record
