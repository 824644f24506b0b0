"""The transactional outbox: a job is enqueued only if its transaction commits, is pushed to RQ
right after the commit, and waits in the database while Redis is down until `drain()` sends it —
once."""
from __future__ import annotations

import os
import tempfile

import pytest
import redis
from rq import Queue
from rq.job import Job
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.jobs import queue as outbox
from portal.jobs.maintenance import drain_outbox
from portal.jobs.models import OutboxMessage
from portal.notifications.models import Notification
from tests.jobs import sample_jobs
from tests.jobs.helpers import call_job


def rq_queue() -> Queue:
    return outbox.get_queue("default")


def messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def drain() -> int:
    """`outbox.drain()` from outside any transaction (as the drain_outbox job and the after-commit
    hook call it): on SQLite the test's own open transaction would hold the write lock."""
    db.session.commit()
    return outbox.drain()


def note(users, key: str) -> Notification:
    n = Notification(key=key, user_id=users["cs"].id, kind="test", text="x")
    db.session.add(n)
    return n


@pytest.fixture
def redis_down(app):
    """The app's Redis connection pointed at a unix socket nobody listens on; restored afterwards."""
    saved = app.extensions["portal_redis"]
    dead = os.path.join(tempfile.mkdtemp(prefix="no-redis-"), "redis.sock")
    app.extensions["portal_redis"] = redis.Redis(unix_socket_path=dead, socket_timeout=1, socket_connect_timeout=1)
    yield
    app.extensions["portal_redis"] = saved
    app.extensions.pop(outbox._PAUSE_KEY, None)  # Redis is back: commits push again at once


def test_committed_job_is_in_the_rq_queue_right_after_the_commit(users, redis_conn):
    msg = outbox.enqueue(sample_jobs.note_run, "a")
    note(users, "with-the-job")
    db.session.commit()
    [row] = messages()
    assert row.sent_at is not None and row.attempts == 0 and row.last_error is None
    assert rq_queue().job_ids == [msg.job_id]
    job = Job.fetch(msg.job_id, connection=redis_conn)
    assert job.func_name == "tests.jobs.sample_jobs.note_run" and job.args == ("a",)
    assert job.retries_left == outbox.RETRY["max"]


def test_rolled_back_transaction_enqueues_nothing(users, redis_conn):
    outbox.enqueue(sample_jobs.note_run, "rolled-back")
    note(users, "rolled-back")
    db.session.flush()  # the rows were written, then the transaction is abandoned
    db.session.rollback()
    assert messages() == []
    assert rq_queue().count == 0
    # Nothing of the abandoned transaction leaks into the next one.
    kept = outbox.enqueue(sample_jobs.note_run, "kept")
    db.session.commit()
    assert [m.job_id for m in messages()] == [kept.job_id]
    assert rq_queue().job_ids == [kept.job_id]


def test_transaction_whose_commit_fails_enqueues_nothing(users):
    note(users, "taken")
    db.session.commit()
    outbox.enqueue(sample_jobs.note_run, "failed-commit")
    note(users, "taken")  # the same unique key: the commit fails
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert messages() == []
    assert rq_queue().count == 0


def test_request_that_fails_enqueues_nothing(app, users):
    # A request that enqueues, then raises: Flask-SQLAlchemy's teardown discards the session.
    with app.test_request_context("/tickets", method="POST"):
        outbox.enqueue(sample_jobs.note_run, "request")
        note(users, "request")
        db.session.flush()
        app.do_teardown_appcontext()  # what the end of the request does with the session
    assert messages() == []
    assert rq_queue().count == 0


def test_commit_succeeds_while_redis_is_down_and_the_message_waits_in_the_outbox(users, redis_down):
    msg = outbox.enqueue(sample_jobs.note_run, "later")
    note(users, "written-anyway")
    db.session.commit()  # does not raise
    [row] = messages()
    assert row.job_id == msg.job_id and row.sent_at is None
    assert row.attempts == 1 and "Error" in row.last_error
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
    assert drain() == 0  # still down: nothing sent, the row waits
    assert messages()[0].sent_at is None and messages()[0].attempts == 2


def wait_in_outbox(app, make):
    """Run `make()` and commit while Redis is down, then bring Redis back."""
    saved = app.extensions["portal_redis"]
    app.extensions["portal_redis"] = redis.Redis(unix_socket_path="/nonexistent/redis.sock", socket_connect_timeout=1)
    try:
        out = make()
        db.session.commit()
    finally:
        app.extensions["portal_redis"] = saved
    return out


def test_drain_sends_a_waiting_message_once_redis_is_back(app, users, redis_conn):
    msg = wait_in_outbox(app, lambda: outbox.enqueue(sample_jobs.note_run, "later"))
    assert rq_queue().count == 0
    assert drain() == 1
    assert drain() == 0
    assert rq_queue().job_ids == [msg.job_id]
    assert messages()[0].sent_at is not None


def test_drain_outbox_job_sends_every_waiting_message_once(app, users, redis_conn):
    ids = wait_in_outbox(app, lambda: [outbox.enqueue(sample_jobs.note_run, str(i)).job_id for i in range(3)])
    assert call_job(drain_outbox) == 3
    assert call_job(drain_outbox) == 0
    assert sorted(rq_queue().job_ids) == sorted(ids)


def test_after_redis_was_found_down_commits_leave_their_messages_to_drain(app, users, redis_down):
    # The redis client retries with backoff: a request must not wait for that on every commit.
    outbox.enqueue(sample_jobs.note_run, "first")
    db.session.commit()
    outbox.enqueue(sample_jobs.note_run, "second")
    db.session.commit()
    first, second = messages()
    assert first.attempts == 1 and first.last_error
    assert second.attempts == 0 and second.last_error is None and second.sent_at is None


def test_once_drain_succeeds_commits_push_at_once_again(app, users, redis_conn):
    wait_in_outbox(app, lambda: outbox.enqueue(sample_jobs.note_run, "waited"))
    assert drain() == 1
    msg = outbox.enqueue(sample_jobs.note_run, "at-once")
    db.session.commit()
    assert messages()[-1].sent_at is not None
    assert msg.job_id in rq_queue().job_ids


def test_a_message_pushed_but_not_marked_sent_is_not_queued_twice(users, redis_conn):
    # A drain that pushed the job and died before marking the row: the next drain finds the job
    # already in Redis (same job id) and only marks the row.
    msg = outbox.enqueue(sample_jobs.note_run, "once")
    db.session.commit()
    db.session.execute(OutboxMessage.__table__.update().values(sent_at=None))
    db.session.commit()
    assert drain() == 1
    assert rq_queue().job_ids == [msg.job_id]
    assert messages()[0].sent_at is not None


def test_enqueue_refuses_a_job_id_rq_would_refuse(users):
    with pytest.raises(ValueError):
        outbox.enqueue(sample_jobs.note_run, "x", job_id="note:1")


def test_a_message_redis_refuses_does_not_hold_back_the_ones_after_it(users, redis_conn):
    # e.g. a row written by an older version: RQ refuses its id every time it is pushed.
    db.session.add(OutboxMessage(func="tests.jobs.sample_jobs.note_run", args=["bad"], job_id="note:bad"))
    db.session.add(OutboxMessage(func="tests.jobs.sample_jobs.note_run", args=["good"], job_id="note-good"))
    db.session.commit()
    assert drain() == 1
    bad, good = messages()
    assert bad.sent_at is None and bad.attempts == 1 and bad.last_error.startswith("ValueError")
    assert good.sent_at is not None
    assert rq_queue().job_ids == ["note-good"]
