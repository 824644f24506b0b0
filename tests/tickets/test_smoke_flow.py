from portal.core.enums import State
from portal.extensions import db
from portal.tickets.models import Event, Ticket


def test_maintenance_ticket_starts_registered_with_register_event(ticket_factory):
    t = ticket_factory()
    assert t.state == State.REGISTERED.value
    assert t.number.startswith("SH-") and t.number.endswith(f"{t.id:06d}")
    events = db.session.query(Event).filter_by(ticket_id=t.id).all()
    assert [(e.action, e.from_state, e.to_state) for e in events] == [("register", None, "registered")]
