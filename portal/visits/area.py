"""What on-site service plugs into the kernel: its pages, who may do what, and the 24-hour on-site clock."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, Clock, NavEntry, Permission
from portal.visits import operations as ops
from portal.visits.models import VisitState

AREA = Area(
    key="visits",
    permissions=[
        Permission("visits.view", "see on-site visits (one's own)"),
        Permission("visits.view_department", "see the on-site visits of one's department"),
        Permission("visits.view_all", "see every on-site visit"),
        Permission("visits.plan", "plan the service plan's maintenance visits"),
        Permission("visits.book", "book (appointment, who goes) and cancel on-site visits"),
        Permission("visits.record", "record departure, arrival, the work done, the confirmation and leaving"),
    ],
    nav=[NavEntry("visits.index", _l("On-site service"), 62)],
    clocks=[
        Clock("onsite_24h", _l("on-site"), limit="onsite_within_hours", unit="hours",
              owner="the visit's engineer (开发部 / 实施部)", escalate="the manager of the visit's department"),
    ],
    template_globals={
        "visits_of_ticket": ops.of_ticket,
        "onsite_clock_of": ops.onsite_clock,
        "visit_action_title": ops.action_title,
        "visit_state_title": lambda value: str(VisitState(value).title),
    },
)
