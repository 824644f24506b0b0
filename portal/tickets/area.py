"""What the tickets area plugs into the kernel: its permissions, menu entries, the notices its
workflow sends and the reminders it opens (portal/tickets/workflow.py and jobs.py open them)."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, Kind, NavEntry, Permission
from portal.tickets.access import mask_name, mask_phone
from portal.tickets.workflow import ACTIONS

PERMISSIONS = [
    Permission("tickets.register", "register a problem a customer reported (intake)"),
    Permission("tickets.view_all", "see every ticket with the customer's personal data"),
    Permission("tickets.view_dev_queue", "see the problems waiting in 开发部's queue"),
    Permission("tickets.view_impl_queue", "see the consultations and problems waiting in 实施部's queue"),
    Permission("tickets.view_assigned", "see the tickets one is or was assigned to, and closed ones masked"),
]

# Notices: one per workflow event, to the people the workflow table names.
NOTICES = [
    Kind("register", _l("New ticket registered")),
    Kind("record_contact", _l("Market has talked to the customer")),
    Kind("suspend_for_fee", _l("Fee to agree with the customer")),
    Kind("record_fee", _l("Fee agreed: ready to assign")),
    Kind("assign", _l("Assigned")),
    Kind("route_to_impl", _l("Routed to implementation")),
    Kind("approve_urgent", _l("Urgent handling approved")),
    Kind("resolve", _l("Resolved: callback due")),
    Kind("callback", _l("Callback recorded")),
    Kind("reopen", _l("Reopened")),
]

# Reminders: each links to its ticket (notifications do that for every reminder with a ticket).
REMINDERS = [
    Kind("tell_deadline", _l("Tell the customer the deadline"), recipients="cs",
         settled_by="notify_deadline (or a new assignment, or closing)"),
    Kind("callback_due", _l("Callback due"), recipients="cs", settled_by="callback (or reopening, or closing)"),
    Kind("overdue", _l("Ticket past its deadline"), recipients="the assignee",
         settled_by="the ticket leaving 'assigned' or a new deadline"),
    Kind("overdue_manager", _l("Ticket past its deadline (escalated)"),
         recipients="dev_manager or impl_manager (the handling department's)",
         settled_by="the ticket leaving 'assigned' or a new deadline"),
    Kind("urgent_no_response", _l("Urgent ticket without response"),
         recipients="dev_manager or impl_manager", settled_by="assignment (the ticket leaves the waiting states)"),
    Kind("first_reply", _l("No first reply within the service window"),
         recipients="the role the ticket waits on (dev_manager, market, impl_manager)",
         settled_by="the ticket leaving that waiting state"),
]

LINK_TITLES = {
    "follow_up": _l("Follow-up of"), "follow_up_reverse": _l("Follow-up problem"),
    "duplicate_of": _l("Duplicate of"), "duplicate_of_reverse": _l("Duplicate registered as"),
}


def saved_views_for(user) -> list:
    """The user's saved ticket views, for the menu under 工单 (one bounded query)."""
    from portal.tickets.saved_views import views_for

    return views_for(user)


def action_title(key: str) -> str:
    """An event's title in the history ("register" is the intake, not an action of the table)."""
    if key == "register":
        return str(_l("Registered"))
    action = ACTIONS.get(key)
    return str(action.title) if action else key


def link_title(kind: str) -> str:
    return str(LINK_TITLES.get(kind, kind))


AREA = Area(
    key="tickets",
    permissions=PERMISSIONS,
    nav=[NavEntry("tickets.new", _l("Register problem"), 20), NavEntry("tickets.index", _l("Tickets"), 30)],
    kinds=[*NOTICES, *REMINDERS],
    template_filters={"mask_name": mask_name, "mask_phone": mask_phone},
    template_globals={"action_title": action_title, "link_title": link_title, "saved_views_for": saved_views_for},
)
