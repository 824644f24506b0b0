"""Ticket search (issue 7): Chinese words inside longer phrases, ranking, visibility, highlighting, and an index
that follows every write. Runs on SQLite (FTS5) and PostgreSQL (tsvector + GIN) alike."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.search import text as search_text
from portal.tickets import listing, operations
from portal.tickets.models import Ticket


def found(client, q: str, **filters) -> list[str]:
    """Ticket numbers on the first result page, in order."""
    r = client.get("/tickets", query_string={"q": q, **filters})
    assert r.status_code == 200
    return re.findall(r'<a href="/tickets/(SH-[0-9-]+)">', r.get_data(as_text=True))


def results_html(client, q: str) -> str:
    r = client.get("/tickets", query_string={"q": q}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    return r.get_data(as_text=True)


@pytest.fixture
def cs(auth):
    return auth.client_for("cs")


# --- Chinese inside longer phrases ----------------------------------------------------------------------------

def test_a_chinese_word_is_found_inside_a_longer_phrase(cs, ticket_factory):
    t = ticket_factory(summary="打印机无法打印", description="点击打印后无反应")
    other = ticket_factory(summary="系统登录缓慢", description="早上登录要等一分钟")
    for q in ("打印", "打印机", "印机", "无法打印", "打印 无法", "无反应"):
        assert found(cs, q) == [t.number], q
    assert found(cs, "登录") == [other.number]
    assert found(cs, "扫描仪") == []


def test_description_result_comments_and_callback_notes_are_searched(cs, users, ticket_factory):
    t = ticket_factory(summary="报表导出失败", description="导出时提示内存不足")
    operations.take_action(t, "comment", users["cs"], {"text": "客户说财务科也遇到同样情况"})
    db.session.commit()
    assert found(cs, "内存不足") == [t.number]
    assert found(cs, "财务科") == [t.number]


def test_a_single_character_and_the_start_of_a_phone_number_match(cs, ticket_factory):
    t = ticket_factory(summary="打印机卡纸", reporter_phone="13912345678")
    assert found(cs, "卡") == [t.number]
    assert found(cs, "1391") == [t.number]


def test_ticket_number_finds_that_ticket_first(cs, ticket_factory):
    a = ticket_factory(summary="打印机无法打印")
    b = ticket_factory(summary="打印机无法打印")
    assert found(cs, a.number)[0] == a.number
    assert found(cs, b.number.lower())[0] == b.number


def test_customer_unit_pinyin_initials_find_the_units_tickets(cs, ticket_factory, unit_factory):
    unit = unit_factory(name="北京市第一人民医院")
    mine = ticket_factory(unit=unit, summary="工资计算结果错误")
    ticket_factory(unit=unit_factory(name="上海市中医院"), summary="工资计算结果错误")
    assert found(cs, "bjsdyrmyy") == [mine.number]
    assert found(cs, "北京市第一人民医院") == [mine.number]


# --- ranking --------------------------------------------------------------------------------------------------

def test_title_matches_rank_before_matches_elsewhere_and_exact_summary_first(cs, ticket_factory):
    in_title = ticket_factory(summary="打印机无法打印", description="无")
    exact = ticket_factory(summary="打印", description="无")
    in_body = ticket_factory(summary="系统登录缓慢", description="顺便问一下打印的问题")  # newest
    assert found(cs, "打印") == [exact.number, in_title.number, in_body.number]


def test_newest_first_within_a_tier(cs, ticket_factory):
    older = ticket_factory(summary="打印机无法打印")
    newer = ticket_factory(summary="打印机缺墨")
    assert found(cs, "打印机") == [newer.number, older.number]


def test_results_continue_on_the_next_page_across_tiers(users, ticket_factory):
    title = [ticket_factory(summary=f"打印问题{i}") for i in range(3)]
    body = [ticket_factory(summary="其他问题", description="打印") for _ in range(2)]
    f = listing.Filters.from_args(MultiDict({"q": "打印"}))
    seen = []
    while True:
        page = listing.fetch(f, users["cs"], page_size=2)
        seen += [t.number for t, _ in page.rows]
        if not page.next_cursor:
            break
        f = listing.Filters.from_args(MultiDict({"q": "打印", "after": page.next_cursor}))
    assert seen == [t.number for t in reversed(title)] + [t.number for t in reversed(body)]


# --- filters and visibility -----------------------------------------------------------------------------------

def test_filters_combine_with_the_search(cs, ticket_factory):
    problem = ticket_factory(summary="打印机无法打印")
    question = ticket_factory(type="consultation", summary="打印机如何设置")
    assert set(found(cs, "打印机")) == {problem.number, question.number}
    assert found(cs, "打印机", type="consultation") == [question.number]
    assert found(cs, "打印机", state="registered") == [problem.number]


def test_search_never_shows_a_ticket_the_user_may_not_see(auth, ticket_factory):
    visible = ticket_factory(summary="打印机无法打印")  # waits in 开发部's queue: engineers see it
    hidden = ticket_factory(type="consultation", summary="打印机如何设置")  # 实施部's queue only
    assert found(auth.client_for("engineer"), "打印机") == [visible.number]
    assert found(auth.client_for("impl_engineer"), "打印机") == [hidden.number]
    assert hidden.number not in found(auth.client_for("engineer"), hidden.number)


def test_masked_personal_fields_cannot_be_searched_by_those_who_see_them_masked(auth, users, ticket_factory):
    t = ticket_factory(summary="打印机无法打印", reporter_name="欧阳娜娜", reporter_phone="13755556666")
    ticket = db.session.get(Ticket, t.id)
    _drive_to_closed(ticket, users)
    engineer = auth.client_for("engineer")  # never assigned: sees the closed ticket masked
    assert found(engineer, "打印机") == [t.number]
    assert found(engineer, "欧阳娜娜") == []
    assert found(engineer, "13755556666") == []
    assert found(auth.client_for("engineer2"), "欧阳娜娜") == [t.number]  # the assignee sees them
    assert found(auth.client_for("cs"), "13755556666") == [t.number]


def _drive_to_closed(t, users):
    from datetime import timedelta

    from portal.core.timeutil import utcnow

    steps = [
        ("assign", "dev_manager", {"assignee_id": users["engineer2"].id, "deadline": utcnow() + timedelta(days=3),
                                   "analysis": "分析"}),
        ("notify_deadline", "cs", {"whom": "刘建国", "method": "phone"}),
        ("resolve", "engineer2", {"process": "检查驱动", "result": "重装驱动后正常", "hours_spent": 1}),
        ("callback", "cs", {"solved": True, "method": "phone", "text": "客户确认已解决", "satisfaction": 5}),
        ("close", "market", {"note": ""}),
    ]
    for action, who, data in steps:
        operations.take_action(t, action, users[who], data)
        db.session.commit()
    assert t.state == "closed"


# --- highlighting ---------------------------------------------------------------------------------------------

def test_matched_words_are_highlighted_after_escaping(cs, ticket_factory):
    ticket_factory(summary="<b>打印</b>机无法打印", description="点击<script>打印</script>后无反应")
    html = results_html(cs, "打印")
    assert "&lt;b&gt;<mark>打印</mark>&lt;/b&gt;" in html
    assert "<script>" not in html and "&lt;script&gt;<mark>打印</mark>" in html


def test_highlight_escapes_every_piece():
    out = search_text.highlight('a<"打印">&b', ("打印",))
    assert str(out) == 'a&lt;&#34;<mark>打印</mark>&#34;&gt;&amp;b'


# --- the index follows every write ----------------------------------------------------------------------------

def test_a_new_comment_becomes_findable(cs, users, ticket_factory):
    t = ticket_factory(summary="系统登录缓慢")
    assert found(cs, "防火墙") == []
    operations.take_action(t, "comment", users["cs"], {"text": "怀疑是防火墙拦截"})
    db.session.commit()
    assert found(cs, "防火墙") == [t.number]


def test_a_changed_summary_replaces_the_old_words(cs, ticket_factory):
    t = ticket_factory(summary="打印机无法打印")
    ticket = db.session.get(Ticket, t.id)
    ticket.summary = "扫描仪无法扫描"
    db.session.commit()
    assert found(cs, "打印机") == []
    assert found(cs, "扫描仪") == [t.number]


def test_resolution_and_callback_notes_become_findable(cs, users, ticket_factory):
    t = ticket_factory(summary="打印机无法打印")
    _drive_to_closed(db.session.get(Ticket, t.id), users)
    assert found(cs, "重装驱动") == [t.number]
    assert found(cs, "客户确认") == [t.number]


def test_a_rolled_back_change_leaves_the_index_as_it_was(cs, ticket_factory):
    t = ticket_factory(summary="打印机无法打印")
    ticket = db.session.get(Ticket, t.id)
    ticket.summary = "扫描仪无法扫描"
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert found(cs, "打印机") == [t.number]
    assert found(cs, "扫描仪") == []


def test_reindex_rebuilds_the_index_from_the_tickets(app, cs, users, ticket_factory):
    t = ticket_factory(summary="打印机无法打印")
    number = t.number
    operations.take_action(t, "comment", users["cs"], {"text": "怀疑是防火墙拦截"})
    db.session.commit()
    table = "ticket_search"
    with db.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {table}"))
    assert found(cs, "防火墙") == []
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["search-reindex", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert found(cs, "防火墙") == [number]
    assert found(cs, "打印机") == [number]


def test_export_style_base_query_applies_the_search(users, ticket_factory):
    a = ticket_factory(summary="打印机无法打印")
    ticket_factory(summary="系统登录缓慢")
    q = listing.base_query(listing.Filters.from_args(MultiDict({"q": "打印"})), users["cs"])
    assert [t.number for t in db.session.scalars(q)] == [a.number]


# --- text ------------------------------------------------------------------------------------------------------

def test_index_tokens_hold_jieba_words_and_bigrams():
    tokens = search_text.tokens("打印机无法打印。Error E8650")
    assert {"打印", "打印机", "印机", "无法", "机无", "error", "e8650"} <= tokens


def test_query_words_are_jieba_words():
    assert search_text.query_words("打印机无法打印") == ["打印机", "无法", "打印"]
