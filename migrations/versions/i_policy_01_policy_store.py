"""policy_values (the service-level numbers administrators set, per maintenance level) and policy_changes
(their append-only history)

Revision ID: i_policy_01
Revises: i_sla_01
Create Date: 2026-12-06 04:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'i_policy_01'
down_revision = 'i_replies_01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "policy_values",
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("level", "field", name=op.f("pk_policy_values")),
    )
    op.create_table(
        "policy_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("old_value", sa.String(length=40), nullable=False),
        sa.Column("new_value", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_policy_changes_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_changes")),
        sa.UniqueConstraint("version", name=op.f("uq_policy_changes_version")),
    )
    op.create_index(op.f("ix_policy_changes_at"), "policy_changes", ["at"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_policy_changes_at"), table_name="policy_changes")
    op.drop_table("policy_changes")
    op.drop_table("policy_values")
