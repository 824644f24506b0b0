"""Only the market manager changes a unit's maintenance status; every change is kept (who, when, from, to, why)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.core.timeutil import utcnow
from portal.customers.models import CustomerUnit, MaintenanceStatusChange
from portal.extensions import db

from .helpers import counts

OTHERS = ["cs", "market", "dev_manager", "impl_manager", "admin", "engineer", "impl_engineer"]


def _changes(unit_id: int) -> list[MaintenanceStatusChange]:
    db.session.expire_all()
    return list(db.session.scalars(select(MaintenanceStatusChange).where(MaintenanceStatusChange.customer_id == unit_id)
                                   .order_by(MaintenanceStatusChange.id)))


def test_market_manager_changes_the_status_and_the_change_is_recorded(auth, users, unit_factory):
    unit = unit_factory(status="ordinary")
    before = utcnow()
    r = auth.client_for("market_manager").post(f"/customers/{unit.id}/status",
                                               data={"status": "stopped", "reason": "合同到期未续费"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(CustomerUnit, unit.id).maintenance_status == "stopped"
    last = _changes(unit.id)[-1]
    assert (last.from_status, last.to_status, last.reason) == ("ordinary", "stopped", "合同到期未续费")
    assert last.changed_by_id == users["market_manager"].id
    assert before <= last.changed_at <= utcnow()
    html = auth.client_for("market_manager").get(f"/customers/{unit.id}").get_data(as_text=True)
    assert "合同到期未续费" in html and "普通维护 → <strong>已停止维护</strong>" in html


def test_each_change_is_a_new_row_and_earlier_ones_stay(auth, unit_factory):
    unit = unit_factory(status="ordinary")
    client = auth.client_for("market_manager")
    client.post(f"/customers/{unit.id}/status", data={"status": "vip", "reason": "升级为 VIP"})
    client.post(f"/customers/{unit.id}/status", data={"status": "ordinary", "reason": "降回普通"})
    assert [(c.from_status, c.to_status) for c in _changes(unit.id)] == [
        (None, "ordinary"), ("ordinary", "vip"), ("vip", "ordinary")]


@pytest.mark.parametrize("role", OTHERS)
def test_everyone_but_the_market_manager_gets_403_and_nothing_is_written(auth, unit_factory, role):
    unit = unit_factory(status="ordinary")
    before = counts()
    client = auth.client_for(role)
    r = client.post(f"/customers/{unit.id}/status", data={"status": "vip", "reason": "想改"})
    assert r.status_code == 403
    r = client.post(f"/customers/{unit.id}/status", data={"status": "vip", "reason": "想改"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 403
    assert counts() == before
    assert db.session.get(CustomerUnit, unit.id).maintenance_status == "ordinary"


@pytest.mark.parametrize("role", ["cs", "market", "dev_manager", "admin"])
def test_only_the_market_manager_sees_the_status_form(auth, unit_factory, role):
    unit = unit_factory()
    assert 'name="reason"' not in auth.client_for(role).get(f"/customers/{unit.id}").get_data(as_text=True)
    assert 'name="reason"' in auth.client_for("market_manager").get(f"/customers/{unit.id}").get_data(as_text=True)


def test_same_status_again_is_refused_with_409_and_nothing_written(auth, unit_factory):
    unit = unit_factory(status="vip")
    before = counts()
    r = auth.client_for("market_manager").post(f"/customers/{unit.id}/status",
                                               data={"status": "vip", "reason": "再设一次"})
    assert r.status_code == 409
    assert "该单位已经是这个维护状态" in r.get_data(as_text=True)
    assert counts() == before


def test_a_change_without_reason_is_refused_with_422(auth, unit_factory):
    unit = unit_factory(status="vip")
    r = auth.client_for("market_manager").post(f"/customers/{unit.id}/status", data={"status": "stopped",
                                                                                      "reason": "  "})
    assert r.status_code == 422
    assert "请填写变更原因" in r.get_data(as_text=True)
    assert [c.to_status for c in _changes(unit.id)] == ["vip"]


def test_an_unknown_status_is_refused_with_422(auth, unit_factory):
    unit = unit_factory(status="vip")
    r = auth.client_for("market_manager").post(f"/customers/{unit.id}/status",
                                               data={"status": "gold", "reason": "x"})
    assert r.status_code == 422
    assert [c.to_status for c in _changes(unit.id)] == ["vip"]
