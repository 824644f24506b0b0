"""A customer unit's history where decisions are made (intake and the ticket page): its open tickets, the
last closed ones, complaints, on-site visits, contract and maintenance status, contacts.

Only what the viewer may see: tickets through the one access rule (`access.restrict` — a ticket the viewer
may not open is not listed at all), complaint details with `complaints.view`, on-site visits by the visits'
own rule (`portal.visits.operations.visibility_filter`: one's own, one's department's or all), details of the
visits once recorded as service-plan callbacks with `service_plan.view`, contacts with `customers.view`. A fixed number of statements, whatever the history holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from portal.auth.models import User
from portal.complaints.models import Complaint, ComplaintState
from portal.core.enums import CallbackKind, State
from portal.core.kernel import kernel
from portal.customers.models import Contact, Contract, CustomerUnit
from portal.extensions import db
from portal.hotline.models import HotlineRecord
from portal.tickets import access
from portal.tickets.models import Callback, Ticket
from portal.visits import operations as visit_ops
from portal.visits.models import Visit, VisitState

OPEN_LIMIT = 20
CLOSED_LIMIT = 10
COMPLAINT_LIMIT = 5
VISIT_LIMIT = 5
CONTACT_LIMIT = 30


@dataclass
class History:
    unit: CustomerUnit
    open_tickets: list
    more_open: bool
    closed_tickets: list
    complaints: list
    visits: list  # on-site visit records (portal/visits) the viewer may see, newest first
    old_visits: list  # visits recorded as service-plan callbacks before on-site service had its own records
    contract: Contract | None  # the latest contract
    today: date
    contacts: list[Contact] | None  # None: the viewer may not see contacts
    may: dict = field(default_factory=dict)  # what the viewer may open: unit, complaints, visits, hotline
    hotline_record_id: int | None = None  # the ticket page's ticket came from this hotline record
    on_ticket_page: bool = False  # (the page shows the unit already)

    @staticmethod
    def visit_state(state: str) -> str:
        return str(VisitState(state).title)

    @staticmethod
    def complaint_state(state: str) -> str:
        return str(ComplaintState(state).title)

    @property
    def contract_current(self) -> bool:
        return self.contract is not None and self.contract.start_date <= self.today <= self.contract.end_date


_TICKET_COLUMNS = (Ticket.id, Ticket.number, Ticket.state, Ticket.close_reason, Ticket.type, Ticket.urgent,
                   Ticket.summary, Ticket.created_at, Ticket.closed_at)


def unit_history(unit: CustomerUnit, viewer: User, today: date, *, ticket: Ticket | None = None,
                 with_contacts: bool = True) -> History:
    """`ticket`: the one being looked at (left out of the lists; its hotline record is looked up).
    `with_contacts`: False where the page lists the contacts itself (the intake's picker)."""
    def tickets(*conds, order, limit):
        stmt = select(*_TICKET_COLUMNS).where(Ticket.customer_id == unit.id, *conds)
        if ticket is not None:
            stmt = stmt.where(Ticket.id != ticket.id)
        return list(db.session.execute(access.restrict(stmt, viewer).order_by(*order).limit(limit)))

    open_rows = tickets(Ticket.state != State.CLOSED.value, order=(Ticket.urgent.desc(), Ticket.id.desc()),
                        limit=OPEN_LIMIT + 1)
    closed = tickets(Ticket.state == State.CLOSED.value, order=(Ticket.id.desc(),), limit=CLOSED_LIMIT)
    complaints = list(db.session.execute(
        select(Complaint.id, Complaint.received_at, Complaint.state, Complaint.content)
        .where(Complaint.customer_id == unit.id).order_by(Complaint.received_at.desc()).limit(COMPLAINT_LIMIT)))
    visible = visit_ops.visibility_filter(viewer)
    visit_stmt = select(Visit).where(Visit.customer_id == unit.id).order_by(Visit.id.desc()).limit(VISIT_LIMIT)
    visits = list(db.session.scalars(visit_stmt if visible is None else visit_stmt.where(visible)))
    old_visits = list(db.session.scalars(
        select(Callback).where(Callback.customer_id == unit.id, Callback.kind == CallbackKind.VISIT.value)
        .order_by(Callback.made_at.desc()).limit(VISIT_LIMIT)))
    contract = db.session.scalar(select(Contract).where(Contract.customer_id == unit.id)
                                 .order_by(Contract.start_date.desc(), Contract.id.desc()).limit(1))
    may = {perm: kernel.allows(viewer, perm) for perm in
           ("customers.view", "complaints.view", "service_plan.view", "hotline.use")}
    contacts = None
    if with_contacts and may["customers.view"]:  # names and numbers are personal data: only for who may see the unit's page
        contacts = list(db.session.scalars(select(Contact).where(Contact.customer_id == unit.id)
                                           .order_by(Contact.id).limit(CONTACT_LIMIT)))
    hotline_record_id = None
    if ticket is not None and may["hotline.use"]:

        hotline_record_id = db.session.scalar(select(HotlineRecord.id).where(HotlineRecord.ticket_id == ticket.id)
                                              .order_by(HotlineRecord.id).limit(1))
    return History(unit=unit, open_tickets=open_rows[:OPEN_LIMIT], more_open=len(open_rows) > OPEN_LIMIT,
                   closed_tickets=closed, complaints=complaints, visits=visits, old_visits=old_visits, contract=contract, today=today,
                   contacts=contacts, may=may, hotline_record_id=hotline_record_id,
                   on_ticket_page=ticket is not None)


def unit_contacts(unit_id: int) -> list[Contact]:
    """The unit's saved contacts, for the intake's picker (bounded)."""
    return list(db.session.scalars(select(Contact).where(Contact.customer_id == unit_id)
                                   .order_by(Contact.id).limit(CONTACT_LIMIT)))
