"""The maintenance status belongs to the 市场部经理 (customers.set_status): whoever else creates a unit — on the
form or through the Excel import — creates it as 普通维护, and the import preview says so row by row."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.core.enums import MaintenanceStatus
from portal.customers import operations as ops
from portal.customers.models import CustomerUnit
from portal.extensions import db

from .helpers import confirm, counts, upload, xlsx

NEW_VIP = {"name": "成都市武侯区社保中心", "address": "成都市武侯区科华北路 12 号", "phone": "028-85551234",
           "user_count": "350", "status": "vip"}


def _unit(name: str) -> CustomerUnit | None:
    db.session.expire_all()
    return db.session.scalar(select(CustomerUnit).where(CustomerUnit.name == name))


@pytest.mark.parametrize("role", ["cs", "market", "admin"])
def test_a_unit_created_on_the_form_without_the_status_permission_starts_as_ordinary(auth, role):
    client = auth.client_for(role)
    assert 'name="status"' not in client.get("/customers/new").get_data(as_text=True)
    r = client.post("/customers/new", data=NEW_VIP)
    assert r.status_code == 302
    assert _unit(NEW_VIP["name"]).maintenance_status == "ordinary"


def test_the_market_manager_sets_the_starting_status_on_the_form(auth):
    client = auth.client_for("market_manager")
    assert 'name="status"' in client.get("/customers/new").get_data(as_text=True)
    assert client.post("/customers/new", data=NEW_VIP).status_code == 302
    assert _unit(NEW_VIP["name"]).maintenance_status == "vip"


def test_the_operation_refuses_a_status_from_someone_without_the_permission(users):
    with pytest.raises(ops.CustomerError) as e:
        ops.create_unit("甲医院", status=MaintenanceStatus.VIP, actor=users["cs"])
    assert e.value.status == 403


ROWS = [
    ["苏州工业园区管委会", "", "", "700", "VIP维护", "刘建国", "信息科", "13800138001", ""],
    ["无锡市人民医院", "", "", "", "已停止维护", "孙丽", "财务科", "13911112222", ""],
    ["常州市第一人民医院", "", "", "", "", "马超", "办公室", "13522223333", ""],
]


def test_an_import_without_the_status_permission_creates_ordinary_units_and_says_so_per_row(auth):
    client = auth.client_for("cs")
    before = counts()
    r = upload(client, xlsx(ROWS))
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    assert html.count("只有市场部经理可以设置维护状态") == 2  # the VIP row and the 已停止维护 row
    assert counts() == before
    assert confirm(client, html).status_code == 302
    assert [_unit(row[0]).maintenance_status for row in ROWS] == ["ordinary"] * 3


def test_the_market_manager_imports_the_status_as_given(auth):
    client = auth.client_for("market_manager")
    html = upload(client, xlsx(ROWS[:2])).get_data(as_text=True)
    assert "只有市场部经理可以设置维护状态" not in html
    assert confirm(client, html).status_code == 302
    assert [_unit(row[0]).maintenance_status for row in ROWS[:2]] == ["vip", "stopped"]
