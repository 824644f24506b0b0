"""A consultation answered by sending an article (issue 16): through the workflow's one `answer` action, whose
event records the article; the article counts it and is linked to the consultation."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.extensions import db
from portal.kb.models import ArticleTicket
from portal.kb_work.models import ArticleAnswer
from portal.tickets import operations as ops
from portal.tickets import workflow
from portal.tickets.models import Event, Ticket


def answer_event(t: Ticket) -> Event:
    return db.session.scalars(select(Event).where(Event.ticket_id == t.id, Event.action == "answer")).one()


def version_of(html: str) -> str:
    return re.search(r'name="answer-version"[^>]*value="(\d+)"', html).group(1)


def test_a_consultation_answered_with_an_article_records_it_in_the_event_and_the_history(
        auth, users, article_factory, ticket_factory):
    article = article_factory("报表导出为Excel的方法", solution="在报表页点击“导出”，选择Excel格式")
    t = ticket_factory(type="consultation", summary="如何把报表导出为Excel")
    client = auth.client_for("impl_engineer")
    page = client.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'name="answer-article"' in page and f'hx-get="/kb/answer-pick/{t.number}"' in page
    r = client.post(f"/tickets/{t.number}/actions/answer",
                    data={"answer-version": version_of(page), "answer-article": article.number.lower() + " ",
                          "answer-answer": "在报表页点击“导出”，选择Excel格式",
                          "answer-follow_up_type": "maintenance"})  # (a select always sends its value)
    assert r.status_code == 302
    db.session.expire_all()
    t = db.session.get(Ticket, t.id)
    assert (t.state, t.close_reason) == ("closed", "answered")
    event = answer_event(t)
    assert event.data == {"article_id": article.id, "article_number": article.number,
                          "article_title": "报表导出为Excel的方法"}
    assert db.session.scalar(select(func.count()).select_from(ArticleAnswer)
                             .where(ArticleAnswer.article_id == article.id, ArticleAnswer.ticket_id == t.id)) == 1
    assert db.session.get(ArticleTicket, (article.id, t.id)) is not None
    history = client.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "以知识解答" in history and f'href="/kb/{article.number}"' in history


def test_an_unknown_or_draft_article_is_refused_and_nothing_is_written(auth, users, article_factory, ticket_factory):
    draft = article_factory("草稿文章", state="draft")
    t = ticket_factory(type="consultation", summary="如何把报表导出为Excel")
    client = auth.client_for("impl_engineer")
    for ref in (draft.number, "KB-99999", "随便写的"):
        page = client.get(f"/tickets/{t.number}").get_data(as_text=True)
        r = client.post(f"/tickets/{t.number}/actions/answer",
                        data={"answer-version": version_of(page), "answer-article": ref, "answer-answer": "答复",
                              "answer-follow_up_type": "maintenance"})
        assert r.status_code == 422 and "已发布知识" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).state == "impl_queue"
    assert db.session.scalar(select(func.count()).select_from(ArticleAnswer)) == 0
    assert db.session.scalar(select(func.count()).select_from(Event).where(Event.action == "answer")) == 0


def test_an_answer_without_an_article_is_as_before(users, ticket_factory):
    t = ticket_factory(type="consultation")
    ops.take_action(t, "answer", users["impl_engineer"], {"answer": "在系统设置中修改", "article": ""})
    db.session.commit()
    assert answer_event(t).data == {}
    assert db.session.scalar(select(func.count()).select_from(ArticleAnswer)) == 0


def test_the_answer_action_declares_the_records_it_adds(users):
    # the one workflow table says what `answer` writes: a handler adding an undeclared row would be refused
    assert {ArticleAnswer, ArticleTicket} <= set(workflow.ACTIONS["answer"].rows)


def test_answering_with_an_article_already_linked_adds_no_second_link(users, article_factory, ticket_factory):
    from portal.kb import operations as kb

    t = ticket_factory(type="consultation", summary="如何把报表导出为Excel")
    article = article_factory("报表导出为Excel的方法")
    kb.link_ticket(article, t, users["impl_manager"])
    db.session.commit()
    ops.take_action(t, "answer", users["impl_manager"], {"answer": "见知识", "article": article.number})
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ArticleTicket)
                             .where(ArticleTicket.ticket_id == t.id)) == 1
    assert answer_event(t).data["article_number"] == article.number
