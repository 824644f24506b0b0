"""Out-of-range numbers and dates (issue 12: 26 of 27 tried answered 500 — OverflowError from SQLite,
dates out of range, NaN fees). Each class the fuzz test found, as a table:

- a list ignores the value and says so on the page (200), or refuses its filter form with the message (400)
  where it always did (complaints, the dashboard);
- an id in the path that cannot exist is 404;
- a form answers 422 with the Chinese message and writes nothing (every table and file compared).
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.security.world import changed, fingerprint

HUGE = "99999999999999999999999"
NOTICE = "未予采用"  # "Not understood, so not applied: …"


@pytest.fixture
def small(users, ticket_factory, unit_factory):
    """A unit with a contract, a ticket waiting for analysis, a hotline record and a duty manager."""
    from datetime import date
    from decimal import Decimal

    from portal.auth.operations import create_user
    from portal.core.enums import Role
    from portal.customers import operations as customers
    from portal.extensions import db
    from portal.hotline import operations as hotline
    from tests.conftest import PASSWORD

    unit = unit_factory(name="甲市人民医院")
    contract = customers.add_contract(unit, start_date=date(2025, 1, 1), end_date=date(2025, 12, 31),
                                      fee=Decimal("10000"))
    ticket = ticket_factory(unit=unit)
    record = hotline.create_record(users["cs"], hotline.RecordInput(
        unit_name=unit.name, phone="13800138001", contact_name="张建华", content="系统登录不了"))
    create_user("duty", PASSWORD, "值班经理", [Role.CS, Role.DUTY_MANAGER], "cs")
    db.session.commit()
    return {"unit": unit.id, "contract": contract.id, "ticket": ticket.number, "version": ticket.version,
            "record": record.id, "engineer": users["engineer"].id}


# --- lists: the value is ignored, and the page says which --------------------------------------------

@dataclass
class Listed:
    role: str
    url: str
    status: int = 200
    says: str | None = NOTICE  # what the page must say (None: nothing to check beyond the status)


LISTS = [
    Listed("cs", f"/tickets?customer_id={HUGE}", says="客户单位"),
    Listed("cs", "/tickets?customer_id=-1", says="客户单位"),
    Listed("cs", f"/tickets?assignee_id={HUGE}", says="处理人"),
    Listed("cs", "/tickets?date_from=9999-12-31"),
    Listed("cs", "/tickets?date_to=0001-01-01"),
    Listed("cs", "/tickets?date_from=10000-01-01"),
    Listed("cs", "/tickets?date_to=2026-02-30"),
    Listed("cs", "/tickets?after=W3RydWUsIDVd", says=None),  # a forged cursor: the first page
    Listed("admin", f"/tickets/export.csv?customer_id={HUGE}", says=None),
    Listed("cs", f"/documents?unit_id={HUGE}"),
    Listed("cs", "/documents?unit_id=0"),
    Listed("cs", "/service-plan?month=9999-12"),
    Listed("cs", "/service-plan?month=0000-01"),
    Listed("cs", "/hotline/roster?week=9999-12-31", says="所在周"),  # this week instead, and said so
    Listed("cs", "/hotline/roster?week=0001-01-01", says="所在周"),
    Listed("cs", f"/hotline?before={HUGE}", says=None),
    Listed("admin", f"/metrics/plan?page={HUGE}", says=None),
    Listed("admin", "/metrics/plan?page=-5", says=None),
    Listed("admin", f"/metrics/callbacks?after={HUGE}", says=None),
    Listed("admin", f"/metrics?customer_id={HUGE}", status=400, says="选择无效"),
    Listed("admin", "/metrics?period=9999-12", status=400, says="9999-12"),  # its end is past the calendar
    Listed("admin", "/metrics?period=9999Q4", status=400, says="9999Q4"),
    Listed("admin", "/metrics?period=0001", status=400, says="0001"),  # its trend steps back past year 1
    Listed("admin", "/metrics/callbacks?period=9999-12", status=400, says=None),
    Listed("admin", "/metrics?period=custom&first=0001-01-01&last=9999-12-31", status=400, says="1900-01-01"),
    Listed("admin", f"/complaints?customer_id={HUGE}", status=400, says="选择无效"),
    Listed("admin", "/complaints?received_from=9999-12-31", status=400, says="1900-01-01"),
    Listed("cs", f"/complaints/new?customer_id={HUGE}", says=None),
]


@pytest.mark.parametrize("case", LISTS, ids=[c.url for c in LISTS])
def test_a_list_ignores_an_out_of_range_value_and_says_so(auth, small, case):
    r = auth.client_for(case.role).get(case.url)
    assert r.status_code == case.status
    if case.says:
        assert case.says in r.get_data(as_text=True)


# --- paths: an id that cannot exist is no page ------------------------------------------------------------

PATHS = [
    ("cs", "GET", "/customers/99999999999999999999"),
    ("cs", "GET", "/customers/9223372036854775808"),
    ("cs", "GET", "/customers/2147483648"),
    ("cs", "GET", "/customers/-1"),
    ("cs", "GET", "/customers/0"),
    ("cs", "GET", "/customers/" + "9" * 5000),
    ("cs", "GET", f"/handover/units/{HUGE}"),
    ("admin", "GET", f"/complaints/{HUGE}"),
    ("cs", "GET", f"/hotline/{HUGE}"),
    ("admin", "GET", f"/metrics/units/{HUGE}/history.csv"),
    ("cs", "GET", f"/tickets/new?hotline_record_id={HUGE}"),
    ("market", "POST", f"/customers/{HUGE}/contacts/{HUGE}/edit"),
    ("cs", "POST", f"/handover/units/{HUGE}/callback"),
    ("cs", "POST", f"/notifications/{HUGE}/read"),
]


@pytest.mark.parametrize("role,method,url", PATHS, ids=[p[2][:60] for p in PATHS])
def test_an_id_past_what_a_column_holds_is_404(auth, small, role, method, url):
    client = auth.client_for(role)  # signed in before the fingerprint: signing in writes its session
    before = fingerprint()
    r = client.open(url, method=method)
    assert r.status_code == 404
    assert changed(before, fingerprint()) == []


# --- forms: 422, the Chinese message, nothing written ------------------------------------------------------

@dataclass
class Posted:
    role: str
    url: str  # {unit} {contract} {ticket} {record} filled from the small world
    data: dict
    says: str
    status: int = 422


DATE = "1900-01-01 至 2999-12-31"
FORMS = [
    Posted("dev_manager", "/tickets/{ticket}/actions/assign",
           {"assign-assignee_id": HUGE, "assign-deadline": "2026-12-30T10:00"}, "选择无效"),
    Posted("dev_manager", "/tickets/{ticket}/actions/assign",
           {"assign-assignee_id": "-1", "assign-deadline": "2026-12-30T10:00"}, "选择无效"),
    Posted("dev_manager", "/tickets/{ticket}/actions/assign",
           {"assign-assignee_id": "{engineer}", "assign-deadline": "9999-12-31T23:59"}, DATE),
    Posted("dev_manager", "/tickets/{ticket}/actions/assign",
           {"assign-assignee_id": "{engineer}", "assign-deadline": "0001-01-01T00:00"}, DATE),
    Posted("cs", "/tickets/{ticket}/actions/comment", {"comment-text": "x", "comment-version": HUGE},
           "此表单已过期", 409),  # a version no form was shown with: stale
    Posted("cs", "/customers/{unit}/contracts/new",
           {"start_date": "2026-01-01", "end_date": "2026-12-31", "fee": "NaN"}, "请输入数字金额"),
    Posted("cs", "/customers/{unit}/contracts/new",
           {"start_date": "2026-01-01", "end_date": "2026-12-31", "fee": "1e308"}, "请输入数字金额"),
    Posted("cs", "/customers/{unit}/contracts/new",
           {"start_date": "0001-01-01", "end_date": "2026-12-31", "fee": "100"}, DATE),
    Posted("cs", "/customers/{unit}/contracts/new",
           {"start_date": "2026-01-01", "end_date": "10000-01-01", "fee": "100"}, DATE),
    Posted("cs", "/customers/{unit}/contracts/{contract}/renew",
           {"start_date": "2026-01-01", "end_date": "9999-12-31", "fee": "Infinity"}, DATE),
    Posted("cs", "/hotline/new", {"phone": "13800138001", "contact_name": "张", "content": "x",
                                  "customer_id": HUGE}, "选择无效"),
    Posted("cs", "/complaints/new", {"complainant": "赵", "content": "慢", "channel": "phone",
                                     "handler_id": HUGE}, "选择无效"),
    Posted("cs", "/complaints/new", {"complainant": "赵", "content": "慢", "channel": "phone",
                                     "customer_id": HUGE}, "选择无效"),
    Posted("cs", "/complaints/new", {"complainant": "赵", "content": "慢", "channel": "phone",
                                     "received_at": "0001-01-01T00:00"}, DATE),
    Posted("duty", "/hotline/roster/add", {"day": "9999-12-31", "half": "am", "user_id": "{engineer}"}, "请选择"),
    Posted("duty", "/hotline/roster/add", {"day": "2026-12-30", "half": "am", "user_id": HUGE}, "请选择"),
    Posted("cs", "/service-plan/{unit}/record", {"kind": "monthly", "method": "phone", "contact_person": "张",
                                                 "outcome": "好", "satisfaction": HUGE}, "满意度请打 1 到 5 分"),
]


@pytest.mark.parametrize("case", FORMS, ids=[f"{c.url.split('/')[-1]}:{sorted(c.data.items())}"[:80] for c in FORMS])
def test_a_form_refuses_an_out_of_range_value_in_chinese_and_writes_nothing(auth, small, case):
    fill = {k: v for k, v in small.items()}
    url = case.url.format(**fill)
    data = {k: v.format(**fill) if "{" in v else v for k, v in case.data.items()}
    data.setdefault(url.rsplit("/", 1)[-1] + "-version", str(small["version"])) if "/actions/" in url else None
    client = auth.client_for(case.role)
    before = fingerprint()
    r = client.post(url, data=data)
    body = r.get_data(as_text=True)
    assert r.status_code == case.status, (r.status_code, body[:300])
    assert case.says in body
    assert changed(before, fingerprint()) == []


# --- NUL: PostgreSQL refuses it in any text value (found by the fuzz test on PostgreSQL) ---------------------

NUL_CASES = [
    ("cs", "GET", "/customers?q=%00", None, 400),
    ("cs", "GET", "/customers/lookup?customer_q=a%00b", None, 400),
    ("admin", "GET", "/complaints/new?ticket=%00", None, 400),
    ("cs", "GET", "/complaints/units?customer_q=%00", None, 400),
    ("cs", "GET", "/tickets/SH%00", None, 404),
    ("cs", "POST", "/hotline/new", {"phone": "13800138001", "contact_name": "张", "content": "a\x00b"}, 400),
    ("cs", "POST", "/tickets/{ticket}/actions/comment", {"comment-text": "\x00", "comment-version": "{version}"}, 400),
]


@pytest.mark.parametrize("role,method,url,data,status", NUL_CASES, ids=[c[2][:50] for c in NUL_CASES])
def test_a_nul_character_anywhere_is_refused_in_chinese_and_writes_nothing(auth, small, role, method, url, data,
                                                                            status):
    fill = {k: str(v) for k, v in small.items()}
    url = url.format(**fill)
    data = {k: v.format(**fill) for k, v in data.items()} if data else None
    client = auth.client_for(role)
    before = fingerprint()
    r = client.open(url, method=method, data=data)
    assert r.status_code == status
    assert ("空字符" if status == 400 else "不存在") in r.get_data(as_text=True)
    assert changed(before, fingerprint()) == []


def test_the_unit_list_ignores_an_unknown_status_and_says_so(auth, small):
    r = auth.client_for("cs").get("/customers?status=9999-12-31&after=W3RydWUsIDVd")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert NOTICE in body and "维护状态" in body and "甲市人民医院" in body
