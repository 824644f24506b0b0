"""documents get a random public id for their URLs (archive addresses cannot be guessed or counted)

Revision ID: 9b3d6f0e2a71
Revises: 5e8f1a2b3c4d
Create Date: 2026-11-26 10:15:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9b3d6f0e2a71'
down_revision = '5e8f1a2b3c4d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
    bind = op.get_bind()
    documents = sa.table("documents", sa.column("id", sa.Integer), sa.column("public_id", sa.String))
    ids = [row[0] for row in bind.execute(sa.select(documents.c.id))]
    for doc_id in ids:
        bind.execute(documents.update().where(documents.c.id == doc_id).values(public_id=secrets.token_hex(16)))
    with op.batch_alter_table("documents") as batch:
        batch.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
        batch.create_index("ix_documents_public_id", ["public_id"], unique=True)


def downgrade():
    with op.batch_alter_table("documents") as batch:
        batch.drop_index("ix_documents_public_id")
        batch.drop_column("public_id")
