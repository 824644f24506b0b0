"""metrics_clock_daily / metrics_clock_monthly (the service-level clocks counted for the dashboard's compliance
figures), service_clocks.updated_at (what the metrics refresh reads since its last run) and the indexes it uses

Revision ID: i_compliance_01
Revises: i_sla_01
Create Date: 2026-12-06 04:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'i_compliance_01'
down_revision = 'i_signals_01'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("service_clocks", sa.Column("updated_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE service_clocks SET updated_at = COALESCE(stopped_at, created_at)")
    op.create_index("ix_metrics_clocks_due", "service_clocks", ["due_at"])
    op.create_index("ix_metrics_clocks_updated", "service_clocks", ["updated_at"])
    op.create_index("ix_metrics_clocks_customer", "service_clocks", ["customer_id", "due_at"])
    for table in ("metrics_clock_daily", "metrics_clock_monthly"):  # the same figures per day and per month
        op.create_table(
            table,
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("key", sa.String(length=40), nullable=False),
            sa.Column("department", sa.String(length=20), nullable=False),
            sa.Column("assignee_id", sa.Integer(), nullable=False),
            sa.Column("level", sa.String(length=20), nullable=False),
            sa.Column("kept", sa.Integer(), nullable=False),
            sa.Column("breached", sa.Integer(), nullable=False),
            sa.Column("running", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("day", "key", "department", "assignee_id", "level", name=op.f(f"pk_{table}")),
        )


def downgrade():
    op.drop_table("metrics_clock_monthly")
    op.drop_table("metrics_clock_daily")
    op.drop_index("ix_metrics_clocks_customer", table_name="service_clocks")
    op.drop_index("ix_metrics_clocks_updated", table_name="service_clocks")
    op.drop_index("ix_metrics_clocks_due", table_name="service_clocks")
    with op.batch_alter_table("service_clocks") as batch:
        batch.drop_column("updated_at")
