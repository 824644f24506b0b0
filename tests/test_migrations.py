"""The schema comes only from migrations/, the same on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_migrated_schema_matches_the_models_exactly(app):
    # The session fixture built the schema with `flask db upgrade`; nothing may be missing or extra.
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == []


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
