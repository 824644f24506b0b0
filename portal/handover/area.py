"""What the handover area plugs into the kernel; it listens for documents being filed."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, NavEntry, Permission
from portal.handover.operations import document_ready

AREA = Area(
    key="handover",
    permissions=[
        Permission("handover.view", "see the project units handed over to after-sales"),
        Permission("handover.act", "hand a unit over: letters, calls, the implementation callback"),
    ],
    nav=[NavEntry("handover.index", _l("Handover"), 80)],
    listeners={"document_ready": document_ready},
)
