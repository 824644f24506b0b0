"""`python -m portal.jobs.worker [--burst]`: an RQ worker for the portal's queue.

A SimpleWorker runs each job in this process (no fork: database connections are never shared
with a child); the scheduler it runs moves retried jobs back to the queue at their time.
"""
from __future__ import annotations

import argparse

from rq import SimpleWorker

from portal.jobs import runtime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    args = parser.parse_args()
    from portal import create_app
    from portal.core.redis_conn import get_redis

    app = create_app()
    runtime._app = app
    with app.app_context():
        conn = get_redis()
    worker = SimpleWorker(["default"], connection=conn)
    worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")


if __name__ == "__main__":
    main()
