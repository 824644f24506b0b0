"""Who may see which dashboard — the one place that decides it.

Administrators and the market manager (who closes tickets, handles complaints and reports to the
company's leadership) see the whole company and every department. The development manager and the
implementation manager see their own department's dashboard. Everyone else — engineers, customer
service, market staff — sees none: a dashboard also compares engineers, which is a manager's business.
"""
from __future__ import annotations

from portal.auth.models import User
from portal.core.enums import Role

DEPARTMENTS = ("dev", "impl")  # the departments that handle tickets
COMPANY_WIDE = frozenset({Role.ADMIN, Role.MARKET_MANAGER})
MANAGES = {Role.DEV_MANAGER: "dev", Role.IMPL_MANAGER: "impl"}


def can_view_dashboard(user: User, department: str | None) -> bool:
    """May `user` see the dashboard of `department` (None = the whole company)?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    roles = user.roles
    if roles & COMPANY_WIDE:
        return department is None or department in DEPARTMENTS
    return department is not None and any(MANAGES.get(r) == department for r in roles)


def viewable_departments(user: User) -> list[str | None]:
    """The department picker's choices (None = the whole company); the first is the user's default."""
    return [d for d in (None, *DEPARTMENTS) if can_view_dashboard(user, d)]


def may_use_dashboard(user: User) -> bool:
    return bool(viewable_departments(user))
