"""A consultation's answer (实施部): who answered is its handler, and a follow-up problem it
reveals is registered with the text typed for it (issue 14)."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.tickets import access
from portal.tickets.models import Ticket, TicketAssignee, TicketLink
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


def follow_up_of(t: Ticket) -> Ticket:
    link = db.session.scalars(select(TicketLink).where(TicketLink.to_id == t.id, TicketLink.kind == "follow_up")).one()
    return db.session.get(Ticket, link.from_id)


def test_a_follow_up_takes_the_summary_and_description_typed_for_it_not_the_consultations(users, ticket_factory):
    t = ticket_factory(type="consultation", summary="如何设置打印模板", description="咨询打印模板的设置方法")
    act(t, "answer", users["impl_engineer"], answer="在系统设置中修改", follow_up=True, follow_up_type="maintenance",
        follow_up_summary="打印模板保存后丢失", follow_up_description="保存模板后重新打开，修改全部丢失")
    new = follow_up_of(t)
    assert (new.summary, new.description) == ("打印模板保存后丢失", "保存模板后重新打开，修改全部丢失")


def test_the_answer_form_asks_for_the_follow_ups_description(auth, users, ticket_factory):
    t = ticket_factory(type="consultation")
    html = auth.client_for("impl_engineer").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'name="answer-follow_up_description"' in html


def test_a_follow_up_typed_through_the_page_keeps_its_own_description(auth, users, ticket_factory):
    t = ticket_factory(type="consultation", description="咨询打印模板的设置方法")
    client = auth.client_for("impl_engineer")
    html = client.get(f"/tickets/{t.number}").get_data(as_text=True)
    version = re.search(r'name="answer-version"[^>]*value="(\d+)"', html).group(1)
    r = client.post(f"/tickets/{t.number}/actions/answer", data={
        "answer-version": version, "answer-answer": "在系统设置中修改", "answer-follow_up": "y",
        "answer-follow_up_type": "maintenance", "answer-follow_up_summary": "打印模板保存后丢失",
        "answer-follow_up_description": "保存模板后重新打开，修改全部丢失"})
    assert r.status_code == 302
    db.session.expire_all()
    new = follow_up_of(db.session.get(Ticket, t.id))
    assert new.description == "保存模板后重新打开，修改全部丢失"
