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

    from portal.search.schema import TABLE, include_name

    names = set(inspect(db.engine).get_table_names())
    assert TABLE in names
    left_out = {n for n in names if not include_name(n, "table", {})}
    assert left_out and all(n.startswith(TABLE) for n in left_out)
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
