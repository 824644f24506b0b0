"""The review-period sweep: published articles not reviewed for `policy_for(None).kb_review_days` become one reminder
to their owner each (keyed by article and review date, so running twice creates nothing new), delivered to
the owner in person. A reviewer re-confirming, sending back or archiving the article settles it."""
from __future__ import annotations

from portal.jobs.runtime import job
from portal.kb import operations as ops
from portal.notifications import reminders


def sweep() -> dict[str, int]:
    return {"kb_stale": ops.open_stale_reminders(), "notified": reminders.notify_people()}


@job
def sweep_stale_articles() -> dict[str, int]:
    return sweep()
