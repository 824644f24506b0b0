"""A clock in words a clerk understands: "距24小时上门时限还有3小时", "已超时2小时", "已按时完成".

The ticket page shows each of the ticket's clocks (running and stopped, its visits' included) with one query
(`service_clocks(ticket_id)`, a template global); the words never hard-code a limit: it comes from the clock's
own row (the policy in force for the customer's level when it started).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _

from portal.core.enums import MaintenanceStatus
from portal.core.kernel import kernel
from portal.core.timeutil import utcnow
from portal.sla import clocks
from portal.sla.models import ServiceClock


def duration_words(delta: timedelta) -> str:
    """3小时 · 1小时20分钟 · 2天3小时 · 不到1分钟 (the two largest units, whole)."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return _("less than a minute")
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("%(n)d d", n=days))
    if hours:
        parts.append(_("%(n)d h", n=hours))
    if mins and not days:
        parts.append(_("%(n)d min", n=mins))
    if len(parts) == 2:
        return _("%(larger)s %(smaller)s", larger=parts[0], smaller=parts[1])
    return parts[0]


def limit_words(c: ServiceClock) -> str:
    """The limit as the promise says it: "24小时", "3个工作日"."""
    return limit_words_for(c.key, c.limit_value)


def limit_words_for(key: str, limit) -> str:
    """A declared clock's limit `limit` (in its unit) in words: "24小时", "3个工作日"."""
    value = int(limit) if float(limit).is_integer() else limit
    if kernel.clock(key).unit == "working_days":
        return _("%(n)s working days", n=value)
    return _("%(n)s hours", n=value)


def promise_title(key: str, limits: dict[str, float]) -> str:
    """A promise as the dashboard names it, with the limits in force for the customer levels it covers
    ({level: limit}): "24小时上门" when they agree, "上门（VIP维护 12小时 · 其余 24小时）" when they differ."""
    declared = kernel.clocks.get(key)
    if declared is None:
        return key
    name = str(declared.title)
    distinct = sorted(set(limits.values()))
    if len(distinct) == 1:
        return _("%(limit)s %(name)s", limit=limit_words_for(key, distinct[0]), name=name)
    if not distinct:
        return name
    # The limit most levels share is said once, last ("其余"); the levels that differ from it by name.
    shared = [v for v in distinct if list(limits.values()).count(v) > 1]
    common = shared[0] if len(shared) == 1 else None  # (three levels: at most one value is shared)
    parts = [f"{MaintenanceStatus(level).title} {limit_words_for(key, limit)}"
             for level, limit in limits.items() if limit != common]
    if common is not None:
        parts.append(_("others %(limit)s", limit=limit_words_for(key, common)))
    return _("%(name)s (%(limits)s)", name=name, limits=" · ".join(parts))


@dataclass(frozen=True)
class ClockView:
    clock: ServiceClock
    title: str  # "24小时上门"
    words: str  # "距24小时上门时限还有3小时"
    state: str  # running | due_soon | breached | kept | late | void  (the CSS class)

    @property
    def red(self) -> bool:
        return self.state in ("breached", "late")


def describe(c: ServiceClock, now: datetime | None = None) -> ClockView:
    now = now or utcnow()
    declared = kernel.clocks.get(c.key)
    name = str(declared.title) if declared is not None else c.key
    title = _("%(limit)s %(name)s", limit=limit_words(c), name=name) if declared is not None else name
    if c.running:
        if now < c.due_at:
            words = _("%(left)s left of the %(title)s limit", left=duration_words(c.due_at - now), title=title)
            return ClockView(c, title, words, "due_soon" if now >= c.remind_at else "running")
        return ClockView(c, title, _("Overdue by %(over)s", over=duration_words(now - c.due_at)), "breached")
    if c.outcome == "kept":
        return ClockView(c, title, _("Kept in time"), "kept")
    if c.outcome == "breached":
        return ClockView(c, title, _("Done late, %(over)s over the limit",
                                     over=duration_words(c.stopped_at - c.due_at)), "late")
    return ClockView(c, title, _("No longer applies"), "void")


def service_clocks(ticket_id: int) -> list[ClockView]:
    """A ticket's clocks for its page (one query, whatever their number)."""
    now = utcnow()
    return [describe(c, now) for c in clocks.for_ticket(ticket_id)]
