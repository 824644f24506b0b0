"""Admin operations on accounts and departments. They never commit; the route does, once.

Account rules themselves (last administrator, no self-demotion, session rotation) live in
portal.auth.operations; this module applies them to whole edits under a lock.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.auth.models import Department, User, UserRole
from portal.auth.operations import AccountError, ensure_departments, set_active, set_password, set_roles
from portal.core.enums import DepartmentKey, Role
from portal.extensions import db


class DepartmentError(Exception):
    def __init__(self, message, status: int = 422):
        super().__init__(str(message))
        self.message = message
        self.status = status


def departments() -> list[Department]:
    """The departments in the order of the vocabulary (客服部, 开发部, 实施部, 市场部), others after."""
    order = {k.value: i for i, k in enumerate(DepartmentKey)}
    rows = list(db.session.scalars(select(Department)))
    return sorted(rows, key=lambda d: (order.get(d.key, len(order)), d.key))


def lock_admin_accounts() -> None:
    """Take row locks on every administrator account (PostgreSQL; SQLite writes are already serial).

    Two admins demoting each other at the same moment would otherwise both see "another admin
    remains" and leave none. The count that follows the lock reads the committed state."""
    admin_ids = select(UserRole.user_id).where(UserRole.role == Role.ADMIN.value)
    db.session.execute(select(User.id).where(User.id.in_(admin_ids)).order_by(User.id).with_for_update())


def update_user(user_id: int, actor: User, *, display_name: str, department_key: str | None, email: str | None,
                roles: list[Role], active: bool) -> User:
    """Apply an admin's edit of one account; raises AccountError (nothing applied) when a rule refuses it."""
    lock_admin_accounts()
    user = db.session.get(User, user_id, populate_existing=True)
    if user is None:
        raise AccountError(_l("No such user."))
    set_roles(user, roles, actor)
    db.session.flush()  # the active check below counts administrators with the new roles
    set_active(user, active, actor)
    user.display_name = display_name.strip()
    user.email = (email or "").strip() or None
    user.department = ensure_departments().get(department_key) if department_key else None
    return user


def reset_password(user: User, password: str) -> None:
    """A new password chosen by an admin; every session of the user ends (set_password rotates the token)."""
    set_password(user, password)


def rename_department(department: Department, name: str) -> Department:
    name = name.strip()
    if not name:
        raise DepartmentError(_l("The name is required."))
    taken = db.session.scalar(
        select(Department.id).where(func.lower(Department.name) == name.lower(), Department.id != department.id))
    if taken:
        raise DepartmentError(_l("Another department already has this name."), 409)
    department.name = name
    return department
