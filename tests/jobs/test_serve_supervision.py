"""The run command with its Redis gone for a while: the worker and the scheduler are not restarted in a
loop while Redis is down (the supervisor says so once and waits), and both are back once it answers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import redis
import requests
from rq import Worker

from portal.core.embedded_redis import EmbeddedRedis
from tests.conftest import ROOT
from tests.jobs.processes import children_of, free_port, wait_until

BIN = os.path.dirname(sys.executable)
OBSERVE = 8  # seconds of outage watched for restarts (the old scheduler crash-looped every ~2.5 s)


def worker_pid(parent: int) -> int | None:
    return next((p for p, cmd in children_of(parent).items() if "portal.jobs.worker" in cmd), None)


def test_while_redis_is_down_worker_and_scheduler_wait_instead_of_crash_looping(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis")  # an external Redis, of the test's own
    server.spawn()
    server.wait_ready()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(INSTANCE_PATH=str(tmp_path / "instance"), REDIS_URL=server.url, PORT=str(port), WEB_CONCURRENCY="1",
               PYTHONUNBUFFERED="1")
    upgraded = subprocess.run([os.path.join(BIN, "flask"), "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr[-2000:]
    log = tmp_path / "serve.log"
    serve = subprocess.Popen([sys.executable, "-m", "portal.serve"], cwd=ROOT, env=env, stdout=log.open("w"),
                             stderr=subprocess.STDOUT)

    def health() -> dict:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=3).json()
        except (requests.RequestException, ValueError):
            return {}

    try:
        wait_until(lambda: health().get("worker") == "ok", 60, "the portal up with its worker")
        first_worker = worker_pid(serve.pid)
        server.proc.kill()
        server.proc.wait(10)
        assert wait_until(lambda: health().get("redis", "").startswith("error"), 10, "/healthz: redis down")
        # The worker notices at its next Redis call and leaves; the supervisor then waits for Redis.
        wait_until(lambda: "worker and scheduler wait for it" in log.read_text(), 30, "the supervisor waiting")
        before = log.read_text().count("exited (")
        time.sleep(OBSERVE)  # an observation window: nothing may be restarted during it
        text = log.read_text()
        assert text.count("exited (") - before <= 1, text[-3000:]  # at most the scheduler leaving, once
        assert text.count("Redis is not answering at") == 1
        server.spawn()
        server.wait_ready()
        client = redis.Redis(unix_socket_path=str(server.socket))

        def new_worker_registered():
            pid = worker_pid(serve.pid)
            return pid not in (None, first_worker) and any(w.pid == pid for w in Worker.all(connection=client))

        wait_until(new_worker_registered, 60, "a new worker started and registered once Redis answers")
        assert health() == {"status": "ok", "database": "ok", "redis": "ok", "worker": "ok"}
        assert "Redis answers again" in log.read_text()
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
        server.stop()
    assert serve.returncode == 0
