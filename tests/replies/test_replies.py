"""Standard replies (常用语, issue 16 item 5): placeholders filled from a ticket, unknown ones flagged, personal
texts private, shared texts changed only by managers, every change kept, and stored markup inert."""
from __future__ import annotations

from datetime import datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from portal.core.timeutil import clock_set_to
from portal.extensions import db
from portal.replies import operations as replies
from portal.replies.models import Reply, ReplyRevision
from portal.replies.placeholders import fill, unknown_placeholders, values_for
from portal.tickets import operations as ticket_ops

MANAGERS = ("dev_manager", "impl_manager", "market_manager")


def _assigned(ticket_factory, users, unit_factory, deadline=datetime(2026, 12, 8, 9, 0)):
    unit = unit_factory(name="北京市第一人民医院")
    t = ticket_factory(unit=unit, reporter_name="刘建国", summary="打印机无法打印")
    ticket_ops.take_action(t, "assign", users["dev_manager"], dict(assignee_id=users["engineer"].id,
                                                                    deadline=deadline))
    db.session.commit()
    return t


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_placeholders_are_filled_from_the_ticket(users, ticket_factory, unit_factory):
    users["engineer"].display_name = "王工程师"
    with clock_set_to(datetime(2026, 12, 6, 2, 0)):
        t = _assigned(ticket_factory, users, unit_factory, deadline=datetime(2026, 12, 8, 9, 0))  # 17:00 in Shanghai
        text = fill("{联系人}您好，{客户}的问题（{单号}：{摘要}）由{工程师}负责，将于{期限}前解决。今天是{日期}。",
                    values_for(t))
    assert text == (f"刘建国您好，北京市第一人民医院的问题（{t.number}：打印机无法打印）由王工程师负责，"
                    "将于2026年12月8日 17:00前解决。今天是2026年12月6日。")


def test_placeholders_without_a_value_and_unknown_ones_stay_visible(users, ticket_factory):
    t = ticket_factory()  # registered: no engineer, no deadline yet
    assert fill("{工程师}将在{期限}前联系{客户}，{未知}保持原样", values_for(t)) == \
        f"{{工程师}}将在{{期限}}前联系{t.customer.name}，{{未知}}保持原样"
    assert fill("{客户} {日期}", values_for(None)).startswith("{客户} ")  # the hotline: no ticket


def test_unknown_placeholders_are_flagged_and_refused_in_chinese(auth, users):
    assert unknown_placeholders("{客户}{客户名}{x}{客户名}") == ["客户名", "x"]
    c = auth.client_for("cs")
    r = c.post("/replies/new", data=dict(kind="callback", title="回访", body="您好{客户名}，请问{满意度}？"))
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "无法识别的占位符" in page and "{客户名}" in page and "{满意度}" in page
    assert _count(Reply) == 0


@pytest.mark.parametrize("data, message", [
    (dict(kind="callback", title="", body=""), "此项必填"),
    (dict(kind="callback", title="x" * 61, body="好"), "过长"),
    (dict(kind="callback", title="好", body="长" * 2001), "过长"),
    (dict(kind="nonsense", title="好", body="好"), ""),
])
def test_a_bad_reply_is_refused_in_chinese_and_nothing_is_saved(auth, users, data, message):
    r = auth.client_for("cs").post("/replies/new", data=data)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert _count(Reply) == 0


def test_a_personal_reply_is_invisible_to_others(auth, users):
    mine = replies.create(users["cs"], kind="callback", title="我的回访", body="我的私人话术{客户}", shared=False)
    db.session.commit()
    assert "我的私人话术" in auth.client_for("cs").get("/replies").get_data(as_text=True)
    for role in ("engineer", "dev_manager", "market", "market_manager"):
        c = auth.client_for(role)
        assert "我的私人话术" not in c.get("/replies").get_data(as_text=True)
        assert "我的私人话术" not in c.get("/replies/pick?field=x&kind=callback").get_data(as_text=True)
        assert c.get(f"/replies/{mine.id}").status_code == 404
        assert c.get(f"/replies/{mine.id}/edit").status_code == 404
        assert c.post(f"/replies/{mine.id}/edit", data=dict(kind="callback", title="改", body="改")).status_code == 404
        assert c.post(f"/replies/{mine.id}/archive").status_code == 404
    db.session.refresh(mine)
    assert (mine.title, mine.body, mine.version, mine.archived_at) == ("我的回访", "我的私人话术{客户}", 1, None)


def test_shared_replies_are_edited_only_by_managers(auth, users):
    shared = replies.create(users["dev_manager"], kind="deadline", title="告知期限", body="原文", shared=True)
    db.session.commit()
    for role in ("cs", "engineer", "impl_engineer", "market"):
        c = auth.client_for(role)
        assert "原文" in c.get("/replies").get_data(as_text=True)  # every colleague reads it
        assert c.get("/replies/new?scope=shared").status_code == 403
        assert c.post("/replies/new?scope=shared", data=dict(kind="general", title="t", body="b")).status_code == 403
        assert c.get(f"/replies/{shared.id}/edit").status_code == 403
        assert c.post(f"/replies/{shared.id}/edit", data=dict(kind="deadline", title="改", body="改")).status_code == 403
        assert c.post(f"/replies/{shared.id}/archive").status_code == 403
    assert _count(Reply) == 1 and _count(ReplyRevision) == 1
    db.session.refresh(shared)
    assert (shared.body, shared.version, shared.archived_at) == ("原文", 1, None)
    for n, role in enumerate(MANAGERS, start=2):
        r = auth.client_for(role).post(f"/replies/{shared.id}/edit",
                                       data=dict(kind="deadline", title="告知期限", body=f"第{n}版"))
        assert r.status_code == 302, role
    db.session.refresh(shared)
    assert (shared.body, shared.version) == ("第4版", 4)


def test_every_change_is_kept_and_an_archived_reply_is_not_deleted(auth, users):
    text_v1 = "您好{联系人}，\r\n  您的问题（{单号}）已解决。  "
    reply = replies.create(users["cs"], kind="callback", title="回访", body=text_v1, shared=False)
    db.session.commit()
    c = auth.client_for("cs")
    assert c.post(f"/replies/{reply.id}/edit", data=dict(kind="callback", title="回访二", body="第二版")).status_code == 302
    assert c.post(f"/replies/{reply.id}/edit", data=dict(kind="callback", title="回访二", body="第二版")).status_code == 302
    assert c.post(f"/replies/{reply.id}/archive").status_code == 302
    db.session.expire_all()
    revs = list(db.session.scalars(select(ReplyRevision).where(ReplyRevision.reply_id == reply.id)
                                   .order_by(ReplyRevision.version)))
    assert [(r.version, r.change) for r in revs] == [(1, "create"), (2, "edit"), (3, "archive")]  # no-op edit: none
    assert revs[0].body == text_v1 and revs[0].title == "回访"  # byte-identical
    reply = db.session.get(Reply, reply.id)
    assert reply.archived_at is not None and reply.body == "第二版"
    assert "第二版" not in c.get("/replies").get_data(as_text=True)
    assert "第二版" in c.get("/replies?archived=1").get_data(as_text=True)
    assert "第二版" not in c.get("/replies/pick?field=x").get_data(as_text=True)  # no longer offered
    history = c.get(f"/replies/{reply.id}").get_data(as_text=True)
    assert "已解决" in history and "第二版" in history
    assert c.post(f"/replies/{reply.id}/restore").status_code == 302
    assert "第二版" in c.get("/replies/pick?field=x").get_data(as_text=True)


def test_the_picker_fills_from_a_ticket_the_user_may_see_and_is_404_for_others(auth, users, ticket_factory,
                                                                                 unit_factory):
    users["engineer"].display_name = "王工程师"
    t = _assigned(ticket_factory, users, unit_factory)
    replies.create(users["dev_manager"], kind="deadline", title="告知期限", body="{客户}的问题由{工程师}负责",
                   shared=True)
    other = ticket_factory(summary="别人的问题")
    ticket_ops.take_action(other, "assign", users["dev_manager"], dict(assignee_id=users["engineer2"].id,
                                                                        deadline=datetime(2026, 12, 30)))
    db.session.commit()
    page = auth.client_for("cs").get(f"/replies/pick?ticket={t.number}&kind=deadline&field=notify_deadline-text",
                                     headers={"HX-Request": "true"})
    assert page.status_code == 200
    assert "北京市第一人民医院的问题由王工程师负责" in page.get_data(as_text=True)
    eng = auth.client_for("engineer")
    assert eng.get(f"/replies/pick?ticket={t.number}&field=f").status_code == 200  # assigned to them
    assert eng.get(f"/replies/pick?ticket={other.number}&field=f").status_code == 404  # someone else's
    assert eng.get("/replies/pick?ticket=SH-2026-999999&field=f").status_code == 404
    assert eng.get("/replies/pick?field=%3Cscript%3E").status_code == 404  # a field id is an id
    assert auth.client_for("admin").get(f"/replies/pick?ticket={t.number}&field=f").status_code == 403


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_stored_markup_is_inert_in_the_picker_and_the_pages(auth, users, ticket_factory):
    t = ticket_factory()
    evil = ('<script>alert(1)</script><img src=x onerror=alert(2)>'
            '<a href="javascript:alert(3)" hx-get="/admin/users" hx-trigger="load">{客户}</a>')
    reply = replies.create(users["cs"], kind="general", title='<b hx-post="/x">标题</b>', body=evil, shared=False)
    db.session.commit()
    c = auth.client_for("cs")
    for url in (f"/replies/pick?ticket={t.number}&field=f", "/replies", f"/replies/{reply.id}",
                f"/replies/{reply.id}/edit"):
        html = c.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        parser = _Elements()
        parser.feed(html)
        for tag, attrs in parser.tags:
            assert tag not in ("script", "img", "b") or "alert" not in str(attrs), (url, tag)
            assert not (tag == "a" and attrs.get("href", "").startswith("javascript:")), url
            assert attrs.get("hx-trigger") != "load" and attrs.get("hx-get") != "/admin/users", url
            assert attrs.get("hx-post") != "/x", url
            assert "onerror" not in attrs, url
        assert "<script>alert" not in html and "&lt;script&gt;" in html, url
    pick = c.get(f"/replies/pick?ticket={t.number}&field=f").get_data(as_text=True)
    parser = _Elements()
    parser.feed(pick)
    texts = [a["data-text"] for tag, a in parser.tags if "data-text" in a]
    assert texts == [evil.replace("{客户}", t.customer.name)]  # the text itself, unchanged, as plain text


def test_demo_replies_cover_every_kind_and_use_only_known_placeholders(users):
    from portal.replies import demo
    from portal.replies.models import ReplyKind

    demo.seed(users)
    db.session.commit()
    rows = list(db.session.scalars(select(Reply)))
    assert {r.kind for r in rows if r.shared} == {k.value for k in ReplyKind}
    assert [r.owner.username for r in rows if not r.shared] == ["cs"]
    assert not any(unknown_placeholders(r.title + r.body) for r in rows)


def test_the_hotline_form_offers_greetings_and_answers_filled_without_a_ticket(auth, users):
    replies.create(users["market_manager"], kind="greeting", title="问候", body="您好，今天是{日期}，{客户}", shared=True)
    db.session.commit()
    c = auth.client_for("cs")
    page = c.get("/hotline/new").get_data(as_text=True)
    assert "/replies/pick?field=content&amp;kind=greeting" in page
    assert "/replies/pick?field=handling&amp;kind=consultation" in page
    with clock_set_to(datetime(2026, 12, 6, 2, 0)):
        pick = c.get("/replies/pick?field=content&kind=greeting").get_data(as_text=True)
    assert "您好，今天是2026年12月6日，{客户}" in pick  # no ticket: the customer stays to be said


def test_the_ticket_page_offers_the_picker_of_each_action_s_kind(auth, users, ticket_factory, unit_factory):
    t = _assigned(ticket_factory, users, unit_factory)
    page = auth.client_for("cs").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert f"/replies/pick?field=notify_deadline-text&amp;kind=deadline&amp;ticket={t.number}" in page
    assert f"/replies/pick?field=comment-text&amp;ticket={t.number}" in page  # a note: every kind
    assert "/replies/pick" not in auth.client_for("admin").get(f"/tickets/{t.number}").get_data(as_text=True)
