"""`flask demo-data`: what a first start shows — every ticket state, a project unit to hand over, a letterhead,
a complaint — built through the real operations, and only once."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.complaints.models import Complaint
from portal.core.enums import State
from portal.customers.models import CustomerUnit
from portal.demo import load_demo_data
from portal.documents import letterhead
from portal.extensions import db
from portal.tickets.models import Ticket


def test_demo_data_shows_every_state_a_project_unit_a_letterhead_and_a_complaint():
    assert load_demo_data() is True
    db.session.commit()
    states = set(db.session.scalars(select(Ticket.state).distinct()))
    assert states == {s.value for s in State}
    assert db.session.scalar(select(func.count()).select_from(CustomerUnit).where(CustomerUnit.is_project)) == 1
    assert letterhead.current().complete
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 1


def test_demo_data_is_loaded_only_once():
    assert load_demo_data() is True
    db.session.commit()
    tickets = db.session.scalar(select(func.count()).select_from(Ticket))
    assert load_demo_data() is False
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == tickets


def test_demo_data_command_builds_the_dashboards_figures_at_once(app):
    """A first start shows the dashboard with the demo's figures, not "not generated yet" until the first job."""
    from portal.metrics import refresh
    from portal.metrics.models import TicketFact

    assert refresh.status()["rebuilt_at"] is None
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "demo data: created" in result.output and "metrics built" in result.output
    db.session.expire_all()
    assert refresh.status()["rebuilt_at"] is not None
    facts = db.session.scalar(select(func.count()).select_from(TicketFact))
    assert facts == db.session.scalar(select(func.count()).select_from(Ticket)) > 0
