"""The embedded Redis is never orphaned: whoever starts it stops it (a CLI command, gunicorn's arbiter,
a test run's conftest), a process that merely attaches leaves it alone, and a server whose folder
has gone still stops on SIGTERM (no RDB save points to fail on)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path


from portal.core.embedded_redis import EmbeddedRedis
from tests.jobs.processes import free_port, redis_servers_in, wait_until

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def env_for(instance: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(INSTANCE_PATH=str(instance), FLASK_APP="app", **extra)
    return env


def flask(instance: Path, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env_for(instance),
                          capture_output=True, text=True, timeout=timeout)


def test_cli_command_that_started_the_embedded_redis_stops_it_on_exit(tmp_path):
    done = flask(tmp_path, "db", "upgrade")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "redis.conf").exists()  # it did start one…
    assert redis_servers_in(tmp_path) == []  # …and left none behind


def test_cli_command_that_attached_leaves_the_running_server_alone(tmp_path):
    server = EmbeddedRedis(tmp_path)
    server.spawn()
    try:
        server.wait_ready()
        done = flask(tmp_path, "db", "upgrade")
        assert done.returncode == 0, done.stderr[-2000:]
        assert redis_servers_in(tmp_path) == [server.proc.pid] and server.alive()
    finally:
        server.stop()
    assert redis_servers_in(tmp_path) == []


def test_gunicorn_stopped_with_sigterm_leaves_no_redis_server(tmp_path):
    assert flask(tmp_path, "db", "upgrade").returncode == 0
    port = free_port()
    web = subprocess.Popen([str(BIN / "gunicorn"), "app:app", "-b", f"127.0.0.1:{port}", "-w", "2"], cwd=ROOT,
                           env=env_for(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def healthy():
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
            except OSError:
                return False

        wait_until(healthy, 45, "gunicorn answering /healthz")
        servers = redis_servers_in(tmp_path)
        assert len(servers) == 1  # one server for the arbiter and both workers
        web.send_signal(signal.SIGTERM)
        web.wait(30)
    finally:
        if web.poll() is None:
            web.kill()
            web.wait()
    wait_until(lambda: not redis_servers_in(tmp_path), 10, "the embedded redis-server gone")


def test_server_whose_folder_is_gone_still_stops_on_sigterm(tmp_path):
    folder = tmp_path / "instance"
    server = EmbeddedRedis(folder)
    proc = server.spawn()
    server.wait_ready()
    shutil.rmtree(folder)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0  # a clean exit on SIGTERM, not one that needs SIGKILL


def test_a_test_run_leaves_no_redis_server_behind(tmp_path):
    """The conftest of a (small) test run stops the embedded server it started."""
    env = env_for(tmp_path)
    env.pop("INSTANCE_PATH")
    env["TMPDIR"] = str(tmp_path)  # the run's instance folder is made under here
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/test_health.py", "-q", "-p", "no:cacheprovider"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout[-3000:]
    assert redis_servers_in(tmp_path) == []
