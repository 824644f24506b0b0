"""What a notification or reminder says, in the reader's language."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.core.enums import Role

KIND_TITLES = {
    # workflow events
    "register": _l("New ticket registered"),
    "record_contact": _l("Market has talked to the customer"),
    "suspend_for_fee": _l("Fee to agree with the customer"),
    "record_fee": _l("Fee agreed: ready to assign"),
    "assign": _l("Assigned"),
    "route_to_impl": _l("Routed to implementation"),
    "approve_urgent": _l("Urgent handling approved"),
    "resolve": _l("Resolved: callback due"),
    "callback": _l("Callback recorded"),
    "reopen": _l("Reopened"),
    # complaints (portal/complaints)
    "complaint_to_handle": _l("Complaint to handle"),
    "complaint_to_confirm": _l("Complaint handled: confirm with the customer"),
    # reminders
    "tell_deadline": _l("Tell the customer the deadline"),
    "callback_due": _l("Callback due"),
    "monthly_callback": _l("Monthly phone callback due"),
    "visit": _l("On-site visit due"),
    "summary": _l("Maintenance summary due"),
    "overdue": _l("Ticket past its deadline"),
    "overdue_manager": _l("Ticket past its deadline (escalated)"),
    "urgent_no_response": _l("Urgent ticket without response"),
    "first_reply": _l("No first reply within the service window"),
    "contract_expiry": _l("Maintenance contract expiring"),
    "duty_roster": _l("Hotline duty roster not set"),
}


def kind_title(kind: str) -> str:
    return str(KIND_TITLES.get(kind, kind))


def describe(n) -> tuple[str, str]:
    """(subject, body) of a personal notification."""
    from portal.extensions import db
    from portal.tickets.models import Ticket

    title = kind_title(n.kind)
    ticket = db.session.get(Ticket, n.ticket_id) if n.ticket_id else None
    subject = f"[{_('After-sales Service Portal')}] {title}"
    lines = [title]
    if ticket is not None:
        subject += f" {ticket.number}"
        lines += [f"{ticket.number} {ticket.customer.name}", ticket.summary]
    if n.link:
        lines.append(n.link)
    return subject, "\n".join(lines)


def digest(kind: str, role: str, count: int, period: str) -> tuple[str, str]:
    try:
        role_title = str(Role(role).title)
    except ValueError:
        role_title = _("Department managers") if role == "managers" else role
    title = f"{kind_title(kind)} · {role_title}"
    text = _("%(n)d new reminders", n=count) + (f" ({period})" if period else "")
    return title, text
