"""Vocabulary shared by the whole portal (SPEC §1–§3). Keys in code, titles via gettext."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class LabeledEnum(str, enum.Enum):
    """A str enum whose members carry a translatable title."""

    def __new__(cls, value: str, title):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.title = title
        return obj

    def __str__(self) -> str:
        return self.value

    @classmethod
    def choices(cls):
        return [(m.value, m.title) for m in cls]

    @classmethod
    def sql_values(cls) -> str:
        """The values as an SQL list for CHECK (column IN (…)) constraints: 'a','b',…"""
        return ",".join(f"'{m.value}'" for m in cls)


class Role(LabeledEnum):
    CS = "cs", _l("Customer service")
    DEV_MANAGER = "dev_manager", _l("Development manager")
    ENGINEER = "engineer", _l("Engineer")
    IMPL_MANAGER = "impl_manager", _l("Implementation manager")
    IMPL_ENGINEER = "impl_engineer", _l("Implementation engineer")
    MARKET = "market", _l("Market department")
    MARKET_MANAGER = "market_manager", _l("Market manager")
    ADMIN = "admin", _l("Administrator")
    DUTY_MANAGER = "duty_manager", _l("Hotline duty manager")
    CS_MANAGER = "cs_manager", _l("Customer service manager")


class DepartmentKey(LabeledEnum):
    CS = "cs", _l("Customer Service Dept.")
    DEV = "dev", _l("Development Dept.")
    IMPL = "impl", _l("Implementation Dept.")
    MARKET = "market", _l("Market Dept.")


class MaintenanceStatus(LabeledEnum):
    STOPPED = "stopped", _l("Maintenance stopped")
    ORDINARY = "ordinary", _l("Ordinary maintenance")
    VIP = "vip", _l("VIP maintenance")


class TicketType(LabeledEnum):
    MAINTENANCE = "maintenance", _l("Maintenance problem")
    REQUIREMENT = "requirement", _l("New requirement")
    CONSULTATION = "consultation", _l("Consultation")


class Channel(LabeledEnum):
    HOTLINE = "hotline", _l("Hotline")
    EMAIL = "email", _l("E-mail")
    ONLINE = "online", _l("Online")
    VISIT = "visit", _l("Visit")


class State(LabeledEnum):
    AWAITING_MARKET = "awaiting_market", _l("Awaiting market contact")
    REGISTERED = "registered", _l("To analyse")
    PENDING_FEE = "pending_fee", _l("Suspended · fee to confirm")
    READY_TO_ASSIGN = "ready_to_assign", _l("To assign")
    IMPL_QUEUE = "impl_queue", _l("Awaiting implementation")
    ASSIGNED = "assigned", _l("In progress")
    # Paused while the customer must act (data to send, a visit date): the service clock stops.
    WAITING_CUSTOMER = "waiting_customer", _l("Waiting for the customer")
    RESOLVED = "resolved", _l("Awaiting callback")
    CALLBACK_DONE = "callback_done", _l("Awaiting closure")
    CLOSED = "closed", _l("Closed")


OPEN_STATES = tuple(s for s in State if s is not State.CLOSED)


class CloseReason(LabeledEnum):
    SOLVED = "solved", _l("Solved")
    ANSWERED = "answered", _l("Answered")
    DECLINED = "declined", _l("Customer declined")
    INVALID = "invalid", _l("Duplicate or invalid")


class CallbackKind(LabeledEnum):
    TICKET = "ticket", _l("Ticket callback")
    MONTHLY = "monthly", _l("Monthly phone callback")
    VISIT = "visit", _l("On-site visit")
    IMPLEMENTATION = "implementation", _l("Project implementation callback")


class ContactMethod(LabeledEnum):
    PHONE = "phone", _l("Phone")
    ONSITE = "onsite", _l("On site")
    EMAIL = "email", _l("E-mail")
    FAX = "fax", _l("Fax")
    WECHAT = "wechat", _l("WeChat / IM")
