"""Customer units: creation and editing, contacts, contracts, lookup (name or pinyin initials),
the bounded list, and maintenance status changes. Never touches `request`, never commits."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from pypinyin import Style, lazy_pinyin
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from portal.auth.models import User
from portal.customers import expiry
from portal.core import pagination
from portal.core.enums import MaintenanceStatus
from portal.core.kernel import kernel
from portal.core.pagination import Key, Keyset, Window
from portal.core.timeutil import today_local
from portal.core.validators import PHONE_MESSAGE, normalize_cn_phone
from portal.customers.models import Contact, Contract, CustomerUnit, MaintenanceStatusChange
from portal.extensions import db
from portal.notifications import reminders
from portal.notifications.models import Reminder

PAGE_SIZE = 50
REVIEW_WITHIN_DAYS = 90  # a kept status's 复查日期 is at most this far ahead


STATUS_IS_THE_MANAGERS = _l("Only the market manager sets a unit's maintenance status; a new unit starts as "
                            "普通维护.")


class CustomerError(Exception):
    """Refused input. `field` names the form field the message belongs to, if any."""

    def __init__(self, message, status: int = 422, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.status = status
        self.field = field


def initials_of(name: str) -> str:
    """北京市第一人民医院 → bjsdyrmyy (letters and digits kept as they are)."""
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")).lower()[:200]


# --- units --------------------------------------------------------------------

def _name_taken(name: str, except_id: int | None = None) -> bool:
    stmt = select(CustomerUnit.id).where(CustomerUnit.name == name)
    if except_id is not None:
        stmt = stmt.where(CustomerUnit.id != except_id)
    return db.session.scalar(stmt) is not None


def _clean_phone(phone: str, field: str = "phone") -> str:
    phone = (phone or "").strip()
    if not phone:
        return ""
    normalized = normalize_cn_phone(phone)
    if normalized is None:
        raise CustomerError(PHONE_MESSAGE, field=field)
    return normalized


def create_unit(name: str, *, address: str = "", phone: str = "", user_count: int = 0,
                status: MaintenanceStatus = MaintenanceStatus.ORDINARY, actor: User | None = None,
                reason: str | None = None) -> CustomerUnit:
    """A new unit and the first entry of its status history (`reason` says how it came in). A user starts it
    with another status than 普通维护 only with customers.set_status (the status is the market manager's);
    the demo data and the command line pass no actor."""
    name = name.strip()
    if not name:
        raise CustomerError(_l("The unit name is required."), field="name")
    if actor is not None and MaintenanceStatus(status) != MaintenanceStatus.ORDINARY \
            and not can_change_status(actor):
        raise CustomerError(STATUS_IS_THE_MANAGERS, 403, field="status")
    if _name_taken(name):
        raise CustomerError(_l("A unit with this name already exists."), 409, field="name")
    if user_count < 0:
        raise CustomerError(_l("The number of users cannot be negative."), field="user_count")
    unit = CustomerUnit(name=name, name_initials=initials_of(name), address=address.strip(), phone=_clean_phone(phone),
                        user_count=user_count, maintenance_status=MaintenanceStatus(status).value)
    db.session.add(unit)
    db.session.flush()
    db.session.add(MaintenanceStatusChange(customer_id=unit.id, from_status=None, to_status=unit.maintenance_status,
                                           reason=reason or str(_l("Unit created")),
                                           changed_by_id=actor.id if actor else None))
    return unit


def update_unit(unit: CustomerUnit, *, name: str, address: str, phone: str, user_count: int) -> CustomerUnit:
    """Edit the unit's facts. The maintenance status is not among them (see change_status)."""
    name = name.strip()
    if not name:
        raise CustomerError(_l("The unit name is required."), field="name")
    if _name_taken(name, except_id=unit.id):
        raise CustomerError(_l("A unit with this name already exists."), 409, field="name")
    if user_count < 0:
        raise CustomerError(_l("The number of users cannot be negative."), field="user_count")
    unit.name = name
    unit.name_initials = initials_of(name)
    unit.address = address.strip()
    unit.phone = _clean_phone(phone)
    unit.user_count = user_count
    return unit


# --- contacts and contracts ---------------------------------------------------------

def _contact_values(name: str, department: str, phone: str, email: str) -> dict:
    name = name.strip()
    if not name:
        raise CustomerError(_l("The contact's name is required."), field="name")
    return dict(name=name, department=department.strip(), phone=_clean_phone(phone), email=email.strip())


def add_contact(unit: CustomerUnit, *, name: str, department: str = "", phone: str = "", email: str = "") -> Contact:
    contact = Contact(customer_id=unit.id, **_contact_values(name, department, phone, email))
    db.session.add(contact)
    return contact


def update_contact(contact: Contact, *, name: str, department: str = "", phone: str = "", email: str = "") -> Contact:
    for key, value in _contact_values(name, department, phone, email).items():
        setattr(contact, key, value)
    return contact


def add_contract(unit: CustomerUnit, *, start_date: date, end_date: date, fee: Decimal, free_year: bool = False,
                 note: str = "") -> Contract:
    if end_date < start_date:
        raise CustomerError(_l("The end date cannot be before the start date."), field="end_date")
    if fee is None or fee < 0:
        raise CustomerError(_l("The fee cannot be negative."), field="fee")
    contract = Contract(customer_id=unit.id, start_date=start_date, end_date=end_date, fee=fee,
                        free_year=free_year, note=note.strip())
    db.session.add(contract)
    return contract


def latest_contract(unit: CustomerUnit) -> Contract | None:
    return db.session.scalar(select(Contract).where(Contract.customer_id == unit.id)
                             .order_by(Contract.start_date.desc(), Contract.id.desc()).limit(1))


def renew_contract(contract: Contract, *, start_date: date, end_date: date, fee: Decimal, free_year: bool = False,
                   note: str = "", actor: User | None = None) -> Contract:
    """The next period of a maintenance contract: a new contract starting after this one ends,
    the expiry reminder of this one settled, and the 售后服务通知函 that goes with a contract."""
    unit = contract.customer
    latest = latest_contract(unit)
    if latest is not None and latest.id != contract.id:
        raise CustomerError(_l("This contract has already been followed by a later one."), 409)
    if start_date is not None and start_date <= contract.end_date:
        raise CustomerError(_l("The new period must start after the current contract ends (%(end)s).",
                               end=contract.end_date.isoformat()), field="start_date")
    renewal = add_contract(unit, start_date=start_date, end_date=end_date, fee=fee, free_year=free_year, note=note)
    db.session.flush()
    reminders.settle(Reminder.kind.in_(("contract_expiry", "contract_lapsed")), Reminder.contract_id == contract.id,
                     note="renewed")
    kernel.emit("contract_renewed", contract=renewal, actor=actor)  # the archive sends the notice letter
    return renewal


# --- search and list ------------------------------------------------------------

def unit_matches(q: str):
    """Name contains q, or the pinyin initials contain q (rmyy finds 北京市第一人民医院); % and _ match themselves."""
    return or_(CustomerUnit.name.contains(q, autoescape=True),
               CustomerUnit.name_initials.contains(q.lower(), autoescape=True))


def search_units(q: str, limit: int = 20) -> list[CustomerUnit]:
    q = (q or "").strip()[:100]
    stmt = select(CustomerUnit).order_by(CustomerUnit.name, CustomerUnit.id).limit(limit)
    if q:
        stmt = stmt.where(unit_matches(q))
    return list(db.session.scalars(stmt))


UNIT_ORDER = Keyset("customers.name", Key("name", CustomerUnit.name, str), Key("id", CustomerUnit.id))


def list_units(q: str = "", status: str = "", after: str = "", page_size: int = PAGE_SIZE,
               expiring_on: date | None = None) -> Window[CustomerUnit]:
    """One page of units by name, keyset-paginated on (name, id); no COUNT(*). `expiring_on`: only the units
    with a contract in its expiry window that day (即将到期)."""
    q = (q or "").strip()[:100]
    stmt = select(CustomerUnit)
    if q:
        stmt = stmt.where(unit_matches(q))
    if status in MaintenanceStatus._value2member_map_:
        stmt = stmt.where(CustomerUnit.maintenance_status == status)
    if expiring_on is not None:
        stmt = stmt.where(CustomerUnit.id.in_(expiry.expiring_unit_ids(expiring_on)))
    return pagination.page(UNIT_ORDER, stmt, after, page_size)


def status_history(unit: CustomerUnit) -> list[MaintenanceStatusChange]:
    """Newest first."""
    return list(db.session.scalars(
        select(MaintenanceStatusChange).where(MaintenanceStatusChange.customer_id == unit.id)
        .order_by(MaintenanceStatusChange.id.desc())))


# --- maintenance status -----------------------------------------------------------

def can_change_status(user: User) -> bool:
    return kernel.allows(user, "customers.set_status")


def change_status(unit: CustomerUnit, to: MaintenanceStatus, reason: str, actor: User) -> MaintenanceStatusChange:
    if not can_change_status(actor):
        raise CustomerError(_l("Only the market manager may change the maintenance status."), 403)
    try:
        to = MaintenanceStatus(to)
    except ValueError:
        raise CustomerError(_l("Choose a maintenance status."), field="status")
    if not (reason or "").strip():
        raise CustomerError(_l("Give a reason for the change."), field="reason")
    if unit.maintenance_status == to.value:
        raise CustomerError(_l("The unit already has this maintenance status."), 409, field="status")
    change = MaintenanceStatusChange(customer_id=unit.id, from_status=unit.maintenance_status, to_status=to.value,
                                     reason=reason.strip(), changed_by_id=actor.id)
    unit.maintenance_status = to.value
    db.session.add(change)
    # A lapsed contract's reminder asked for exactly this decision.
    reminders.settle(Reminder.kind == "contract_lapsed", Reminder.customer_id == unit.id, note="status set")
    return change


def open_lapse_reminder(unit: CustomerUnit) -> Reminder | None:
    """The unit's open `contract_lapsed` reminder: its latest contract has lapsed and 市场部经理 has not yet
    decided its maintenance status (set it, or kept it)."""
    return db.session.scalar(select(Reminder).where(
        Reminder.kind == "contract_lapsed", Reminder.customer_id == unit.id, Reminder.closed_at.is_(None))
        .order_by(Reminder.id.desc()).limit(1))


def keep_status(unit: CustomerUnit, reason: str, actor: User, review_on: date | None = None,
                today: date | None = None) -> MaintenanceStatusChange:
    """Answer a lapsed contract's reminder by keeping the unit's status for now (renewal being negotiated,
    the customer pays late …): recorded like a change (from = to, who, when, why) and the reminder settled,
    never to be opened again by the sweep — unless `review_on` (复查日期, after today and at most
    REVIEW_WITHIN_DAYS ahead) is given: the decision holds until then, and that day the sweep asks again."""
    if not can_change_status(actor):
        raise CustomerError(_l("Only the market manager may change the maintenance status."), 403)
    if open_lapse_reminder(unit) is None:
        raise CustomerError(_l("No lapsed contract of this unit is waiting for a decision on its maintenance "
                               "status."), 409)
    if not (reason or "").strip():
        raise CustomerError(_l("Give a reason for keeping the status."), field="reason")
    today = today or today_local()
    if review_on is not None and not today < review_on <= today + timedelta(days=REVIEW_WITHIN_DAYS):
        raise CustomerError(_l("The review date must be after today and at most %(days)d days ahead.",
                               days=REVIEW_WITHIN_DAYS), field="review_on")
    kept = MaintenanceStatusChange(customer_id=unit.id, from_status=unit.maintenance_status,
                                   to_status=unit.maintenance_status, reason=reason.strip(), changed_by_id=actor.id,
                                   review_on=review_on)
    db.session.add(kept)
    reminders.settle(Reminder.kind == "contract_lapsed", Reminder.customer_id == unit.id, note=expiry.KEPT)
    return kept


# --- who is calling ----------------------------------------------------------------

_PHONE_CHARS = re.compile(r"^[\d\s\-+()（）#转x]*$", re.IGNORECASE)
CALLER_MATCHES = 10


def looks_like_phone(q: str) -> bool:
    """What the unit search box was given is a number, not a name (names may hold a digit or two)."""
    q = (q or "").strip()
    return bool(_PHONE_CHARS.match(q)) and sum(ch.isdigit() for ch in q) >= 7


def caller_numbers(phone: str) -> set[str]:
    """The stored forms a typed number may have: normalised, and a landline's switchboard without the
    extension (010-12345678-801 → also 010-12345678). Empty when it is no valid number."""
    normalized = normalize_cn_phone(phone)
    if normalized is None:
        return set()
    numbers = {normalized}
    if normalized.startswith("0") and normalized.count("-") == 2:
        numbers.add(normalized.rsplit("-", 1)[0])
    return numbers


@dataclass
class CallerMatch:
    unit: CustomerUnit
    contacts: list[Contact]  # the unit's contacts with this number (none: the number is the unit's own)


def find_caller(phone: str, limit: int = CALLER_MATCHES) -> list[CallerMatch] | None:
    """The units (and their contacts) a phone number belongs to, by the indexed phone columns; None when
    `phone` is no valid number. A landline with an extension also finds the switchboard number."""
    numbers = caller_numbers(phone)
    if not numbers:
        return None
    contacts = list(db.session.scalars(
        select(Contact).options(joinedload(Contact.customer)).where(Contact.phone.in_(numbers))
        .order_by(Contact.customer_id, Contact.id).limit(limit)))
    units = list(db.session.scalars(
        select(CustomerUnit).where(CustomerUnit.phone.in_(numbers)).order_by(CustomerUnit.name).limit(limit)))
    out: dict[int, CallerMatch] = {}
    for c in contacts:
        out.setdefault(c.customer_id, CallerMatch(c.customer, [])).contacts.append(c)
    for u in units:
        out.setdefault(u.id, CallerMatch(u, []))
    return list(out.values())[:limit]


def save_caller_as_contact(unit: CustomerUnit, *, name: str, department: str, phone: str) -> tuple[Contact, bool]:
    """The caller as one of the unit's contacts — unless the unit already has this person with this number
    (then that contact, and False): saying 'save' twice keeps one contact."""
    values = _contact_values(name, department, phone, "")
    existing = db.session.scalar(select(Contact).where(
        Contact.customer_id == unit.id, Contact.name == values["name"], Contact.phone == values["phone"]).limit(1))
    if existing is not None:
        return existing, False
    return add_contact(unit, name=name, department=department, phone=phone), True
