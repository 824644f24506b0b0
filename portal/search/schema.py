"""Where the search index lives (created by the migration `ticket full-text search index …`).

SQLite: an FTS5 virtual table `ticket_search(title, personal, body)`, rowid = ticket id, holding the tokens
made by portal.search.text (detail=column: which column a token is in, no positions — the queries need no
phrases; that keeps the index small). A trigger removes a ticket's row when the ticket is deleted.
PostgreSQL: a table `ticket_search(ticket_id, document tsvector)` with a GIN index; the tsvector is written
literally (weights: A = title, B = personal, D = body), never through a text-search parser, so Chinese
tokens stay as made here whatever the database's locale.

These are not ORM models (a virtual table cannot be one); Alembic is told to leave them alone (`include_name`).
"""
from __future__ import annotations

from sqlalchemy import column, table

TABLE = "ticket_search"

# Lightweight table constructs for building queries (not part of the models' metadata).
fts = table(TABLE, column("rowid"), column("title"), column("personal"), column("body"))
pg = table(TABLE, column("ticket_id"), column("document"))


# Every search index table (this one, and those other areas declare with `leave_out`, e.g. kb_search).
LEFT_OUT: set[str] = {TABLE}


def leave_out(name: str) -> None:
    """Another area's search index table (no model either): Alembic leaves it alone too."""
    LEFT_OUT.add(name)


def include_name(name, type_, parent_names) -> bool:
    """Alembic filter: the search index tables (and FTS5's shadow tables) are not compared with the models."""
    prefixes = tuple(LEFT_OUT)
    if type_ == "table" and name and name.startswith(prefixes):
        return False
    if type_ == "index" and parent_names.get("table_name", "").startswith(prefixes):
        return False
    return True
