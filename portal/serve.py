"""`python -m portal.serve`: the whole portal on one machine (what run.sh starts).

Runs and watches up to four processes: the embedded redis-server (unless REDIS_URL is set; its
append-only file in the instance folder keeps queued jobs across a restart), gunicorn serving
the web on 127.0.0.1:$PORT, an RQ worker and the rq cron scheduler. A redis-server, worker or
scheduler that dies is restarted with backoff (logged, one line each); the worker and the
scheduler are (re)started only once Redis answers, so an outage is one line in the log, not a
crash loop. Ctrl-C or SIGTERM stops them all (Redis last), and each child is also tied to this
process's life (PR_SET_PDEATHSIG), so none is orphaned.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


from portal.config import load_config
from portal.core.embedded_redis import EmbeddedRedis, answers as redis_answers, die_with_parent

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
log = logging.getLogger("portal.serve")
MAX_BACKOFF = 30.0


class Child:
    """One supervised process: restarted with a doubling delay while it keeps dying young."""

    def __init__(self, name: str, start):
        self.name, self._start = name, start
        self.proc: subprocess.Popen | None = None
        self.backoff, self.next_start, self.started_at = 0.0, 0.0, 0.0

    def start(self) -> None:
        self.proc = self._start()
        self.started_at = time.monotonic()

    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def schedule_restart(self) -> None:
        code = self.proc.returncode
        self.proc = None
        lived = time.monotonic() - self.started_at
        self.backoff = 0.5 if lived > 60 else min(max(self.backoff * 2, 0.5), MAX_BACKOFF)
        self.next_start = time.monotonic() + self.backoff
        log.warning("%s exited (%s); restarting in %.1f s", self.name, code, self.backoff)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def wait(self, deadline: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s serve: %(message)s")
    os.environ.setdefault("TZ", "Asia/Shanghai")
    port = os.environ.get("PORT", "5000")
    embedded = None
    if not os.environ.get("REDIS_URL"):
        instance = os.environ.get("INSTANCE_PATH", str(ROOT / "instance"))
        embedded = EmbeddedRedis(load_config(instance)["EMBEDDED_REDIS_DIR"])
        os.environ["REDIS_URL"] = embedded.url  # the children attach to it, never start their own
        if embedded.alive():  # another process's server (e.g. a `flask shell` still open): use it, not ours to watch
            log.warning("an embedded redis-server already answers on %s; using it", embedded.socket)
            embedded = None
    url = os.environ["REDIS_URL"]

    def popen(cmd: list[str]):
        return lambda: subprocess.Popen(cmd, cwd=ROOT, preexec_fn=die_with_parent)

    children: dict[str, Child] = {}
    if embedded is not None:
        children["redis"] = Child("redis-server", embedded.spawn)
    children["web"] = Child("web", popen([str(BIN / "gunicorn"), "app:app", "-b", f"127.0.0.1:{port}",
                                          "-w", os.environ.get("WEB_CONCURRENCY", "2"), "--access-logfile", "-"]))
    needs_redis = {"worker", "cron"}
    children["worker"] = Child("worker", popen([sys.executable, "-m", "portal.jobs.worker"]))
    children["cron"] = Child("scheduler", popen([sys.executable, "-m", "portal.jobs.scheduler"]))

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if embedded is not None:
        children["redis"].start()
        embedded.wait_ready()
    print(f"售后服务门户: http://127.0.0.1:{port}  (web + worker + scheduler; Ctrl-C stops all)", flush=True)
    redis_down_said = False
    try:
        while not stopping:
            now = time.monotonic()
            redis_up = None
            for name, child in children.items():
                if child.exited():
                    if name == "web":
                        log.warning("web exited (%s); stopping", child.proc.returncode)
                        stopping = True
                        break
                    child.schedule_restart()
                if child.proc is None and now >= child.next_start:
                    if name in needs_redis:
                        if redis_up is None:
                            redis_up = redis_answers(url)
                        if not redis_up:
                            if not redis_down_said:
                                log.warning("Redis is not answering at %s; worker and scheduler wait for it", url)
                                redis_down_said = True
                            continue
                    child.start()
            if redis_up and redis_down_said:
                log.warning("Redis answers again")
                redis_down_said = False
            time.sleep(0.2)
    finally:
        for name, child in children.items():
            if name != "redis":
                child.stop()
        deadline = time.time() + 10
        for name, child in children.items():
            if name != "redis":
                child.wait(deadline)
        if "redis" in children:  # last: the others may still write on their way out
            children["redis"].stop()
            children["redis"].wait(time.time() + 10)


if __name__ == "__main__":
    main()
