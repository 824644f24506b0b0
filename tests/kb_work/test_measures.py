"""Measures of the knowledge base (issue 16, item 6): views counted per opening (one row per article and day),
one changeable vote per staff member and article, consultations answered by an article, repeat problems per
module — on the article page and in the dashboard's KB tile."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from portal.core.timeutil import today_local, utcnow
from portal.extensions import db
from portal.kb import operations as kb
from portal.kb_work import measures
from portal.kb_work.models import ArticleViewDay, ArticleVote
from portal.tickets import operations as ops

HX = {"HX-Request": "true"}


def votes_of(article) -> list[tuple[int, bool]]:
    db.session.expire_all()
    return sorted((user_id, helpful) for user_id, helpful in db.session.execute(
        select(ArticleVote.user_id, ArticleVote.helpful).where(ArticleVote.article_id == article.id)))


def test_a_vote_is_one_per_user_and_article_and_can_be_changed(auth, users, article_factory):
    article = article_factory("打印机无法打印")
    engineer = auth.client_for("engineer")
    for value in ("yes", "yes"):
        r = engineer.post(f"/kb/{article.number}/vote", data={"helpful": value}, headers=HX)
        assert r.status_code == 200 and 'id="kb-measures"' in r.get_data(as_text=True)
    assert votes_of(article) == [(users["engineer"].id, True)]
    engineer.post(f"/kb/{article.number}/vote", data={"helpful": "no"}, headers=HX)
    assert votes_of(article) == [(users["engineer"].id, False)]
    r = auth.client_for("cs").post(f"/kb/{article.number}/vote", data={"helpful": "yes"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/kb/{article.number}")
    assert votes_of(article) == sorted([(users["engineer"].id, False), (users["cs"].id, True)])
    m = measures.for_article(article)
    assert (m.helpful, m.not_helpful, m.helpful_share) == (1, 1, 0.5)


def test_a_bad_vote_is_refused_in_chinese_and_changes_nothing(auth, article_factory):
    article = article_factory("打印机无法打印")
    r = auth.client_for("engineer").post(f"/kb/{article.number}/vote", data={"helpful": "maybe"}, headers=HX)
    assert r.status_code == 422 and re.search(r'role="alert">[^<]*[\u4e00-\u9fff]', r.get_data(as_text=True))
    assert votes_of(article) == []


def test_a_draft_cannot_be_voted_on(auth, article_factory):
    draft = article_factory("打印机无法打印", state="draft")
    # one who does not write articles does not see a draft at all; its reviewer is told why not
    assert auth.client_for("cs").post(f"/kb/{draft.number}/vote", data={"helpful": "yes"}).status_code == 404
    r = auth.client_for("dev_manager").post(f"/kb/{draft.number}/vote", data={"helpful": "yes"}, headers=HX)
    assert r.status_code == 409 and "只能对已发布的知识投票" in r.get_data(as_text=True)
    assert votes_of(draft) == []


def view_rows(article) -> list[tuple]:
    db.session.expire_all()
    return [tuple(r) for r in db.session.execute(select(ArticleViewDay.day, ArticleViewDay.views)
                                                 .where(ArticleViewDay.article_id == article.id))]


def test_an_opening_is_an_increment_in_redis_that_the_roll_up_adds_to_one_row_per_day(article_factory):
    from tests.tickets.test_workflow_matrix import recorded_writes

    article = article_factory("打印机无法打印")
    with recorded_writes() as writes:
        for _ in range(3):
            measures.count_view(article.id)
    assert writes == []  # reading a page writes no row
    assert measures.for_article(article).views == 3  # counted, not rolled up yet
    assert measures.roll_up_views() == 3
    assert view_rows(article) == [(today_local(), 3)]
    measures.count_view(article.id)
    assert measures.roll_up_views() == 1 and measures.roll_up_views() == 0  # each opening added once
    assert view_rows(article) == [(today_local(), 4)]
    assert measures.for_article(article).views == 4


def test_opening_a_published_article_s_page_counts_a_view_and_shows_it(auth, article_factory):
    article = article_factory("打印机无法打印")
    draft = article_factory("打印机草稿", state="draft")
    for role in ("cs", "engineer", "cs"):
        assert auth.client_for(role).get(f"/kb/{article.number}").status_code == 200
    assert auth.client_for("dev_manager").get(f"/kb/{draft.number}").status_code == 200  # a draft: not counted
    html = auth.client_for("engineer").get(f"/kb/{article.number}").get_data(as_text=True)
    assert re.search(r"<dt>浏览次数</dt><dd>4 ", html)
    assert measures.roll_up_views() == 4
    assert view_rows(article) == [(today_local(), 4)] and view_rows(draft) == []


def test_a_batch_left_over_by_a_roll_up_that_died_is_added_by_the_next(article_factory):
    from portal.core.redis_conn import get_redis

    article = article_factory("打印机无法打印")
    yesterday = today_local() - timedelta(days=1)
    get_redis().hset(f"{measures.ROLLING_KEY}{yesterday.isoformat()}:deadbeef", str(article.id), 2)
    measures.count_view(article.id)
    assert measures.roll_up_views() == 3
    assert sorted(view_rows(article)) == [(yesterday, 2), (today_local(), 1)]


def test_the_article_page_shows_answers_and_repeat_problems(auth, users, article_factory, ticket_factory):
    source = ticket_factory(summary="打印机无法打印")
    article = article_factory("打印机无法打印", source_ticket=source)
    again = ticket_factory(summary="打印机又无法打印")
    kb.link_ticket(article, again, users["engineer"])
    consultation = ticket_factory(type="consultation", summary="打印不出来怎么办")
    ops.take_action(consultation, "answer", users["impl_engineer"], {"answer": "见知识", "article": article.number})
    db.session.commit()
    m = measures.for_article(article)
    assert (m.answers, m.repeats) == (1, 2)  # the consultation and the linked ticket; not the source ticket
    html = auth.client_for("engineer").get(f"/kb/{article.number}").get_data(as_text=True)
    assert re.search(r"<dt>以本文解答的咨询</dt><dd>1</dd>", html)
    assert re.search(r"<dt>关联的重复问题</dt><dd>2</dd>", html)


def test_the_dashboard_tile_counts_the_period(auth, users, article_factory, ticket_factory):
    today = today_local()
    last_month = today.replace(day=1) - timedelta(days=1)
    source = ticket_factory(summary="打印机无法打印")
    printing = article_factory("打印机无法打印", module="打印", source_ticket=source)
    reports = article_factory("报表导出乱码", module="报表")
    article_factory("草稿不算", state="draft")
    for _ in range(3):
        measures.count_view(printing.id)
    measures.count_view(reports.id)
    for _ in range(5):
        measures.count_view(printing.id, day=last_month)  # another period
    measures.vote(printing, users["engineer"], True)
    measures.vote(printing, users["cs"], False)
    measures.vote(reports, users["dev_manager"], True)
    measures.vote(reports, users["market"], False)
    db.session.flush()
    db.session.execute(update(ArticleVote).where(ArticleVote.user_id == users["market"].id)
                       .values(voted_at=utcnow() - timedelta(days=40)))  # cast in an earlier period
    again = ticket_factory(summary="打印机又无法打印")
    kb.link_ticket(printing, again, users["engineer"])
    consultation = ticket_factory(type="consultation", summary="打印不出来怎么办")
    ops.take_action(consultation, "answer", users["impl_engineer"], {"answer": "见知识", "article": printing.number})
    db.session.commit()
    measures.roll_up_views()
    measures.count_view(reports.id)  # one more, not rolled up yet: the tile counts it too

    html = auth.client_for("admin").get(f"/metrics?period={today:%Y-%m}").get_data(as_text=True)
    tile = re.search(r'<article class="tile" id="tile-kb">(.*?)</article>', html, re.S)
    assert tile, "the dashboard has a KB tile"
    text = re.sub(r"<[^>]+>", "", tile.group(1))
    assert "<h2>知识库</h2>" in tile.group(1)
    assert re.search(r'<p class="value"><a href="/kb">2</a></p>', tile.group(1))  # published now
    assert "浏览 5 次" in text
    assert "3 票中有用 66.7%" in text
    assert "以知识解答咨询 1" in text
    assert "重复问题：打印 2" in text  # the linked ticket and the answered consultation, not the source
    assert db.session.scalar(select(func.sum(ArticleViewDay.views))) == 9  # 5 of them last month
