"""the old promise reminders (urgent without response, first reply) give way to the service-level clocks

The ticket sweep no longer raises `urgent_no_response` (which counted from 市场部's approval) or `first_reply`:
the clocks in portal/sla keep those promises from when the customer asked, with a reminder before and an
escalation after. Reminders of the old kinds still open are closed (kept, with a note saying why), so nobody
is reminded twice of one promise.

Revision ID: i_retire_01
Revises: i_kbwork_01
Create Date: 2026-12-06 07:00:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = 'i_retire_01'
down_revision = 'i_kbwork_01'
branch_labels = None
depends_on = None

RETIRED = ("urgent_no_response", "first_reply")


def upgrade():
    reminders = sa.table("reminders", sa.column("kind", sa.String), sa.column("closed_at", sa.DateTime),
                         sa.column("closed_note", sa.Text))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.execute(reminders.update()
               .where(reminders.c.kind.in_(RETIRED), reminders.c.closed_at.is_(None))
               .values(closed_at=now, closed_note="replaced by service clock"))


def downgrade():
    pass  # the closed reminders stay closed: the clocks that replaced them keep the promise either way
