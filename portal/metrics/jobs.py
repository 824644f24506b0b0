"""Jobs that keep the metrics pre-aggregate current (scheduled in portal/jobs/cron_config.py).
Only one runs at a time (a Redis lock); a run that finds another one busy does nothing."""
from __future__ import annotations

import logging
from datetime import date

from portal.extensions import db
from portal.jobs.runtime import job
from portal.metrics import refresh

log = logging.getLogger(__name__)


@job
def refresh_metrics() -> dict:
    """What changed since the last run (every few minutes)."""
    try:
        with refresh.exclusive():
            return refresh.refresh(db.session.commit)
    except refresh.Busy:
        log.info("metrics refresh skipped: another refresh or rebuild is running")
        return {"skipped": True}


@job
def refresh_metrics_days(days: list[str]) -> dict:
    """Recount these days (ISO dates) and their months: days a change left that a refresh cannot find. Unlike
    the periodic runs it must not be skipped: while another refresh runs it fails (Busy), and RQ runs it again
    later (the outbox's retries)."""
    with refresh.exclusive():
        return refresh.refresh_days([date.fromisoformat(d) for d in days])


@job
def rebuild_metrics() -> dict:
    """Everything, in short transactions (nightly: the safety net for anything a refresh missed)."""
    try:
        with refresh.exclusive():
            return refresh.rebuild(db.session.commit)
    except refresh.Busy:
        log.info("metrics rebuild skipped: another refresh or rebuild is running")
        return {"skipped": True}
