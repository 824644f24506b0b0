"""consultations are handled in 实施部 however they got there (issue 14): backfill handling_department

`record_contact` used to send a consultation of a stopped-maintenance unit to 实施部's queue without
marking it handled there, unlike one registered there directly. Consultations never go to 开发部.

Revision ID: i_defects_a_02
Revises: i_defects_a_01
Create Date: 2026-12-06 01:45:00

"""
from alembic import op


revision = 'i_defects_a_02'
down_revision = 'i_defects_a_01'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE tickets SET handling_department = 'impl' "
               "WHERE type = 'consultation' AND handling_department <> 'impl'")


def downgrade():
    pass  # the old value was a mistake, not data to restore
