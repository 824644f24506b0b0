from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.enums import Role
from portal.core.timeutil import utcnow
from portal.extensions import db


class Department(db.Model):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))

    @property
    def title(self) -> str:
        return self.name  # set in Chinese at creation, renameable by admins


class UserRole(db.Model):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(40))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=UserRole.role
    )

    # The key of the login session this object was loaded for (or started with); what Flask-Login
    # keeps in the signed cookie. Not a column: only its hash is stored, in login_sessions.
    login_key = None

    def get_id(self) -> str:
        if not self.login_key:
            raise RuntimeError("sign users in with portal.auth.operations.start_session(), not login_user() alone")
        return self.login_key

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def roles(self) -> frozenset[Role]:
        out = set()
        for r in self.role_rows:
            try:
                out.add(Role(r.role))
            except ValueError:
                continue
        return frozenset(out)

    def has_role(self, *roles: Role) -> bool:
        mine = self.roles
        return any(r in mine for r in roles)

    @property
    def department_key(self) -> str | None:
        return self.department.key if self.department else None

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class LoginSession(db.Model):
    """One signed-in browser (see portal.auth.operations.start_session).

    The cookie carries a random key; only its SHA-256 is stored, so a copy of this table signs no one
    in. A session counts while ended_at is empty: logout, a password change, a deactivation or a role
    change end it, and the user loader refuses it from the next request on."""
    __tablename__ = "login_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
