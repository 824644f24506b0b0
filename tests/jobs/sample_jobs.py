"""Jobs used by the tests, importable by a worker process (`tests.jobs.sample_jobs.…`).

Each reports to Redis what it did, so a test can wait on a signal instead of sleeping."""
from __future__ import annotations

import redis
from flask import current_app
from sqlalchemy import select

from portal.core.redis_conn import get_redis
from portal.extensions import db
from portal.jobs.runtime import job
from portal.notifications.models import Notification


@job
def note_run(marker: str) -> str:
    """Counts its runs in Redis."""
    get_redis().rpush(f"test:{marker}:runs", "1")
    return marker


@job
def always_fails(marker: str, user_id: int) -> None:
    """Writes a row, counts the attempt, then fails: the row must be rolled back every time."""
    db.session.add(Notification(key=f"fail:{marker}:{get_redis().incr(f'test:{marker}:attempts')}",
                                user_id=user_id, kind="test", text="never committed"))
    db.session.flush()
    raise RuntimeError(f"boom {marker}")


def blocking_redis() -> redis.Redis:
    """A client without the portal's short read timeout, for BLPOP."""
    return redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=None)


@job
def write_effect_when_told(marker: str, user_id: int) -> str:
    """Writes its effect (one Notification, fixed key) in its transaction, tells the test it has
    started (attempt n), then waits for "go n" before committing. Killed while waiting, the
    attempt leaves nothing behind; a later attempt that finds the effect does nothing."""
    r = blocking_redis()
    key = f"effect:{marker}"
    if db.session.scalar(select(Notification.id).where(Notification.key == key)) is None:
        db.session.add(Notification(key=key, user_id=user_id, kind="test", text="effect"))
        db.session.flush()
    attempt = r.incr(f"test:{marker}:attempts")
    r.rpush(f"test:{marker}:started", attempt)
    if r.blpop([f"test:{marker}:go:{attempt}"], timeout=60) is None:
        raise TimeoutError(f"attempt {attempt} was never told to go on")
    return key


@job
def write_effect_once(marker: str, user_id: int) -> str:
    """Writes its effect (one Notification, fixed key) unless it is there, and counts its runs in Redis."""
    get_redis().rpush(f"test:{marker}:runs", "1")
    key = f"effect:{marker}"
    if db.session.scalar(select(Notification.id).where(Notification.key == key)) is None:
        db.session.add(Notification(key=key, user_id=user_id, kind="test", text="effect"))
    return key
