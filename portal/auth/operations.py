"""Accounts: password hashing (argon2id), creation, roles, deactivation, and login sessions."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from portal.auth.models import Department, LoginSession, User, UserRole
from portal.core.enums import DepartmentKey, Role
from portal.core.timeutil import utcnow
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


# --- login sessions ---------------------------------------------------------------
# A login creates a LoginSession row; the browser's signed cookie holds its random key (Flask-Login's
# `_user_id`), the table only the key's SHA-256. The user loader finds user and live session in one
# query (user_for_session), so ending the row ends the session at the next request, whatever copy of
# the cookie is replayed.

SESSION_MAX_AGE_DAYS = 7  # a session older than this is refused even if never ended (config: LOGIN_SESSION_DAYS)
_KEEP_ENDED_DAYS = 30  # ended or expired rows are kept this long (who was signed in, from where), then pruned


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _max_age() -> timedelta:
    from flask import current_app, has_app_context

    days = current_app.config.get("LOGIN_SESSION_DAYS", SESSION_MAX_AGE_DAYS) if has_app_context() \
        else SESSION_MAX_AGE_DAYS
    return timedelta(days=float(days))


def start_session(user: User, ip: str | None = None, user_agent: str | None = None) -> str:
    """Open a new login session for the user (in this transaction) and return its key.

    The key is also set on `user.login_key`, which `User.get_id()` hands to Flask-Login's login_user()."""
    now = utcnow()
    db.session.execute(delete(LoginSession).where(
        LoginSession.user_id == user.id,
        LoginSession.created_at < now - max(_max_age(), timedelta(days=_KEEP_ENDED_DAYS))))
    key = secrets.token_urlsafe(32)
    db.session.add(LoginSession(key_hash=_key_hash(key), user_id=user.id, created_at=now,
                                ip=(ip or None) and ip[:45], user_agent=(user_agent or None) and user_agent[:200]))
    user.login_key = key
    return key


def user_for_session(key: str) -> User | None:
    """The active user whose live session has this key, in one query; None if ended, expired or unknown."""
    if not key or len(key) > 100:
        return None
    user = db.session.scalar(
        select(User).join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.key_hash == _key_hash(key), LoginSession.ended_at.is_(None),
               LoginSession.created_at > utcnow() - _max_age(), User.active.is_(True))
    )
    if user is not None:
        user.login_key = key
    return user


def end_session(key: str | None) -> None:
    """End one session (logout)."""
    if key:
        db.session.execute(update(LoginSession).where(LoginSession.key_hash == _key_hash(key),
                                                      LoginSession.ended_at.is_(None)).values(ended_at=utcnow()))


def end_sessions(user: User, keep_key: str | None = None) -> int:
    """End every live session of the user (but the one whose key is `keep_key`); return how many."""
    q = update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
    if keep_key:
        q = q.where(LoginSession.key_hash != _key_hash(keep_key))
    return db.session.execute(q.values(ended_at=utcnow())).rowcount


def live_sessions(user: User) -> list[LoginSession]:
    """The user's signed-in browsers, newest first."""
    return list(db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None),
                                   LoginSession.created_at > utcnow() - _max_age())
        .order_by(LoginSession.id.desc())))


def live_sessions_marked(user: User, viewer: User) -> list[tuple[LoginSession, bool]]:
    """The user's live sessions, each with whether it is the one the viewer's request signed in with."""
    here = _key_hash(viewer.login_key) if viewer.id == user.id and viewer.login_key else None
    return [(s, s.key_hash == here) for s in live_sessions(user)]


def sign_out_everywhere(user: User, actor: User) -> int:
    """End the user's sessions; when the actor is that user, the browser doing it stays signed in.
    Returns how many ended."""
    return end_sessions(user, keep_key=actor.login_key if actor.id == user.id else None)


def _continue_own_session(user: User) -> None:
    """After all of a user's sessions ended: if this request is that user's own, their browser goes on
    under a new session (a new key; every copy of the old cookie stays dead)."""
    from flask import has_request_context, request
    from flask_login import current_user, login_user

    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return
    me = current_user._get_current_object()
    if me.id != user.id:
        return
    start_session(me, request.remote_addr, request.user_agent.string)
    login_user(me)


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
    if set(roles) == set(user.roles):
        return
    user.role_rows = [UserRole(role=r.value) for r in sorted(set(roles), key=lambda r: r.value)]
    # A role change ends the user's sessions; an admin changing their own roles keeps the session doing it.
    sign_out_everywhere(user, actor)


def set_active(user: User, active: bool, actor: User) -> None:
    if not active:
        if user.id == actor.id:
            raise AccountError(_l("You cannot deactivate your own account."))
        if Role.ADMIN in user.roles and active_admin_count() <= 1:
            raise AccountError(_l("The last administrator cannot be deactivated."))
        end_sessions(user)  # signed out now, not at their next login
    user.active = active


def set_password(user: User, password: str) -> None:
    """A new password ends every session of the user; if they changed it themselves, this browser
    goes on under a new session id."""
    user.password_hash = hash_password(password)
    end_sessions(user)
    _continue_own_session(user)
