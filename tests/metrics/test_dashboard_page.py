"""The dashboard page: every figure with its target, red when missed, in Chinese; bad input refused
with a clear message; the htmx request gets only the figures."""
from __future__ import annotations

import re

import pytest


def test_the_dashboard_shows_each_figure_against_its_target(sept, auth):
    html = auth.client_for("admin").get("/metrics?period=2025-09").get_data(as_text=True)
    assert "服务指标 · 2025年9月" in html
    for title in ("受理问题", "解决率", "响应时间（中位数）", "解决时长（中位数）", "按期解决", "满意率",
                  "平均满意度", "每月电话回访", "上门回访", "服务工时", "投诉"):
        assert f"<h2>{title}</h2>" in html, title
    tile = lambda key: re.search(rf'<article class="tile([^"]*)" id="tile-{key}">(.*?)</article>', html, re.S)
    assert tile("resolution_rate").group(1) == " miss" and "50.0%" in tile("resolution_rate").group(2)
    assert "未达标" in tile("resolution_rate").group(2)
    assert tile("plan_callbacks").group(1) == " met"  # 2 of 2
    assert tile("plan_visits").group(1) == " miss"  # 1 of 2
    assert "2.0 小时" in tile("response").group(2) and "P90 12.4 小时" in tile("response").group(2)
    assert "26 小时" not in tile("resolution").group(2) and "26.0 小时" in tile("resolution").group(2)
    assert "3.50 分" in tile("satisfaction_mean").group(2)
    assert html.count("<svg") >= 4 + 1  # four charts (and the bell icon)
    assert "<script" not in html.split('id="figures"')[1]  # readable without JavaScript


def test_the_tables_list_engineers_and_levels(sept, auth):
    html = auth.client_for("admin").get("/metrics?period=2025-09").get_data(as_text=True)
    assert "按工程师" in html and "impl_engineer" in html
    assert "按维护级别" in html and "VIP维护" in html


def test_a_department_manager_s_dashboard_counts_only_their_department(sept, auth):
    html = auth.client_for("impl_manager").get("/metrics?period=2025-09").get_data(as_text=True)
    raised = re.search(r'id="tile-raised">.*?<p class="value"><a [^>]*>(\d+)</a>', html, re.S).group(1)
    assert raised == "1"


@pytest.mark.parametrize("query, message", [
    ("period=2025-13", "不是有效的统计期间"),
    ("period=banana", "不是有效的统计期间"),
    ("period=custom", "请选择自定义范围的起止日期"),
    ("period=custom&first=2025-09-30&last=2025-09-01", "截止日期早于起始日期"),
    ("period=custom&first=2020-01-01&last=2025-09-01", "最长三年"),
    ("level=gold", "维护级别"),
    ("engineer=abc", "工程师"),
    ("unit=不存在的单位", "没有与“不存在的单位”匹配的单位"),
])
def test_bad_input_gets_a_clear_chinese_message_and_a_400(sept, auth, query, message):
    r = auth.client_for("admin").get("/metrics?" + query)
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)


def test_a_unit_can_be_chosen_by_name_or_pinyin_initials(sept, auth):
    r = auth.client_for("admin").get("/metrics?period=2025-09&unit=shspdxqczj")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "上海市浦东新区财政局" in html
    assert f'name="customer_id" value="{sept.B.id}"' in html


def test_a_custom_range_and_a_quarter(sept, auth):
    client = auth.client_for("admin")
    html = client.get("/metrics?period=custom&first=2025-09-01&last=2025-09-10").get_data(as_text=True)
    assert "2025-09-01 至 2025-09-10" in html
    assert "2025年第3季度" in client.get("/metrics?period=2025Q3").get_data(as_text=True)


def test_an_htmx_request_gets_only_the_figures(sept, auth):
    r = auth.client_for("admin").get("/metrics?period=2025-09", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert "tile-raised" in html and "<html" not in html and 'name="period"' not in html


def test_before_the_first_refresh_the_page_says_so(users, auth):
    html = auth.client_for("admin").get("/metrics").get_data(as_text=True)
    assert "指标尚未生成" in html


def test_the_page_says_how_fresh_the_figures_are(sept, auth):
    assert "数据截至" in auth.client_for("admin").get("/metrics?period=2025-09").get_data(as_text=True)
