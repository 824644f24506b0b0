"""保持当前维护等级: 市场部经理 answers a lapsed contract's reminder by keeping the unit's maintenance status, with
a reason and optionally a 复查日期 (review date). The decision is recorded in the status history (who, when, 保持
…, why), settles the reminder, and the lapse sweep never opens it again — except on the review date, when it
asks again. Refused with a Chinese message, a 4xx and nothing written: no reason, no open lapse reminder, not
the market manager, a review date not after today or more than 90 days ahead."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.core.enums import MaintenanceStatus
from portal.core.timeutil import clock_set_to
from portal.customers import expiry
from portal.customers import operations as ops
from portal.customers.models import CustomerUnit, MaintenanceStatusChange
from portal.extensions import db
from tests.jobs.helpers import local, reminders

from .helpers import counts

END = date(2027, 3, 1)          # the contract's last day
LAPSED = END + timedelta(days=1)  # the first day it is lapsed: the sweep reminds 市场部经理
OTHERS = ["cs", "market", "dev_manager", "impl_manager", "admin", "engineer", "impl_engineer"]
REASON = "续签合同洽谈中，预计下月签订"


def at(day: date):
    return clock_set_to(local(day.year, day.month, day.day, 10))


def sweep(today: date) -> dict:
    result = expiry.sweep(today)
    db.session.commit()
    return result


@pytest.fixture
def lapsed_unit(unit_factory):
    """A VIP unit whose only contract ended on END, swept on the first lapsed day: one open reminder."""
    unit = unit_factory(name="合同到期待续签医院", status=MaintenanceStatus.VIP)
    contract = ops.add_contract(unit, start_date=END - timedelta(days=364), end_date=END, fee=Decimal("20000"))
    db.session.commit()
    assert sweep(LAPSED)["contract_lapsed"] == 1
    unit.contract = contract
    return unit


def decisions(unit_id: int) -> list[MaintenanceStatusChange]:
    db.session.expire_all()
    return list(db.session.scalars(select(MaintenanceStatusChange).where(
        MaintenanceStatusChange.customer_id == unit_id).order_by(MaintenanceStatusChange.id)))


def keep(client, unit, reason=REASON, review_on="", **headers):
    return client.post(f"/customers/{unit.id}/status/keep", data={"reason": reason, "review_on": review_on},
                       headers=headers)


def lapse_reminder():
    [r] = reminders(kind="contract_lapsed")
    return r


# --- keeping ------------------------------------------------------------------------------------

def test_keeping_records_who_when_and_why_and_settles_the_lapse_reminder(auth, users, lapsed_unit):
    with at(LAPSED):
        r = keep(auth.client_for("market_manager"), lapsed_unit)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/customers/{lapsed_unit.id}#status")
    assert db.session.get(CustomerUnit, lapsed_unit.id).maintenance_status == "vip"  # kept, not changed
    last = decisions(lapsed_unit.id)[-1]
    assert (last.from_status, last.to_status, last.reason, last.review_on) == ("vip", "vip", REASON, None)
    assert last.changed_by_id == users["market_manager"].id and last.kept
    reminder = lapse_reminder()
    assert reminder.closed_at is not None and reminder.closed_note == "status kept"


def test_the_decision_shows_in_the_status_history_with_who_kept_what_and_why(auth, users, lapsed_unit):
    with at(LAPSED):
        keep(auth.client_for("market_manager"), lapsed_unit, review_on=(LAPSED + timedelta(days=30)).isoformat())
        page = auth.client_for("cs").get(f"/customers/{lapsed_unit.id}").get_data(as_text=True)
    history = page[page.index("维护状态记录"):]
    assert "<strong>保持 VIP维护</strong>" in history and REASON in history
    assert users["market_manager"].display_name in history and "2027-03-02 10:00" in history
    assert "复查日期 2027-04-01" in history
    assert "VIP维护 → " not in history  # not shown as a change


def test_a_second_sweep_after_keeping_opens_nothing(auth, lapsed_unit):
    with at(LAPSED):
        keep(auth.client_for("market_manager"), lapsed_unit)
    for day in (LAPSED, LAPSED + timedelta(days=1), LAPSED + timedelta(days=91), LAPSED + timedelta(days=400)):
        assert sweep(day) == {"contract_expiry": 0, "contract_lapsed": 0, "settled": 0}, day
    reminder = lapse_reminder()  # still the one reminder, still closed as kept
    assert reminder.closed_at is not None and reminder.closed_note == "status kept"


def test_keeping_is_an_operation_callable_without_a_request(users, lapsed_unit):
    with at(LAPSED):
        kept = ops.keep_status(lapsed_unit, REASON, users["market_manager"])
    db.session.commit()
    assert (kept.from_status, kept.to_status) == ("vip", "vip")
    assert lapse_reminder().closed_note == "status kept"


# --- the review date (复查日期) -------------------------------------------------------------------

def test_a_review_date_opens_the_same_reminder_again_on_that_day_and_not_before(auth, lapsed_unit):
    review = LAPSED + timedelta(days=30)
    with at(LAPSED):
        assert keep(auth.client_for("market_manager"), lapsed_unit, review_on=review.isoformat()).status_code == 302
    assert decisions(lapsed_unit.id)[-1].review_on == review
    first = lapse_reminder()
    assert sweep(review - timedelta(days=1))["contract_lapsed"] == 0
    assert lapse_reminder().closed_at is not None
    with at(review):
        assert sweep(review)["contract_lapsed"] == 1
    again = lapse_reminder()
    assert again.id == first.id and (again.closed_at, again.closed_note) == (None, None)
    assert again.created_at == local(review.year, review.month, review.day, 10)
    assert sweep(review + timedelta(days=1))["contract_lapsed"] == 0  # open once, not twice
    auth.clients.pop("market_manager")  # signed in a month ago: that session has expired
    with at(review):  # the manager is asked again: the button is back, and a new decision settles it
        page = auth.client_for("market_manager").get(f"/customers/{lapsed_unit.id}").get_data(as_text=True)
        assert "保持当前维护等级" in page
        assert keep(auth.client_for("market_manager"), lapsed_unit, reason="客户已付款，合同下周签回").status_code == 302
    assert lapse_reminder().closed_note == "status kept"
    assert sweep(review + timedelta(days=200))["contract_lapsed"] == 0  # kept without a date: not asked again


def test_a_status_change_before_the_review_date_answers_it(users, lapsed_unit):
    review = LAPSED + timedelta(days=10)
    with at(LAPSED):
        ops.keep_status(lapsed_unit, REASON, users["market_manager"], review_on=review)
        db.session.commit()
        ops.change_status(lapsed_unit, MaintenanceStatus.ORDINARY, "降为普通维护", users["market_manager"])
        db.session.commit()
    assert sweep(review)["contract_lapsed"] == 0
    assert lapse_reminder().closed_note == "status kept"


def test_a_renewal_before_the_review_date_answers_it(users, lapsed_unit):
    review = LAPSED + timedelta(days=10)
    with at(LAPSED):
        ops.keep_status(lapsed_unit, REASON, users["market_manager"], review_on=review)
        db.session.commit()
    ops.renew_contract(lapsed_unit.contract, start_date=LAPSED + timedelta(days=5), end_date=END + timedelta(days=370),
                       fee=Decimal("20000"), actor=users["market"])
    db.session.commit()
    assert sweep(review)["contract_lapsed"] == 0
    assert lapse_reminder().closed_at is not None


@pytest.mark.parametrize("days", [1, 90])
def test_the_review_date_may_be_tomorrow_up_to_90_days_ahead(users, lapsed_unit, days):
    with at(LAPSED):
        kept = ops.keep_status(lapsed_unit, REASON, users["market_manager"], review_on=LAPSED + timedelta(days=days))
    assert kept.review_on == LAPSED + timedelta(days=days)


# --- refusals: a Chinese message, a 4xx, nothing written -----------------------------------------

def _nothing_changed(unit, before):
    assert counts() == before
    assert db.session.get(CustomerUnit, unit.id).maintenance_status == "vip"
    assert lapse_reminder().closed_at is None


@pytest.mark.parametrize("reason", ["", "   "])
def test_keeping_without_a_reason_is_refused_with_422(auth, users, lapsed_unit, reason):
    before = counts()
    with at(LAPSED):
        r = keep(auth.client_for("market_manager"), lapsed_unit, reason=reason)
    assert r.status_code == 422 and "请填写保持当前维护等级的原因" in r.get_data(as_text=True)
    _nothing_changed(lapsed_unit, before)
    with at(LAPSED), pytest.raises(ops.CustomerError) as refused:
        ops.keep_status(lapsed_unit, reason, users["market_manager"])
    assert (refused.value.status, refused.value.field) == (422, "reason")


NOT_A_DATE = "请输入 1900-01-01 至 2999-12-31 之间的日期，格式为 YYYY-MM-DD。"
OUT_OF_RANGE = "复查日期须晚于今天，且不超过 90 天。"


# today is 2027-03-02: a review date is 2027-03-03 … 2027-05-31 (90 days ahead)
@pytest.mark.parametrize("review_on, message", [
    ("2027-02-30", NOT_A_DATE), ("下个月", NOT_A_DATE), ("2027-03-02", OUT_OF_RANGE), ("2027-03-01", OUT_OF_RANGE),
    ("2027-06-01", OUT_OF_RANGE), ("2099-01-01", OUT_OF_RANGE),
])
def test_a_bad_review_date_is_refused_with_422(auth, lapsed_unit, review_on, message):
    before = counts()
    with at(LAPSED):
        r = keep(auth.client_for("market_manager"), lapsed_unit, review_on=review_on)
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    _nothing_changed(lapsed_unit, before)


def test_the_operation_refuses_a_review_date_out_of_range_on_its_field(users, lapsed_unit):
    with at(LAPSED), pytest.raises(ops.CustomerError) as refused:
        ops.keep_status(lapsed_unit, REASON, users["market_manager"], review_on=LAPSED)
    assert (refused.value.status, refused.value.field) == (422, "review_on")


def test_keeping_without_an_open_lapse_reminder_is_refused_with_409(auth, unit_factory, lapsed_unit):
    current = unit_factory(name="合同有效医院", status=MaintenanceStatus.VIP)
    ops.add_contract(current, start_date=END - timedelta(days=100), end_date=END + timedelta(days=265),
                     fee=Decimal("20000"))
    db.session.commit()
    before = counts()
    with at(LAPSED):
        r = keep(auth.client_for("market_manager"), current)
    assert r.status_code == 409 and "该单位没有到期未续签、等待决定维护等级的合同" in r.get_data(as_text=True)
    assert counts() == before
    # …and a lapse already answered: keeping twice writes one decision
    with at(LAPSED):
        assert keep(auth.client_for("market_manager"), lapsed_unit).status_code == 302
        before = counts()
        assert keep(auth.client_for("market_manager"), lapsed_unit, reason="再保持一次").status_code == 409
    assert counts() == before


@pytest.mark.parametrize("role", OTHERS)
def test_everyone_but_the_market_manager_gets_403_and_nothing_is_written(auth, users, lapsed_unit, role):
    before = counts()
    with at(LAPSED):
        client = auth.client_for(role)
        assert keep(client, lapsed_unit).status_code == 403
        assert keep(client, lapsed_unit, **{"HX-Request": "true"}).status_code == 403
        with pytest.raises(ops.CustomerError) as refused:
            ops.keep_status(lapsed_unit, REASON, users[role])
    assert refused.value.status == 403
    db.session.rollback()
    _nothing_changed(lapsed_unit, before)


def test_a_missing_unit_is_404(auth):
    assert auth.client_for("market_manager").post("/customers/999999/status/keep",
                                                  data={"reason": REASON}).status_code == 404


# --- the page ----------------------------------------------------------------------------------

def test_the_market_manager_is_offered_keep_beside_the_status_change_while_the_lapse_is_open(auth, lapsed_unit):
    with at(LAPSED):
        page = auth.client_for("market_manager").get(f"/customers/{lapsed_unit.id}").get_data(as_text=True)
        assert "维护合同已到期未续签：请设置维护状态，或保持当前维护等级并说明原因。" in page
        assert "保持当前维护等级</button>" in page and "变更维护状态</button>" in page
        assert f'hx-post="/customers/{lapsed_unit.id}/status/keep"' in page
        assert '<label for="keep-reason">' in page  # not the status change's own reason box
        assert '<textarea id="keep-reason" maxlength="2000" name="reason"' in page
        assert '<input id="keep-review_on" max="2027-05-31" min="2027-03-03" name="review_on" type="date"' in page
        assert "复查日期（可选）" in page and "保持原因" in page
        for role in ("cs", "market", "admin"):
            other = auth.client_for(role).get(f"/customers/{lapsed_unit.id}").get_data(as_text=True)
            assert "保持当前维护等级</button>" not in other and 'id="keep-reason"' not in other, role
        keep(auth.client_for("market_manager"), lapsed_unit)
        page = auth.client_for("market_manager").get(f"/customers/{lapsed_unit.id}").get_data(as_text=True)
    assert "已保持当前维护等级。" in page  # the flash after the redirect
    assert "保持当前维护等级</button>" not in page and "维护合同已到期未续签" not in page


def test_no_keep_button_without_a_lapsed_contract(auth, unit_factory):
    unit = unit_factory(status=MaintenanceStatus.VIP)
    page = auth.client_for("market_manager").get(f"/customers/{unit.id}").get_data(as_text=True)
    assert "保持当前维护等级</button>" not in page and 'name="reason"' in page


def test_htmx_gets_the_status_card_back_refusals_included(auth, lapsed_unit):
    with at(LAPSED):
        client = auth.client_for("market_manager")
        refused = keep(client, lapsed_unit, reason="", **{"HX-Request": "true"})
        assert refused.status_code == 422
        card = refused.get_data(as_text=True)
        assert card.lstrip().startswith('<section class="card" id="status">') and "<html" not in card
        assert "请填写保持当前维护等级的原因" in card and 'id="keep-reason"' in card
        r = keep(client, lapsed_unit, **{"HX-Request": "true"})
    assert r.status_code == 200 and r.headers.get("Vary") and "HX-Request" in r.headers["Vary"]
    card = r.get_data(as_text=True)
    assert card.lstrip().startswith('<section class="card" id="status">') and "<html" not in card
    assert "已保持当前维护等级。" in card and "<strong>保持 VIP维护</strong>" in card
    assert "保持当前维护等级</button>" not in card


def test_the_lapse_reminder_says_set_or_keep(auth, lapsed_unit):
    with at(LAPSED):
        page = auth.client_for("market_manager").get("/notifications").get_data(as_text=True)
    assert "合同已到期未续签：请设置或保持该单位的维护状态" in page


def test_the_units_history_export_shows_the_kept_status(auth, users, lapsed_unit):
    with at(LAPSED):
        ops.keep_status(lapsed_unit, REASON, users["market_manager"])
        db.session.commit()
    text = auth.client_for("cs").get(f"/metrics/units/{lapsed_unit.id}/history.csv").get_data(as_text=True)
    assert "保持 VIP维护" in text and REASON in text and "VIP维护 → VIP维护" not in text
