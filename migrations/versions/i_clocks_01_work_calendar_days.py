"""work_calendar_days: the holidays and make-up working days (法定节假日, 调休) an administrator enters

Revision ID: i_clocks_01
Revises: i_sla_01
Create Date: 2026-12-06 04:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'i_clocks_01'
down_revision = 'i_policy_01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "work_calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('holiday','workday')", name=op.f("ck_work_calendar_days_kind_known")),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"], name="fk_work_calendar_days_changed_by_id_users"),
        sa.PrimaryKeyConstraint("day", name="pk_work_calendar_days"),
    )


def downgrade():
    op.drop_table("work_calendar_days")
