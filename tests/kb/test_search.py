"""Knowledge base search and suggestions: Chinese words as in ticket search, ranking, filters, drafts never
shown, the index in step with the article in the same transaction, stored markup inert."""
from __future__ import annotations

from sqlalchemy import text as sql

from portal.extensions import db
from portal.kb import operations as ops
from portal.kb.index import TABLE
from portal.kb.search import search, suggest


def _numbers(hits):
    return [h.number for h in hits]


def _index_rows() -> int:
    return db.session.execute(sql(f"SELECT count(*) FROM {TABLE}")).scalar()


def test_a_draft_is_found_neither_by_search_nor_by_suggest(users, article_factory):
    draft = article_factory("医保结算接口超时", symptom="医保结算时提示接口超时", publish=False)
    for user in ("cs", "engineer", "dev_manager"):
        assert search("医保结算", user=users[user]) == []
        assert suggest("病人医保结算一直超时", user=users[user]) == []
    ops.publish(draft, users["dev_manager"])
    db.session.commit()
    assert _numbers(search("医保结算", user=users["cs"])) == [draft.number]
    assert _numbers(suggest("病人医保结算一直超时", user=users["cs"])) == [draft.number]


def test_writers_may_search_drafts_when_they_ask_readers_never(users, article_factory):
    draft = article_factory("医保结算接口超时", publish=False)
    assert _numbers(search("医保结算", user=users["dev_manager"], published_only=False)) == [draft.number]
    assert search("医保结算", user=users["cs"], published_only=False) == []


def test_archived_articles_are_not_searched(users, article_factory):
    a = article_factory("医保结算接口超时")
    ops.archive(a, users["dev_manager"])
    db.session.commit()
    assert search("医保结算", user=users["cs"]) == [] and suggest("医保结算超时", user=users["cs"]) == []


def test_chinese_words_match_through_jieba_words_and_bigrams(users, article_factory):
    a = article_factory("打印机无法打印", symptom="门诊收费处的打印机点击打印没有反应")
    assert _numbers(search("打印", user=users["cs"])) == [a.number]
    assert _numbers(search("印机", user=users["cs"])) == [a.number]
    assert _numbers(search("收费处打印机", user=users["cs"])) == [a.number]
    assert search("挂号", user=users["cs"]) == []


def test_ranked_title_then_symptom_then_tags_then_body(users, article_factory):
    body = article_factory("甲文章", symptom="无关现象", cause="", solution="检查发票配置", tags="其他")
    tags = article_factory("乙文章", symptom="无关现象", solution="其他处理", tags="发票")
    symptom = article_factory("丙文章", symptom="开具发票时报错", solution="其他处理", tags="其他")
    title = article_factory("发票无法开具", symptom="无关现象", solution="其他处理", tags="其他")
    hits = search("发票", user=users["cs"])
    assert _numbers(hits) == [title.number, symptom.number, tags.number, body.number]
    assert hits[0].score > hits[1].score > hits[2].score > hits[3].score


def test_a_tag_is_found_by_its_pinyin_and_its_initials(users, article_factory):
    a = article_factory("某个问题", tags="打印机,报表")
    assert _numbers(search("dyj", user=users["cs"])) == [a.number]
    assert _numbers(search("dayinji", user=users["cs"])) == [a.number]
    assert _numbers(search("baob", user=users["cs"])) == [a.number]  # the last run is a prefix


def test_filters_module_version_and_tag(users, article_factory):
    a = article_factory("发票打印错位", module="门诊收费", versions="V3.2, V3.3", tags="发票,打印")
    b = article_factory("发票金额不符", module="住院结算", versions="V4.0", tags="发票")
    me = users["cs"]
    assert _numbers(search("发票", user=me, module="门诊收费")) == [a.number]
    assert _numbers(search("发票", user=me, version="V4.0")) == [b.number]
    assert _numbers(search("发票", user=me, tag="打印")) == [a.number]
    assert sorted(_numbers(search("", user=me, tag="发票"))) == sorted([a.number, b.number])
    assert search("发票", user=me, tag="发") == []  # a whole tag, not a part of one


def test_the_number_finds_its_article(users, article_factory):
    a = article_factory("某个问题")
    article_factory("另一个问题")
    assert _numbers(search(a.number.lower(), user=users["cs"])) == [a.number]


def test_suggest_matches_any_word_best_first_and_is_limited(users, article_factory):
    best = article_factory("打印机无法打印", symptom="打印没有反应")
    other = article_factory("报表导出很慢", symptom="导出报表时打印预览卡住")
    for i in range(6):
        article_factory(f"打印相关问题{i}")
    hits = suggest("门诊打印机点了打印没反应", user=users["cs"])
    assert len(hits) == 5 and hits[0].number == best.number
    assert other.number not in _numbers(suggest("打印机无法打印", user=users["cs"], limit=3))


def test_users_without_kb_view_find_nothing(users, article_factory, monkeypatch):
    from portal.core.kernel import kernel

    article_factory("打印机无法打印")
    role = next(iter(users["cs"].roles))
    monkeypatch.setitem(kernel.grants, role, frozenset())
    assert search("打印", user=users["cs"]) == [] and suggest("打印机", user=users["cs"]) == []


def test_the_index_is_written_in_the_articles_transaction(users, article_factory):
    before = _index_rows()
    a = ops.create(users["engineer"], ops.ArticleInput(title="院感上报失败", symptom="x", solution="y"))
    db.session.rollback()  # the article never existed: neither does its document
    assert _index_rows() == before
    a = article_factory("院感上报失败")
    assert _index_rows() == before + 1
    assert _numbers(search("院感上报", user=users["cs"])) == [a.number]
    ops.edit(a, users["dev_manager"], ops.ArticleInput(title="检验结果回传失败", symptom="x", solution="y"),
             expected_revision=a.revision_no)
    db.session.flush()
    db.session.rollback()  # the edit is undone: the document still says what the article says
    assert _numbers(search("院感上报", user=users["cs"])) == [a.number]
    assert search("检验结果", user=users["cs"]) == []
    a = db.session.get(type(a), a.id)
    ops.edit(a, users["dev_manager"], ops.ArticleInput(title="检验结果回传失败", symptom="x", solution="y"),
             expected_revision=a.revision_no)
    db.session.commit()
    assert search("院感上报", user=users["cs"]) == []
    assert _numbers(search("检验结果", user=users["cs"])) == [a.number]


def test_internal_notes_are_not_searchable(users, article_factory):
    article_factory("普通文章", internal_notes="内部口令备忘")
    assert search("口令", user=users["dev_manager"]) == []


HOSTILE = ('<script>alert(1)</script><a href="javascript:alert(2)" hx-get="/admin" hx-trigger="load">打印</a>'
           '<img src=x onerror=alert(3)>')


def test_stored_markup_is_inert_in_hits(users, article_factory):
    article_factory(f"打印 {HOSTILE}", symptom=f"打印机 {HOSTILE}", solution=HOSTILE)
    for hits in (search("打印", user=users["cs"]), suggest("打印机", user=users["cs"]), search("", user=users["cs"])):
        assert hits
        for h in hits:
            for html in (str(h.title_html), str(h.snippet)):
                assert "<script" not in html and "<a " not in html and "<img" not in html
                assert "&lt;script&gt;" in html or "&lt;a" in html or "&lt;" in html
