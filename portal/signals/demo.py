"""Demo data for issue 15's signals: this week's hotline roster with its check-ins (portal/hotline/demo.py),
and a callback scored 2, so 客服部经理 and 市场部经理 each find a follow-up to record in their bell."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from portal.hotline import demo as hotline_demo
from portal.notifications import reminders


def seed(u: dict, units: list, new, act, today: date, now: datetime) -> None:
    hotline_demo.seed([u[k] for k in ("cs", "engineer", "engineer2", "impl_engineer", "cs_manager")],
                      u["duty_manager"], today, now)
    t = new(0, units[3])  # a maintenance problem
    act(t, "assign", "dev_manager", assignee_id=u["engineer2"].id, deadline=now + timedelta(days=2),
        analysis="打印模板配置问题")
    act(t, "notify_deadline", "cs", whom="马超", method="phone")
    act(t, "resolve", "engineer2", process="调整打印模板", result="打印恢复正常", hours_spent=Decimal("1.5"))
    act(t, "callback", "cs", solved=True, satisfaction=2, method="phone",
        text="问题已解决，但客户对等待时间很不满意")
    reminders.notify_people()  # the follow-ups reach the managers' bells, as the reminder sweep would
