"""Who may see which dashboard — the one place that decides it.

Administrators and the market manager (who closes tickets, handles complaints and reports to the
company's leadership) see the whole company and every department. The development manager and the
implementation manager see their own department's dashboard. Everyone else — engineers, customer
service, market staff — sees none: a dashboard also compares engineers, which is a manager's business.

Exports: the ticket list goes to a file exactly as its reader sees it (portal.tickets.access decides the
rows, personal data masked where the list masks it), so whoever the list shows tickets to may export it.
A unit's history is for those who see the customer units with their tickets.
"""
from __future__ import annotations

from sqlalchemy.sql.elements import False_

from portal.auth.models import User
from portal.core.kernel import kernel
from portal.tickets import access as ticket_access
from portal.tickets import conditions as ticket_conditions

DEPARTMENTS = ticket_conditions.DEPARTMENTS  # the departments that handle tickets


def can_view_dashboard(user: User, department: str | None) -> bool:
    """May `user` see the dashboard of `department` (None = the whole company)?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if kernel.allows(user, "metrics.company"):
        return department is None or department in DEPARTMENTS
    # a department manager: the department of the desk that grants them its dashboard
    return department is not None and kernel.allows(user, "metrics.department") \
        and department in kernel.desks_granting(user, "metrics.department")


def viewable_departments(user: User) -> list[str | None]:
    """The department picker's choices (None = the whole company); the first is the user's default."""
    return [d for d in (None, *DEPARTMENTS) if can_view_dashboard(user, d)]


def may_use_dashboard(user: User) -> bool:
    return bool(viewable_departments(user))


def may_export_tickets(user: User) -> bool:
    """Does the ticket list show this user any tickets (then they may take it away as a file)?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return not isinstance(ticket_access.visibility_filter(user), False_)


def may_export_unit_history(user: User) -> bool:
    return kernel.allows(user, "metrics.unit_history")
