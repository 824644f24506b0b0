"""Suggestions where the work is (issue 16, item 4): at intake and on the hotline form for 客服, on the ticket
page (相关知识) for those who solve and answer — published articles only, and stored text inert."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from portal.extensions import db
from portal.tickets.models import Ticket

HOSTILE = {
    "title": '打印机报错<script>alert("t")</script>',
    "symptom": '打印时提示<div hx-get="/logout" hx-trigger="load">脱机</div>',
    "solution": '<a href="javascript:alert(1)">点这里</a>重新安装打印驱动" hx-post="/x" onclick="alert(2)',
}


def suggest(client, q: str):
    return client.get("/kb/suggest?q=" + quote(q), headers={"HX-Request": "true"})


def numbers(html: str) -> set[str]:
    return set(re.findall(r"KB-\d{5}", html))


def assert_inert(html: str) -> None:
    assert "<script" not in html.lower()
    assert 'hx-get="/logout"' not in html and "hx-trigger=\"load\">脱机" not in html
    assert 'hx-post="/x"' not in html and 'onclick="alert' not in html
    assert 'href="javascript:' not in html.lower()


def test_only_published_articles_are_suggested_never_drafts_or_archived(auth, article_factory):
    published = article_factory("打印机无法打印")
    draft = article_factory("打印机无法打印（草稿）", state="draft")
    archived = article_factory("打印机无法打印（旧）", state="archived")
    r = suggest(auth.client_for("cs"), "打印机无法打印")
    assert r.status_code == 200
    assert numbers(r.get_data(as_text=True)) == {published.number}
    assert draft.number and archived.number  # they exist, and are not offered


def test_the_ticket_panel_and_the_answer_form_offer_no_drafts_either(auth, users, article_factory, ticket_factory):
    published = article_factory("打印机无法打印")
    article_factory("打印机无法打印（草稿）", state="draft")
    problem = ticket_factory(summary="打印机无法打印")
    consultation = ticket_factory(type="consultation", summary="打印机无法打印怎么办")
    panel = auth.client_for("dev_manager").get(f"/kb/related/{problem.number}", headers={"HX-Request": "true"})
    pick = auth.client_for("impl_engineer").get(f"/kb/answer-pick/{consultation.number}")
    assert panel.status_code == pick.status_code == 200
    assert numbers(panel.get_data(as_text=True)) == numbers(pick.get_data(as_text=True)) == {published.number}
    assert "相关知识" in panel.get_data(as_text=True)


def test_stored_script_hx_attributes_and_javascript_links_are_inert_in_every_fragment(
        auth, article_factory, ticket_factory):
    article = article_factory(**HOSTILE)
    consultation = ticket_factory(type="consultation", summary="打印机报错脱机")
    problem = ticket_factory(summary="打印机报错脱机")
    pages = [
        suggest(auth.client_for("cs"), "打印机报错"),
        auth.client_for("engineer").get(f"/kb/related/{problem.number}"),
        auth.client_for("impl_engineer").get(f"/kb/answer-pick/{consultation.number}"),
        auth.client_for("impl_engineer").get(f"/kb/answer-pick/{consultation.number}/article?ref={article.number}"),
    ]
    for r in pages:
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and article.number in html, html[:500]
        assert_inert(html)
    # the solution travels in a data attribute, escaped: the button puts it into the answer as plain text
    pick = pages[2].get_data(as_text=True)
    assert 'data-kb-solution="&lt;a href=&#34;javascript:alert(1)&#34;&gt;' in pick


def test_the_typed_text_is_bounded_and_short_text_suggests_nothing(auth, article_factory):
    article_factory("打印机无法打印")
    c = auth.client_for("cs")
    long = suggest(c, "打印机无法打印" + "很" * 20000)
    assert long.status_code == 200 and "KB-" in long.get_data(as_text=True)
    assert numbers(suggest(c, "打").get_data(as_text=True)) == set()
    assert c.get("/kb/suggest", headers={"HX-Request": "true"}).status_code == 200


def test_htmx_sends_the_intake_summary_by_its_own_name(auth, article_factory):
    article = article_factory("报表导出乱码")
    r = auth.client_for("cs").get("/kb/suggest?summary=" + quote("导出报表乱码"), headers={"HX-Request": "true"})
    assert article.number in r.get_data(as_text=True)


def test_the_intake_form_asks_for_articles_as_the_summary_is_typed(auth):
    html = auth.client_for("cs").get("/tickets/new").get_data(as_text=True)
    summary = re.search(r'<input[^>]*name="summary"[^>]*>', html).group(0)
    assert 'hx-get="/kb/suggest"' in summary and "delay:300ms" in summary
    assert 'aria-controls="kb-suggestions"' in summary
    box = re.search(r'<div id="kb-suggestions"[^>]*>', html).group(0)
    assert 'aria-live="polite"' in box
    # right below the title fields: Tab goes from the summary to the first suggestion
    assert html.index('name="summary"') < html.index('id="kb-suggestions"') < html.index('name="save_contact"')


def test_the_hotline_form_asks_for_articles_as_the_problem_is_typed(auth):
    html = auth.client_for("cs").get("/hotline/new").get_data(as_text=True)
    content = re.search(r'<textarea[^>]*name="content"[^>]*>', html).group(0)
    assert 'hx-get="/kb/suggest"' in content
    assert 'id="kb-suggestions"' in html


@pytest.mark.parametrize("role, shown", [("engineer", True), ("dev_manager", True), ("impl_manager", True),
                                         ("cs", False), ("market", False), ("admin", False)])
def test_the_ticket_page_has_the_related_panel_only_for_those_who_solve(auth, ticket_factory, users, role, shown):
    from portal.tickets import operations as ops
    from datetime import timedelta
    from portal.core.timeutil import utcnow

    t = ticket_factory(summary="打印机无法打印")
    ops.take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                         "deadline": utcnow() + timedelta(days=2)})
    db.session.commit()
    html = auth.client_for(role).get(f"/tickets/{t.number}").get_data(as_text=True)
    assert (f'hx-get="/kb/related/{t.number}"' in html) is shown
    status = auth.client_for(role).get(f"/kb/related/{t.number}").status_code
    assert status == (200 if shown else 403)


def test_the_related_panel_of_a_ticket_the_user_may_not_see_is_404(auth, ticket_factory, users):
    from portal.tickets import operations as ops
    from datetime import timedelta
    from portal.core.timeutil import utcnow

    t = ticket_factory(summary="打印机无法打印")
    ops.take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer2"].id,
                                                         "deadline": utcnow() + timedelta(days=2)})
    db.session.commit()
    assert auth.client_for("engineer").get(f"/kb/related/{t.number}").status_code == 404
    assert auth.client_for("engineer").get("/kb/related/SH-2026-999999").status_code == 404


def test_the_answer_picker_is_only_for_a_consultation_the_user_may_answer_now(auth, ticket_factory):
    consultation = ticket_factory(type="consultation", summary="如何导出报表")
    problem = ticket_factory(summary="打印机无法打印")
    assert auth.client_for("impl_engineer").get(f"/kb/answer-pick/{consultation.number}").status_code == 200
    assert auth.client_for("dev_manager").get(f"/kb/answer-pick/{consultation.number}").status_code == 404
    assert auth.client_for("impl_manager").get(f"/kb/answer-pick/{problem.number}").status_code == 404
    assert auth.client_for("cs").get(f"/kb/answer-pick/{consultation.number}").status_code == 403
    assert db.session.get(Ticket, consultation.id).state == "impl_queue"
