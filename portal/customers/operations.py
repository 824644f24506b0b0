"""Customer units: creation, lookup (name or pinyin initials), maintenance status changes."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from pypinyin import Style, lazy_pinyin
from sqlalchemy import or_, select

from portal.auth.models import User
from portal.core.enums import MaintenanceStatus, Role
from portal.customers.models import CustomerUnit, MaintenanceStatusChange
from portal.extensions import db


class CustomerError(Exception):
    def __init__(self, message, status: int = 422):
        super().__init__(str(message))
        self.message = message
        self.status = status


def initials_of(name: str) -> str:
    """北京市第一人民医院 → bjsdyrmyy (letters and digits kept as they are)."""
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")).lower()[:200]


def create_unit(name: str, *, address: str = "", phone: str = "", user_count: int = 0,
                status: MaintenanceStatus = MaintenanceStatus.ORDINARY, actor: User | None = None) -> CustomerUnit:
    name = name.strip()
    if not name:
        raise CustomerError(_l("The unit name is required."))
    if db.session.scalar(select(CustomerUnit.id).where(CustomerUnit.name == name)):
        raise CustomerError(_l("A unit with this name already exists."), 409)
    unit = CustomerUnit(name=name, name_initials=initials_of(name), address=address, phone=phone,
                        user_count=user_count, maintenance_status=MaintenanceStatus(status).value)
    db.session.add(unit)
    db.session.flush()
    db.session.add(MaintenanceStatusChange(customer_id=unit.id, from_status=None, to_status=unit.maintenance_status,
                                           reason=str(_l("Unit created")), changed_by_id=actor.id if actor else None))
    return unit


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_units(q: str, limit: int = 20) -> list[CustomerUnit]:
    q = (q or "").strip()[:100]
    stmt = select(CustomerUnit).order_by(CustomerUnit.name).limit(limit)
    if q:
        like = f"%{_escape_like(q)}%"
        prefix = f"{_escape_like(q.lower())}%"
        stmt = stmt.where(or_(CustomerUnit.name.like(like, escape="\\"),
                              CustomerUnit.name_initials.like(prefix, escape="\\")))
    return list(db.session.scalars(stmt))


def change_status(unit: CustomerUnit, to: MaintenanceStatus, reason: str, actor: User) -> MaintenanceStatusChange:
    if Role.MARKET_MANAGER not in actor.roles:
        raise CustomerError(_l("Only the market manager may change the maintenance status."), 403)
    to = MaintenanceStatus(to)
    if not reason.strip():
        raise CustomerError(_l("Give a reason for the change."))
    if unit.maintenance_status == to.value:
        raise CustomerError(_l("The unit already has this maintenance status."), 409)
    change = MaintenanceStatusChange(customer_id=unit.id, from_status=unit.maintenance_status, to_status=to.value,
                                     reason=reason.strip(), changed_by_id=actor.id)
    unit.maintenance_status = to.value
    db.session.add(change)
    return change
