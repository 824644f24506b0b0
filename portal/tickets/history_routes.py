"""The customer's history beside intake and the ticket page (htmx fragments; portal/customers/history.py
decides what the viewer may see)."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from portal.core.kernel import requires
from portal.core.timeutil import today_local
from portal.customers import history
from portal.customers.models import CustomerUnit
from portal.customers.operations import caller_numbers, looks_like_phone
from portal.extensions import db
from portal.tickets import access

bp = Blueprint("history", __name__)
MAX_ID = 2**31 - 1  # a larger number is no row's id (and the databases refuse it as an INTEGER)


@bp.get("/tickets/new/customer")
@requires("tickets.register")  # the intake form's panel: who registers problems
def for_intake():
    """The chosen unit's contacts to pick the caller from, and (out of band) its history panel. The caller
    stays picked: the contact asked for, else the one whose number was typed (unit search or phone field)."""
    unit_id = request.args.get("customer_id", type=int)
    unit = db.session.get(CustomerUnit, unit_id) if unit_id and 0 < unit_id <= MAX_ID else None
    if unit is None:
        return render_template("tickets/_intake_customer.html", unit=None, contacts=[], picked=None, h=None)
    contacts = history.unit_contacts(unit.id)
    picked = request.args.get("contact_id", type=int)  # (only compared with the unit's contacts' ids)
    if picked not in {c.id for c in contacts}:
        # The number typed into the unit search, else the one already in the phone field (a hotline record's).
        typed = [request.args.get(name, "")[:100] for name in ("customer_q", "reporter_phone")]
        number = next((q for q in typed if looks_like_phone(q)), "")
        numbers = caller_numbers(number) if number else set()
        picked = next((c.id for c in contacts if c.phone in numbers), None)
    h = history.unit_history(unit, current_user, today_local(), with_contacts=False)
    return render_template("tickets/_intake_customer.html", unit=unit, contacts=contacts, picked=picked, h=h)


@bp.get("/tickets/<number>/history")
def for_ticket(number: str):
    """For anyone who may see the ticket, and only what they may see. The panel loads after the ticket is drawn
    (also after each action redraws it): if the user signed out meanwhile (another tab, the next person at the
    desk), there is nothing to show and nothing to redirect — 204, the page itself leads to the login."""
    if not current_user.is_authenticated:
        return "", 204
    ticket = access.get_ticket_or_404(number, current_user)
    h = history.unit_history(ticket.customer, current_user, today_local(), ticket=ticket)
    return render_template("customers/_history.html", h=h)
