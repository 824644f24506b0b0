"""service_clocks, tickets.reported_at (when the customer asked) and tickets.policy_snapshot

Revision ID: i_sla_01
Revises: i_lists_01
Create Date: 2026-12-06 03:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'i_sla_01'
down_revision = 'i_lists_01'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (copying `tickets` in batch mode would drop its search triggers on SQLite); the server
    # default only lets SQLite add a NOT NULL column: every row then takes its created_at, the code always sets it.
    op.add_column("tickets", sa.Column("reported_at", sa.DateTime(), nullable=False,
                                       server_default=sa.text("'1970-01-01 00:00:00'")))
    op.add_column("tickets", sa.Column("policy_snapshot", sa.JSON(), nullable=True))
    op.execute("UPDATE tickets SET reported_at = created_at")
    op.create_table(
        "service_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("run_key", sa.String(length=80), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("department", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("escalate_role", sa.String(length=20), nullable=True),
        sa.Column("limit_value", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("remind_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('kept','breached','void')",
                           name=op.f("ck_service_clocks_outcome_known")),
        sa.CheckConstraint("(stopped_at IS NULL) = (outcome IS NULL)",
                           name=op.f("ck_service_clocks_stopped_has_outcome")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_service_clocks_ticket_id_tickets"),
        sa.ForeignKeyConstraint(["customer_id"], ["customer_units.id"],
                                name="fk_service_clocks_customer_id_customer_units"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_service_clocks_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_service_clocks"),
        sa.UniqueConstraint("run_key", name="uq_service_clocks_run_key"),
    )
    op.create_index("ix_service_clocks_running", "service_clocks", ["stopped_at", "due_at"])
    op.create_index("ix_service_clocks_ticket", "service_clocks", ["ticket_id", "key"])
    op.create_index("ix_service_clocks_period", "service_clocks", ["key", "started_at"])


def downgrade():
    op.drop_table("service_clocks")
    op.drop_column("tickets", "policy_snapshot")
    op.drop_column("tickets", "reported_at")
