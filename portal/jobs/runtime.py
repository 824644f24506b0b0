"""Running jobs: every job function is wrapped by `@job`, which gives it an app context and
one transaction (commit on success, rollback on error) that also acknowledges the job's outbox
message (portal.jobs.queue.mark_done), so a job is owed until its effect is committed. Jobs receive ids, reload their rows
and do nothing if the state has moved on, so running one twice is harmless."""
from __future__ import annotations

import functools
import logging

from flask import current_app, has_app_context
from rq import get_current_job

from portal import create_app
from portal.extensions import db

log = logging.getLogger(__name__)
_app = None


def worker_app():
    """The Flask app for this worker process (created once)."""
    global _app
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        _app = create_app()
    return _app


def job(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        app = worker_app()
        with app.app_context():
            try:
                result = fn(*args, **kwargs)
                current = get_current_job()
                if current is not None:  # acknowledged with its effect, in one transaction
                    from portal.jobs.queue import mark_done

                    mark_done(current.id)
                db.session.commit()
                return result
            except BaseException:
                db.session.rollback()
                raise

    wrapper.__wrapped_job__ = True
    return wrapper
