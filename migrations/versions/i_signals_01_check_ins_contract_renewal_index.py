"""duty_shifts.checked_in_at (签到) and ix_contracts_customer_start (is a contract followed by a later one?)

Revision ID: i_signals_01
Revises: i_sla_01
Create Date: 2026-12-06 04:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'i_signals_01'
down_revision = 'i_clocks_01'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("duty_shifts", sa.Column("checked_in_at", sa.DateTime(), nullable=True))
    op.create_index("ix_contracts_customer_start", "contracts", ["customer_id", "start_date"], unique=False)


def downgrade():
    op.drop_index("ix_contracts_customer_start", table_name="contracts")
    with op.batch_alter_table("duty_shifts") as batch_op:
        batch_op.drop_column("checked_in_at")
