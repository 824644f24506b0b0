"""saved_views: a person's named ticket lists, shown in their navigation

Revision ID: i_lists_01
Revises: i_actions_01
Create Date: 2026-12-06 01:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'i_lists_01'
down_revision = 'i_actions_01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_saved_views_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_saved_views"),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_views_user_name"),
    )


def downgrade():
    op.drop_table("saved_views")
