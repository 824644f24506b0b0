"""A consultation's answer (实施部): who answered is its handler, and a follow-up problem it
reveals is registered with the text typed for it (issue 14)."""
from __future__ import annotations

import re

from portal.extensions import db
from portal.tickets import access
from portal.tickets.models import Ticket, TicketAssignee
from tests.tickets.test_obligations import act


def handler_fact(html: str) -> str:
    m = re.search(r"<dt>处理人</dt><dd>(.*?)</dd>", html, re.S)
    assert m, "the page shows the handler"
    return m.group(1).strip()


def test_the_answerer_is_recorded_as_the_handler_and_sees_the_answered_consultation_unmasked(
        auth, users, ticket_factory):
    t = ticket_factory(type="consultation", reporter_name="刘建国", reporter_phone="13800138000")
    act(t, "answer", users["impl_engineer"], answer="在系统设置中修改")
    db.session.expire_all()
    t = db.session.get(Ticket, t.id)
    assert (t.state, t.assignee_id) == ("closed", users["impl_engineer"].id)
    assert db.session.get(TicketAssignee, (t.id, users["impl_engineer"].id)) is not None
    assert not access.personal_data_masked(users["impl_engineer"], t)
    html = auth.client_for("impl_engineer").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "13800138000" in html and handler_fact(html) == users["impl_engineer"].display_name
    # a colleague who did not answer it still sees it for reference only, masked
    other = auth.client_for("impl_engineer2").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "13800138000" not in other and "138****8000" in other
