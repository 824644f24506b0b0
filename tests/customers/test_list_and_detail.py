"""The customer list (search by name or pinyin initials, status filter, keyset pages) and the detail page."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.core.enums import MaintenanceStatus
from portal.core.timeutil import today_local
from portal.customers import operations as ops
from portal.extensions import db

from .helpers import counts

VIEWERS = ["cs", "market", "market_manager", "dev_manager", "impl_manager", "admin"]
NOT_VIEWERS = ["engineer", "impl_engineer"]


@pytest.fixture
def three_units(unit_factory):
    return {
        "bj": unit_factory(name="北京市第一人民医院", status="vip"),
        "sh": unit_factory(name="上海市浦东新区财政局", status="ordinary"),
        "hz": unit_factory(name="杭州市西湖区税务局", status="stopped"),
    }


def test_initials_of_gives_the_first_pinyin_letter_of_each_character():
    assert ops.initials_of("北京市第一人民医院") == "bjsdyrmyy"
    assert ops.initials_of("ABC软件公司2号") == "abcrjgs2h"


def test_search_finds_a_unit_by_part_of_its_name(auth, three_units):
    r = auth.client_for("cs").get("/customers?q=浦东")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "上海市浦东新区财政局" in html and "北京市第一人民医院" not in html


@pytest.mark.parametrize("q", ["bjsdy", "BJSDY", "rmyy"])
def test_search_finds_a_unit_by_its_pinyin_initials(auth, three_units, q):
    html = auth.client_for("cs").get(f"/customers?q={q}").get_data(as_text=True)
    assert "北京市第一人民医院" in html
    assert "上海市浦东新区财政局" not in html and "杭州市西湖区税务局" not in html


def test_search_treats_like_wildcards_as_plain_text(auth, three_units):
    html = auth.client_for("cs").get("/customers?q=%25").get_data(as_text=True)
    assert "北京市第一人民医院" not in html
    assert "没有符合条件的单位" in html


def test_filter_by_maintenance_status_shows_only_units_with_that_status(auth, three_units):
    html = auth.client_for("market").get("/customers?status=stopped").get_data(as_text=True)
    assert "杭州市西湖区税务局" in html
    assert "北京市第一人民医院" not in html and "上海市浦东新区财政局" not in html


def test_active_search_request_gets_only_the_results_block(auth, three_units):
    r = auth.client_for("cs").get("/customers?q=xhq", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<html" not in html and "<table" in html and "杭州市西湖区税务局" in html
    assert "HX-Request" in r.headers.get("Vary", "")
    full = auth.client_for("cs").get("/customers?q=xhq").get_data(as_text=True)
    assert "<html" in full and 'hx-trigger="input changed delay:250ms, search"' in full
    assert 'hx-push-url="true"' in full


def test_list_is_bounded_and_pages_by_name_without_gaps_or_repeats(auth):
    for i in range(ops.PAGE_SIZE + 7):
        ops.create_unit(f"测试单位{i:03d}")
    db.session.commit()
    client = auth.client_for("cs")
    first = client.get("/customers").get_data(as_text=True)
    assert first.count('href="/customers/') - first.count('href="/customers/new') - \
        first.count('href="/customers/import') == ops.PAGE_SIZE
    import re

    nxt = re.search(r'href="(/customers\?after=[^"]+)" rel="next"', first)
    assert nxt, "no next-page link"
    second = client.get(nxt.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "测试单位049" in first and "测试单位049" not in second
    assert all(f"测试单位{i:03d}" in second for i in range(ops.PAGE_SIZE, ops.PAGE_SIZE + 7))
    assert 'rel="next"' not in second and "第一页" in second


def test_a_damaged_page_cursor_shows_the_first_page(auth, three_units):
    r = auth.client_for("cs").get("/customers?after=not-a-cursor!!")
    assert r.status_code == 200 and "北京市第一人民医院" in r.get_data(as_text=True)


@pytest.mark.parametrize("role", VIEWERS)
def test_view_roles_may_see_the_list_and_the_detail(auth, three_units, role):
    client = auth.client_for(role)
    assert client.get("/customers").status_code == 200
    assert client.get(f"/customers/{three_units['bj'].id}").status_code == 200


@pytest.mark.parametrize("role", NOT_VIEWERS)
def test_engineers_may_not_see_customers(auth, three_units, role):
    client = auth.client_for(role)
    assert client.get("/customers").status_code == 403
    assert client.get("/customers", headers={"HX-Request": "true"}).status_code == 403
    assert client.get(f"/customers/{three_units['bj'].id}").status_code == 403


def test_unknown_unit_is_404(auth):
    assert auth.client_for("cs").get("/customers/999999").status_code == 404


def test_detail_shows_facts_contacts_contracts_history_and_ticket_link(auth, unit_factory):
    unit = unit_factory(name="深圳市南山区人民医院", status="vip", address="深圳市南山区桃园路 89 号",
                        phone="0755-26553111", user_count=900)
    ops.add_contact(unit, name="刘建国", department="信息科", phone="13800138001", email="liu@example.cn")
    today = today_local()
    ops.add_contract(unit, start_date=today - timedelta(days=400), end_date=today - timedelta(days=36),
                     fee=Decimal("0"), free_year=True, note="购买后首年免费维护")
    ops.add_contract(unit, start_date=today - timedelta(days=35), end_date=today + timedelta(days=330),
                     fee=Decimal("25000"), note="年度维护合同")
    db.session.commit()
    html = auth.client_for("cs").get(f"/customers/{unit.id}").get_data(as_text=True)
    for text in ("深圳市南山区桃园路 89 号", "0755-26553111", "900", "VIP维护", "刘建国", "信息科", "13800138001",
                 "liu@example.cn", "¥25,000.00", "购买后首年免费维护", "年度维护合同", "生效中", "维护状态记录",
                 "新建单位"):
        assert text in html, text
    assert f'href="/tickets?customer_id={unit.id}"' in html
    # the contract in force today is the highlighted one
    current_row = html.split('<tr class="current">')[1].split("</tr>")[0]
    assert "年度维护合同" in current_row


def test_lookup_for_the_intake_form_still_returns_radio_options_named_customer_id(auth, three_units):
    r = auth.client_for("cs").get("/customers/lookup?customer_q=bjsdy", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f'name="customer_id" value="{three_units["bj"].id}"' in html
    assert auth.client_for("market").get("/customers/lookup?customer_q=bj").status_code == 403


def test_search_units_keeps_its_signature_for_other_areas(three_units):
    assert [u.name for u in ops.search_units("bj", limit=5)] == ["北京市第一人民医院"]
    assert ops.search_units("", limit=2) and len(ops.search_units("", limit=2)) == 2
    assert counts()["CustomerUnit"] == 3
    assert MaintenanceStatus(three_units["hz"].maintenance_status) is MaintenanceStatus.STOPPED
