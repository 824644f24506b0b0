"""The schema comes only from migrations/, the same on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_migrated_schema_matches_the_models_exactly(app):
    # The session fixture built the schema with `flask db upgrade`; nothing may be missing or extra —
    # except the search index (portal/search/schema.py), which is no model and is checked on its own below.
    from portal.search.schema import include_name

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == []


def test_search_index_table_exists_and_is_the_only_table_left_out_of_the_comparison(app):
    from sqlalchemy import inspect

    from portal.search.schema import LEFT_OUT, TABLE, include_name

    names = set(inspect(db.engine).get_table_names())
    assert TABLE in names and LEFT_OUT <= names
    left_out = {n for n in names if not include_name(n, "table", {})}
    assert left_out and all(n.startswith(tuple(LEFT_OUT)) for n in left_out)
    assert set(db.metadata.tables) <= names - left_out


def test_migrations_downgrade_to_empty_and_upgrade_again(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from tests.conftest import ROOT

    directory = str(ROOT / "migrations")
    db.session.remove()
    downgrade(directory=directory, revision="base")
    db.engine.dispose()
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(directory=directory)
    db.engine.dispose()
    assert {"tickets", "events", "users", "customer_units"} <= set(inspect(db.engine).get_table_names())


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas; PostgreSQL needs none of these")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_consultations_answered_before_get_their_answerer_as_handler(app, users, ticket_factory):
    # i_defects_a_01 (issue 14): the answer now records the answerer; the migration does the same
    # for consultations answered before it (its downgrade takes them back to no handler).
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select

    from portal.tickets.models import Ticket, TicketAssignee
    from portal.tickets.operations import take_action
    from tests.conftest import ROOT

    t = ticket_factory(type="consultation")
    take_action(t, "answer", users["impl_engineer"], {"answer": "在系统设置中修改"})
    db.session.commit()
    tid, answerer = t.id, users["impl_engineer"].id
    directory = str(ROOT / "migrations")

    def handler():
        db.session.remove()
        out = (db.session.scalar(select(Ticket.assignee_id).where(Ticket.id == tid)),
               db.session.scalar(select(TicketAssignee.user_id).where(TicketAssignee.ticket_id == tid)))
        db.session.remove()  # (its transaction would keep SQLite's write lock from the migration)
        return out

    db.session.remove()
    downgrade(directory=directory, revision="9b3d6f0e2a71")
    assert handler() == (None, None)  # as answering left it before
    upgrade(directory=directory)
    assert handler() == (answerer, answerer)
