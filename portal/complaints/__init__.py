"""投诉: complaints against a ticket or a unit, with a small workflow of their own
(received → handled → confirmed with the customer) and an append-only history."""
from flask_babel import lazy_gettext as _l

NAV_TITLE = _l("Complaints")
