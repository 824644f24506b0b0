"""A real RQ worker (burst mode, in this process) runs what the outbox enqueued: the sweeps make
their reminders; a job that raises is retried with backoff and ends in the FailedJobRegistry with
its error."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import func, select

from portal.core.timeutil import utcnow
from portal.customers.jobs import sweep_contract_expiry
from portal.customers.operations import add_contract
from portal.extensions import db
from portal.jobs import queue as outbox
from portal.notifications.models import Notification
from portal.core.timeutil import today_local
from portal.service_plan.jobs import sweep_service_plan
from portal.tickets.jobs import sweep_ticket_reminders
from portal.tickets.models import Ticket
from portal.tickets.operations import take_action
from tests.jobs import sample_jobs
from tests.jobs.helpers import reminders, run_burst_worker, set_columns


def test_burst_worker_runs_the_sweeps_enqueued_through_the_outbox(users, unit_factory, ticket_factory, redis_conn):
    unit = unit_factory(status="vip")
    add_contract(unit, start_date=today_local() - timedelta(days=300), end_date=today_local() + timedelta(days=30),
                 fee=Decimal("8000"))
    ticket = ticket_factory(unit=unit)
    take_action(ticket, "assign", users["dev_manager"],
                {"assignee_id": users["engineer"].id, "deadline": utcnow() + timedelta(days=1)})
    db.session.commit()
    set_columns(Ticket, ticket.id, deadline=utcnow() - timedelta(days=2))

    jobs = [outbox.enqueue(f) for f in (sweep_service_plan, sweep_ticket_reminders, sweep_contract_expiry)]
    db.session.commit()
    # nothing has run yet: the jobs are only queued (the assignment itself opened 客服's tell-deadline reminder)
    assert [r.kind for r in reminders()] == ["tell_deadline"]
    run_burst_worker()

    for msg in jobs:
        assert Job.fetch(msg.job_id, connection=redis_conn).get_status() == JobStatus.FINISHED
    month = f"{today_local():%Y-%m}"
    assert {(r.kind, r.period) for r in reminders(customer_id=unit.id)} >= {
        ("monthly_callback", month), ("visit", month)}
    assert [r.user_id for r in reminders(kind="overdue")] == [users["engineer"].id]
    assert [r.role for r in reminders(kind="overdue_manager")] == ["dev_manager"]
    assert [r.role for r in reminders(kind="contract_expiry")] == ["market"]


def test_job_that_raises_is_retried_with_backoff_and_then_kept_as_failed_with_its_error(users, redis_conn):
    msg = outbox.enqueue(sample_jobs.always_fails, "f1", users["cs"].id)
    db.session.commit()
    queue = outbox.get_queue()
    scheduled = ScheduledJobRegistry(queue=queue)
    failed = FailedJobRegistry(queue=queue)

    run_burst_worker()
    # First failure: scheduled for a retry after the first backoff interval, not run again at once.
    assert scheduled.get_job_ids() == [msg.job_id]
    wait = scheduled.get_scheduled_time(msg.job_id) - datetime.now(timezone.utc)
    assert timedelta(seconds=outbox.RETRY["interval"][0] - 5) < wait <= timedelta(seconds=outbox.RETRY["interval"][0])

    for _ in range(outbox.RETRY["max"]):
        scheduled.requeue(msg.job_id)  # the backoff has passed
        run_burst_worker()

    assert int(redis_conn.get("test:f1:attempts")) == 1 + outbox.RETRY["max"]
    assert scheduled.get_job_ids() == []
    assert failed.get_job_ids() == [msg.job_id]
    job = Job.fetch(msg.job_id, connection=redis_conn)
    assert job.get_status() == JobStatus.FAILED and job.retries_left == 0
    assert "RuntimeError: boom f1" in job.latest_result().exc_string
    # Every attempt rolled back what it had written.
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
