"""outbox rows stay owed until their job records done_at; documents remember when they were queued

Revision ID: i_jobs_01
Revises: 9b3d6f0e2a71
Create Date: 2026-12-06 00:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'i_jobs_01'
down_revision = '9b3d6f0e2a71'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("done_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("failed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("resent", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index("ix_outbox_owed", ["done_at", "sent_at"], unique=False)
    # Rows pushed before this release: their jobs ran long ago (or are in RQ's failed registry);
    # counting them as done keeps the first sweep from running them all again.
    outbox = sa.table("outbox", sa.column("sent_at", sa.DateTime), sa.column("done_at", sa.DateTime))
    op.get_bind().execute(outbox.update().where(outbox.c.sent_at.is_not(None)).values(done_at=outbox.c.sent_at))
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("queued_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("queued_at")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_owed")
        batch.drop_column("resent")
        batch.drop_column("failed_at")
        batch.drop_column("done_at")
