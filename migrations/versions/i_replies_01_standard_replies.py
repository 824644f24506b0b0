"""replies and reply_revisions: standard replies (常用语), shared and personal, every change kept

Revision ID: i_replies_01
Revises: i_sla_01
Create Date: 2026-12-06 04:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'i_replies_01'
down_revision = 'i_sla_01'
branch_labels = None
depends_on = None

KINDS = "'deadline','callback','consultation','greeting','general'"


def upgrade():
    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("archived_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_replies_kind_known")),
        sa.CheckConstraint("scope IN ('shared','personal')", name=op.f("ck_replies_scope_known")),
        sa.CheckConstraint("(scope = 'personal') = (owner_id IS NOT NULL)",
                           name=op.f("ck_replies_personal_has_owner")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_replies_owner_id_users"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name="fk_replies_updated_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_replies"),
    )
    op.create_index("ix_replies_owner", "replies", ["owner_id", "kind"])
    op.create_index("ix_replies_scope_kind", "replies", ["scope", "kind"])
    op.create_table(
        "reply_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reply_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("change IN ('create','edit','archive','restore')",
                           name=op.f("ck_reply_revisions_change_known")),
        sa.ForeignKeyConstraint(["reply_id"], ["replies.id"], name="fk_reply_revisions_reply_id_replies"),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"], name="fk_reply_revisions_changed_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_reply_revisions"),
        sa.UniqueConstraint("reply_id", "version", name="uq_reply_revisions_reply_version"),
    )


def downgrade():
    op.drop_table("reply_revisions")
    op.drop_index("ix_replies_scope_kind", table_name="replies")
    op.drop_index("ix_replies_owner", table_name="replies")
    op.drop_table("replies")
