"""The database restarted under load: a private PostgreSQL server (initdb into a temporary folder, its own port)
is stopped and started again while staff keep working through the portal, which is not restarted.

The shared server the rest of the suite uses is left alone; this one belongs to the test.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.extensions import db
from tests.conftest import PASSWORD, ROOT, require_or_skip
from tests.security.test_bad_day import ON_POSTGRES, UNAVAILABLE, clean_503, free_port

PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
DEADLINE = 60


class PrivatePostgres:
    """A PostgreSQL server of the test's own. As root, it runs as the `postgres` user (initdb refuses root)."""

    def __init__(self):
        self.bin = Path(PG_BINS[-1])
        self.dir = Path(tempfile.mkdtemp(prefix="portal-pg-"))
        self.data, self.log, self.port = self.dir / "data", self.dir / "server.log", free_port()
        self.prefix = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        # (run from the server's own folder: the checkout may not be readable by the postgres user)
        subprocess.run([*self.prefix, str(self.bin / tool), *args], check=True, capture_output=True, timeout=DEADLINE,
                       cwd=self.dir)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(DEADLINE), "-o", opts, "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", str(DEADLINE), "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_postgres():
    require_or_skip(bool(PG_BINS) and (os.geteuid() != 0 or shutil.which("runuser") is not None),
                    "PostgreSQL's server programs (initdb, pg_ctl) to run a private server")
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.remove()


def portal_on(pg, main_app):
    """A second portal (its own engine and pool) on the private server, schema from the migrations, staff signed in."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.auth.operations import create_user
    from portal.core.enums import Role
    from portal.customers.operations import create_unit

    portal = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "FAST_PASSWORD_HASHING": True,
                         "REDIS_URL": main_app.config["REDIS_URL"], "SQLALCHEMY_DATABASE_URI": pg.url,
                         "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}}})
    with portal.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        for key, dept in (("cs", "cs"), ("dev_manager", "dev"), ("engineer", "dev")):
            create_user(key, PASSWORD, key, [Role(key)], dept)
        unit_id = create_unit("昆明市第一人民医院").id
        db.session.commit()
        db.session.remove()
    clients = {}
    for key in ("cs", "dev_manager", "engineer"):
        c = portal.test_client()
        assert c.post("/login", data={"username": key, "password": PASSWORD}).status_code == 302
        clients[key] = c
    r = clients["cs"].post("/tickets/new", content_type="multipart/form-data", data={  # (loads jieba's dictionary)
        "channel": "hotline", "customer_id": str(unit_id), "type": "maintenance", "reporter_name": "刘建国",
        "reporter_dept": "信息科", "reporter_phone": "13800138000", "summary": "重启前登记", "description": "x"})
    assert r.status_code == 302
    return portal, clients, unit_id


@pytest.mark.skipif(not ON_POSTGRES, reason="run once, in the PostgreSQL leg of the suite")
def test_postgresql_restarted_under_load_requests_fail_cleanly_and_the_portal_recovers_without_a_restart(
        app, private_postgres):
    pg = private_postgres
    portal, clients, unit_id = portal_on(pg, app)
    phase = ["up"]  # up → down (server stopped) → starting → again (started); the portal process is never restarted
    answers, errors, registered = [], [], []
    lock, stop = threading.Lock(), threading.Event()

    def work(role):
        c, i = clients[role], 0
        try:
            while not stop.is_set():
                i += 1
                began = phase[0]
                if role == "cs" and i % 3 == 0:
                    r = c.post("/tickets/new", content_type="multipart/form-data", data={
                        "channel": "hotline", "customer_id": str(unit_id), "type": "maintenance",
                        "reporter_name": "刘建国", "reporter_dept": "信息科", "reporter_phone": "13800138000",
                        "summary": f"重启时登记{i}", "description": "x"})
                    kind = "register"
                else:
                    r = c.get(["/", "/tickets"][i % 2])
                    kind = "read"
                with lock:
                    answers.append((began, phase[0], kind, r.status_code, clean_503(r) if r.status_code == 503 else True))
                    if kind == "register" and r.status_code == 302:
                        registered.append(r.headers["Location"])
                time.sleep(0.005)  # (pacing only: the phases below wait on answers, not on time)
        except Exception as e:  # an exception that escaped the portal: a failure of the test
            errors.append(f"{role}: {e!r}")

    def wait_for(count_in, n):
        deadline = time.monotonic() + DEADLINE
        while not errors and time.monotonic() < deadline:
            with lock:
                if sum(1 for a in answers if count_in(a)) >= n:
                    return
            time.sleep(0.01)
        raise AssertionError(f"waited {DEADLINE} s for {n} answers; errors: {errors}")

    threads = [threading.Thread(target=work, args=(role,), daemon=True) for role in clients]
    for t in threads:
        t.start()
    try:
        wait_for(lambda a: a[0] == "up" and a[2] == "register" and a[3] == 302, 2)
        pg.stop()
        phase[0] = "down"
        wait_for(lambda a: a[0] == a[1] == "down", 12)
        phase[0] = "starting"  # (answers that end from here on may already have reached the server)
        pg.start()
        phase[0] = "again"
        wait_for(lambda a: a[0] == "again" and a[2] == "register", 3)
    finally:
        stop.set()
        for t in threads:
            t.join(DEADLINE)
    assert not errors, errors
    assert {a[3] for a in answers} <= {200, 302, 503}
    assert all(a[4] for a in answers), "a 503 without the Chinese page, or with a traceback"
    while_down = [a for a in answers if a[0] == a[1] == "down"]
    assert while_down and all(a[3] == 503 for a in while_down), [a for a in while_down if a[3] != 503]
    after = [a for a in answers if a[0] == "again"]
    assert after and all(a[3] in (200, 302) for a in after), "the portal did not recover by itself"
    # Every registration answered as saved is there; none is there twice; none appeared from nowhere.
    attempts = sum(1 for a in answers if a[2] == "register") + 1  # (+ the one portal_on registered)
    with portal.app_context():
        from portal.tickets.models import Ticket

        numbers = list(db.session.scalars(select(Ticket.number)))
        db.session.remove()
    assert {loc.rsplit("/", 1)[-1] for loc in registered} <= set(numbers) and len(registered) == len(set(registered))
    assert len(registered) + 1 <= len(numbers) <= attempts
    print(Counter((a[0], a[2], a[3]) for a in answers))
    print(f"{len(answers)} answers; {len(while_down)} clean 503s while the server was stopped; "
          f"{len(after)} answered after it started again; {len(registered)} tickets registered")
    r = clients["cs"].get("/tickets")
    assert r.status_code == 200 and UNAVAILABLE not in r.get_data(as_text=True)
    with portal.app_context():
        db.engine.dispose()  # the private server is removed next
