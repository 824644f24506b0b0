"""Background jobs for administrators: failed jobs with their error and a retry button, and
what the outbox still holds. Nested under the admin blueprint (/admin/jobs, admins only)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from portal.core.redis_conn import get_redis
from portal.extensions import db
from portal.jobs.models import OutboxMessage
from portal.jobs.queue import get_queue, owed_count, pending_count, reopen_failed

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def _last_line(text: str | None) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


@bp.get("")
def index():
    redis_error = None
    failed = []
    try:
        registry = FailedJobRegistry(queue=get_queue())
        ids = registry.get_job_ids(0, 99)
        for job in Job.fetch_many(ids, connection=get_redis()):
            if job is not None:
                failed.append(dict(id=job.id, func=job.func_name, args=job.args, ended_at=job.ended_at,
                                   error=_last_line(job.exc_info), retries_left=job.retries_left))
    except Exception as e:  # Redis down: say so, keep the page
        redis_error = f"{type(e).__name__}: {e}"
    waiting = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
                                      .order_by(OutboxMessage.id).limit(50)))
    return render_template("admin/jobs.html", failed=failed, waiting=waiting, pending=pending_count(),
                           owed=owed_count(), redis_error=redis_error)


@bp.post("/<job_id>/retry")
def retry(job_id: str):
    try:
        job = Job.fetch(job_id, connection=get_redis())
    except (NoSuchJobError, ValueError):  # ValueError: not a job id at all (RQ refuses other characters)
        abort(404)
    registry = FailedJobRegistry(queue=get_queue(job.origin or "default"))
    if job.id not in registry.get_job_ids():
        abort(404)
    registry.requeue(job.id)
    reopen_failed(job.id)
    db.session.commit()
    flash(_("The job is queued again."), "success")
    return redirect(url_for("admin.jobs.index"))
