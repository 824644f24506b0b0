"""tickets may wait for the customer: the state waiting_customer (待客户), which keeps its assignee and deadline

Revision ID: i_actions_01
Revises: i_defects_a_02
Create Date: 2026-12-06 01:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'i_actions_01'
down_revision = 'i_defects_a_02'
branch_labels = None
depends_on = None

OLD_STATES = ("state IN ('awaiting_market','registered','pending_fee','ready_to_assign','impl_queue','assigned',"
              "'resolved','callback_done','closed')")
NEW_STATES = OLD_STATES.replace("'assigned',", "'assigned','waiting_customer',")
OLD_ASSIGNED = ("state NOT IN ('assigned','resolved','callback_done') "
                "OR (assignee_id IS NOT NULL AND deadline IS NOT NULL)")
NEW_ASSIGNED = OLD_ASSIGNED.replace("'assigned',", "'assigned','waiting_customer',")
CONSTRAINTS = ("ck_tickets_state_known", "ck_tickets_assigned_has_assignee")


def _sqlite_rewrite(pairs) -> None:
    """SQLite cannot alter a CHECK, and copying `tickets` (batch mode) inside the migration's transaction
    would fail on the rows that reference it (foreign_keys cannot be switched off in a transaction).
    A CHECK that only admits more values changes no stored row, so the table's definition is rewritten
    in place — SQLite's documented procedure for such changes (sqlite.org/lang_altertable.html, “other
    kinds of table schema changes”): writable_schema, then a new schema_version."""
    bind = op.get_bind()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tickets'").scalar()
    new = sql
    for old, replacement in pairs:
        if old not in new:
            raise RuntimeError(f"tickets' definition does not hold {old!r}")
        new = new.replace(old, replacement)
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'tickets'", (new,))
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def _replace(states: str, assigned: str, old_states: str, old_assigned: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite([(old_states, states), (old_assigned, assigned)])
        return
    for name in CONSTRAINTS:
        op.drop_constraint(op.f(name), "tickets", type_="check")
    op.create_check_constraint(op.f(CONSTRAINTS[0]), "tickets", states)
    op.create_check_constraint(op.f(CONSTRAINTS[1]), "tickets", assigned)


def upgrade():
    _replace(NEW_STATES, NEW_ASSIGNED, OLD_STATES, OLD_ASSIGNED)


def downgrade():
    op.execute("UPDATE tickets SET state = 'assigned' WHERE state = 'waiting_customer'")
    _replace(OLD_STATES, OLD_ASSIGNED, NEW_STATES, NEW_ASSIGNED)
