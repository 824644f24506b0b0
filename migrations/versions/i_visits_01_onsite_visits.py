"""On-site visits (上门服务): visits, visit_companions, visit_events; the archive's visit report kind

Revision ID: i_visits_01
Revises: i_sla_01
Create Date: 2026-12-06 04:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'i_visits_01'
down_revision = 'i_compliance_01'
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('expiry_notice','service_notice','summary','contract','other')"
KINDS_AFTER = "kind IN ('expiry_notice','service_notice','summary','visit_report','contract','other')"


def upgrade():
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("plan_period", sa.String(length=10), nullable=True),
        sa.Column("department", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("needed_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("appointment_at", sa.DateTime(), nullable=True),
        sa.Column("customer_contact", sa.String(length=64), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column("departed_at", sa.DateTime(), nullable=True),
        sa.Column("arrived_at", sa.DateTime(), nullable=True),
        sa.Column("left_at", sa.DateTime(), nullable=True),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("confirmed_by_name", sa.String(length=64), nullable=True),
        sa.Column("confirmation_text", sa.Text(), nullable=True),
        sa.Column("signed_sheet", sa.String(length=64), nullable=True),
        sa.Column("signed_sheet_name", sa.String(length=255), nullable=True),
        sa.Column("signed_sheet_type", sa.String(length=100), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("state IN ('needed','booked','on_the_way','on_site','done','cancelled')",
                           name=op.f("ck_visits_state_known")),
        sa.CheckConstraint("origin IN ('ticket','plan')", name=op.f("ck_visits_origin_known")),
        sa.CheckConstraint("(origin = 'ticket') = (ticket_id IS NOT NULL)",
                           name=op.f("ck_visits_ticket_origin_has_ticket")),
        sa.CheckConstraint("(origin = 'plan') = (plan_period IS NOT NULL)",
                           name=op.f("ck_visits_plan_origin_has_period")),
        sa.CheckConstraint("arrived_at IS NULL OR (departed_at IS NOT NULL AND arrived_at >= departed_at)",
                           name=op.f("ck_visits_arrival_after_departure")),
        sa.CheckConstraint("left_at IS NULL OR (arrived_at IS NOT NULL AND left_at >= arrived_at)",
                           name=op.f("ck_visits_leaving_after_arrival")),
        sa.CheckConstraint("state <> 'done' OR (left_at IS NOT NULL AND confirmed_at IS NOT NULL)",
                           name=op.f("ck_visits_done_is_confirmed")),
        sa.CheckConstraint("(state = 'cancelled') = (cancel_reason IS NOT NULL)",
                           name=op.f("ck_visits_cancelled_has_reason")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_visits_ticket_id_tickets"),
        sa.ForeignKeyConstraint(["customer_id"], ["customer_units.id"], name="fk_visits_customer_id_customer_units"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name="fk_visits_created_by_id_users"),
        sa.ForeignKeyConstraint(["engineer_id"], ["users.id"], name="fk_visits_engineer_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_visits"),
    )
    op.create_index("ix_visits_ticket", "visits", ["ticket_id"])
    op.create_index("ix_visits_customer", "visits", ["customer_id", "state"])
    op.create_index("ix_visits_engineer", "visits", ["engineer_id", "id"])
    op.create_index("ix_visits_department", "visits", ["department", "id"])
    op.create_index("ix_visits_state", "visits", ["state", "id"])
    op.create_table(
        "visit_companions",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name="fk_visit_companions_visit_id_visits",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_visit_companions_user_id_users"),
        sa.PrimaryKeyConstraint("visit_id", "user_id", name="pk_visit_companions"),
    )
    op.create_table(
        "visit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=12), nullable=True),
        sa.Column("to_state", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name="fk_visit_events_visit_id_visits"),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name="fk_visit_events_actor_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_visit_events"),
    )
    op.create_index("ix_visit_events_visit", "visit_events", ["visit_id", "id"])
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint(op.f("ck_documents_kind_known"), type_="check")
        batch.create_check_constraint(op.f("ck_documents_kind_known"), KINDS_AFTER)


def downgrade():
    op.execute("DELETE FROM documents WHERE kind = 'visit_report'")
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint(op.f("ck_documents_kind_known"), type_="check")
        batch.create_check_constraint(op.f("ck_documents_kind_known"), KINDS_BEFORE)
    op.drop_table("visit_events")
    op.drop_table("visit_companions")
    op.drop_table("visits")
