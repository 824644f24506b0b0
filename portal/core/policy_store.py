"""The policy numbers administrators set in the portal, and every change to them (append-only).

`policy_values` holds the value in force for each (level, field) an administrator has set — a field never set
keeps its default (portal/core/policy.py). `policy_changes` records each change: who, when, which level and
field, the old and the new value, and the reason; rows are never updated nor deleted.

Every process (gunicorn workers, RQ workers, the scheduler) caches the stored values. A change writes a new
random version with its history row; each process checks the newest version once per request or job (one
primary-key lookup) and at the latest every few seconds, so no process judges with an old policy for long.
"""
from __future__ import annotations

import time as _time
import uuid
from datetime import datetime

from flask import current_app, g, has_app_context
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.timeutil import utcnow
from portal.extensions import db

CHECK_EVERY_SECONDS = 5.0  # outside a fresh request or job, how long a process trusts its cached values


class PolicyValue(db.Model):
    __tablename__ = "policy_values"

    level: Mapped[str] = mapped_column(String(20), primary_key=True)  # vip / ordinary / stopped / all
    field: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(40))  # as in a ticket's snapshot: 12, 0.85, 08:30


class PolicyChange(db.Model):
    __tablename__ = "policy_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    level: Mapped[str] = mapped_column(String(20))
    field: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[str] = mapped_column(String(40))
    new_value: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(32), unique=True)  # what the processes' caches compare


@event.listens_for(PolicyChange, "before_update")
@event.listens_for(PolicyChange, "before_delete")
def _history_is_append_only(mapper, connection, target):
    raise RuntimeError("policy_changes is append-only")


def _cache() -> dict:
    return current_app.extensions.setdefault("policy_store", {"version": None, "values": {}, "checked": 0.0})


def _current_version() -> str | None:
    return db.session.scalar(select(PolicyChange.version).order_by(PolicyChange.id.desc()).limit(1))


def stored_values() -> dict[tuple[str, str], str]:
    """{(level, field): value} as stored; {} outside an application (a bare unit test, a script)."""
    if not has_app_context():
        return {}
    cache = _cache()
    fresh_context = not g.get("_policy_store_checked")
    if fresh_context or _time.monotonic() - cache["checked"] > CHECK_EVERY_SECONDS:
        version = _current_version()
        if version != cache["version"] or cache["version"] is None:
            rows = db.session.execute(select(PolicyValue.level, PolicyValue.field, PolicyValue.value)) \
                if version is not None else []
            cache["values"] = {(lv, f): v for lv, f, v in rows}
            cache["version"] = version
        cache["checked"] = _time.monotonic()
        g._policy_store_checked = True
    return cache["values"]


def forget() -> None:
    """This process drops its cached values (after a change here, or a rollback)."""
    if has_app_context():
        _cache().update(version=None, values={}, checked=0.0)


def record(*, level: str, field: str, old: str, new: str, reason: str, user_id: int | None,
           at: datetime | None = None) -> PolicyChange:
    """Set one stored value and append its history row, in the caller's transaction (the caller validated it)."""
    row = db.session.get(PolicyValue, (level, field), with_for_update=True)
    if row is None:
        db.session.add(PolicyValue(level=level, field=field, value=new))
    else:
        row.value = new
    change = PolicyChange(at=at or utcnow(), user_id=user_id, level=level, field=field, old_value=old,
                          new_value=new, reason=reason, version=uuid.uuid4().hex)
    db.session.add(change)
    db.session.flush()
    forget()
    return change
