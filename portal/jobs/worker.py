"""`python -m portal.jobs.worker [--burst]`: an RQ worker for the portal's queue.

A SimpleWorker runs each job in this process (no fork: database connections are never shared
with a child); the scheduler it runs moves retried jobs back to the queue at their time. RQ forks
that scheduler into a process of its own: it is tied to this one's life, so a worker that is
killed (OOM, SIGKILL) leaves no orphan scheduler behind holding the scheduler lock.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import signal

import logging
import sys

import time

import redis
from rq import SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler

from portal import create_app
from portal.core import embedded_redis
from portal.core.redis_conn import get_redis
from portal.jobs import runtime

PR_SET_PDEATHSIG = 1


def _tie_child_to_worker(worker_pid: int) -> None:
    """In a process forked by the worker: get SIGTERM (RQ's scheduler stops cleanly on it) when
    the worker dies, however it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: nothing to tie to
        return
    if os.getppid() != worker_pid:  # the worker died before the tie was made
        os._exit(0)


class QuietScheduler(RQScheduler):
    """RQ's scheduler (moves retried jobs back to the queue when due) that waits out a Redis outage
    with one log line instead of dying with a traceback."""

    def work(self):
        while True:
            try:
                return super().work()
            except (redis.ConnectionError, redis.TimeoutError) as e:
                if self._stop_requested:
                    return  # stopping anyway (its worker is gone); its lock expires by itself
                self.log.warning("scheduler: Redis is not answering (%s); waiting for it", type(e).__name__)
                delay = 0.2
                while True:
                    time.sleep(delay)
                    try:
                        self.connection.ping()
                        break
                    except (redis.ConnectionError, redis.TimeoutError):
                        delay = min(delay * 2, 5.0)
                self.log.warning("scheduler: Redis is back")


class PortalWorker(SimpleWorker):
    def _start_scheduler(self, burst: bool = False, logging_level: str | None = None,
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT, log_format: str = DEFAULT_LOGGING_FORMAT):
        """RQ's own _start_scheduler (rq 3.0), with the scheduler that survives a Redis outage."""
        self.scheduler = QuietScheduler(self.queues, connection=self.connection,
                                        logging_level=logging_level if logging_level is not None else self.log.level,
                                        date_format=date_format, log_format=log_format, serializer=self.serializer)
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            if burst:
                try:
                    self.scheduler.register_birth()
                    self.scheduler.enqueue_scheduled_jobs()
                finally:
                    self.scheduler.release_locks()
                    self.scheduler.register_death()
            else:
                self.scheduler.start()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    app = create_app()
    runtime._app = app
    with app.app_context():
        conn = get_redis()
    # Redis not (yet) answering: wait, saying so once, instead of dying with a traceback.
    embedded_redis.wait_for(app.config["REDIS_URL"], name="worker")
    worker_pid = os.getpid()
    os.register_at_fork(after_in_child=lambda: _tie_child_to_worker(worker_pid))
    worker = PortalWorker(["default"], connection=conn)
    try:
        worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
    except (redis.ConnectionError, redis.TimeoutError) as e:  # lost on the way out (RQ's teardown)
        logging.getLogger("portal.worker").warning("worker: lost Redis (%s); exiting, to be started again once "
                                                   "it answers", type(e).__name__)
        sys.exit(75)
    if not args.burst and not worker._stop_requested:
        # RQ's loop gave up (e.g. Redis gone for good): exit non-zero to be restarted once it is back.
        sys.exit(75)


if __name__ == "__main__":
    main()
