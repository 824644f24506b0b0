"""Test fixtures. The suite runs against whatever DATABASE_URL / REDIS_URL say
(default: a SQLite file + the embedded Redis), always through the real migrations.

CI runs it twice: SQLite + embedded Redis, then PostgreSQL + a Redis server.
With REQUIRE_SERVICES=1 (CI) a missing service or browser fails instead of skipping.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"
PASSWORD = "test-pass-2026"
ROLE_KEYS = ["cs", "dev_manager", "engineer", "impl_manager", "impl_engineer", "market", "market_manager", "admin"]


@pytest.fixture(scope="session")
def instance_dir():
    d = Path(tempfile.mkdtemp(prefix="portal-test-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


class FreshRequestClient:
    """Mixed into the test client. The autouse fixture below keeps one app context pushed for the
    whole test (so tests can use db.session), and Flask reuses it for every request; per-request
    caches that live on `g` must therefore be forgotten before each request, or a second client
    would act as the first user (Flask-Login) or speak the first user's language (Flask-Babel)."""

    def open(self, *args, **kwargs):
        from flask import g, has_app_context

        if has_app_context():
            for key in ("_login_user", "_flask_babel"):
                g.pop(key, None)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(instance_dir):
    os.environ["INSTANCE_PATH"] = str(instance_dir)
    from portal import create_app
    from portal.extensions import db

    app = create_app({
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "FAST_PASSWORD_HASHING": True,
        "SERVER_NAME": None,
    })
    from flask.testing import FlaskClient

    app.test_client_class = type("TestClient", (FreshRequestClient, FlaskClient), {})
    with app.app_context():
        _fresh_schema(db)
    yield app
    from portal.core import embedded_redis

    embedded_redis.stop_owned()  # the embedded server this run started (none if REDIS_URL named one)


def _fresh_schema(db):
    """Drop whatever a previous run left, then build the schema from migrations/."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(directory=str(ROOT / "migrations"))


def _wipe(db):
    from sqlalchemy import text

    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        # Only the tables the last test filled, emptied with DELETE (children first) and every sequence
        # restarted: a tenth of the time of TRUNCATE over all tables, which PostgreSQL makes rewrite each one.
        from sqlalchemy.exc import IntegrityError

        filled_q = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in tables)
        try:
            with db.engine.begin() as conn:
                filled = set(conn.execute(text(filled_q)).scalars())
                for t in tables:
                    if t in filled:
                        conn.execute(text(f"DELETE FROM {t}"))
                conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n "
                                  "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = 'public'"))
        except IntegrityError:  # rows referring to each other across tables: start over the slow, sure way
            with db.engine.begin() as conn:
                conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
    else:
        with db.engine.begin() as conn:
            for t in tables:
                conn.execute(text(f"DELETE FROM {t}"))
            conn.execute(text("DELETE FROM sqlite_sequence")) if _has_sqlite_sequence(conn) else None


def _has_sqlite_sequence(conn) -> bool:
    from sqlalchemy import text

    return conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first() is not None


@pytest.fixture(autouse=True)
def _clean(app):
    """Every test starts with empty tables and an empty Redis."""
    from portal.core.redis_conn import get_redis
    from portal.extensions import db

    with app.app_context():
        _wipe(db)
        get_redis().flushdb()
    ctx = app.app_context()
    ctx.push()
    yield
    db.session.remove()
    ctx.pop()


@pytest.fixture
def db_session(app):
    from portal.extensions import db

    return db.session


@pytest.fixture
def users(app):
    """One user per role (username = role key) in the right department, plus a second engineer."""
    from portal.auth.operations import create_user
    from portal.core.enums import Role
    from portal.extensions import db

    dept = {"cs": "cs", "dev_manager": "dev", "engineer": "dev", "impl_manager": "impl", "impl_engineer": "impl",
            "market": "market", "market_manager": "market", "admin": None}
    out = {}
    for key in ROLE_KEYS:
        out[key] = create_user(key, PASSWORD, key, [Role(key)], dept[key])
    out["engineer2"] = create_user("engineer2", PASSWORD, "engineer2", [Role.ENGINEER], "dev")
    out["impl_engineer2"] = create_user("impl_engineer2", PASSWORD, "impl_engineer2", [Role.IMPL_ENGINEER], "impl")
    db.session.commit()
    return out


@pytest.fixture
def client(app):
    return app.test_client()


class Auth:
    def __init__(self, app):
        self.app = app
        self.clients = {}

    def client_for(self, username: str):
        """A logged-in test client for the user (one per user, kept for the test)."""
        if username not in self.clients:
            c = self.app.test_client()
            r = c.post("/login", data={"username": username, "password": PASSWORD})
            assert r.status_code == 302, f"login as {username} failed: {r.status_code}"
            self.clients[username] = c
        return self.clients[username]


@pytest.fixture
def auth(app, users):
    return Auth(app)


@pytest.fixture
def unit_factory(app):
    from portal.core.enums import MaintenanceStatus
    from portal.customers.operations import create_unit
    from portal.extensions import db

    counter = {"n": 0}

    def make(status=MaintenanceStatus.ORDINARY, name=None, **kw):
        counter["n"] += 1
        unit = create_unit(name or f"测试单位{counter['n']}号医院", status=MaintenanceStatus(status), **kw)
        db.session.commit()
        return unit

    return make


@pytest.fixture
def ticket_factory(app, users, unit_factory):
    """Register a ticket through the real operation, optionally driving it to a state."""
    from portal.tickets import operations as ops
    from portal.extensions import db

    def make(type="maintenance", unit=None, summary="打印机无法打印", **kw):
        unit = unit or unit_factory()
        intake = ops.Intake(channel=kw.get("channel", "hotline"), customer_id=unit.id, type=type,
                            reporter_name=kw.get("reporter_name", "刘建国"), reporter_dept="信息科",
                            reporter_phone=kw.get("reporter_phone", "13800138000"), summary=summary,
                            description=kw.get("description", "详细描述"))
        t = ops.register_ticket(users["cs"], intake)
        db.session.commit()
        return t

    return make


def require_or_skip(condition: bool, why: str):
    """Skip locally when something optional is missing; fail in CI."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"required in CI: {why}")
    pytest.skip(why)
