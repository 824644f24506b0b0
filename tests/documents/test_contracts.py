"""Contracts: a new contract and a renewal each come with their 售后服务通知函; a renewal settles
the expiry reminder of the contract it follows; contracts ending within the window get their
维护到期通知函 from the expiry job, once."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from portal.customers.jobs import sweep_contract_expiry
from portal.customers.models import Contract
from portal.customers.operations import add_contract
from portal.extensions import db
from portal.notifications.models import Reminder
from portal.core.timeutil import today_local
from tests.documents.helpers import all_documents, run_burst_worker
from tests.jobs.helpers import call_job, reminders


def contracts_of(unit_id):
    db.session.expire_all()
    return list(db.session.scalars(db.select(Contract).where(Contract.customer_id == unit_id).order_by(Contract.start_date)))


def test_new_contract_comes_with_its_service_notice(auth, letterhead, unit_factory):
    unit = unit_factory(status="ordinary")
    r = auth.client_for("market").post(f"/customers/{unit.id}/contracts/new", data={
        "start_date": "2026-01-01", "end_date": "2026-12-31", "fee": "15000"})
    assert r.status_code == 302
    [contract] = contracts_of(unit.id)
    [doc] = all_documents()
    assert (doc.kind, doc.contract_id, doc.author.username) == ("service_notice", contract.id, "market")
    run_burst_worker()
    assert all_documents()[0].status == "ready"


def test_renewal_is_a_new_period_with_its_fee_settles_the_reminder_and_makes_the_letter(auth, letterhead, vip_unit):
    old = vip_unit.contracts[0]
    db.session.add(Reminder(key=f"contract_expiry:{old.id}", kind="contract_expiry", role="market",
                            customer_id=vip_unit.id, contract_id=old.id, due_at=date(2026, 6, 30)))
    db.session.commit()
    c = auth.client_for("market")
    form = c.get(f"/customers/{vip_unit.id}/contracts/{old.id}/renew").get_data(as_text=True)
    assert 'value="2026-07-01"' in form and 'value="2027-06-30"' in form  # prefilled: the next year

    r = c.post(f"/customers/{vip_unit.id}/contracts/{old.id}/renew", data={
        "start_date": "2026-07-01", "end_date": "2027-06-30", "fee": "22000", "note": "续签一年"})
    assert r.status_code == 302
    _, renewal = contracts_of(vip_unit.id)
    assert (renewal.start_date, renewal.end_date, renewal.fee) == (date(2026, 7, 1), date(2027, 6, 30), Decimal("22000"))
    [r] = reminders(kind="contract_expiry")
    assert r.closed_at is not None and r.closed_note == "renewed"
    [doc] = all_documents()
    assert (doc.kind, doc.contract_id) == ("service_notice", renewal.id)


def test_renewal_that_overlaps_or_follows_an_older_contract_is_refused_and_changes_nothing(auth, vip_unit):
    old = vip_unit.contracts[0]
    c = auth.client_for("market")
    r = c.post(f"/customers/{vip_unit.id}/contracts/{old.id}/renew", data={
        "start_date": "2026-06-01", "end_date": "2027-05-31", "fee": "22000"})
    assert r.status_code == 422
    assert "2026-06-30" in r.get_data(as_text=True)
    assert len(contracts_of(vip_unit.id)) == 1 and all_documents() == []

    assert c.post(f"/customers/{vip_unit.id}/contracts/{old.id}/renew", data={
        "start_date": "2026-07-01", "end_date": "2027-06-30", "fee": "22000"}).status_code == 302
    again = c.post(f"/customers/{vip_unit.id}/contracts/{old.id}/renew", data={
        "start_date": "2027-07-01", "end_date": "2028-06-30", "fee": "22000"})
    assert again.status_code == 409
    assert len(contracts_of(vip_unit.id)) == 2


def test_renewal_is_for_the_roles_that_edit_contracts(auth, vip_unit):
    old = vip_unit.contracts[0]
    r = auth.client_for("engineer").post(f"/customers/{vip_unit.id}/contracts/{old.id}/renew", data={
        "start_date": "2026-07-01", "end_date": "2027-06-30", "fee": "1"})
    assert r.status_code == 403
    assert len(contracts_of(vip_unit.id)) == 1


def test_expiry_job_makes_the_expiry_notice_once_for_contracts_in_the_window(users, letterhead, unit_factory):
    today = today_local()
    ending = unit_factory(status="vip", name="即将到期医院")
    add_contract(ending, start_date=today - timedelta(days=300), end_date=today + timedelta(days=40), fee=Decimal(1))
    later = unit_factory(status="vip", name="明年到期医院")
    add_contract(later, start_date=today, end_date=today + timedelta(days=365), fee=Decimal(1))
    stopped = unit_factory(status="stopped", name="停止维护医院")
    add_contract(stopped, start_date=today - timedelta(days=300), end_date=today + timedelta(days=40), fee=Decimal(1))
    db.session.commit()

    result = call_job(sweep_contract_expiry)
    assert result["contract_expiry"] == 1 and result["expiry_notice"] == 1
    assert call_job(sweep_contract_expiry)["expiry_notice"] == 0  # a second run makes nothing new
    [doc] = all_documents()
    assert (doc.kind, doc.customer_id, doc.author_id) == ("expiry_notice", ending.id, None)
    run_burst_worker()
    assert all_documents()[0].status == "ready"
    assert [r.customer_id for r in reminders(kind="contract_expiry")] == [ending.id]


def test_unit_page_offers_renewal_and_the_letters_of_each_contract(auth, vip_unit):
    page = auth.client_for("market").get(f"/customers/{vip_unit.id}").get_data(as_text=True)
    contract = vip_unit.contracts[0]
    assert f"/customers/{vip_unit.id}/contracts/{contract.id}/renew" in page
    assert f"/documents/contracts/{contract.id}/expiry-notice" in page
    assert f"/documents/contracts/{contract.id}/letter" in page
    # roles without the archive see the contracts but not the document actions
    page = auth.client_for("dev_manager").get(f"/customers/{vip_unit.id}").get_data(as_text=True)
    assert "/documents/" not in page
