"""What the queues (each role's home) plug into the kernel."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, NavEntry

AREA = Area(key="queues", nav=[NavEntry("queues.home", _l("My work"), 10)])
