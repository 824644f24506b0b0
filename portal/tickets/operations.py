"""Ticket operations: callable from a route, a job, a CLI command or a test alike.
They never commit; the caller does, once."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.auth.models import User
from portal.core import policy, uploads
from portal.core.enums import Channel, TicketType
from portal.core.kernel import kernel
from portal.core.timeutil import to_local, utcnow
from portal.customers.models import Contact, CustomerUnit
from portal.customers.operations import CustomerError, save_caller_as_contact
from portal.extensions import db
from portal.tickets import mentions, workflow
from portal.tickets.models import Attachment, Event, Ticket, TicketLink


@dataclass
class Intake:
    channel: str
    customer_id: int
    type: str
    reporter_name: str
    reporter_dept: str
    reporter_phone: str
    summary: str
    description: str = ""
    save_as_contact: bool = False  # keep the caller as one of the unit's contacts (once)
    hotline_record_id: int | None = None  # the hotline record this ticket is registered from
    reported_at: datetime | None = None  # when the customer reported it (naive UTC); None: now
    # A record of the customer's call (the hotline record): its time may be given however long ago it was.
    recorded_at: datetime | None = None


# How far back intake may say the customer reported a problem: workflow.earliest_reported (its correction too).
REPORTED_SKEW = timedelta(minutes=1)  # "now" typed to the minute may be a few seconds ahead


def checked_reported_at(value: datetime | None, now: datetime, recorded_at: datetime | None = None) -> datetime:
    """When the customer reported the problem: now unless said; never in the future, never too long ago —
    unless a record of the call (`recorded_at`, to the minute as the form shows it) says that is when it was."""
    if value is None:
        return now
    if value > now + REPORTED_SKEW:
        msg = _l("The time the customer reported the problem cannot be in the future.")
        raise workflow.InvalidInput(msg, {"reported_at": msg})
    if value < workflow.earliest_reported(now, [recorded_at] if recorded_at is not None else []):
        msg = _l("The time the customer reported the problem cannot be more than %(n)d days ago.",
                 n=workflow.REPORTED_MAX_AGE_DAYS)
        raise workflow.InvalidInput(msg, {"reported_at": msg})
    return min(value, now)


def register_ticket(actor: User, intake: Intake, files: list[uploads.CheckedFile] = (),
                    *, text: str = "", data: dict | None = None) -> Ticket:
    """`register` (SPEC §3): intake is 客服's alone, whatever else the caller passes.

    Announces `ticket_registered`: the hotline area links the record the ticket came from, or keeps a
    record of a hotline call (every hotline-channel ticket leaves one)."""
    workflow.check_register(actor)
    if intake.save_as_contact and not kernel.allows(actor, "customers.edit"):
        raise workflow.NotAllowed(_l("You may not add contacts to a unit."))
    ticket = _register(actor, intake, files, text=text, data=data)
    if intake.save_as_contact:

        try:
            save_caller_as_contact(ticket.customer, name=ticket.reporter_name, department=ticket.reporter_dept,
                                   phone=ticket.reporter_phone)
        except CustomerError as e:
            raise workflow.InvalidInput(e.message, {"save_contact": e.message}) from e
    kernel.emit("ticket_registered", ticket=ticket, actor=actor, hotline_record_id=intake.hotline_record_id)
    return ticket


def picked_contact(raw: str | None, customer_id: int | None) -> Contact | None:
    """The saved contact the intake form names as the caller (None: nobody picked); refused unless it is
    one of the chosen unit's contacts."""
    raw = (raw or "").strip()
    if not raw:
        return None
    contact = db.session.get(Contact, int(raw)) if raw.isdigit() and len(raw) <= 9 else None
    if contact is None or customer_id is None or contact.customer_id != customer_id:
        raise workflow.InvalidInput(_l("This contact is not one of the chosen unit's contacts."),
                                    {"contact_id": _l("This contact is not one of the chosen unit's contacts.")})
    return contact


def _register(actor: User, intake: Intake, files=(), *, text: str = "", data: dict | None = None) -> Ticket:
    """The new ticket and its first state; the caller has decided that `actor` may register it
    (客服's intake, or 实施部's follow-up from the consultation it has just answered)."""
    customer = db.session.get(CustomerUnit, intake.customer_id)
    if customer is None:
        raise workflow.InvalidInput(_l("Choose the customer unit."), {"customer_id": _l("Choose the customer unit.")})
    Channel(intake.channel)
    TicketType(intake.type)
    now = utcnow()
    reported_at = checked_reported_at(intake.reported_at, now, intake.recorded_at)
    ticket = Ticket(
        type=intake.type, channel=intake.channel, customer=customer, customer_id=customer.id,
        reporter_name=intake.reporter_name.strip(), reporter_dept=intake.reporter_dept.strip(),
        reporter_phone=intake.reporter_phone.strip(), summary=intake.summary.strip(),
        description=(intake.description or "").strip(), created_by_id=actor.id, created_at=now, updated_at=now,
        reported_at=reported_at, policy_snapshot=policy.snapshot(policy.policy_for(customer.maintenance_status)),
        state="registered",  # placeholder for the INSERT; workflow.start sets the real first state
    )
    db.session.add(ticket)
    db.session.flush()
    ticket.number = f"SH-{to_local(now).year}-{ticket.id:06d}"
    event = workflow.start(ticket, actor, text=text, data=data)
    _attach(ticket, actor, files, event)
    return ticket


def _attach(ticket: Ticket, actor: User, files, event: Event | None) -> list[Attachment]:
    out = []
    for f in files:
        stored = uploads.store(f)
        att = Attachment(id=stored[:32], ticket_id=ticket.id, event_id=event.id if event else None,
                         filename=f.filename, stored_name=stored, content_type=f.content_type,
                         size=len(f.content), is_image=f.is_image, uploaded_by_id=actor.id)
        db.session.add(att)
        out.append(att)
    return out


def take_action(ticket: Ticket, action_key: str, actor: User, data: dict, *,
                expected_version: int | None = None, files: list[uploads.CheckedFile] = ()) -> Event:
    if action_key == "comment":
        data = dict(data, has_files=bool(files))
    follow_up = action_key == "answer" and data.get("follow_up")
    if follow_up:
        # Refuse a bad follow-up before anything is written (after the role/state check, so
        # that a user who may not answer hears that first).
        workflow.check(action_key, ticket, actor)
        follow_up_type, follow_up_summary = _checked_follow_up(data.get("follow_up_type"),
                                                               data.get("follow_up_summary"))
    event = workflow.perform(ticket, action_key, actor, data, expected_version=expected_version)
    if action_key == "comment":
        # @name in a note (portal/tickets/mentions.py); who was told, kept on the event for the author's answer
        event.mentioned = mentions.notify(ticket, event, actor)
    if files:
        _attach(ticket, actor, files, event)
    if follow_up:
        register_follow_up(ticket, actor, follow_up_type, follow_up_summary, data.get("follow_up_description") or "")
    return event


def _checked_follow_up(ticket_type: str | None, summary: str | None) -> tuple[str, str]:
    summary = (summary or "").strip()
    if not summary:
        raise workflow.InvalidInput(_l("Describe the new problem."),
                                    {"follow_up_summary": _l("This field is required.")})
    ticket_type = ticket_type or TicketType.MAINTENANCE.value
    if ticket_type not in (TicketType.MAINTENANCE.value, TicketType.REQUIREMENT.value):
        raise workflow.InvalidInput(_l("A follow-up is a problem or a requirement."),
                                    {"follow_up_type": _l("A follow-up is a problem or a requirement.")})
    return ticket_type, summary


def register_follow_up(origin: Ticket, actor: User, ticket_type: str, summary: str, description: str = "") -> Ticket:
    """A consultation's answer revealed another problem: a new ticket of its own type, linked, with
    the text typed for it (the consultation's own text stays on the consultation, one link away)."""
    ticket_type, summary = _checked_follow_up(ticket_type, summary)
    intake = Intake(channel=origin.channel, customer_id=origin.customer_id, type=ticket_type,
                    reporter_name=origin.reporter_name, reporter_dept=origin.reporter_dept,
                    reporter_phone=origin.reporter_phone, summary=summary, description=description)
    new = _register(actor, intake, text=str(_l("Follow-up of %(n)s", n=origin.number)),
                    data={"follow_up_of": origin.number})
    db.session.add(TicketLink(from_id=new.id, to_id=origin.id, kind="follow_up"))
    return new


def linked_tickets(ticket: Ticket) -> list[tuple[str, Ticket]]:
    """(relation, other ticket) in both directions, for the ticket page."""
    rows = db.session.execute(
        select(TicketLink, Ticket).join(Ticket, Ticket.id == TicketLink.to_id).where(TicketLink.from_id == ticket.id)
    ).all()
    back = db.session.execute(
        select(TicketLink, Ticket).join(Ticket, Ticket.id == TicketLink.from_id).where(TicketLink.to_id == ticket.id)
    ).all()
    out = [(link.kind, other) for link, other in rows]
    out += [(link.kind + "_reverse", other) for link, other in back]
    return out
