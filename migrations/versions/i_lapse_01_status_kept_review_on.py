"""maintenance_status_changes.review_on: a maintenance status kept after a lapsed contract, until when

市场部经理 may answer a lapsed contract's reminder by keeping the unit's status (a row whose from_status equals
its to_status, with the reason); `review_on` (复查日期, optional) is the day the lapse sweep asks again.

Revision ID: i_lapse_01
Revises: i_retire_01
Create Date: 2026-12-07 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'i_lapse_01'
down_revision = 'i_retire_01'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("maintenance_status_changes", sa.Column("review_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("maintenance_status_changes") as batch_op:
        batch_op.drop_column("review_on")
