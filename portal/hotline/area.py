"""What the hotline area plugs into the kernel."""
from flask import url_for
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, Kind, NavEntry, Permission
from portal.hotline.operations import record_ticket

AREA = Area(
    key="hotline",
    listeners={"ticket_registered": record_ticket},  # every hotline-channel ticket leaves a record
    permissions=[
        Permission("hotline.use", "hotline duty records and the duty roster"),
        Permission("hotline.roster_edit", "arrange the duty roster"),
        Permission("hotline.duty", "be put on a hotline duty shift"),
    ],
    nav=[NavEntry("hotline.index", _l("Hotline records"), 40),
         NavEntry("hotline.roster.index", _l("Duty roster"), 50)],
    kinds=[
        Kind("duty_roster", _l("Hotline duty roster not set"), recipients="duty_manager",
             settled_by="the shift staffed", cadence="duty_roster_lead_hours",
             link=lambda r: url_for("hotline.roster.index")),
    ],
)
