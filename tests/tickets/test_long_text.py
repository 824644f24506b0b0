"""A text longer than its limit is refused with a Chinese 422 that names the limit and the length, and nothing
is saved — never cut silently (no maxlength attribute, with which the browser drops the rest of a paste)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.tickets.models import Event, Ticket
from tests.tickets.test_flows_http import form_version, page, post
from tests.tickets.test_intake import form, ticket_count


def test_a_25000_character_description_is_refused_with_the_limit_and_its_length(auth, unit_factory):
    r = auth.client_for("cs").post("/tickets/new", data=form(unit_factory(), description="很" * 25000))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "20000" in html and "25000" in html and "字符" in html
    assert ticket_count() == 0


def test_the_intake_description_has_no_maxlength_that_would_cut_a_paste(auth):
    html = auth.client_for("cs").get("/tickets/new").get_data(as_text=True)
    textarea = re.search(r'<textarea[^>]*name="description"[^>]*>', html).group(0)
    assert "maxlength" not in textarea


def test_a_description_at_the_limit_is_accepted_whole(auth, unit_factory):
    r = auth.client_for("cs").post("/tickets/new", data=form(unit_factory(), description="很" * 20000))
    assert r.status_code == 302
    assert len(db.session.scalar(select(Ticket.description))) == 20000


@pytest.mark.parametrize("action, field, limit", [("comment", "text", 20000)])
def test_a_too_long_action_text_is_refused_with_the_limit_and_its_length(auth, ticket_factory, action, field, limit):
    t = ticket_factory()
    client = auth.client_for("cs")
    html = page(client, t.number)
    assert not re.search(rf'<textarea[^>]*name="{action}-{field}"[^>]*maxlength', html)
    events = db.session.scalar(select(func.count()).select_from(Event))
    r = post(client, t.number, action, form_version(html, action), **{field: "字" * (limit + 1)})
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and str(limit) in body and str(limit + 1) in body
    assert db.session.scalar(select(func.count()).select_from(Event)) == events


def test_no_ticket_form_textarea_carries_a_maxlength():
    from wtforms import TextAreaField

    from portal.tickets.forms import ACTION_FORMS, TicketForm

    for form_class in [TicketForm, *ACTION_FORMS.values()]:
        for name, unbound in vars(form_class).items():
            if getattr(unbound, "field_class", None) is TextAreaField:
                flags = [getattr(v, "field_flags", {}) for v in unbound.kwargs.get("validators", [])]
                assert not any("maxlength" in f for f in flags), f"{form_class.__name__}.{name}"
