"""What the service-level area plugs into the kernel: the reminder kinds of its sweep (portal/sla/sweep.py),
the ticket page's clock helper, and what it does when the working-day calendar changes."""
from flask import url_for
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, Kind
from portal.sla import clocks
from portal.sla.display import service_clocks


def clock_link(r) -> str:
    """A clock's reminder leads to its visit ("v<id>" in the reminder's period) — a ticket's leads to the ticket
    already (portal.notifications.routes.reminder_link prefers the ticket a reminder names)."""
    period = r.period or ""
    if period.startswith("v") and period[1:].isdigit():
        return f"/visits/{period[1:]}"
    return url_for("notifications.index")


def calendar_changed(first_day) -> None:
    clocks.reschedule_working_days(first_day)


AREA = Area(
    key="sla",
    kinds=[
        Kind("clock_due_soon", _l("A service promise is about to be broken"),
             recipients="whoever must keep it (the clock's person, else its role)",
             settled_by="the clock stopping (the promise kept, or no longer applying)", link=clock_link),
        Kind("clock_breached", _l("A service promise was broken (escalated)"),
             recipients="the clock's escalation role: the responsible manager",
             settled_by="the clock stopping", link=clock_link),
    ],
    listeners={"work_calendar_changed": calendar_changed},
    template_globals={"service_clocks": service_clocks},
)
