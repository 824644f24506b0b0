"""Accounts: password hashing (argon2id), creation, roles, deactivation."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.auth.models import Department, User, UserRole
from portal.core.enums import DepartmentKey, Role
from portal.extensions import db

_hasher = PasswordHasher()  # argon2id with the library's current parameters
# Tests create hundreds of users; they may ask for the cheapest argon2id parameters.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _h() -> PasswordHasher:
    from flask import current_app, has_app_context

    if has_app_context() and current_app.config.get("FAST_PASSWORD_HASHING"):
        return _fast_hasher
    return _hasher
MAX_PASSWORD_LENGTH = 256  # refused before hashing: a megabyte "password" is an attack, not a password
MIN_PASSWORD_LENGTH = 8
# Verifying against this when the user does not exist keeps the timing of both answers alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AccountError(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def hash_password(password: str) -> str:
    check_password_policy(password)
    return _h().hash(password)


def check_password_policy(password: str) -> None:
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(_l("The password is too long (at most %(n)d characters).", n=MAX_PASSWORD_LENGTH))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))


def authenticate(username: str, password: str) -> User | None:
    """The user if the credentials are right and the account active; None otherwise (same answer)."""
    if len(password) > MAX_PASSWORD_LENGTH or len(username) > 64:
        return None
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if not user.active:
        return None
    if _h().check_needs_rehash(user.password_hash):
        user.password_hash = _h().hash(password)
    return user


def new_session_token() -> str:
    return secrets.token_hex(16)


def ensure_departments() -> dict[str, Department]:
    from flask_babel import force_locale

    existing = {d.key: d for d in db.session.scalars(select(Department))}
    for key in DepartmentKey:
        if key.value not in existing:
            with force_locale("zh_CN"):
                name = str(key.title)
            d = Department(key=key.value, name=name)
            db.session.add(d)
            existing[key.value] = d
    db.session.flush()
    return existing


def create_user(username: str, password: str, display_name: str, roles: list[Role],
                department_key: str | None = None, email: str | None = None) -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError(_l("The user name must have 1 to 64 characters."))
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise AccountError(_l("This user name is taken."))
    departments = ensure_departments()
    user = User(
        username=username, display_name=display_name or username, password_hash=hash_password(password),
        email=email, department=departments.get(department_key) if department_key else None,
        session_token=new_session_token(),
    )
    user.role_rows = [UserRole(role=Role(r).value) for r in roles]
    db.session.add(user)
    db.session.flush()
    return user


def active_admin_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN.value, User.active.is_(True))
    )


def set_roles(user: User, roles: list[Role], actor: User) -> None:
    roles = [Role(r) for r in roles]
    if Role.ADMIN in user.roles and Role.ADMIN not in roles and user.active and active_admin_count() <= 1:
        raise AccountError(_l("The last administrator cannot lose the administrator role."))
    if user.id == actor.id and Role.ADMIN in user.roles and Role.ADMIN not in roles:
        raise AccountError(_l("You cannot remove your own administrator role."))
    user.role_rows = [UserRole(role=r.value) for r in sorted(set(roles), key=lambda r: r.value)]


def set_active(user: User, active: bool, actor: User) -> None:
    if not active:
        if user.id == actor.id:
            raise AccountError(_l("You cannot deactivate your own account."))
        if Role.ADMIN in user.roles and active_admin_count() <= 1:
            raise AccountError(_l("The last administrator cannot be deactivated."))
        user.session_token = new_session_token()  # ends their sessions now
    user.active = active


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()
