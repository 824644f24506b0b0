"""What administration plugs into the kernel."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, NavEntry, Permission

AREA = Area(
    key="admin",
    permissions=[Permission("admin.manage", "users, roles, departments, background jobs")],
    nav=[NavEntry("admin.users", _l("Users"), 120)],
)
