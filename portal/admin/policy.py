"""The service-level policy page's operations: the table of numbers (field × level) and one change.

The numbers, their units and sensible ranges are portal/core/policy.py's; the stored values and their
append-only history portal/core/policy_store.py's. A change never commits; the route does, once.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.auth.models import User
from portal.core import policy as pol
from portal.core import policy_store
from portal.core.enums import MaintenanceStatus
from portal.core.pagination import Key, Keyset, page
from portal.core.policy_store import PolicyChange
from portal.extensions import db

NEWEST_FIRST = Keyset("policy.history", Key("id", PolicyChange.id, descending=True))
MAX_REASON = 500

UNITS = {"hours": _l("hours"), "working_days": _l("working days"), "days": _l("days"), "percent": "%",
         "per_mille": "‰", "time": "", "minutes": _l("minutes"), "score": _l("points (1–5)")}


@dataclass(frozen=True)
class Cell:
    level: str  # a MaintenanceStatus value, or policy.COMPANY
    value: str  # as shown (85, 08:30)
    changed: bool  # differs from the default


@dataclass(frozen=True)
class Row:
    field: str
    rule: pol.Rule
    unit: object
    default: str
    cells: tuple[Cell, ...]


def levels_of(field: str) -> tuple[str, ...]:
    return tuple(s.value for s in pol.PER_LEVEL) if pol.RULES[field].per_level else (pol.COMPANY,)


def table() -> list[Row]:
    defaults = pol.policy()
    in_force = {lv: pol.policy_for(lv) for lv in (*(s.value for s in pol.PER_LEVEL), None)}
    rows = []
    for f in fields(pol.Policy):
        default = pol.shown(f.name, getattr(defaults, f.name))
        cells = []
        for lv in levels_of(f.name):
            value = pol.shown(f.name, getattr(in_force[None if lv == pol.COMPANY else lv], f.name))
            cells.append(Cell(lv, value, value != default))
        rows.append(Row(f.name, pol.RULES[f.name], UNITS[pol.RULES[f.name].unit], default, tuple(cells)))
    return rows


def level_title(level: str):
    return _l("Whole company") if level == pol.COMPANY else MaintenanceStatus(level).title


def change(actor: User, *, level: str, field: str, entered: str, reason: str) -> PolicyChange | None:
    """Set one number for one level; raises policy.PolicyValueError (nothing written) for nonsense.
    None when the value is the one already in force (nothing to record)."""
    if field not in pol.RULES:
        raise pol.PolicyValueError(_l("Choose a number of the policy."), "field")
    if level not in levels_of(field):
        raise pol.PolicyValueError(_l("This number is set for the whole company, not per maintenance level.")
                                   if level in {s.value for s in MaintenanceStatus}
                                   else _l("This number is set per maintenance level: choose one."), "level")
    reason = (reason or "").strip()
    if not reason:
        raise pol.PolicyValueError(_l("Give the reason for the change: it is kept in the history."), "reason")
    if len(reason) > MAX_REASON:
        raise pol.PolicyValueError(_l("The reason is too long: at most %(max)d characters.", max=MAX_REASON),
                                   "reason")
    value = pol.parse_entered(field, entered)
    current = pol.policy_for(None if level == pol.COMPANY else level)
    pol.check_whole(replace(current, **{field: value}))
    old, new = pol.snapshot(current)[field], pol.snapshot(replace(current, **{field: value}))[field]
    if str(old) == str(new):
        return None
    return policy_store.record(level=level, field=field, old=str(old), new=str(new), reason=reason,
                               user_id=actor.id)


def history(cursor: str | None, size: int = 50):
    """The changes, newest first, one keyset page; each row with its author's name."""
    window = page(NEWEST_FIRST, select(PolicyChange), cursor, size)
    ids = {c.user_id for c in window.rows if c.user_id}
    names = {uid: name for uid, name in db.session.execute(
        select(User.id, User.display_name).where(User.id.in_(ids)))} if ids else {}
    return window, names


def stored_shown(field: str, raw: str) -> str:
    """A value from the history as the administrator typed it (0.85 → 85)."""
    if field not in pol.RULES:
        return raw
    try:
        return pol.shown(field, pol.parse_stored(field, raw))
    except (TypeError, ValueError):
        return raw


def rule_label(field: str):
    return pol.RULES[field].label if field in pol.RULES else field
