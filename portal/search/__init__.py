"""Full-text search of tickets, Chinese included (jieba words + character bigrams).

text.py       tokens for the index, the query's words, highlighting
documents.py  what a ticket's document holds; writing documents (SQLite FTS5 / PostgreSQL tsvector)
hooks.py      the index kept in step with every ORM write (registered when this package is imported)
query.py      the search box → ranked tiers of ticket ids
reindex.py    `flask --app app search-reindex`: rebuild the whole index (after bulk loads such as seed-bench)
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.search import hooks
from portal.search.reindex import register_cli
from portal.search.schema import include_name

PLACEHOLDER = _l("Number, title, description, comments…")
RANKED_NOTE = _l("Most relevant first: the number, the summary, the title, the customer unit, then the rest of the "
                 "ticket; newest first within each.")

hooks.register()


def init_app(app) -> None:
    """The `search-reindex` command, and Alembic told to leave the index tables alone."""
    register_cli(app)
    migrate_ext = app.extensions.get("migrate")
    if migrate_ext is not None:
        migrate_ext.configure_args.setdefault("include_name", include_name)
