"""ticket index for "resolved by me" lists (assignee, state, urgent first, newest first)

Revision ID: 7c2e4b19d5a0
Revises: 3928cadf3e91
Create Date: 2026-11-26 09:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c2e4b19d5a0'
down_revision = '3928cadf3e91'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_tickets_assignee_recent", "tickets",
                    ["assignee_id", "state", sa.text("urgent DESC"), "id"], unique=False)


def downgrade():
    op.drop_index("ix_tickets_assignee_recent", table_name="tickets")
