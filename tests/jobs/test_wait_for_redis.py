"""The worker and the scheduler started while Redis is down wait for it — one log line, no traceback,
no exit (the old `rq cron` crash-looped with a traceback per restart) — and go to work once it answers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import redis
from rq import Worker
from rq.cron import CronScheduler

from portal.core.embedded_redis import EmbeddedRedis
from tests.conftest import ROOT
from tests.jobs.processes import wait_until


def test_worker_and_scheduler_wait_for_redis_then_start(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis")
    env = dict(os.environ, REDIS_URL=server.url, INSTANCE_PATH=str(tmp_path / "instance"), PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    # The schema first: once Redis is back the scheduler fires its jobs at once, and a job failing on a database
    # without tables would put a traceback in the worker's log that is not what this test is about.
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, check=True,
                   env=dict(env, REDIS_URL=""), capture_output=True, timeout=120)
    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "scheduler")}
    procs = {name: subprocess.Popen([sys.executable, "-m", f"portal.jobs.{name}"], cwd=ROOT, env=env,
                                    stdout=logs[name].open("w"), stderr=subprocess.STDOUT)
             for name in logs}
    try:
        for name in logs:  # both start, find no Redis, and say so once
            wait_until(lambda: "Redis is not answering" in logs[name].read_text(), 60, f"{name} waiting")
        assert all(p.poll() is None for p in procs.values())  # still running, not crashed
        server.spawn()
        server.wait_ready()
        client = redis.Redis(unix_socket_path=str(server.socket))
        wait_until(lambda: Worker.count(connection=client) == 1, 30, "the worker registered")
        wait_until(lambda: len(CronScheduler.all(connection=client)) == 1, 30, "the scheduler registered")
        for name, log in logs.items():
            text = log.read_text()
            assert text.count("Redis is not answering") == 1 and "Traceback" not in text, text[-2000:]
            assert procs[name].poll() is None
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        server.stop()
