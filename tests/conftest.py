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


def _services_of_this_worker() -> None:
    """Under pytest-xdist (`-n 2`) each worker process runs the suite against its own PostgreSQL database
    (`<name>_gw0`, created if missing) and its own Redis database number, so two workers never wipe each
    other's tables or keys. SQLite and the embedded Redis already live in each session's own temp folder."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    index = int(worker.removeprefix("gw"))
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base, _, name = url.partition("?")[0].rpartition("/")
        mine = f"{name}_{worker}"
        admin = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"  # the maintenance database
        with psycopg.connect(admin, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (mine,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{mine}"')
        os.environ["DATABASE_URL"] = f"{base}/{mine}"
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url.startswith("redis://"):
        head, _, db_index = redis_url.rpartition("/")
        number = int(db_index) if db_index.isdigit() else 0
        os.environ["REDIS_URL"] = f"{head}/{(number + 1 + index) % 16}" if db_index.isdigit() \
            else f"{redis_url.rstrip('/')}/{(1 + index) % 16}"


def pytest_sessionstart(session):
    _services_of_this_worker()
    # ./test.sh compiles the translations through ./setup.sh; a bare `python -m pytest` after a .po was edited
    # must not test Chinese pages against a stale .mo (the portal itself only loads them).
    from portal.i18n_tools import compile_catalogues

    compile_catalogues()


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
    from portal.core import workcalendar

    workcalendar.forget()  # the per-process copy of the holidays an administrator entered (now wiped)
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


# --- an S3-compatible server over HTTP --------------------------------------------------------------

S3_BUCKET = "portal-files"
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "portal-test", "AWS_SECRET_ACCESS_KEY": "portal-test-secret",
                  "AWS_DEFAULT_REGION": "us-east-1"}
S3_START_DEADLINE = 60  # seconds for the server to answer on a loaded machine


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3-compatible server in a process of its own on 127.0.0.1 and a free port, with one bucket;
    the tests reach it only over HTTP, as the portal would reach MinIO, Ceph or AWS. Missing moto fails in CI."""
    import importlib.util
    import subprocess
    import sys
    import time

    require_or_skip(importlib.util.find_spec("moto") is not None and importlib.util.find_spec("flask_cors") is not None,
                    "moto's S3 server (pip install -r requirements.txt)")
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                          region_name=S3_CREDENTIALS["AWS_DEFAULT_REGION"])
    try:
        deadline = time.monotonic() + S3_START_DEADLINE
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto's S3 server exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
            try:
                client.create_bucket(Bucket=S3_BUCKET)
                break
            except (BotoCoreError, ClientError):  # not listening yet
                if time.monotonic() > deadline:
                    pytest.fail(f"moto's S3 server did not answer on {endpoint} within {S3_START_DEADLINE} s")
                time.sleep(0.1)
        yield {"endpoint": endpoint, "bucket": S3_BUCKET, "client": client}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def s3_files(app, s3_server, monkeypatch):
    """The app keeps attachments and the archive in the S3 server (FILE_STORAGE=s3), under a prefix of
    this test's own. Yields the prefix and a client of the test's own for looking into the bucket."""
    import secrets

    from portal.core import storage

    prefix = f"test-{secrets.token_hex(4)}"
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name, value in {"FILE_STORAGE": "s3", "S3_BUCKET": s3_server["bucket"], "S3_PREFIX": prefix,
                        "S3_ENDPOINT_URL": s3_server["endpoint"]}.items():
        monkeypatch.setitem(app.config, name, value)
    storage.forget_stores(app)
    yield {**s3_server, "prefix": prefix}
    storage.forget_stores(app)


def s3_objects(s3: dict) -> dict[str, bytes]:
    """Every object under the test's prefix, read back through the test's own client: key → content."""
    client, out = s3["client"], {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3["bucket"], Prefix=s3["prefix"] + "/"):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = client.get_object(Bucket=s3["bucket"], Key=obj["Key"])["Body"].read()
    return out
