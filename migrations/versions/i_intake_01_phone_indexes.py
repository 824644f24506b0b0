"""index contacts.phone and customer_units.phone: intake finds the caller's unit and contact by the number

Revision ID: i_intake_01
Revises: i_jobs_01
Create Date: 2026-12-06 01:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'i_intake_01'
down_revision = 'i_jobs_01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_contacts_phone", "contacts", ["phone"])
    op.create_index("ix_customer_units_phone", "customer_units", ["phone"])


def downgrade():
    op.drop_index("ix_customer_units_phone", table_name="customer_units")
    op.drop_index("ix_contacts_phone", table_name="contacts")
