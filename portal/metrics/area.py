"""What the metrics area plugs into the kernel."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, NavEntry, Permission
from portal.jobs.queue import enqueue
from portal.metrics.jobs import refresh_metrics


def calendar_changed(first_day) -> None:
    """An administrator entered or removed holidays / make-up days: the working-day table and, for a past
    day, every working time are brought up to date by a refresh once this change commits (refresh sees the
    changed rows through calendar.ensure and rebuilds when a past day moved)."""
    enqueue(refresh_metrics)


AREA = Area(
    key="metrics",
    permissions=[
        Permission("metrics.view", "open the service-metrics dashboard (of some scope)"),
        Permission("metrics.company", "the whole company's dashboard and every department's"),
        Permission("metrics.department", "the dashboard of one's own department (the desk's)"),
        Permission("metrics.unit_history", "export a customer unit's history"),
    ],
    nav=[NavEntry("metrics.index", _l("Service metrics"), 100)],
    listeners={"work_calendar_changed": calendar_changed},
)
