"""Failed jobs are visible to administrators with their error, and can be retried from the portal."""
from __future__ import annotations

from rq import Queue
from rq.registry import FailedJobRegistry

from portal.jobs.queue import get_queue
from tests.jobs import sample_jobs
from tests.jobs.helpers import run_burst_worker


def test_failed_job_is_listed_with_its_error_and_retry_requeues_it(auth, users, redis_conn):
    q = get_queue()
    job = q.enqueue(sample_jobs.always_fails, "admin-page", users["cs"].id, job_id="fails-once")
    run_burst_worker()
    assert job.id in FailedJobRegistry(queue=q).get_job_ids()

    page = auth.client_for("admin").get("/admin/jobs").get_data(as_text=True)
    assert "fails-once" in page and "always_fails" in page and "RuntimeError" in page

    r = auth.client_for("admin").post("/admin/jobs/fails-once/retry")
    assert r.status_code == 302
    assert job.id not in FailedJobRegistry(queue=q).get_job_ids()
    assert job.id in Queue("default", connection=redis_conn).get_job_ids()


def test_only_admins_see_or_retry_jobs(auth, users):
    for role in ("cs", "dev_manager", "market_manager", "engineer"):
        c = auth.client_for(role)
        assert c.get("/admin/jobs").status_code == 403
        assert c.post("/admin/jobs/whatever/retry").status_code == 403


def test_retrying_a_job_that_is_not_failed_is_404(auth, users):
    assert auth.client_for("admin").post("/admin/jobs/no-such-job/retry").status_code == 404
