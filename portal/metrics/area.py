"""What the metrics area plugs into the kernel."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, NavEntry, Permission

AREA = Area(
    key="metrics",
    permissions=[
        Permission("metrics.view", "open the service-metrics dashboard (of some scope)"),
        Permission("metrics.company", "the whole company's dashboard and every department's"),
        Permission("metrics.department", "the dashboard of one's own department (the desk's)"),
        Permission("metrics.unit_history", "export a customer unit's history"),
    ],
    nav=[NavEntry("metrics.index", _l("Service metrics"), 100)],
)
