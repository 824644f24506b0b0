"""an answered consultation's handler is who answered it (issue 14): backfill assignee_id and ticket_assignees

Before, answering left a consultation without a handler: its page showed none and its answerer saw it
masked as someone else's closed ticket. The answer now records the answerer; this gives the
consultations answered before the same.

Revision ID: i_defects_a_01
Revises: i_mentions_a1
Create Date: 2026-12-06 01:20:00

"""
from alembic import op


revision = 'i_defects_a_01'
down_revision = 'i_mentions_a1'
branch_labels = None
depends_on = None

ANSWERER = ("SELECT e.actor_id FROM events e WHERE e.ticket_id = tickets.id AND e.action = 'answer' "
            "AND e.actor_id IS NOT NULL ORDER BY e.id DESC LIMIT 1")


def upgrade():
    op.execute(f"UPDATE tickets SET assignee_id = ({ANSWERER}) "
               f"WHERE type = 'consultation' AND assignee_id IS NULL AND ({ANSWERER}) IS NOT NULL")
    op.execute("INSERT INTO ticket_assignees (ticket_id, user_id) "
               "SELECT t.id, t.assignee_id FROM tickets t WHERE t.type = 'consultation' AND t.assignee_id IS NOT NULL "
               "AND NOT EXISTS (SELECT 1 FROM ticket_assignees a "
               "WHERE a.ticket_id = t.id AND a.user_id = t.assignee_id)")


def downgrade():
    # Consultations are never assigned: every handler they have came from their answer.
    op.execute("DELETE FROM ticket_assignees WHERE ticket_id IN (SELECT id FROM tickets WHERE type = 'consultation')")
    op.execute("UPDATE tickets SET assignee_id = NULL WHERE type = 'consultation'")
