"""Articles: revisions never lost, review permissions, the customer view, the review period."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.core.timeutil import clock_set_to, utcnow
from portal.extensions import db
from portal.kb import operations as ops
from portal.kb.models import Article, ArticleRevision
from portal.notifications.models import Reminder

TRICKY = "  前导空格\r\n制表符\t尾随空格  \n😀 &amp; <b>不是标记</b>\u200b零宽\n"


def _reload(article_id):
    db.session.expire_all()
    return db.session.get(Article, article_id)


def test_every_edit_appends_a_revision_and_the_old_text_stays_byte_identical(users, article_factory):
    a = article_factory("报表导出乱码", symptom=TRICKY, solution="第一版解决方法", publish=False)
    aid = a.id
    ops.edit(a, users["engineer"], ops.ArticleInput(title="报表导出乱码（Excel）", symptom="改写后的现象",
                                                    solution="第二版解决方法"), expected_revision=1)
    db.session.commit()
    a = _reload(aid)
    ops.edit(a, users["engineer"], ops.ArticleInput(title="报表导出乱码（Excel）", symptom="第三版现象",
                                                    solution="第三版解决方法"), expected_revision=2)
    db.session.commit()
    db.session.remove()
    revs = {r.revision_no: r for r in db.session.scalars(select(ArticleRevision)
                                                        .where(ArticleRevision.article_id == aid))}
    assert sorted(revs) == [1, 2, 3]
    assert revs[1].symptom == TRICKY and revs[1].symptom.encode() == TRICKY.encode()
    assert revs[1].title == "报表导出乱码" and revs[1].solution == "第一版解决方法"
    assert revs[2].symptom == "改写后的现象" and revs[3].symptom == "第三版现象"
    assert _reload(aid).revision_no == 3 and _reload(aid).symptom == "第三版现象"


def test_an_edit_of_an_old_version_is_refused_and_changes_nothing(users, article_factory):
    a = article_factory(publish=False)
    ops.edit(a, users["engineer"], ops.ArticleInput(title="新标题", solution="x"), expected_revision=1)
    db.session.commit()
    with pytest.raises(ops.KbError) as e:
        ops.edit(a, users["engineer"], ops.ArticleInput(title="另一个标题", solution="y"), expected_revision=1)
    assert e.value.status == 409
    db.session.rollback()
    assert _reload(a.id).title == "新标题"
    assert db.session.scalar(select(func.count()).select_from(ArticleRevision)) == 2


def test_review_steps_are_revisions_too_and_a_send_back_says_why(users, article_factory):
    a = article_factory(publish=False)
    with pytest.raises(ops.KbError):
        ops.send_back(a, users["dev_manager"], comment=" ")
    db.session.rollback()
    ops.send_back(a, users["dev_manager"], comment="原因写得不清楚")
    db.session.commit()
    assert a.state == "draft" and a.review_comment == "原因写得不清楚"
    ops.publish(a, users["impl_manager"])
    db.session.commit()
    assert [r.action for r in ops.revisions(a)] == ["publish", "send_back", "create"]
    assert a.state == "published" and a.reviewed_by_id == users["impl_manager"].id and a.review_comment == ""


@pytest.mark.parametrize("role", ["engineer", "impl_engineer", "cs", "market", "admin"])
def test_only_the_managers_publish(users, article_factory, role):
    a = article_factory(publish=False)
    with pytest.raises(ops.KbError) as e:
        ops.publish(a, users[role])
    assert e.value.status == 403
    db.session.rollback()
    assert _reload(a.id).state == "draft"


@pytest.mark.parametrize("role", ["dev_manager", "impl_manager"])
def test_the_development_and_implementation_managers_publish(users, article_factory, role):
    a = article_factory(publish=False)
    ops.publish(a, users[role])
    db.session.commit()
    assert _reload(a.id).state == "published"


@pytest.mark.parametrize("role", ["cs", "market", "admin"])
def test_readers_do_not_write(users, role):
    with pytest.raises(ops.KbError) as e:
        ops.create(users[role], ops.ArticleInput(title="标题"))
    assert e.value.status == 403


def test_an_engineer_edits_only_own_drafts(users, article_factory):
    mine = article_factory(publish=False)
    assert ops.may_edit(users["engineer"], mine) and not ops.may_edit(users["engineer2"], mine)
    assert not ops.may_see(users["engineer2"], mine) and ops.may_see(users["dev_manager"], mine)
    ops.publish(mine, users["dev_manager"])
    db.session.commit()
    assert not ops.may_edit(users["engineer"], mine) and ops.may_see(users["engineer2"], mine)


def test_publishing_needs_a_symptom_and_a_solution(users, article_factory):
    a = article_factory(symptom="", solution="", publish=False)
    with pytest.raises(ops.KbError) as e:
        ops.publish(a, users["dev_manager"])
    assert set(e.value.errors) == {"symptom", "solution"}


SECRET = "内部备注：客户数据库密码在运维手册第3页"


def test_the_customer_view_never_holds_internal_fields(users, article_factory):
    a = article_factory(internal_notes=SECRET, visibility="customer")
    view = ops.public_view(a)
    assert view is not None and view["title"] == a.title and view["solution"] == a.solution
    flat = repr(view)
    assert SECRET not in flat and "internal_notes" not in view
    assert not {"owner_id", "reviewed_by_id", "review_comment", "source_ticket_id"} & set(view)


def test_the_customer_view_shows_nothing_internal_or_unpublished(users, article_factory):
    assert ops.public_view(article_factory(visibility="internal")) is None
    assert ops.public_view(article_factory(visibility="customer", publish=False)) is None


def test_an_article_not_reviewed_for_the_period_reminds_its_owner_once(users, article_factory, monkeypatch):
    monkeypatch.setenv("POLICY_KB_REVIEW_DAYS", "30")
    with clock_set_to(utcnow() - timedelta(days=40)):
        old = article_factory("旧文章")
    fresh = article_factory("新文章")
    assert ops.is_stale(old) and not ops.is_stale(fresh)
    assert ops.open_stale_reminders() == 1
    assert ops.open_stale_reminders() == 0  # a second sweep creates nothing
    r = db.session.scalar(select(Reminder).where(Reminder.kind == "kb_stale"))
    assert r.user_id == users["engineer"].id and r.closed_at is None
    ops.publish(old, users["dev_manager"])  # re-confirmed by a reviewer
    db.session.commit()
    db.session.refresh(r)
    assert r.closed_at is not None and not ops.is_stale(old)
    assert ops.open_stale_reminders() == 0


def test_the_stale_sweep_job_reminds_the_owner_in_person_once(users, article_factory, monkeypatch):
    from portal.kb.jobs import sweep_stale_articles
    from portal.notifications.models import Notification

    monkeypatch.setenv("POLICY_KB_REVIEW_DAYS", "30")
    with clock_set_to(utcnow() - timedelta(days=31)):
        article_factory("旧文章")
    assert sweep_stale_articles()["kb_stale"] == 1
    assert sweep_stale_articles() == {"kb_stale": 0, "notified": 0}
    notes = list(db.session.scalars(select(Notification).where(Notification.kind == "kb_stale")))
    assert [n.user_id for n in notes] == [users["engineer"].id]


def test_the_kb_home_flags_stale_articles_to_their_owner_and_the_reviewers(auth, users, article_factory, monkeypatch):
    monkeypatch.setenv("POLICY_KB_REVIEW_DAYS", "30")
    with clock_set_to(utcnow() - timedelta(days=31)):
        old = article_factory("旧文章")
    for role in ("engineer", "dev_manager"):
        page = auth.client_for(role).get("/kb").get_data(as_text=True)
        assert "超过 30 天未复审" in page, role
        assert old.number in auth.client_for(role).get("/kb?view=stale").get_data(as_text=True)
    assert "未复审" not in auth.client_for("engineer2").get("/kb").get_data(as_text=True)
    assert "未复审" not in auth.client_for("cs").get("/kb").get_data(as_text=True)
