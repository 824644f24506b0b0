"""What a notification or reminder says, in the reader's language. Every kind's title is declared by the
area it belongs to (its area.py); this module only renders them."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from portal.core.enums import Role
from portal.core.kernel import kernel
from portal.extensions import db
from portal.tickets.models import Ticket


def kind_title(kind: str) -> str:
    declared = kernel.kind(kind)
    return str(declared.title) if declared else kind


def absolute(link: str) -> str:
    """A link as a mail client or a group robot needs it: on the configured PORTAL_BASE_URL."""
    if not link:
        return ""
    return current_app.config["PORTAL_BASE_URL"] + (link if link.startswith("/") else "/" + link)


def describe(n) -> tuple[str, str]:
    """(subject, body) of a personal notification."""
    title = kind_title(n.kind)
    ticket = db.session.get(Ticket, n.ticket_id) if n.ticket_id else None
    subject = f"[{_('After-sales Service Portal')}] {title}"
    lines = [title]
    if ticket is not None:
        subject += f" {ticket.number}"
        lines += [f"{ticket.number} {ticket.customer.name}", ticket.summary]
    elif n.text:
        lines.append(n.text)
    if n.link:
        lines.append(absolute(n.link))
    return subject, "\n".join(lines)


def digest(kind: str, role: str, count: int, period: str) -> tuple[str, str]:
    try:
        role_title = str(Role(role).title)
    except ValueError:
        role_title = _("Department managers") if role == "managers" else role
    title = f"{kind_title(kind)} · {role_title}"
    text = _("%(n)d new reminders", n=count) + (f" ({period})" if period else "")
    return title, text + "\n" + absolute("/notifications")
