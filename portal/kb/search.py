"""Searching the knowledge base: `search` for the /kb page, `suggest` for the suggestions at intake, on the
ticket page and on the hotline form.

Words are made as for tickets (portal.search.words_of.query_words: jieba words; a Chinese word of three or more
characters also matches through its bigrams; the last letter/digit run as a prefix). `search` asks for every
word, anywhere in the article; `suggest` for any of them (a summary being typed is a sentence, not a query).
Ranking: title, then symptom (现象), then tags (and pinyin of tags, module), then body (cause, solution):
FTS5's bm25 with column weights 1000/100/10/1 on SQLite, ts_rank with weights 1/0.1/0.01/0.001 on
PostgreSQL — one word in the title outweighs any number in the body. Drafts and archived articles are never
suggested and are searched only by those who write (published_only=False).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape
from sqlalchemy import Select, cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import TSQUERY

from portal.core.kernel import kernel
from portal.extensions import db
from portal.kb import index
from portal.kb.models import NUMBER_PREFIX, Article, ArticleState
# The ticket search's term syntax for each backend (one Chinese word = the word or all its bigrams; the
# last letter/digit run a prefix): shared, so an article matches exactly as a ticket does.
from portal.search.query import _fts_term as fts_term, _pg_term as pg_term
from portal.search import text as words_of

NUMBER = re.compile(rf"^{NUMBER_PREFIX}\d+$", re.IGNORECASE)
SNIPPET_WIDTH = 48
SQLITE_WEIGHTS = (1000.0, 100.0, 10.0, 1.0)  # title, symptom, tags, body
PG_WEIGHTS = "{0.001,0.01,0.1,1}"  # D (body), C (tags), B (symptom), A (title)
MAX_LIMIT = 100


@dataclass(frozen=True)
class Hit:
    id: int
    number: str
    title: str
    title_html: Markup  # the title, escaped, the query's words in <mark>
    snippet: Markup  # where the words occur (symptom, cause, solution), escaped and highlighted
    score: float  # higher is better (0 when listed without a query)
    module: str
    versions: str
    tags: str
    state: str
    visibility: str
    updated_at: datetime


def may_search(user) -> bool:
    return kernel.allows(user, "kb.view")


def search(q: str, *, user, module: str | None = None, version: str | None = None, tag: str | None = None,
           limit: int = 20, published_only: bool = True) -> list[Hit]:
    """The articles matching every word of `q` (all articles when it has none), best first. Drafts and
    archived articles only with published_only=False, and only for those who may write articles."""
    if not may_search(user):
        return []
    limit = max(1, min(int(limit), MAX_LIMIT))
    if not published_only and not kernel.allows(user, "kb.write"):
        published_only = True
    q = (q or "").strip()[:200]
    words = tuple(words_of.query_words(q))
    where = filters(module=module, version=version, tag=tag, published_only=published_only)
    hits: list[Hit] = []
    if NUMBER.match(q):
        row = db.session.execute(_columns(literal(1e9)).where(Article.number == q.upper(), *where)).first()
        if row is not None:
            hits.append(_hit(row, words))
    if not words:
        if hits or NUMBER.match(q):
            return hits
        rows = db.session.execute(_columns(literal(0.0)).where(*where)
                                  .order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit))
        return [_hit(r, words) for r in rows]
    seen = {h.id for h in hits}
    rows = db.session.execute(_matching(words, where, any_word=False, limit=limit))
    hits.extend(_hit(r, words) for r in rows if r.id not in seen)
    return hits[:limit]


def suggest(text: str, *, user, limit: int = 5) -> list[Hit]:
    """Published articles sharing words with a text being typed (an intake summary, a hotline note), best
    first: any word may match, more and better-placed matches rank higher."""
    if not may_search(user):
        return []
    words = tuple(w for w in words_of.query_words((text or "")[:200]) if len(w) > 1)
    if not words:
        return []
    limit = max(1, min(int(limit), 20))
    where = filters(published_only=True)
    return [_hit(r, words) for r in db.session.execute(_matching(words, where, any_word=True, limit=limit))]


# --- SQL ---------------------------------------------------------------------------------------------------

def _is_pg() -> bool:
    return db.engine.dialect.name == "postgresql"


def filters(*, module=None, version=None, tag=None, published_only=True) -> list:
    """The WHERE terms of the list's filters (also for the /kb page's lists without a query)."""
    out = []
    if published_only:
        out.append(Article.state == ArticleState.PUBLISHED.value)
    if module:
        out.append(Article.module == module.strip())
    if version:
        out.append(Article.versions.contains(version.strip(), autoescape=True))
    if tag:
        out.append((literal(",") + Article.tags + literal(",")).contains(f",{tag.strip()},", autoescape=True))
    return out


def _columns(score) -> Select:
    return select(Article.id, Article.number, Article.title, Article.symptom, Article.cause, Article.solution,
                  Article.module, Article.versions, Article.tags, Article.state, Article.visibility,
                  Article.updated_at, score.label("score"))


def _matching(words: tuple[str, ...], where: list, *, any_word: bool, limit: int) -> Select:
    last = len(words) - 1
    if _is_pg():
        expr = (" | " if any_word else " & ").join(pg_term(w, "", n == last) for n, w in enumerate(words))
        query = cast(expr, TSQUERY)
        score = func.ts_rank(literal_column(f"'{PG_WEIGHTS}'::float4[]"), index.pg.c.document, query)
        return (_columns(score).join(index.pg, index.pg.c.article_id == Article.id)
                .where(index.pg.c.document.op("@@")(query), *where)
                .order_by(literal_column("score").desc(), Article.id.desc()).limit(limit))
    expr = (" OR " if any_word else " AND ").join(fts_term(w, n == last) for n, w in enumerate(words))
    rank = func.bm25(literal_column(index.TABLE), *SQLITE_WEIGHTS)  # lower is better
    return (_columns(-rank).select_from(index.fts).join(Article, Article.id == index.fts.c.rowid)
            .where(literal_column(index.TABLE).op("MATCH")(expr), *where)
            .order_by(rank, Article.id.desc()).limit(limit))


def as_hit(article: Article) -> Hit:
    """An article listed without a query (the /kb page's other lists), shown like a search hit."""
    return _hit(article, ())


def _hit(row, words: tuple[str, ...]) -> Hit:
    snippet = words_of.snippet([row.symptom, row.cause, row.solution], words, width=SNIPPET_WIDTH) if words else None
    if snippet is None:
        lead = row.symptom or row.solution or ""
        snippet = escape(lead[:SNIPPET_WIDTH * 2] + ("…" if len(lead) > SNIPPET_WIDTH * 2 else ""))
    return Hit(id=row.id, number=row.number or "", title=row.title,
               title_html=words_of.highlight(row.title, words) if words else escape(row.title),
               snippet=snippet, score=float(getattr(row, "score", 0.0) or 0.0), module=row.module, versions=row.versions,
               tags=row.tags, state=row.state, visibility=row.visibility, updated_at=row.updated_at)
