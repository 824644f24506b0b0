"""An outbox message is acknowledged by its job, not by the push: it stays owed until the job's own
transaction commits (`done_at`), and `resend_lost` pushes again an owed job that Redis lost — once
the job's timeout plus a margin has passed (an injected clock, no waiting). A job already done is
never pushed again, nor one that RQ has marked failed (it waits in the failed registry for an admin)."""
from __future__ import annotations

from datetime import timedelta

from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs import queue as outbox
from portal.jobs.maintenance import resend_lost_jobs
from portal.jobs.models import OutboxMessage
from portal.notifications.models import Notification
from tests.jobs import sample_jobs
from tests.jobs.helpers import call_job, run_burst_worker

LATE = timedelta(seconds=outbox.JOB_TIMEOUT + outbox.RESEND_MARGIN + 1)


def row(job_id: str) -> OutboxMessage:
    db.session.expire_all()
    r = db.session.scalar(select(OutboxMessage).where(OutboxMessage.job_id == job_id))
    db.session.commit()  # hold no transaction (SQLite's write lock) while jobs run
    return r


def effects(marker: str) -> int:
    n = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.key == f"effect:{marker}"))
    db.session.commit()
    return n


def runs(redis_conn, marker: str) -> int:
    return redis_conn.llen(f"test:{marker}:runs")


def resend(now) -> int:
    db.session.commit()
    return outbox.resend_lost(now=now)


def push(users, marker: str, fn=sample_jobs.write_effect_once) -> str:
    msg = outbox.enqueue(fn, marker, users["cs"].id)
    db.session.commit()
    return msg.job_id


def test_pushed_message_stays_owed_until_its_job_commits(users, redis_conn):
    job_id = push(users, "ack")
    r = row(job_id)
    assert r.sent_at is not None and r.done_at is None  # in Redis, but not done
    run_burst_worker()
    r = row(job_id)
    assert r.done_at is not None and effects("ack") == 1 and runs(redis_conn, "ack") == 1


def test_failed_attempt_leaves_the_message_owed(users, redis_conn):
    job_id = push(users, "owed", sample_jobs.always_fails)
    run_burst_worker()  # fails; RQ schedules its retry
    assert row(job_id).done_at is None
    assert job_id in ScheduledJobRegistry(queue=outbox.get_queue()).get_job_ids()


def test_job_lost_by_redis_is_pushed_again_after_its_timeout_and_runs_its_effect_once(users, redis_conn):
    job_id = push(users, "lost")
    sent_at = row(job_id).sent_at
    redis_conn.flushdb()  # Redis died without its data
    assert resend(sent_at + LATE - timedelta(seconds=2)) == 0  # within its time: it may still be running
    assert row(job_id).resent == 0
    assert resend(sent_at + LATE) == 1
    assert outbox.get_queue().job_ids == [job_id] and row(job_id).resent == 1
    run_burst_worker()
    assert effects("lost") == 1 and runs(redis_conn, "lost") == 1 and row(job_id).done_at is not None
    # Done: never again, even with Redis emptied and the clock far ahead.
    redis_conn.flushdb()  # (the run counter too)
    assert resend(sent_at + 10 * LATE) == 0
    run_burst_worker()
    assert effects("lost") == 1 and runs(redis_conn, "lost") == 0  # no run since


def test_job_done_is_never_pushed_again(users, redis_conn):
    job_id = push(users, "done")
    run_burst_worker()
    sent_at = row(job_id).sent_at
    redis_conn.flushdb()
    assert resend(sent_at + 100 * LATE) == 0
    assert outbox.get_queue().count == 0
    run_burst_worker()
    assert runs(redis_conn, "done") == 0 and effects("done") == 1  # (the counter went with the flush)


def test_job_still_queued_in_redis_is_not_pushed_twice(users, redis_conn):
    job_id = push(users, "queued")  # no worker runs: it waits in the queue past its timeout
    assert resend(row(job_id).sent_at + 10 * LATE) == 0
    assert outbox.get_queue().job_ids == [job_id]
    run_burst_worker()
    assert runs(redis_conn, "queued") == 1 and effects("queued") == 1


def test_a_job_run_twice_makes_its_effect_once(users, redis_conn):
    """What makes re-sending safe: the job finds its effect there and writes nothing more."""
    call_job(sample_jobs.write_effect_once, "twice", users["cs"].id)
    call_job(sample_jobs.write_effect_once, "twice", users["cs"].id)
    assert runs(redis_conn, "twice") == 2 and effects("twice") == 1


def exhaust_retries(q) -> None:
    """Run the job and each of its retries at once (what RQ's scheduler does when each is due)."""
    scheduled = ScheduledJobRegistry(queue=q)
    for _ in range(outbox.RETRY["max"] + 1):
        run_burst_worker()
        for jid in scheduled.get_job_ids():
            q._enqueue_job(Job.fetch(jid, connection=q.connection))
            scheduled.remove(jid)
    run_burst_worker()


def test_failing_job_ends_in_the_failed_registry_and_is_not_pushed_again(users, redis_conn):
    job_id = push(users, "fails", sample_jobs.always_fails)
    q = outbox.get_queue()
    exhaust_retries(q)
    assert job_id in FailedJobRegistry(queue=q).get_job_ids()
    attempts = int(redis_conn.get("test:fails:attempts"))
    assert attempts == outbox.RETRY["max"] + 1
    sent_at = row(job_id).sent_at
    assert resend(sent_at + LATE) == 0  # RQ gave up: the sweep records it and leaves it to an admin
    r = row(job_id)
    assert r.failed_at is not None and r.done_at is None and "RuntimeError" in r.last_error
    redis_conn.delete(f"rq:job:{job_id}")  # even once its failed copy expires, it is not pushed again
    assert resend(sent_at + 100 * LATE) == 0
    assert q.count == 0 and int(redis_conn.get("test:fails:attempts")) == attempts


def test_resend_lost_jobs_is_a_scheduled_job(users, redis_conn):
    from rq.cron import CronScheduler

    cron = CronScheduler(connection=redis_conn)
    cron.load_config_from_file("portal.jobs.cron_config")
    assert "portal.jobs.maintenance.resend_lost_jobs" in {j.func_name for j in cron.get_jobs()}
    assert call_job(resend_lost_jobs) == 0


def test_admin_jobs_page_counts_the_owed_jobs(auth, users, redis_conn):
    push(users, "shown")
    page = auth.client_for("admin").get("/admin/jobs").get_data(as_text=True)
    assert "已交给 Redis、尚未完成：1 个" in page
    run_burst_worker()
    page = auth.client_for("admin").get("/admin/jobs").get_data(as_text=True)
    assert "已交给 Redis、尚未完成：0 个" in page


def test_admin_retry_of_a_failed_job_makes_it_owed_again(auth, users, redis_conn):
    job_id = push(users, "again", sample_jobs.always_fails)
    q = outbox.get_queue()
    exhaust_retries(q)
    resend(row(job_id).sent_at + LATE)
    assert row(job_id).failed_at is not None
    assert auth.client_for("admin").post(f"/admin/jobs/{job_id}/retry").status_code == 302
    r = row(job_id)
    assert r.failed_at is None and r.done_at is None and q.job_ids == [job_id]
