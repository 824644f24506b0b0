"""What the hotline area plugs into the kernel."""
from flask import url_for
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, Kind, NavEntry, Permission
from portal.hotline.operations import record_ticket

AREA = Area(
    key="hotline",
    listeners={"ticket_registered": record_ticket},  # every hotline-channel ticket leaves a record
    permissions=[
        Permission("hotline.use", "hotline duty records"),
        Permission("hotline.roster_view", "see the duty roster and its check-ins"),
        Permission("hotline.roster_edit", "arrange the duty roster"),
        Permission("hotline.duty", "be put on a hotline duty shift, and check in to it"),
    ],
    nav=[NavEntry("hotline.index", _l("Hotline records"), 40),
         NavEntry("hotline.roster.index", _l("Duty roster"), 50)],
    kinds=[
        Kind("duty_roster", _l("Hotline shift short of seats"), recipients="duty_manager",
             settled_by="every seat of the shift taken", cadence="duty_roster_lead_hours",
             link=lambda r: url_for("hotline.roster.index", week=r.period[:10] if r.period else None)),
        Kind("duty_check_in", _l("Staff on duty not checked in"), recipients="duty_manager",
             settled_by="the person's check-in (or the shift's end)", cadence="check_in_grace_minutes",
             link=lambda r: url_for("hotline.roster.index", week=r.period[:10] if r.period else None)),
    ],
)
