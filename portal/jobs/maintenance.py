"""Jobs that keep the job system itself healthy."""
from __future__ import annotations

from portal.extensions import db
from portal.jobs import queue
from portal.jobs.runtime import job


@job
def drain_outbox() -> int:
    """Push whatever the outbox still holds (e.g. written while Redis was down)."""
    total = 0
    while True:
        sent = queue.drain(limit=500)
        total += sent
        if sent < 500:
            return total


@job
def resend_lost_jobs() -> int:
    """Push again the owed jobs Redis lost (e.g. a server that died without its data)."""
    db.session.commit()  # hold no transaction while talking to Redis (SQLite's write lock)
    return queue.resend_lost()
