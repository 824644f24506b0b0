"""Engine set-up: SQLite in WAL mode with foreign keys and a busy timeout.

On SQLite a transaction that reads then writes can fail with SQLITE_BUSY at once unless it
began with BEGIN IMMEDIATE; so every transaction except those of GET/HEAD requests takes the
write lock up front, and concurrent writers queue (busy_timeout) instead of failing.
"""
from __future__ import annotations

import logging

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.exc import InterfaceError, OperationalError

from portal.extensions import db

log = logging.getLogger(__name__)


def is_sqlite(engine) -> bool:
    return engine.dialect.name == "sqlite"


def _note_commit(_session) -> None:
    if has_request_context():
        request.environ["portal.db_committed"] = True  # (the request's own: `g` may outlive it)


def committed_in_this_request() -> bool:
    """Whether this request has already saved something: if the database then fails, the error page must
    say the work was saved (retrying would save it twice), not that nothing happened."""
    return bool(has_request_context() and request.environ.get("portal.db_committed"))


def configure_engine_events(app) -> None:
    # Runs before Flask-SQLAlchemy's own teardown (teardowns run in reverse order of registration).
    @app.teardown_appcontext
    def _end_session_even_if_the_connection_is_gone(exc):
        """Closing the session rolls back on its connection; if the database cut that connection
        (PostgreSQL restarted, backends terminated) after the response was made, the rollback fails.
        SQLAlchemy has already dropped the connection from the pool by then; the request is over, so
        the error must not escape into the WSGI server: the next request gets a fresh connection."""
        try:
            db.session.remove()
        except (OperationalError, InterfaceError) as e:
            log.warning("database connection lost while closing the session: %s", str(e).splitlines()[0])
            try:
                db.session.remove()
            except (OperationalError, InterfaceError):
                db.session.registry.clear()

    if not event.contains(db.session, "after_commit", _note_commit):
        event.listen(db.session, "after_commit", _note_commit)

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
