"""The knowledge base's search index, kept in step with the articles in the same transaction.

Tokens are made by portal.search.text (the ticket search's jieba words + bigrams), so an article is found the
way a ticket is. Four parts, ranked in this order: title (with the number), symptom (现象), tags (each tag also
as its pinyin and pinyin initials: 打印机 → dayinji, dyj; plus the module), body (cause and solution).
Internal notes are never indexed: what the index holds may be matched by anyone who may search.

SQLite: an FTS5 virtual table `kb_search(title, symptom, tags, body)`, rowid = article id, emptied of an
article's row by a trigger when the article is deleted, and `kb_search_vocab` (fts5vocab: each token's number
of documents). PostgreSQL: `kb_search(article_id, document tsvector)`
with a GIN index, the tsvector written literally with weights A/B/C/D (no text-search parser, as for tickets).
Neither is a model (see portal.search.schema.include_name).

after_flush notes which articles changed in a way the document shows; before_commit rewrites those documents
once; a rollback forgets the notes (and the index writes roll back with the article).
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass

from pypinyin import lazy_pinyin
from sqlalchemy import column, event, inspect, select, table, text as sql
from sqlalchemy.orm import Session

from portal.customers.operations import initials_of
from portal.kb.models import Article
from portal.search import schema as ticket_schema
from portal.search import text

TABLE = "kb_search"
fts = table(TABLE, column("rowid"), column("title"), column("symptom"), column("tags"), column("body"))
pg = table(TABLE, column("article_id"), column("document"))
# SQLite: in how many documents each token occurs (an fts5vocab table over kb_search), for the suggestions.
vocab = table(f"{TABLE}_vocab", column("term"), column("doc"))
INDEXED_ATTRIBUTES = ("number", "title", "symptom", "cause", "solution", "tags", "module", "versions")
COLUMNS = (Article.id, Article.number, Article.title, Article.symptom, Article.tags, Article.module,
           Article.cause, Article.solution, Article.versions)
VERSION_SPLIT = re.compile(r"[,，;；、]+")
_KEY = "kb_search_dirty_articles"
_on_change = []  # called when documents are written (portal.kb.search forgets its word counts)


def on_change(fn) -> None:
    if fn not in _on_change:
        _on_change.append(fn)


def changed() -> None:
    for fn in _on_change:
        fn()

ticket_schema.leave_out(TABLE)  # Alembic compares no index table with the models


@dataclass
class Document:
    article_id: int
    title: str
    symptom: str
    tags: str
    body: str


def tag_tokens(tags: str, module: str = "") -> set[str]:
    """The tags' words, and each tag's pinyin (dayinji) and pinyin initials (dyj), so a tag is found by either."""
    out = text.tokens(tags.replace(",", " "), module)
    for tag in (t.strip() for t in tags.split(",")):
        if tag and text.CJK_RUN.search(tag):
            out.update(text.ALNUM_RUN.findall(initials_of(tag)))
            out.update(text.ALNUM_RUN.findall("".join(lazy_pinyin(tag)).lower()))
    return out


def filter_token(kind: str, value: str) -> str:
    """One token standing for a filter's value (m: module, t: tag, v: version), so that a search with words
    and filters is one match of the index."""
    norm = re.sub(r"\s+", "", value or "").lower()
    return f"zf{kind}" + hashlib.blake2b(norm.encode(), digest_size=6).hexdigest()


def version_items(versions: str) -> list[str]:
    return [v.strip() for v in VERSION_SPLIT.split(versions or "") if v.strip()]


def filter_tokens(*, module=None, version=None, tag=None) -> tuple[str, ...]:
    out = []
    if module and module.strip():
        out.append(filter_token("m", module))
    if version and version.strip():
        out.append(filter_token("v", version))
    if tag and tag.strip():
        out.append(filter_token("t", tag))
    return tuple(out)


def build(row) -> Document:
    """row: (id, number, title, symptom, tags, module, cause, solution, versions) — COLUMNS."""
    aid, number, title, symptom, tags, module, cause, solution, versions = row
    filters = {filter_token("t", t) for t in (tags or "").split(",") if t.strip()}
    filters |= {filter_token("v", v) for v in version_items(versions)}
    if (module or "").strip():
        filters.add(filter_token("m", module))
    return Document(
        article_id=aid,
        title=" ".join(sorted(text.tokens(number, title))),
        symptom=" ".join(sorted(text.tokens(symptom))),
        tags=" ".join(sorted(tag_tokens(tags or "", module or ""))),
        body=" ".join(sorted(text.tokens(cause, solution) | filters)),
    )


def load(session, ids: list[int]) -> list[Document]:
    if not ids:
        return []
    return [build(row) for row in session.execute(select(*COLUMNS).where(Article.id.in_(ids)))]


def tsvector_literal(doc: Document) -> str:
    """Every token once per part, weighted A (title), B (symptom), C (tags) or D (body)."""
    positions: dict[str, list[str]] = defaultdict(list)
    pos = 0
    for part, weight in ((doc.title, "A"), (doc.symptom, "B"), (doc.tags, "C"), (doc.body, "")):
        for token in part.split():
            pos = min(pos + 1, 16383)
            positions[token].append(f"{pos}{weight}")
    return " ".join(f"'{token}':{','.join(p)}" for token, p in positions.items())


def write(connection, docs: list[Document]) -> None:
    """Replace these articles' documents (inside the caller's transaction)."""
    if not docs:
        return
    changed()
    if connection.dialect.name == "postgresql":
        connection.execute(
            sql(f"INSERT INTO {TABLE} (article_id, document) VALUES (:id, CAST(:doc AS tsvector)) "
                "ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document"),
            [{"id": d.article_id, "doc": tsvector_literal(d)} for d in docs])
    else:
        connection.execute(sql(f"DELETE FROM {TABLE} WHERE rowid = :id"), [{"id": d.article_id} for d in docs])
        connection.execute(
            sql(f"INSERT INTO {TABLE} (rowid, title, symptom, tags, body) "
                "VALUES (:id, :title, :symptom, :tags, :body)"),
            [{"id": d.article_id, "title": d.title, "symptom": d.symptom, "tags": d.tags, "body": d.body}
             for d in docs])


def reindex_all(session) -> int:
    """Rewrite every article's document (after a bulk load that bypassed the ORM, e.g. bench/kb_search.py)."""
    ids = list(session.scalars(select(Article.id).order_by(Article.id)))
    for i in range(0, len(ids), 2000):
        write(session.connection(), load(session, ids[i:i + 2000]))
    return len(ids)


# --- in step with the ORM -------------------------------------------------------------------------------------

def _changed(obj: Article) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in INDEXED_ATTRIBUTES)


def _after_flush(session: Session, _flush_context) -> None:
    dirty = session.info.setdefault(_KEY, set())
    for obj in session.new:
        if isinstance(obj, Article):
            dirty.add(obj.id)
    for obj in session.dirty:
        if isinstance(obj, Article) and _changed(obj):
            dirty.add(obj.id)
    dirty.discard(None)


def _before_commit(session: Session) -> None:
    session.flush()  # so that after_flush has seen everything this transaction wrote
    ids = session.info.pop(_KEY, None)
    if ids:
        write(session.connection(), load(session, sorted(ids)))


def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)


def _forget_unless_savepoint(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        _forget(session)


def register() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _forget)
        event.listen(Session, "after_soft_rollback", _forget_unless_savepoint)


register()
