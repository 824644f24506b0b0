"""Keyset pagination for every list: one order, one cursor format, one "rows after this one" condition.

A `Keyset` is the list's ORDER BY as named keys (column, direction, kind). The cursor of a page is the last
row's key values, tagged with the keyset's name, as URL-safe base64 JSON: opaque to the reader, and checked
on the way back in — a forged, truncated or foreign cursor (another list's, another sort's, a value of the
wrong kind or out of range) is no cursor at all, so the list starts from its first page instead of failing.

"After the cursor" is the lexicographic comparison spelled out per key, so it holds for any mix of
directions; booleans compare with IS TRUE / IS FALSE (no ordering operator on a boolean), and a nullable key
sorts its NULLs last in both directions. When every key runs the same way and none is boolean or nullable,
the row-value form `(a, b) > (x, y)` is used, which both databases answer from a matching index.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Generic, Sequence, TypeVar

from sqlalchemy import and_, false, or_, true, tuple_

from portal.core.params import CURSOR_MAX, ID_MAX, in_calendar
from portal.extensions import db

T = TypeVar("T")
TEXT_MAX = 1000  # characters of a text key in a cursor


@dataclass(frozen=True)
class Key:
    name: str  # the attribute of a row that holds this key's value
    column: Any  # the SQL expression ordered by
    kind: type = int  # int | str | bool | datetime | date
    descending: bool = False
    nullable: bool = False


class Keyset:
    def __init__(self, name: str, *keys: Key):
        self.name = name
        self.keys = keys

    # --- SQL -------------------------------------------------------------------------------
    def order_by(self) -> list:
        out = []
        for k in self.keys:
            o = k.column.desc() if k.descending else k.column.asc()
            out.append(o.nulls_last() if k.nullable else o)
        return out

    def after(self, values: Sequence) -> Any:
        """Rows that come after a row with these key values, in this order."""
        plain = len({k.descending for k in self.keys}) == 1 and not any(
            k.kind is bool or k.nullable for k in self.keys)
        if plain:
            left, right = tuple_(*(k.column for k in self.keys)), tuple_(*values)
            return left < right if self.keys[0].descending else left > right
        terms = []
        for i, k in enumerate(self.keys):
            equal = [_equal(p, v) for p, v in zip(self.keys[:i], values[:i])]
            terms.append(and_(*equal, _beyond(k, values[i])))
        return or_(*terms)

    def seek(self, stmt, cursor: str | None):
        """The statement ordered, and past the cursor if it is a valid one; and whether it was."""
        values = self.decode(cursor)
        stmt = stmt.order_by(*self.order_by())
        return (stmt.where(self.after(values)), True) if values is not None else (stmt, False)

    # --- cursors ---------------------------------------------------------------------------
    def values_of(self, row) -> list:
        return [getattr(row, k.name) for k in self.keys]

    def encode(self, values: Sequence) -> str:
        raw = json.dumps([self.name, [_plain(v) for v in values]], ensure_ascii=False, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def cursor_for(self, row) -> str:
        return self.encode(self.values_of(row))

    def decode(self, cursor: str | None) -> list | None:
        """The key values a cursor names, or None if it is not a cursor of this keyset."""
        if not cursor or not isinstance(cursor, str) or len(cursor) > CURSOR_MAX:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            name, values = json.loads(raw.decode())
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
            return None
        if name != self.name or not isinstance(values, list) or len(values) != len(self.keys):
            return None
        out = []
        for k, v in zip(self.keys, values):
            value = _typed(k, v)
            if value is _INVALID:
                return None
            out.append(value)
        return out


@dataclass
class Window(Generic[T]):
    rows: list[T]
    next_cursor: str | None
    is_first: bool


def page(keyset: Keyset, stmt, cursor: str | None, size: int,
         fetch: Callable = None) -> Window:
    """One page of `stmt` (a select of ORM rows carrying the keys) after `cursor`: one query, no COUNT."""
    stmt, continued = keyset.seek(stmt, cursor)
    rows = list((fetch or db.session.scalars)(stmt.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Window(rows, keyset.cursor_for(rows[-1]) if more and rows else None, not continued)


# --- helpers --------------------------------------------------------------------------------

_INVALID = object()


def _plain(v):
    return v.isoformat() if isinstance(v, (date, datetime)) else v


def _typed(k: Key, v):
    if v is None:
        return None if k.nullable else _INVALID
    if k.kind is bool:
        return v if isinstance(v, bool) else _INVALID
    if k.kind is int:
        return v if isinstance(v, int) and not isinstance(v, bool) and -ID_MAX <= v <= ID_MAX else _INVALID
    if k.kind is str:
        return v if isinstance(v, str) and len(v) <= TEXT_MAX else _INVALID
    if k.kind in (datetime, date) and isinstance(v, str) and len(v) <= 40:
        try:
            value = datetime.fromisoformat(v) if k.kind is datetime else date.fromisoformat(v)
        except ValueError:
            return _INVALID
        if k.kind is datetime and value.tzinfo is not None:
            return _INVALID  # the portal stores naive UTC
        return value if in_calendar(value) else _INVALID
    return _INVALID


def _equal(k: Key, v):
    if v is None:
        return k.column.is_(None)
    if k.kind is bool:
        return k.column.is_(true() if v else false())
    return k.column == v


def _beyond(k: Key, v):
    """This key's value comes strictly after v in the list's order (NULLs last)."""
    if v is None:
        return false()  # nothing sorts after a NULL on this key
    if k.kind is bool:
        # descending: True, False; ascending: False, True
        later_exists = v if k.descending else not v
        cond = k.column.is_(false() if k.descending else true()) if later_exists else false()
    else:
        cond = k.column < v if k.descending else k.column > v
    return or_(cond, k.column.is_(None)) if k.nullable else cond
