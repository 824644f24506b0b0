"""ticket full-text search index (SQLite FTS5 / PostgreSQL tsvector + GIN); list and queue indexes

Written by hand: autogenerate knows neither virtual tables nor GIN indexes. The search tables are not
models (see portal/search/schema.py); the eight ticket indexes are declared in portal/tickets/listing.py.
After upgrading a database that already holds tickets, run `flask --app app search-reindex` once.

Revision ID: 3928cadf3e91
Revises: d11a80435367
Create Date: 2026-11-26 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3928cadf3e91'
down_revision = 'd11a80435367'
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_tickets_state_type", ["state", "type", "urgent", "id"]),
    ("ix_tickets_state_order", ["state", sa.text("urgent DESC"), "id"]),
    ("ix_tickets_assignee_order", ["assignee_id", "state", sa.text("urgent DESC"), "deadline", "id"]),
    ("ix_tickets_deadline_told", ["state", "deadline_notified_at", sa.text("urgent DESC"), "id"]),
    ("ix_tickets_department_order", ["state", "handling_department", sa.text("urgent DESC"), "deadline", "id"]),
    ("ix_tickets_urgent_state", ["urgent", "state", "id"]),
    ("ix_tickets_urgent_scan", ["urgent", "id", "state"]),
    ("ix_tickets_created_urgent", ["created_at", "urgent"]),
]


def upgrade():
    for name, columns in INDEXES:
        op.create_index(name, "tickets", columns, unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE ticket_search ("
            " ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,"
            " document TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX ix_ticket_search_document ON ticket_search USING gin (document)")
        # Statistics on many words, so that a word missing from them is known to be rare: otherwise the
        # planner guesses 0.5 % of the tickets for it and walks tickets newest first looking for 50 of them.
        op.execute("ALTER TABLE ticket_search ALTER COLUMN document SET STATISTICS 10000")
    else:
        # rowid = ticket id. detail=column: which column a token is in, no positions (no phrase queries).
        op.execute(
            "CREATE VIRTUAL TABLE ticket_search USING fts5("
            "title, personal, body, tokenize = 'unicode61', detail = 'column', columnsize = 0)"
        )
        op.execute(
            "CREATE TRIGGER ticket_search_forget_deleted AFTER DELETE ON tickets BEGIN"
            " DELETE FROM ticket_search WHERE rowid = old.id; END"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE ticket_search")
    else:
        op.execute("DROP TRIGGER ticket_search_forget_deleted")
        op.execute("DROP TABLE ticket_search")
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="tickets")
