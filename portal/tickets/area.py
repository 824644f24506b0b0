"""What the tickets area plugs into the kernel: its permissions, menu entries, the notices its
workflow sends and the reminders it opens (portal/tickets/workflow.py and jobs.py open them)."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, Clock, Kind, NavEntry, Permission
from portal.tickets.access import mask_name, mask_phone
from portal.tickets.saved_views import views_for
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
    Kind("reassign", _l("Reassigned"), recipients="the new and the previous assignee"),
    Kind("change_deadline", _l("Deadline changed: tell the customer"), recipients="the assignee and cs"),
    Kind("request_deadline_change", _l("A new deadline is asked for"),
         recipients="the manager of the handling department"),
    Kind("hand_back", _l("Handed back to the queue"), recipients="the manager whose queue it returns to"),
    Kind("wait_customer", _l("Waiting for the customer"), recipients="cs"),
    Kind("resume", _l("Resumed: new deadline to tell"), recipients="the assignee and cs"),
    Kind("edit", _l("Ticket corrected and moved"),
         recipients="the role of the queue a corrected type or unit moves it to"),
]
# Followers hear of every event (portal/tickets/followers.py): an action not declared above is a notice
# titled as in the history.
NOTICES += [Kind(key, action.title, recipients="followers")
            for key, action in ACTIONS.items() if key not in {k.key for k in NOTICES}]
NOTICES.append(Kind("mention", _l("Someone mentioned you in a note"), recipients="the people a note names with @"))

# Reminders: each links to its ticket (notifications do that for every reminder with a ticket).
REMINDERS = [
    Kind("tell_deadline", _l("Tell the customer the deadline"), recipients="cs",
         settled_by="notify_deadline (or a new deadline — assignment, change, reassignment, resume —, "
                    "a hand-back, a resolution, or closing)"),
    Kind("callback_due", _l("Callback due"), recipients="cs", settled_by="callback (or reopening, or closing)"),
    Kind("overdue", _l("Ticket past its deadline"), recipients="the assignee",
         settled_by="the ticket leaving 'assigned' (also to wait for the customer) or a new deadline"),
    Kind("overdue_manager", _l("Ticket past its deadline (escalated)"),
         recipients="dev_manager or impl_manager (the handling department's)",
         settled_by="the ticket leaving 'assigned' or a new deadline"),
]

# The standard's promises kept on a ticket (portal/sla keeps the clocks; portal/tickets/workflow.py's CLOCK_*
# tables start and stop them). Each title reads after its limit: "2小时紧急响应", "3个工作日首次答复".
CLOCKS = [
    Clock("emergency_response", _l("emergency response"), "emergency_response_hours",
          owner="the handling department's manager (until the first assignment, or an on-site departure)",
          escalate="market_manager (approved the urgency, answers to the customer)"),
    Clock("first_reply", _l("first reply"), "first_reply_working_days", unit="working_days",
          owner="the role the new ticket waits on (dev_manager, market, impl_manager): a first assignment, "
                "the consultation's answer, or 市场部's talk with the customer",
          escalate="that department's manager"),
    Clock("tell_deadline", _l("deadline told"), "tell_deadline_within_hours",
          owner="cs (from each assignment or new deadline until the customer is told)", escalate="duty_manager"),
    Clock("callback", _l("callback"), "callback_within_hours",
          owner="cs (from the resolution until the callback)", escalate="duty_manager"),
]

LINK_TITLES = {
    "follow_up": _l("Follow-up of"), "follow_up_reverse": _l("Follow-up problem"),
    "duplicate_of": _l("Duplicate of"), "duplicate_of_reverse": _l("Duplicate registered as"),
}


def saved_views_for(user) -> list:
    """The user's saved ticket views, for the menu under 工单 (one bounded query)."""

    return views_for(user)


def action_title(key: str) -> str:
    """An event's title in the history ("register" is the intake, not an action of the table)."""
    if key == "register":
        return str(_l("Registered"))
    action = ACTIONS.get(key)
    return str(action.title) if action else key


EDIT_FIELD_TITLES = {
    "reporter_name": _l("Reporter"), "reporter_dept": _l("Department (科室)"), "reporter_phone": _l("Phone"),
    "summary": _l("Summary"), "description": _l("Detailed description"), "customer": _l("Customer unit"),
    "type": _l("Type"), "reported_at": _l("Reported at"),
}


def edit_field_title(name: str) -> str:
    """A corrected field's name in the history (`edit` keeps old → new per field)."""
    return str(EDIT_FIELD_TITLES.get(name, name))


def link_title(kind: str) -> str:
    return str(LINK_TITLES.get(kind, kind))


AREA = Area(
    key="tickets",
    permissions=PERMISSIONS,
    nav=[NavEntry("tickets.new", _l("Register problem"), 20), NavEntry("tickets.index", _l("Tickets"), 30)],
    kinds=[*NOTICES, *REMINDERS],
    clocks=CLOCKS,
    template_filters={"mask_name": mask_name, "mask_phone": mask_phone},
    template_globals={"action_title": action_title, "link_title": link_title, "edit_field_title": edit_field_title,
                      "saved_views_for": saved_views_for},
)
