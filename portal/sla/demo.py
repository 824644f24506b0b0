"""Demo data for the service-level clocks: on a first start the showcase's newest tickets show running clocks
(a first reply within 3 working days), its older open ones broken clocks (a deadline not told within 4 hours),
and — when the demo is started in working hours — an urgent call taken 40 minutes ago with its 2-hour clock
running from the call. The sweep has run once, so the reminders and escalations are there too."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Callable

from portal.core.policy import is_workday, workday_before
from portal.core.timeutil import clock_set_to, from_local, to_local
from portal.sla import sweep

OPENING, CLOSING = time(9, 0), time(17, 30)


def _working_moment(now: datetime) -> datetime:
    """Now, if it is working hours; else the last working day's closing time (staff do not register on Sunday)."""
    local = to_local(now)
    if is_workday(local.date()) and OPENING <= local.time() < CLOSING:
        return now
    day = local.date() if is_workday(local.date()) and local.time() >= CLOSING else workday_before(local.date(), 1)
    return from_local(datetime.combine(day, CLOSING))


def seed(now: datetime, u: dict, units: list, new: Callable, act: Callable) -> None:
    """`new(kind_index, unit, channel, reported_at=…)` registers, `act(ticket, action, who, **data)` acts."""
    moment = _working_moment(now)
    with clock_set_to(moment - timedelta(minutes=25)):
        # A hotline call 40 minutes before, registered a quarter of an hour later, approved urgent at once:
        # its 2-hour emergency clock runs from the call.
        t = new(0, units[0], "hotline", reported_at=moment - timedelta(minutes=40))
        act(t, "approve_urgent", "market", request="客户来电：门诊收费系统无法登录，要求紧急处理")
    with clock_set_to(moment - timedelta(minutes=10)):
        # Assigned ten minutes before: 客服 has four hours to tell the customer the deadline.
        t = new(1, units[1], "email", reported_at=moment - timedelta(hours=2))
        act(t, "assign", "dev_manager", assignee_id=u["engineer2"].id, deadline=now + timedelta(days=2),
            analysis="报表口径问题，需修改统计脚本")
    with clock_set_to(now):
        sweep.sweep(now)
