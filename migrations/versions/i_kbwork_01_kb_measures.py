"""knowledge base at work: article views per day, staff votes, consultations answered by an article

Revision ID: i_kbwork_01
Revises: i_kb_01
Create Date: 2026-12-06 04:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'i_kbwork_01'
down_revision = 'i_kb_01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kb_article_view_days",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name="fk_kb_article_view_days_article_id_kb_articles",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", "day", name="pk_kb_article_view_days"),
    )
    op.create_index("ix_kb_article_view_days_day", "kb_article_view_days", ["day", "views"])
    op.create_table(
        "kb_article_votes",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("voted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name="fk_kb_article_votes_article_id_kb_articles",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_kb_article_votes_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", "user_id", name="pk_kb_article_votes"),
    )
    op.create_table(
        "kb_article_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name="fk_kb_article_answers_article_id_kb_articles"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_kb_article_answers_ticket_id_tickets"),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"], name="fk_kb_article_answers_answered_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_article_answers"),
    )
    op.create_index("ix_kb_article_answers_article", "kb_article_answers", ["article_id", "answered_at"])
    op.create_index("ix_kb_article_answers_answered_at", "kb_article_answers", ["answered_at"])


def downgrade():
    op.drop_index("ix_kb_article_answers_answered_at", table_name="kb_article_answers")
    op.drop_index("ix_kb_article_answers_article", table_name="kb_article_answers")
    op.drop_table("kb_article_answers")
    op.drop_table("kb_article_votes")
    op.drop_index("ix_kb_article_view_days_day", table_name="kb_article_view_days")
    op.drop_table("kb_article_view_days")
