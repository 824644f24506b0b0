"""What the metrics area plugs into the kernel."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, NavEntry, Permission
from portal.jobs.queue import enqueue
from portal.metrics.jobs import refresh_metrics, refresh_metrics_days


def calendar_changed(first_day) -> None:
    """An administrator entered or removed holidays / make-up days: the working-day table and, for a past
    day, every working time are brought up to date by a refresh once this change commits (refresh sees the
    changed rows through calendar.ensure and rebuilds when a past day moved)."""
    enqueue(refresh_metrics)


def clocks_moved(days) -> None:
    """Service clocks now fall due on other days (portal.sla.clocks.restart_from): those days are recounted once
    this change commits — the regular refresh finds a changed clock only on the day it falls due on now, and
    would go on counting it on the day it left."""
    enqueue(refresh_metrics_days, [d.isoformat() for d in days])


AREA = Area(
    key="metrics",
    permissions=[
        Permission("metrics.view", "open the service-metrics dashboard (of some scope)"),
        Permission("metrics.company", "the whole company's dashboard and every department's"),
        Permission("metrics.department", "the dashboard of one's own department (the desk's)"),
        Permission("metrics.unit_history", "export a customer unit's history"),
    ],
    nav=[NavEntry("metrics.index", _l("Service metrics"), 100)],
    listeners={"work_calendar_changed": calendar_changed, "service_clocks_moved": clocks_moved},
)
