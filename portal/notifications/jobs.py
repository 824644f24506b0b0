"""Delivery jobs. Each takes ids, reloads, and does nothing if already done."""
from __future__ import annotations

import logging

from flask_babel import force_locale
from sqlalchemy import select

from portal.auth.models import User
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.jobs.queue import enqueue
from portal.jobs.runtime import job
from portal.notifications import delivery
from portal.notifications.models import Notification
from portal.notifications.texts import describe, digest

log = logging.getLogger(__name__)


@job
def deliver_notification(notification_id: int) -> str:
    n = db.session.get(Notification, notification_id, with_for_update=True)
    if n is None or n.delivered_at is not None:
        return "nothing to do"
    user = db.session.get(User, n.user_id)
    if user is None or not user.active or not user.email or not delivery.smtp_configured():
        n.delivered_at = utcnow()
        return "no channel"
    with force_locale(user.locale or "zh_CN"):
        subject, body = describe(n)
    try:
        delivery.send_email(user.email, user.display_name, subject, body)
    except delivery.InvalidAddress:
        log.warning("notification %s: user %s has an invalid e-mail address; not sent", n.id, user.id)
        n.delivered_at = utcnow()
        return "invalid address"
    n.delivered_at = utcnow()
    return "sent"


@job
def post_reminder_digest(kind: str, role: str, count: int, period: str = "") -> list[str]:
    """Tell the department's group robot that new reminders are due (one message per sweep)."""
    if not delivery.webhook_targets() or count <= 0:
        return []
    with force_locale("zh_CN"):
        title, text = digest(kind, role, count, period)
    return delivery.send_webhooks(title, text)


def deliver_reminder_notifications(created_at, limit: int = 500) -> int:
    """E-mail the notifications that personal reminders created at `created_at` (one sweep's: a second
    sweep creates none, so no notification is delivered twice)."""
    if not delivery.smtp_configured():
        return 0
    ids = list(db.session.scalars(select(Notification.id).where(
        Notification.reminder_id.is_not(None), Notification.delivered_at.is_(None),
        Notification.created_at == created_at).order_by(Notification.id).limit(limit)))
    for nid in ids:
        enqueue(deliver_notification, nid, job_id=f"deliver-{nid}")
    return len(ids)


def announce(new: list[tuple[str, str, int]], period: str = "") -> None:
    """After a sweep: one group-robot message per (kind, role) with new reminders, if configured."""
    if not delivery.webhook_targets():
        return
    for kind, role, count in new:
        if count > 0:
            enqueue(post_reminder_digest, kind, role, count, period)
