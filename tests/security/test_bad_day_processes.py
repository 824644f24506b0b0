"""A bad day with real processes: the run command (`python -m portal.serve`) is running, its worker is
paused (SIGSTOP) while staff register tickets and request a summary over HTTP — the jobs are pushed to
Redis and owed in the outbox — then the redis-server is killed with SIGKILL. Redis comes back (the
embedded one by the run command itself; an external one restarted as its own supervisor would) with
its append-only file, the worker goes on, and every owed job is done exactly once: one e-mail per
notification, the document ready once, every outbox row acknowledged.

SQLite + the embedded Redis always; PostgreSQL + a Redis server of the test's own when DATABASE_URL
names PostgreSQL (skipped otherwise, failed under REQUIRE_SERVICES=1 only where it should run).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import create_engine, text

from portal.core.embedded_redis import EmbeddedRedis
from tests.jobs.processes import children_of, free_port, redis_servers_in, wait_until
from tests.jobs.test_delivery import smtp_server  # noqa: F401  (a real SMTP server on loopback)

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "test-pass-2026"
TICKETS = 5
DEV_MANAGERS = ("dm1", "dm2")  # each is @mentioned in a note on each new ticket: 2 × 5 notifications, each an e-mail
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")

SETUP = f"""
from portal import create_app
from portal.auth.operations import create_user
from portal.core.enums import MaintenanceStatus, Role
from portal.customers.operations import create_unit
from portal.documents.operations import summary_periods
from portal.extensions import db

app = create_app({{"FAST_PASSWORD_HASHING": True}})
with app.app_context():
    from flask_migrate import upgrade

    upgrade(directory="migrations")  # what `flask db upgrade` does (one process instead of two)
    create_user("cs", "{PASSWORD}", "客服", [Role.CS], "cs")
    for name in {DEV_MANAGERS!r}:
        create_user(name, "{PASSWORD}", name, [Role.DEV_MANAGER], "dev", email=name + "@example.com")
    unit = create_unit("坏日子第一医院", status=MaintenanceStatus.VIP)
    db.session.commit()
    print(unit.id, summary_periods(unit)[0][0])
"""


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


class Portal:
    """The run command on a fresh instance folder and a free port."""

    def __init__(self, tmp_path: Path, env: dict):
        self.instance = tmp_path / "instance"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "serve.log"
        self.env = dict(env, INSTANCE_PATH=str(self.instance), PORT=str(self.port), WEB_CONCURRENCY="1",
                        PYTHONUNBUFFERED="1")
        self.proc: subprocess.Popen | None = None

    def run(self, *args, timeout=120) -> str:
        done = subprocess.run(args, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        return done.stdout

    def prepare(self) -> tuple[int, str]:
        unit_id, period = self.run(sys.executable, "-c", SETUP).split()
        return int(unit_id), period

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "portal.serve"], cwd=ROOT, env=self.env,
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT)

    def health(self) -> dict:
        try:
            return requests.get(f"{self.base}/healthz", timeout=3).json()
        except (requests.RequestException, ValueError):
            return {}

    def worker_pid(self) -> int:
        [pid] = [p for p, cmd in children_of(self.proc.pid).items() if "portal.jobs.worker" in cmd]
        return pid

    def login(self, username: str) -> requests.Session:
        s = requests.Session()
        token = csrf(s.get(f"{self.base}/login", timeout=10).text)
        r = s.post(f"{self.base}/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                   allow_redirects=False, timeout=10)
        assert r.status_code == 302, f"login as {username}: {r.status_code}"
        return s

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def register_ticket(s: requests.Session, base: str, unit_id: int, n: int) -> None:
    token = csrf(s.get(f"{base}/tickets/new", timeout=10).text)
    r = s.post(f"{base}/tickets/new", files={"_": ("", b"")}, data={
        "csrf_token": token, "channel": "hotline", "customer_id": str(unit_id), "type": "maintenance",
        "reporter_name": "刘建国", "reporter_dept": "信息科", "reporter_phone": "13800138000",
        "summary": f"打印机无法打印 {n}", "description": "点击打印后无反应"}, allow_redirects=False, timeout=20)
    assert r.status_code == 302 and "/tickets/SH-" in r.headers["Location"], r.status_code
    # A note that pulls both development managers in (a new ticket alone notifies nobody personally).
    page = s.get(base + r.headers["Location"], timeout=10).text
    version = re.search(r'name="comment-version"[^>]*value="(\d+)"', page).group(1)
    r = s.post(base + r.headers["Location"] + "/actions/comment", data={
        "csrf_token": csrf(page), "comment-version": version,
        "comment-text": " ".join(f"@{u}" for u in DEV_MANAGERS) + " 请看一下"}, allow_redirects=False, timeout=20)
    assert r.status_code == 302, r.status_code


def request_summary(s: requests.Session, base: str, unit_id: int, period: str) -> None:
    token = csrf(s.get(f"{base}/customers/{unit_id}", timeout=10).text)
    r = s.post(f"{base}/documents/units/{unit_id}/summary", data={"csrf_token": token, "period": period},
               allow_redirects=False, timeout=20)
    assert r.status_code == 302 and "/documents/" in r.headers["Location"], r.status_code


def pause_idle(pid: int, client: redis.Redis) -> None:
    """SIGSTOP the worker between jobs (never inside one: it would hold SQLite's write lock)."""
    from rq import Worker

    def stopped_idle():
        os.kill(pid, signal.SIGSTOP)
        if any(w.pid == pid and w.get_state() == "idle" for w in Worker.all(connection=client)):
            return True
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.05)
        return False

    wait_until(stopped_idle, 30, "the worker stopped between jobs", every=0)


def held_jobs(client: redis.Redis) -> set[str]:
    """Job ids Redis holds for the queue: waiting, or moved to RQ's intermediate list by a worker's
    BLMOVE (the paused worker's pending dequeue takes the first job pushed)."""
    from rq import Queue

    q = Queue("default", connection=client)
    return {j.decode() for key in (q.key, q.intermediate_queue_key) for j in client.lrange(key, 0, -1)}


def owed_job_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT job_id FROM outbox WHERE done_at IS NULL")).scalars())


def counts(engine) -> dict:
    with engine.connect() as conn:
        one = lambda sql: conn.execute(text(sql)).scalar()  # noqa: E731
        return dict(
            outbox=one("SELECT count(*) FROM outbox"),
            pushed=one("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL"),
            done=one("SELECT count(*) FROM outbox WHERE done_at IS NOT NULL"),
            notifications=one("SELECT count(*) FROM notifications"),
            delivered=one("SELECT count(*) FROM notifications WHERE delivered_at IS NOT NULL"),
            documents=one("SELECT count(*) FROM documents"),
            ready=one("SELECT count(*) FROM documents WHERE status = 'ready'"),
        )


def bad_day(tmp_path: Path, env: dict, smtp, database_url: str, redis_socket: Path, kill_and_restart_redis) -> None:
    portal = Portal(tmp_path, env)
    unit_id, period = portal.prepare()
    engine = create_engine(database_url)
    try:
        portal.start()
        wait_until(lambda: portal.health().get("worker") == "ok", 45, "the portal up with its worker")
        worker = portal.worker_pid()
        pause_idle(worker, redis.Redis(unix_socket_path=str(redis_socket)))  # what is pushed stays in Redis
        try:
            cs = portal.login("cs")
            for n in range(TICKETS):
                register_ticket(cs, portal.base, unit_id, n)
            request_summary(cs, portal.base, unit_id, period)
            before = counts(engine)
            # Every job was handed to Redis (the outbox marks it sent) and none is done.
            assert before["outbox"] == before["pushed"] == TICKETS * len(DEV_MANAGERS) + 1, before
            assert before["done"] == 0 and before["ready"] == 0 and smtp.envelopes == []
            kill_and_restart_redis(portal, engine)
        finally:
            os.kill(worker, signal.SIGCONT)
        expected = TICKETS * len(DEV_MANAGERS)
        wait_until(lambda: counts(engine)["done"] == expected + 1, 40,
                   "every owed job done after Redis came back\n" + portal.output()[-3000:])
        after = counts(engine)
        assert after == dict(outbox=expected + 1, pushed=expected + 1, done=expected + 1, notifications=expected,
                             delivered=expected, documents=1, ready=1), after
        # Exactly once: one e-mail per notification, nothing left queued to run again.
        rcpts = sorted(r for e in smtp.envelopes for r in e.rcpt_tos)
        assert rcpts == sorted(f"{m}@example.com" for m in DEV_MANAGERS for _ in range(TICKETS))
        r = redis.Redis(unix_socket_path=str(redis_socket))
        assert r.llen("rq:queue:default") == 0 and r.zcard("rq:wip:default") == 0
        assert portal.health() == {"status": "ok", "database": "ok", "redis": "ok", "worker": "ok"}
        assert portal.worker_pid() == worker  # the worker lived through the outage
        assert len(list((portal.instance / "documents").rglob("*.pdf"))) == 1  # one file, never a second
        log = portal.output()
        assert log.count("Redis is not answering") <= 2, log[-3000:]  # one line per process that noticed
    finally:
        portal.stop()
        engine.dispose()
    assert redis_servers_in(portal.instance) == []  # the run command stopped its Redis on the way out


def test_run_command_brings_its_killed_redis_back_and_every_owed_job_runs_once(tmp_path, smtp_server):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}

    def kill(portal: Portal, engine) -> None:
        [pid] = redis_servers_in(portal.instance)
        os.kill(pid, signal.SIGKILL)
        # Back by itself: a new server, answering, with what it held.
        wait_until(lambda: redis_servers_in(portal.instance) not in ([], [pid]), 20, "a new redis-server")
        wait_until(lambda: portal.health().get("redis") == "ok", 20, "/healthz: redis ok")
        # The append-only file kept every pushed job: in the queue, or handed to the paused worker.
        assert owed_job_ids(engine) <= held_jobs(redis.Redis(unix_socket_path=str(portal.instance / "redis.sock")))

    bad_day(tmp_path, env, smtp_server, f"sqlite:///{tmp_path / 'instance' / 'portal.db'}",
            tmp_path / "instance" / "redis.sock", kill)
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert log.count("redis-server exited (-9); restarting") == 1
    # No crash loop: the worker lived through it, the scheduler restarted at most once.
    assert log.count("worker exited") == 0 and log.count("scheduler exited") <= 1, log[-3000:]


@pytest.mark.skipif(not ON_POSTGRES, reason="the PostgreSQL run of the suite (DATABASE_URL) does this one")
def test_postgres_run_with_its_redis_server_restarted_runs_every_owed_job_once(app, tmp_path, smtp_server):
    from sqlalchemy.engine import make_url

    server = EmbeddedRedis(tmp_path / "redis")  # a redis-server of the test's own, not the shared one
    server.spawn()
    server.wait_ready()
    url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg").render_as_string(False)
    env = dict(os.environ, REDIS_URL=server.url)

    def restart(portal: Portal, engine) -> None:
        held_before = held_jobs(redis.Redis(unix_socket_path=str(server.socket)))
        assert owed_job_ids(engine) <= held_before
        server.proc.kill()  # SIGKILL
        server.proc.wait(10)
        wait_until(lambda: portal.health().get("redis", "").startswith("error"), 10, "/healthz: redis down")
        server.spawn()
        server.wait_ready()
        wait_until(lambda: portal.health().get("redis") == "ok", 20, "/healthz: redis ok")
        assert held_jobs(redis.Redis(unix_socket_path=str(server.socket))) == held_before

    try:
        bad_day(tmp_path, env, smtp_server, url, server.socket, restart)
    finally:
        server.stop()
