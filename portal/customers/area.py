"""What the customers area plugs into the kernel."""
from flask import url_for
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, Kind, NavEntry, Permission

AREA = Area(
    key="customers",
    permissions=[
        Permission("customers.view", "see customer units, their contacts and contracts"),
        Permission("customers.edit", "create and edit units, contacts and contracts; import from Excel"),
        Permission("customers.lookup", "search units while registering or correcting a problem"),
        Permission("customers.set_status", "set a unit's maintenance status"),
        Permission("customers.expiry_watch", "watch every contract in its expiry window (home, customer list)"),
    ],
    nav=[NavEntry("customers.index", _l("Customers"), 70)],
    kinds=[
        Kind("contract_expiry", _l("Maintenance contract expiring"), recipients="market",
             settled_by="a renewal of the contract", cadence="contract_expiry_window_days",
             link=lambda r: url_for("customers.show", unit_id=r.customer_id),
             shown_ahead_days="contract_expiry_window_days"),
        Kind("contract_lapsed", _l("Contract lapsed: set or keep the unit's maintenance status"),
             recipients="market_manager",
             settled_by="the unit's maintenance status set or kept, or the contract renewed",
             link=lambda r: url_for("customers.show", unit_id=r.customer_id) + "#status"),
    ],
)
