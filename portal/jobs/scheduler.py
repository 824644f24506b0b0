"""`python -m portal.jobs.scheduler`: the rq cron scheduler (portal.jobs.cron_config) that waits
for Redis instead of crash-looping. Run exactly one.

Equivalent to `rq cron portal.jobs.cron_config --url $REDIS_URL`, except that a Redis that is not
answering is waited for (one log line), and losing it ends this process with one line and exit
code 75, for its supervisor to start it again once Redis answers.
"""
from __future__ import annotations

import logging
import os
import sys

import redis
from rq.cron import CronScheduler

from portal import create_app
from portal.core import embedded_redis

log = logging.getLogger("portal.scheduler")
CONFIG = "portal.jobs.cron_config"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("TZ", "Asia/Shanghai")  # rq 3 reads cron strings in local time
    url = os.environ.get("REDIS_URL")
    if not url:
        url = create_app().config["REDIS_URL"]
    conn = embedded_redis.wait_for(url, name="scheduler")
    try:
        cron = CronScheduler(connection=conn, logging_level="INFO")
        cron.load_config_from_file(CONFIG)
        cron.start()
    except (redis.ConnectionError, redis.TimeoutError) as e:
        log.warning("scheduler: lost Redis (%s: %s); exiting, to be started again once it answers",
                    type(e).__name__, e)
        sys.exit(75)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
