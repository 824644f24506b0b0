"""ticket followers (关注): who hears of every event of a ticket

Revision ID: i_mentions_a1
Revises: i_intake_01
Create Date: 2026-12-06 01:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i_mentions_a1'
down_revision = 'i_intake_01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ticket_followers",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_followers_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_ticket_followers_user_id_users")),
        sa.PrimaryKeyConstraint("ticket_id", "user_id", name=op.f("pk_ticket_followers")),
    )
    op.create_index("ix_ticket_followers_user", "ticket_followers", ["user_id", "ticket_id"], unique=False)


def downgrade():
    op.drop_index("ix_ticket_followers_user", table_name="ticket_followers")
    op.drop_table("ticket_followers")
