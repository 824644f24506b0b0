"""What the complaints area plugs into the kernel."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, Kind, NavEntry, Permission

AREA = Area(
    key="complaints",
    permissions=[
        Permission("complaints.view", "see the complaints list and each complaint"),
        Permission("complaints.receive", "register a complaint and confirm its handling with the customer"),
        Permission("complaints.handle", "handle any received complaint (besides the one named handler)"),
        Permission("complaints.be_handler", "be named the handler of a complaint"),
    ],
    nav=[NavEntry("complaints.index", _l("Complaints"), 110)],
    kinds=[
        Kind("complaint_to_handle", _l("Complaint to handle"), recipients="the named handler"),
        Kind("complaint_to_confirm", _l("Complaint handled: confirm with the customer"),
             recipients="who received it"),
    ],
)
