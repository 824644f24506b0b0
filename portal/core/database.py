"""Engine set-up: SQLite in WAL mode with foreign keys and a busy timeout.

On SQLite a transaction that reads then writes can fail with SQLITE_BUSY at once unless it
began with BEGIN IMMEDIATE; so every transaction except those of GET/HEAD requests takes the
write lock up front, and concurrent writers queue (busy_timeout) instead of failing.
"""
from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy import event

from portal.extensions import db


def is_sqlite(engine) -> bool:
    return engine.dialect.name == "sqlite"


def configure_engine_events(app) -> None:
    with app.app_context():
        engine = db.engine
    if not is_sqlite(engine):
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        read_only = has_request_context() and request.method in ("GET", "HEAD")
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
