"""Turning the search box into SQL: ranked tiers, each newest first.

Ranking (what staff expect from a ticket search, and cheap at a million tickets):
  1. the ticket whose number is the query;
  2. tickets whose summary is exactly the query;
  3. tickets whose title (number, 科室, 摘要, 反馈人, 电话) holds every word of the query — 反馈人 and 电话
     only where the user sees them unmasked (an engineer's reference view of others' closed tickets masks
     them, so they must not be found by them either);
  4. tickets of the customer unit(s) the query names (the unit's name or its pinyin initials start with it —
     only when it names at most MAX_UNITS units, otherwise it names none in particular);
  5. tickets holding every word anywhere (description, process and result, comments, callback notes).
A tier's query walks the index newest first and stops at the page size, so a word found in a hundred
thousand tickets costs no more than a rare one; the list's filters and the user's visibility apply inside
each tier. Pages continue with a (tier, last id) cursor. No COUNT anywhere.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, cast, literal_column, or_, select
from sqlalchemy.dialects.postgresql import TSQUERY

from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.search import schema, text
from portal.tickets.models import Ticket

MAX_UNITS = 10
NUMBER = re.compile(r"^[A-Za-z]{1,6}-\d{4}-\d{3,}$")


@dataclass(frozen=True)
class Search:
    """A parsed query: its words and the per-backend match expressions."""
    q: str
    words: tuple[str, ...]
    number: str | None
    unit_ids: tuple[int, ...]
    unmasked: object = None  # None: the user sees every ticket unmasked; else SQL: "this ticket is unmasked"

    @property
    def personal(self) -> bool:
        """反馈人 / 电话 may match in every ticket."""
        return self.unmasked is None

    @property
    def empty(self) -> bool:
        return not self.words and not self.number and not self.unit_ids


def parse(q: str, unmasked=None) -> Search:
    """`unmasked`: None when the user sees every ticket's personal fields, else the SQL condition saying
    that a ticket's are shown to them."""
    q = (q or "").strip()
    words = tuple(text.query_words(q))
    number = q.upper() if NUMBER.match(q) else None
    return Search(q=q, words=words, number=number, unit_ids=_units(q), unmasked=unmasked)


def _units(q: str) -> tuple[int, ...]:
    """Units whose name, or whose pinyin initials, start with the query (index range scans, no LIKE)."""
    if len(q) < 2 or any(c.isdigit() for c in q):  # numbers and phone numbers name no unit
        return ()
    conds = [_starts(CustomerUnit.name, q)]
    if re.fullmatch(r"[a-z]+", q.lower()):
        conds.append(_starts(CustomerUnit.name_initials, q.lower()))
    ids = tuple(db.session.scalars(select(CustomerUnit.id).where(or_(*conds)).limit(MAX_UNITS + 1)))
    return ids if len(ids) <= MAX_UNITS else ()


def _starts(column, prefix: str):
    if _is_pg():  # linguistic collations do not order by code point: LIKE 'prefix%' (10,000 units: a quick scan)
        return column.startswith(prefix, autoescape=True)
    return and_(column >= prefix, column < prefix + "\U0010ffff")  # SQLite compares UTF-8 bytes


# --- match expressions -------------------------------------------------------------------------------------

def _prefix(word: str, last: bool) -> bool:
    """A single Chinese character, or the query's last run of letters/digits (still being typed), matches as a
    prefix; other letter/digit runs match whole (so SH-2023-000001 does not ask for every token starting 2023)."""
    return len(word) == 1 or (last and not text.IS_CJK.match(word))


def _fts_term(word: str, last: bool) -> str:
    if text.IS_CJK.match(word) and len(word) >= 2:
        grams = text.bigrams(word)
        both = " AND ".join(f'"{g}"' for g in grams)
        return f'"{word}"' if len(word) == 2 else f'("{word}" OR ({both}))'
    return f'"{word}"*' if _prefix(word, last) else f'"{word}"'


def _pg_term(word: str, weights: str, last: bool) -> str:
    if text.IS_CJK.match(word) and len(word) >= 2:
        grams = text.bigrams(word)
        if len(word) == 2:
            return f"'{word}':{weights}" if weights else f"'{word}'"
        lex = [f"'{g}':{weights}" if weights else f"'{g}'" for g in grams]
        whole = f"'{word}':{weights}" if weights else f"'{word}'"
        return f"({whole} | ({' & '.join(lex)}))"
    if _prefix(word, last):
        return f"'{word}':*{weights}"
    return f"'{word}':{weights}" if weights else f"'{word}'"


class _Fts:
    """SQLite FTS5 query strings."""

    def __init__(self, s: Search):
        self.s = s

    def words(self, title_only: bool, personal: bool | None = None) -> str:
        personal = self.s.personal if personal is None else personal
        cols = ["title"] + (["personal"] if personal else []) + ([] if title_only else ["body"])
        terms = [_fts_term(w, n == len(self.s.words) - 1) for n, w in enumerate(self.s.words)]
        return f"{{{' '.join(cols)}}} : ({' AND '.join(terms)})"

    def exact(self) -> str:
        return f'{{title}} : "{text.exact_token(self.s.q)}"'

    def tier(self, name: str) -> str:
        if name == "exact":
            return self.exact()
        if name == "title":
            return f"({self.words(True)}) NOT ({self.exact()})"
        if name == "personal":
            return f"({self.words(True, personal=True)}) NOT ({self.words(True)})"
        if name == "anywhere":
            return f"({self.words(False)}) NOT ({self.words(True)})"
        raise ValueError(name)


class _Pg:
    """PostgreSQL tsquery strings (taken literally by CAST(... AS tsquery): no parser, no dictionary)."""

    def __init__(self, s: Search):
        self.s = s

    def words(self, title_only: bool, personal: bool | None = None) -> str:
        personal = self.s.personal if personal is None else personal
        weights = ("AB" if personal else "A") if title_only else ("" if personal else "AD")
        return " & ".join(_pg_term(w, weights, n == len(self.s.words) - 1) for n, w in enumerate(self.s.words))

    def exact(self) -> str:
        return f"'{text.exact_token(self.s.q)}':A"

    def tier(self, name: str) -> str:
        if name == "exact":
            return self.exact()
        if name == "title":
            return f"({self.words(True)}) & !({self.exact()})"
        if name == "personal":
            return f"({self.words(True, personal=True)}) & !({self.words(True)})"
        if name == "anywhere":
            return f"({self.words(False)}) & !({self.words(True)})"
        raise ValueError(name)


def _is_pg() -> bool:
    return db.engine.dialect.name == "postgresql"


def _match_ids(expr: str):
    """A subquery of the ids of tickets whose document matches `expr`."""
    if _is_pg():
        return select(schema.pg.c.ticket_id).where(schema.pg.c.document.op("@@")(cast(expr, TSQUERY)))
    return select(schema.fts.c.rowid).where(literal_column(schema.TABLE).op("MATCH")(expr))


# --- tiers -----------------------------------------------------------------------------------------------------

def tiers(s: Search) -> list[str]:
    out = []
    if s.number:
        out.append("number")
    if s.words:
        out += ["exact", "title"] + ([] if s.personal else ["personal"])
    if s.unit_ids:
        out.append("unit")
    if s.words:
        out.append("anywhere")
    return out


def tier_ids(s: Search, tier: str, restrict, after_id: int | None, limit: int) -> list[int]:
    """Ids of the next `limit` tickets of one tier, newest first. `restrict(stmt)` adds the list's filters
    and the user's visibility to a select over Ticket."""
    not_number = [Ticket.number.is_distinct_from(s.number)] if s.number else []
    if tier == "number":
        stmt = select(Ticket.id).where(Ticket.number == s.number)
    elif tier == "unit":
        stmt = select(Ticket.id).where(Ticket.customer_id.in_(s.unit_ids), *not_number)
        if s.words:
            stmt = stmt.where(Ticket.id.not_in(_match_ids(_Pg(s).words(True) if _is_pg() else _Fts(s).words(True))))
        stmt = stmt.order_by(Ticket.id.desc())
        if after_id:
            stmt = stmt.where(Ticket.id < after_id)
    elif _is_pg():
        stmt = (select(Ticket.id).join(schema.pg, schema.pg.c.ticket_id == Ticket.id)
                .where(schema.pg.c.document.op("@@")(cast(_Pg(s).tier(tier), TSQUERY)), *not_number)
                .order_by(Ticket.id.desc()))
        if after_id:
            stmt = stmt.where(Ticket.id < after_id)
    else:
        rowid = schema.fts.c.rowid
        stmt = (select(Ticket.id).select_from(schema.fts).join(Ticket, Ticket.id == rowid)
                .where(literal_column(schema.TABLE).op("MATCH")(_Fts(s).tier(tier)), *not_number)
                .order_by(rowid.desc()))
        if after_id:
            stmt = stmt.where(rowid < after_id)
    if tier == "personal":
        stmt = stmt.where(s.unmasked)
    if tier == "anywhere" and s.unit_ids:
        stmt = stmt.where(Ticket.customer_id.not_in(s.unit_ids))
    return list(db.session.scalars(restrict(stmt).limit(limit)))


def condition(s: Search):
    """One WHERE clause: the ticket matches the search at all (unranked; for exports and the like)."""
    conds = []
    if s.number:
        conds.append(Ticket.number == s.number)
    if s.words:
        expr = _Pg(s).words(False) if _is_pg() else _Fts(s).words(False)
        conds.append(Ticket.id.in_(_match_ids(expr)))
    if s.unit_ids:
        conds.append(Ticket.customer_id.in_(s.unit_ids))
    return or_(*conds) if conds else Ticket.id.is_(None)
