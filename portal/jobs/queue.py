"""Enqueueing jobs through the transactional outbox, and draining it.

`enqueue(func, *ids)` only adds an OutboxMessage to the current transaction. After the
transaction commits, the new messages are pushed to RQ (best effort); whatever could not be
pushed (Redis down) is pushed later by the `drain_outbox` job or the next successful drain.
A rolled-back transaction enqueues nothing.

A pushed message is acknowledged only when its job succeeds: the @job wrapper sets `done_at` in
the job's own transaction (`mark_done`). Until then it is owed, and `resend_lost()` pushes again
any owed message whose job Redis no longer holds (a Redis that died without its data) once the
job's timeout plus a margin has passed. Jobs are idempotent, so a second run changes nothing;
a job RQ has marked failed stays in its failed registry (retry from /admin/jobs), never re-sent.
"""
from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus, validate_job_id
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from portal.core.redis_conn import get_redis
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.jobs.models import OutboxMessage

log = logging.getLogger(__name__)
JOB_TIMEOUT = 300
# An owed job Redis does not hold is re-sent only this long after its push: by then it would have
# finished (or failed into the registry) had it been running.
RESEND_MARGIN = 60
RETRY = dict(max=5, interval=[10, 60, 300, 900, 3600])  # backoff between attempts
_SESSION_KEY = "portal_outbox_new"
# After a failed push, commits leave their messages to `drain_outbox` for this long instead of
# trying again: the redis client retries with backoff (seconds), which each request would wait for.
PUSH_PAUSE_SECONDS = 30
_PAUSE_KEY = "portal_outbox_paused_until"


def dotted(func: Callable | str) -> str:
    return func if isinstance(func, str) else f"{func.__module__}.{func.__name__}"


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis(), default_timeout=JOB_TIMEOUT)


def enqueue(func: Callable | str, *args, job_id: str | None = None, queue: str = "default") -> OutboxMessage:
    """Ask for `func(*args)` to run once this transaction commits. Args must be ids / plain values."""
    path = dotted(func)
    job_id = job_id or f"{path.rsplit('.', 1)[-1]}-{secrets.token_hex(8)}"
    validate_job_id(job_id)  # RQ's rule (letters, digits, _ and -): refuse it here, not at every drain
    msg = OutboxMessage(func=path, args=list(args), job_id=job_id, queue=queue)
    db.session.add(msg)
    db.session.info.setdefault(_SESSION_KEY, []).append(msg)
    return msg


def _push(msg_id: int, func: str, args: list, job_id: str, queue: str) -> None:
    try:
        get_queue(queue).enqueue(
            func, *args, job_id=job_id, unique=True, retry=Retry(**RETRY), job_timeout=JOB_TIMEOUT,
            failure_ttl=30 * 24 * 3600, result_ttl=24 * 3600,
        )
    except DuplicateJobError:
        pass  # already pushed once (a drain that ran twice): the job is there


def drain(limit: int = 500, ids: list[int] | None = None) -> int:
    """Push unsent outbox rows to RQ; return how many were sent. Safe to run twice or concurrently."""
    q = select(OutboxMessage.id, OutboxMessage.func, OutboxMessage.args, OutboxMessage.job_id, OutboxMessage.queue) \
        .where(OutboxMessage.sent_at.is_(None)).order_by(OutboxMessage.id).limit(limit)
    if ids is not None:
        q = q.where(OutboxMessage.id.in_(ids))
    with db.engine.connect() as conn:
        rows = conn.execute(q).all()
    sent, failed, redis_down = [], {}, False
    for row in rows:
        try:
            _push(*row)
        except (RedisConnectionError, RedisTimeoutError) as e:  # Redis down: keep the rows for the next drain
            failed[row.id] = f"{type(e).__name__}: {e}"[:500]
            redis_down = True
            break  # the rest would fail the same way
        except Exception as e:  # this message is refused: keep it (with why), send the others
            failed[row.id] = f"{type(e).__name__}: {e}"[:500]
            log.error("outbox message %s refused: %s", row.id, failed[row.id])
            continue
        sent.append(row.id)
    if redis_down:
        current_app.extensions[_PAUSE_KEY] = time.monotonic() + PUSH_PAUSE_SECONDS
    elif sent:
        current_app.extensions.pop(_PAUSE_KEY, None)
    if sent or failed:
        with db.engine.begin() as conn:
            if sent:
                conn.execute(update(OutboxMessage).where(OutboxMessage.id.in_(sent)).values(sent_at=utcnow()))
            for mid, err in failed.items():
                conn.execute(update(OutboxMessage).where(OutboxMessage.id == mid)
                             .values(attempts=OutboxMessage.attempts + 1, last_error=err))
    return len(sent)


def mark_done(job_id: str) -> None:
    """Acknowledge the outbox message of `job_id`, in the caller's (the job's) transaction."""
    db.session.execute(update(OutboxMessage).where(OutboxMessage.job_id == job_id, OutboxMessage.done_at.is_(None))
                       .values(done_at=utcnow()))


def resend_lost(now: datetime | None = None, limit: int = 500) -> int:
    """Push again the owed messages whose jobs Redis lost; return how many. Safe to run concurrently:
    the push is `unique`, so a job that is back in Redis is not doubled."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=JOB_TIMEOUT + RESEND_MARGIN)
    q = select(OutboxMessage.id, OutboxMessage.func, OutboxMessage.args, OutboxMessage.job_id, OutboxMessage.queue) \
        .where(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < cutoff, OutboxMessage.done_at.is_(None),
               OutboxMessage.failed_at.is_(None)).order_by(OutboxMessage.id).limit(limit)
    with db.engine.connect() as conn:
        rows = conn.execute(q).all()
    if not rows:
        return 0
    jobs = Job.fetch_many([r.job_id for r in rows], connection=get_redis())
    resent, done, failed = [], [], {}
    for row, job in zip(rows, jobs):
        if job is None:  # lost with the server (or its result expired unacknowledged): run it again
            _push(*row)
            resent.append(row.id)
            continue
        status = job.get_status(refresh=False)
        if status == JobStatus.FAILED:
            result = job.latest_result()
            lines = ((result.exc_string if result else "") or "").strip().splitlines()
            failed[row.id] = ("RQ failed: " + (lines[-1] if lines else ""))[:500]
        elif status in (JobStatus.CANCELED, JobStatus.STOPPED):  # someone ended it on purpose
            failed[row.id] = f"RQ {status.value}"
        elif status == JobStatus.FINISHED:
            done.append(row.id)  # a plain function (not @job) that cannot acknowledge itself
        # queued, scheduled for a retry, started, deferred: RQ still has it
    with db.engine.begin() as conn:
        if resent:
            log.warning("outbox: %d job(s) lost by Redis pushed again", len(resent))
            conn.execute(update(OutboxMessage).where(OutboxMessage.id.in_(resent))
                         .values(sent_at=now, resent=OutboxMessage.resent + 1))
        if done:
            conn.execute(update(OutboxMessage).where(OutboxMessage.id.in_(done)).values(done_at=now))
        for mid, err in failed.items():
            conn.execute(update(OutboxMessage).where(OutboxMessage.id == mid).values(failed_at=now, last_error=err))
    return len(resent)


def reopen_failed(job_id: str) -> None:
    """An administrator retried the job from RQ's failed registry: it is owed again."""
    db.session.execute(update(OutboxMessage).where(OutboxMessage.job_id == job_id)
                       .values(failed_at=None, sent_at=utcnow()))


def pending_count() -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint is released, not the real commit (SQLAlchemy 2.1 fires the event for it)
    new = session.info.pop(_SESSION_KEY, None)
    if new:
        session.flush()  # ids are known before the commit; no SQL may run after it
        session.info[_SESSION_KEY + "_ids"] = [m.id for m in new]


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    ids = session.info.pop(_SESSION_KEY + "_ids", None)
    if not ids:
        return
    if time.monotonic() < current_app.extensions.get(_PAUSE_KEY, 0):
        return  # Redis was just found down: drain_outbox sends these when it is back
    if current_app.config.get("OUTBOX_PUSH_AFTER_COMMIT", True):
        try:
            drain(ids=ids)
        except Exception:  # never fail the request that already committed
            log.exception("outbox push after commit failed; drain_outbox will retry")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_SESSION_KEY, None)
    session.info.pop(_SESSION_KEY + "_ids", None)


def owed_count() -> int:
    """Pushed to Redis, not yet acknowledged by the job, not given up by RQ."""
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.sent_at.is_not(None), OutboxMessage.done_at.is_(None), OutboxMessage.failed_at.is_(None)))
