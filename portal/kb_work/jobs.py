"""The knowledge base's views, counted in Redis as pages are read, added to the database every few minutes
(scheduled in portal/jobs/cron_config.py; one run at a time, under a Redis lock)."""
from __future__ import annotations

from portal.jobs.runtime import job
from portal.kb_work import measures


@job
def roll_up_kb_views() -> dict:
    return {"views": measures.roll_up_views()}
