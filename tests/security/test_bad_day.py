"""A bad day: Redis stopped while staff work, a worker killed mid-job, PostgreSQL connections cut under load.

Already covered elsewhere, and not repeated here:
- the transactional outbox with Redis unreachable (commit succeeds, the message waits, `drain_outbox`
  sends it once): tests/jobs/test_outbox.py;
- a worker process killed (SIGKILL) mid-job → RQ retries it and its effect happens once:
  tests/jobs/test_killed_job.py::test_job_killed_mid_way_is_retried_and_its_effect_happens_once.

Here: the same through the staff's HTTP flow with a real Redis server that is stopped and started again,
and the database's connections terminated while requests run (PostgreSQL).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest
import redis
from rq import SimpleWorker
from sqlalchemy import func, select, text

from portal.extensions import db
from portal.jobs import queue as outbox
from portal.jobs.models import OutboxMessage
from portal.notifications.models import Notification
from portal.tickets.models import Ticket
from tests.conftest import require_or_skip
from tests.jobs.test_delivery import smtp_server  # noqa: F401  (a real SMTP server on loopback)
from tests.tickets.test_flows_http import act, deadline_in, register

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
DEADLINE = 30  # seconds for a redis-server to start or stop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of its own on a free loopback port, with an append-only file so that it comes
    back with what it held (as a restarted production Redis would)."""

    def __init__(self, workdir):
        self.binary = shutil.which("redis-server")
        self.port, self.dir, self.proc = free_port(), str(workdir), None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "yes", "--dir", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(DEADLINE)
        self.proc = None


@pytest.fixture
def job_redis(app, tmp_path):
    """The portal's job Redis is a server of the test's own (the login throttle keeps the suite's)."""
    require_or_skip(shutil.which("redis-server") is not None, "redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    saved = app.extensions["portal_redis"]
    app.extensions["portal_redis"] = redis.Redis(port=server.port, socket_timeout=2, socket_connect_timeout=2)
    app.extensions.pop(outbox._PAUSE_KEY, None)
    yield server
    app.extensions["portal_redis"] = saved
    app.extensions.pop(outbox._PAUSE_KEY, None)
    if server.proc is not None:
        server.stop()


def ids(unit) -> SimpleNamespace:
    return SimpleNamespace(id=unit.id)  # what register() needs, usable after the session is closed


def release() -> None:
    db.session.commit()  # SQLite: the test holds no write lock while the portal writes
    db.session.close()


def waiting_messages() -> int:
    db.session.commit()
    n = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
    db.session.commit()  # and hold no transaction after reading (SQLite's write lock)
    return n


def drain() -> int:
    release()
    return outbox.drain()


def run_worker() -> None:
    release()
    SimpleWorker(["default"], connection=outbox.get_redis()).work(burst=True, with_scheduler=False,
                                                                   logging_level="WARNING")


def test_with_redis_stopped_staff_register_and_move_tickets_and_the_jobs_run_once_it_is_back(
        app, auth, users, unit_factory, job_redis, smtp_server):
    for key in ("dev_manager", "engineer"):
        users[key].email = f"{key}@example.com"
    unit, engineer_id = ids(unit_factory()), users["engineer"].id
    clients = {k: auth.client_for(k) for k in ("cs", "dev_manager")}  # staff signed in before Redis stops
    release()

    job_redis.stop()
    number = register(auth, unit)  # 客服 registers: 302, the ticket exists
    act(clients["dev_manager"], number, "assign", assignee_id=str(engineer_id), deadline=deadline_in(),
        analysis="驱动程序损坏")
    assert clients["cs"].get(f"/tickets/{number}").status_code == 200
    db.session.commit()
    t = db.session.scalar(select(Ticket).where(Ticket.number == number))
    assert t.state != "registered" and t.assignee_id == engineer_id
    waiting = waiting_messages()
    assert waiting >= 1  # at least the e-mail telling the engineer of the assignment
    release()

    job_redis.start()
    assert drain() == waiting  # what `drain_outbox` (every minute) does once Redis answers
    assert waiting_messages() == 0 and drain() == 0
    run_worker()
    rcpts = sorted(r for e in smtp_server.envelopes for r in e.rcpt_tos)
    from portal.auth.models import User
    from rq.registry import FinishedJobRegistry

    assert len(FinishedJobRegistry(queue=outbox.get_queue())) == waiting  # every job that waited has run
    expected = sorted(db.session.scalars(select(User.email).join(Notification, Notification.user_id == User.id)
                                         .where(User.email.is_not(None))))
    release()
    assert rcpts == expected and "engineer@example.com" in rcpts  # one e-mail per notification with an address
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.delivered_at.is_(None))) == 0
    # Nothing runs twice: a second drain and a second worker find nothing to send.
    assert drain() == 0
    run_worker()
    assert len(smtp_server.envelopes) == len(expected)


# --- PostgreSQL restarted under load -------------------------------------------------------

postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="terminating backends is a PostgreSQL test")
UNAVAILABLE = "数据库暂时无法连接"


def terminate_all_other_backends() -> int:
    with db.engine.connect() as conn:
        n = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        conn.commit()
    return n


def clean_503(r) -> bool:
    body = r.get_data(as_text=True)
    return r.status_code == 503 and UNAVAILABLE in body and "Traceback" not in body and "psycopg" not in body


class KillOnStatement:
    """Terminates, from another connection, the backend of the connection about to run the first
    statement that matches — a real cut in the middle of a request, at a chosen point."""

    def __init__(self, engine, match: str):
        self.engine, self.match, self.armed, self.killed = engine, match.lower(), True, 0

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if self.armed and self.match in statement.lower():
            self.armed = False
            pid = conn.connection.dbapi_connection.info.backend_pid
            import psycopg

            url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(url, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (pid,))
            self.killed += 1


@postgres_only
@pytest.mark.parametrize("match,htmx", [("from tickets", False), ("from tickets", True), ("insert into tickets", False)])
def test_connection_cut_mid_request_gives_a_clean_chinese_503_and_the_next_request_works(
        app, auth, users, unit_factory, match, htmx):
    from sqlalchemy import event

    unit = ids(unit_factory())
    cs = auth.client_for("cs")
    before = db.session.scalar(select(func.count()).select_from(Ticket))
    release()
    kill = KillOnStatement(db.engine, match)
    event.listen(db.engine, "before_cursor_execute", kill)
    headers = {"HX-Request": "true"} if htmx else {}
    try:
        if match.startswith("insert"):
            r = cs.post("/tickets/new", content_type="multipart/form-data", data={
                "channel": "hotline", "customer_id": str(unit.id), "type": "maintenance", "reporter_name": "刘建国",
                "reporter_dept": "信息科", "reporter_phone": "13800138000", "summary": "断线时登记", "description": "x"})
        else:
            r = cs.get("/tickets", headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", kill)
    assert kill.killed == 1
    assert r.status_code == 503 and "Traceback" not in r.get_data(as_text=True)
    if htmx:
        assert UNAVAILABLE in r.get_data(as_text=True) and "<html" not in r.get_data(as_text=True)
    else:
        assert clean_503(r)
    assert r.headers["Retry-After"] and "no-store" in r.headers["Cache-Control"]
    # The very next request works: no restart.
    assert cs.get("/tickets").status_code == 200
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == before  # the cut request wrote nothing
    assert register(auth, unit).startswith("SH-")


@postgres_only
def test_connection_cut_right_after_registering_commits_still_answers_that_the_ticket_was_saved(
        app, auth, users, unit_factory):
    """The ticket is saved; the connection is cut at the next statement after the commit. Nothing after the
    commit may need the database — not the redirect, not the response headers — or the clerk is told it failed
    and registers the same problem twice."""
    from sqlalchemy import event

    unit = ids(unit_factory())
    cs = auth.client_for("cs")
    before = db.session.scalar(select(func.count()).select_from(Ticket))
    release()
    kill = KillOnStatement(db.engine, "select")
    kill.armed = False

    def arm(_conn):
        kill.armed = True

    event.listen(db.engine, "commit", arm)
    event.listen(db.engine, "before_cursor_execute", kill)
    try:
        r = cs.post("/tickets/new", content_type="multipart/form-data", data={
            "channel": "hotline", "customer_id": str(unit.id), "type": "maintenance", "reporter_name": "刘建国",
            "reporter_dept": "信息科", "reporter_phone": "13800138000", "summary": "提交后断线", "description": "x"})
        armed_after = kill.armed
    finally:
        event.remove(db.engine, "before_cursor_execute", kill)
        event.remove(db.engine, "commit", arm)
    assert kill.killed == 0 and armed_after, "the answer to a saved ticket issued a query after the commit"
    assert r.status_code == 302 and "/tickets/SH-" in r.headers["Location"]
    assert "no-store" in r.headers["Cache-Control"]
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == before + 1
    assert cs.get(r.headers["Location"]).status_code == 200


class KillAfterCommit(KillOnStatement):
    """Cuts the connection at the first statement after the request's commit."""

    def __init__(self, engine):
        super().__init__(engine, "select")
        self.armed = False

    def arm(self, _conn):
        self.armed = True

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "commit", self.arm)
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self)
        event.remove(self.engine, "commit", self.arm)


SAVED_BUT_LOST = "您的操作已保存，但页面显示前数据库连接中断。请勿重复提交"


@postgres_only
@pytest.mark.parametrize("htmx", [False, True])
def test_connection_cut_after_a_ticket_action_commits_never_invites_sending_it_twice(
        app, auth, users, unit_factory, htmx):
    """Plain form: the redirect needs no query, so the answer is the usual 302. htmx: the fragment needs the
    database, so the answer is a 503 — one that says the note was saved, not 'try again'."""
    from tests.tickets.test_flows_http import form_version, page, post

    unit = ids(unit_factory())
    number = register(auth, unit)
    cs = auth.client_for("cs")
    version = form_version(page(cs, number), "comment")
    release()
    with KillAfterCommit(db.engine) as kill:
        r = post(cs, number, "comment", version, htmx=htmx, text="已电话联系客户")
    body = r.get_data(as_text=True)
    if htmx:
        assert kill.killed == 1 and r.status_code == 503 and SAVED_BUT_LOST in body and "Traceback" not in body
    else:
        assert kill.killed == 0 and r.status_code == 302 and r.headers["Location"].endswith(f"/tickets/{number}")
    db.session.remove()
    notes = db.session.scalar(text("SELECT count(*) FROM events WHERE action = 'comment' AND text = '已电话联系客户'"))
    assert notes == 1
    assert cs.get(f"/tickets/{number}").status_code == 200


def test_a_database_failure_before_anything_was_saved_does_not_claim_it_was_saved(app, auth, users, unit_factory):
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    unit = ids(unit_factory())
    cs = auth.client_for("cs")
    cs.get("/tickets")

    def fail(conn, cursor, statement, *_):
        if "insert into tickets" in statement.lower():
            raise OperationalError(statement, {}, Exception("server closed the connection unexpectedly"))

    event.listen(db.engine, "before_cursor_execute", fail)
    try:
        r = cs.post("/tickets/new", content_type="multipart/form-data", data={
            "channel": "hotline", "customer_id": str(unit.id), "type": "maintenance", "reporter_name": "刘建国",
            "reporter_dept": "信息科", "reporter_phone": "13800138000", "summary": "未保存", "description": "x"})
    finally:
        event.remove(db.engine, "before_cursor_execute", fail)
    body = r.get_data(as_text=True)
    assert r.status_code == 503 and UNAVAILABLE in body and SAVED_BUT_LOST not in body


@postgres_only
def test_all_connections_terminated_under_load_requests_fail_cleanly_and_the_portal_recovers(
        app, auth, users, unit_factory):
    unit = ids(unit_factory())
    roles = ["cs", "dev_manager", "engineer", "market"]
    clients = {r: auth.client_for(r) for r in roles}
    release()
    done, errors, answers = [0], [], []
    lock = threading.Lock()
    rounds_wanted = 5
    stop = threading.Event()

    def work(role):
        c = clients[role]
        i = 0
        try:
            while not stop.is_set() and i < 400:
                i += 1
                if role == "cs" and i % 3 == 0:
                    r = c.post("/tickets/new", content_type="multipart/form-data", data={
                        "channel": "hotline", "customer_id": str(unit.id), "type": "maintenance",
                        "reporter_name": "刘建国", "reporter_dept": "信息科", "reporter_phone": "13800138000",
                        "summary": f"负载{i}", "description": "x"})
                else:
                    r = c.get(["/", "/tickets", "/notifications"][i % 3])
                with lock:
                    answers.append((r.status_code, clean_503(r) if r.status_code == 503 else True))
                    done[0] += 1
        except Exception as e:  # an exception that escaped the portal: a failure of the test
            import traceback

            errors.append(f"{role}: {e!r}\n{traceback.format_exc()[-1500:]}")

    threads = [threading.Thread(target=work, args=(r,), daemon=True) for r in roles]
    for t in threads:
        t.start()
    killed = 0
    try:
        for _round in range(rounds_wanted):
            target = done[0] + 8
            deadline = time.monotonic() + 120
            while done[0] < target and not errors and time.monotonic() < deadline:
                time.sleep(0.01)
            killed += terminate_all_other_backends()
    finally:
        stop.set()
        for t in threads:
            t.join(120)
    db.session.remove()
    assert not errors, errors
    assert killed > 0
    statuses = {s for s, _ in answers}
    assert statuses <= {200, 302, 503}, statuses
    assert all(clean for _, clean in answers), "a 503 without the Chinese page, or with a traceback"
    print(f"{len(answers)} answers, {sum(1 for s, _ in answers if s == 503)} clean 503s, {killed} backends terminated")
    # Recovered without a restart: every role's next requests succeed.
    for role, c in clients.items():
        assert c.get("/tickets").status_code == 200, role
    assert register(auth, unit).startswith("SH-")


def test_with_the_database_down_pages_answer_a_clean_chinese_503_and_nothing_leaks(app):
    """A portal whose database does not answer at all (stopped, or restarting: connections refused)."""
    from portal import create_app

    down = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "REDIS_URL": app.config["REDIS_URL"],
                       "SQLALCHEMY_DATABASE_URI": f"postgresql://postgres@127.0.0.1:{free_port()}/portal",  # nobody listens
                       "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}}})
    client = down.test_client()
    for url, headers in (("/tickets", {}), ("/tickets", {"HX-Request": "true"})):
        with client.session_transaction() as s:  # a signed-in user's cookie: loading the user needs the database
            s["_user_id"], s["_fresh"] = "x" * 43, True
        r = client.get(url, headers=headers)
        body = r.get_data(as_text=True)
        assert r.status_code == 503, (url, headers, r.status_code)
        assert "数据库暂时无法连接" in body and "Traceback" not in body and "psycopg" not in body
        assert r.headers["Cache-Control"] == "no-store" and r.headers["Retry-After"]
    r = client.post("/login", data={"username": "cs", "password": "x"})
    assert r.status_code == 503 and "数据库暂时无法连接" in r.get_data(as_text=True)
