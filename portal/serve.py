"""`python -m portal.serve`: the whole portal on one machine (what run.sh starts).

Starts (or joins) the embedded Redis unless REDIS_URL is set, then runs and watches three
processes: gunicorn serving the web on 127.0.0.1:$PORT, an RQ worker, and the `rq cron`
scheduler. A worker or scheduler that dies is restarted; Ctrl-C or SIGTERM stops them all,
and each child is also tied to this process's life (PR_SET_PDEATHSIG), so none is orphaned.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def main() -> None:
    os.environ.setdefault("TZ", "Asia/Shanghai")
    port = os.environ.get("PORT", "5000")
    if not os.environ.get("REDIS_URL"):
        from portal.config import load_config
        from portal.core.redis_conn import start_embedded

        instance = os.environ.get("INSTANCE_PATH", str(ROOT / "instance"))
        os.environ["REDIS_URL"] = start_embedded(load_config(instance)["EMBEDDED_REDIS_FILE"])
    url = os.environ["REDIS_URL"]
    commands = {
        "web": [str(BIN / "gunicorn"), "app:app", "-b", f"127.0.0.1:{port}",
                "-w", os.environ.get("WEB_CONCURRENCY", "2"), "--access-logfile", "-"],
        "worker": [sys.executable, "-m", "portal.jobs.worker"],
        "cron": [str(BIN / "rq"), "cron", "portal.jobs.cron_config", "--url", url],
    }
    children: dict[str, subprocess.Popen] = {}

    def start(name: str) -> None:
        children[name] = subprocess.Popen(commands[name], cwd=ROOT, preexec_fn=_die_with_parent)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name in commands:
        start(name)
    print(f"售后服务门户: http://127.0.0.1:{port}  (web + worker + scheduler; Ctrl-C stops all)", flush=True)
    try:
        while not stopping:
            for name, proc in list(children.items()):
                if proc.poll() is not None:
                    if name == "web":
                        stopping = True
                        break
                    print(f"{name} exited ({proc.returncode}); restarting", flush=True)
                    start(name)
            time.sleep(0.5)
    finally:
        for proc in children.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.time() + 10
        for proc in children.values():
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
