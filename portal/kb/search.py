"""Searching the knowledge base: `search` for the /kb page, `suggest` for the suggestions at intake, on the
ticket page and on the hotline form.

Words are made as for tickets (portal.search.text.query_words: jieba words; a Chinese word of three or more
characters also matches through its bigrams; the last letter/digit run as a prefix), and matched with the ticket
search's term syntax, so an article is found the way a ticket is.

Ranking, in tiers (the same on SQLite and PostgreSQL, and cheap whatever the number of matches): 1. every word
in the title; 2. every word in the title or the symptom (现象); 3. … or the tags (with their pinyin, and the
module); 4. anywhere (cause, solution too). Newest first within a tier. Each tier's query walks the index newest
first and stops at the limit (the next tier is asked only if the limit is not reached), so a word found in half
the articles costs no more than a rare one; the articles' columns are then read once for the ids found. (A
relevance function such as bm25 or ts_rank scores every match: 70–160 ms at 20,000 articles.)

`suggest` (a summary being typed is a sentence, not a query): the articles holding the most of its words first —
all of them, then all but the most frequent one, and so on down to the rarest alone (each stage in two tiers:
title or symptom, then anywhere) — so a rare word such as 医保 weighs more than a frequent one such as 打印.
How frequent a word is comes from SQLite's fts5vocab table, or from a count on PostgreSQL kept a minute. Drafts and archived articles
are never suggested and are searched only by those who write (published_only=False).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape
from sqlalchemy import Select, case, cast, func, literal, literal_column, select
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
MAX_LIMIT = 100


@dataclass(frozen=True)
class Hit:
    id: int
    number: str
    title: str
    title_html: Markup  # the title, escaped, the query's words in <mark>
    snippet: Markup  # where the words occur (symptom, cause, solution), escaped and highlighted
    score: float  # higher is better: the tier (4 title … 1 body), +10 per word for suggestions; 0 without a query
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
    # With words, the filters are tokens of the index (the same match finds and filters); the state stays SQL.
    must = index.filter_tokens(module=module, version=version, tag=tag)
    state_only = filters(published_only=published_only)
    hits.extend(_hit(r, words) for r in _matching(words, state_only, limit=limit, must=must) if r.id not in seen)
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
    return [_hit(r, words) for r in _suggested(words, filters(published_only=True), limit)]


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
    if version:  # one of the article's versions (operations keep them as "V3.2, V3.3")
        out.append(func.lower(literal(", ") + Article.versions + literal(", "))
                   .contains(f", {version.strip().lower()}, ", autoescape=True))
    if tag:
        out.append((literal(",") + Article.tags + literal(",")).contains(f",{tag.strip()},", autoescape=True))
    return out


def _columns(score) -> Select:
    return select(Article.id, Article.number, Article.title, Article.symptom, Article.cause, Article.solution,
                  Article.module, Article.versions, Article.tags, Article.state, Article.visibility,
                  Article.updated_at, score.label("score"))


TIERS = (("title",), ("title", "symptom"), ("title", "symptom", "tags"), ("title", "symptom", "tags", "body"))
PG_TIER_WEIGHTS = ("A", "AB", "ABC", "")  # title A, symptom B, tags C, body D (portal.kb.index)
TIER_SCORES = (4.0, 3.0, 2.0, 1.0)
SUGGEST_TIERS = (1, 3)  # suggestions: title or symptom, then anywhere
MAX_SUGGEST_QUERIES = 16
FREQUENCY_TTL = 60.0  # seconds a word's document count is reused (PostgreSQL counts it; a ranking hint only)


def _expr(words: tuple[str, ...], tier: int, must: tuple[str, ...] = ()) -> str:
    """Every word in the tier's parts, and the filters' tokens (SQLite FTS5 query, or PostgreSQL tsquery text)."""
    last = len(words) - 1
    if _is_pg():
        return " & ".join([pg_term(w, PG_TIER_WEIGHTS[tier], n == last) for n, w in enumerate(words)]
                          + [f"'{t}'" for t in must])
    terms = " AND ".join(fts_term(w, n == last) for n, w in enumerate(words))
    return f"({{{' '.join(TIERS[tier])}}} : ({terms}))" + "".join(f' AND "{t}"' for t in must)


def _tier_ids(words: tuple[str, ...], tier: int, where: list, limit: int, must=()) -> list[int]:
    """The newest `limit` articles with every word in the tier's parts. A tier's parts include the tier
    before's, so its matches do too: taking `limit` of them always yields what the tier adds."""
    if _is_pg():
        stmt = (select(Article.id).join(index.pg, index.pg.c.article_id == Article.id)
                .where(index.pg.c.document.op("@@")(cast(_expr(words, tier, must), TSQUERY)), *where)
                .order_by(Article.id.desc()))
    else:
        stmt = (select(index.fts.c.rowid).select_from(index.fts).join(Article, Article.id == index.fts.c.rowid)
                .where(literal_column(index.TABLE).op("MATCH")(_expr(words, tier, must)), *where)
                .order_by(index.fts.c.rowid.desc()))
    return list(db.session.scalars(stmt.limit(limit)))


def _ranked_ids(words, where, limit, tiers=range(len(TIERS)), found=None, bonus=0.0, budget=None, must=()) -> dict:
    """id → score, best tier first and newest first within it, up to `limit` new ones."""
    found = {} if found is None else found
    if _is_pg():
        return _pg_ranked_ids(words, where, limit, tuple(tiers), found, bonus, budget, must)
    target = len(found) + limit
    for t in tiers:
        if budget is not None:
            if budget[0] <= 0:
                break
            budget[0] -= 1
        for aid in _tier_ids(words, t, where, target, must):
            if aid not in found and len(found) < target:
                found[aid] = bonus + TIER_SCORES[t]
        if len(found) >= target:
            break
    return found


PG_CANDIDATES = 500


def _pg_ranked_ids(words, where, limit, tiers, found, bonus, budget, must) -> dict:
    """PostgreSQL: the newest PG_CANDIDATES articles with every word anywhere (all of them for rare words), each
    given its tier in the same statement, ranked in Python. With a limit that large the planner chooses well either
    way: a walk newest first when the words are frequent (it soon has them), the GIN index and a sort when they
    are rare (with LIMIT 20 it walked every row for a rare combination: 50 ms)."""
    if budget is not None:
        if budget[0] <= 0:
            return found
        budget[0] -= 1
    doc = index.pg.c.document
    tier = case(*((doc.op("@@")(cast(_expr(words, t), TSQUERY)), TIER_SCORES[t]) for t in tiers[:-1]),
                else_=TIER_SCORES[tiers[-1]])
    stmt = (select(Article.id, tier.label("tier")).join(index.pg, index.pg.c.article_id == Article.id)
            .where(doc.op("@@")(cast(_expr(words, len(TIERS) - 1, must), TSQUERY)), *where))
    if found:
        stmt = stmt.where(Article.id.not_in(list(found)))
    rows = db.session.execute(stmt.order_by(Article.id.desc()).limit(PG_CANDIDATES)).all()
    target = len(found) + limit
    for aid, score in sorted(rows, key=lambda r: (-r[1], -r[0])):
        if len(found) >= target:
            break
        found[aid] = bonus + score
    return found


def _rows(scores: dict[int, float]) -> list:
    """The articles' columns, in the order of `scores`, each with its score."""
    if not scores:
        return []
    by_id = {r.id: r for r in db.session.execute(_columns(literal(0.0)).where(Article.id.in_(list(scores))))}
    return [_Scored(by_id[i], s) for i, s in scores.items() if i in by_id]


class _Scored:
    def __init__(self, row, score: float):
        self._row, self.score = row, score

    def __getattr__(self, name):
        return getattr(self._row, name)


def _matching(words: tuple[str, ...], where: list, *, limit: int, must=()) -> list:
    return _rows(_ranked_ids(words, where, limit, must=must))


def _suggested(words: tuple[str, ...], where: list, limit: int) -> list:
    """The most words first: all, then all but the most frequent, … down to the rarest alone; then each of the
    other words alone, rarer first. At most MAX_SUGGEST_QUERIES queries, however long the text."""
    freq = _frequencies(words)
    ranked = tuple(w for w in sorted(words, key=lambda w: (freq[w], -len(w))) if freq[w] > 0)
    stages = [ranked[:k] for k in range(len(ranked), 0, -1)] + [(w,) for w in ranked[1:]]
    found: dict[int, float] = {}
    budget = [MAX_SUGGEST_QUERIES]
    for stage in stages:
        _ranked_ids(stage, where, limit - len(found), tiers=SUGGEST_TIERS, found=found, bonus=10.0 * len(stage),
                    budget=budget)
        if len(found) >= limit or budget[0] <= 0:
            break
    return _rows(found)


_frequency_cache: dict[tuple[str, bool], tuple[int, float]] = {}


def forget_frequencies() -> None:
    """Articles changed: the next suggestions count their words again (in this process; others within a minute)."""
    _frequency_cache.clear()


index.on_change(forget_frequencies)


def _frequencies(words: tuple[str, ...]) -> dict[str, int]:
    """In how many articles each word occurs (about: a long Chinese word by its rarest bigram)."""
    last = len(words) - 1
    if not _is_pg():
        return _sqlite_frequencies(words)
    now, out = time.monotonic(), {}
    for n, w in enumerate(words):
        key = (w, n == last)
        hit = _frequency_cache.get(key)
        if hit is None or hit[1] < now:  # counted up to 1,000: past that a word is simply frequent
            some = (select(literal(1)).select_from(index.pg).where(
                index.pg.c.document.op("@@")(cast(pg_term(w, "", n == last), TSQUERY))).limit(1000).subquery())
            count = db.session.scalar(select(func.count()).select_from(some)) or 0
            if len(_frequency_cache) > 50_000:
                _frequency_cache.clear()
            _frequency_cache[key] = hit = (count, now + FREQUENCY_TTL)
        out[w] = hit[0]
    return out


def _sqlite_frequencies(words: tuple[str, ...]) -> dict[str, int]:
    """From the fts5vocab table: one query for the whole words and their bigrams, one for a prefix."""
    last = len(words) - 1
    grams = {w: [w] + (words_of.bigrams(w) if words_of.IS_CJK.match(w) and len(w) > 2 else []) for w in words}
    terms = {g for gs in grams.values() for g in gs}
    docs = dict(db.session.execute(select(index.vocab.c.term, index.vocab.c.doc)
                                   .where(index.vocab.c.term.in_(sorted(terms)))).all())
    out = {}
    for n, w in enumerate(words):
        if len(w) == 1 or (n == last and not words_of.IS_CJK.match(w)):  # matched as a prefix
            out[w] = db.session.scalar(select(func.sum(index.vocab.c.doc)).where(
                index.vocab.c.term >= w, index.vocab.c.term < w + "\U0010ffff")) or 0
            continue
        counts = [docs.get(g, 0) for g in grams[w]]
        out[w] = counts[0] if len(counts) == 1 else max(counts[0], min(counts[1:]))
    return out


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
