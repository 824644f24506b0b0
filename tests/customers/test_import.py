"""Excel import: a preview that lists each row's problems in Chinese, nothing written until confirmed,
everything or nothing on confirm, wrong files refused, and the template round-trips."""
from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from portal.customers import importer
from portal.customers.models import Contact, CustomerUnit, MaintenanceStatusChange
from portal.extensions import db

from .helpers import HEADERS, confirm, counts, hidden, upload, xlsx

# The columns in another order than the template, as people rearrange sheets.
SHUFFLED = ["联系人", "联系电话", "单位名称", "维护状态", "科室", "邮箱", "地址", "单位电话", "用户数"]


def _row(unit="", contact="", phone="", status="", dept="", email="", address="", unit_phone="", users=""):
    return [contact, phone, unit, status, dept, email, address, unit_phone, users]


def test_a_good_file_is_previewed_without_writing_and_then_imported(auth, users, unit_factory):
    existing = unit_factory(name="北京市第一人民医院", status="vip")
    content = xlsx([
        _row("苏州工业园区管委会", "刘建国", "13800138001", "VIP维护", "信息科", "liu@example.cn",
             "苏州工业园区现代大道 999 号", "0512-66681234", 700),
        _row("苏州工业园区管委会", "孙丽", "139 1111 2222", "", "财务科"),
        _row("北京市第一人民医院", "马超", "010-65123456-801", "普通维护", "办公室"),
    ], headers=SHUFFLED)
    client = auth.client_for("market_manager")  # (issue 14: the status is the market manager's)
    before = counts()
    r = upload(client, content)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "新建单位" in html and "新单位的联系人" in html and "已有单位新增联系人" in html
    assert "新建单位 1 个" in html and "新增联系人 3 位" in html
    assert "已有单位的信息和维护状态保持不变" in html  # 普通维护 in the sheet, VIP in the portal
    assert counts() == before, "the preview must not write anything"

    r = confirm(client, html)
    assert r.status_code == 302
    unit = db.session.scalar(select(CustomerUnit).where(CustomerUnit.name == "苏州工业园区管委会"))
    assert (unit.maintenance_status, unit.address, unit.phone, unit.user_count, unit.name_initials) == (
        "vip", "苏州工业园区现代大道 999 号", "0512-66681234", 700, "szgyyqgwh")
    assert [(c.name, c.department, c.phone, c.email) for c in unit.contacts] == [
        ("刘建国", "信息科", "13800138001", "liu@example.cn"), ("孙丽", "财务科", "13911112222", "")]
    db.session.refresh(existing)
    assert existing.maintenance_status == "vip"
    assert [(c.name, c.phone) for c in existing.contacts] == [("马超", "010-65123456-801")]
    change = db.session.scalar(select(MaintenanceStatusChange).where(MaintenanceStatusChange.customer_id == unit.id))
    assert change.from_status is None and change.to_status == "vip"
    assert change.changed_by_id == users["market_manager"].id and "从 Excel 导入" in change.reason


def test_importing_the_same_file_again_adds_nothing(auth):
    content = xlsx([["西安市雁塔区住建局", "", "", "", "普通维护", "吴静", "人事科", "18612345678", ""]])
    client = auth.client_for("market")
    assert confirm(client, upload(client, content).get_data(as_text=True)).status_code == 302
    after_first = counts()
    html = upload(client, content).get_data(as_text=True)
    assert "该联系人已登记在此单位" in html and "新建单位 0 个" in html
    assert confirm(client, html).status_code == 302
    assert counts() == after_first


BAD_ROWS = [
    ["", "地址", "", "", "普通维护", "张三", "信息科", "13800138000", ""],                 # row 2: no unit name
    ["甲医院", "", "", "", "普通维护", "李四", "信息科", "12345", ""],                      # row 3: bad phone
    ["乙医院", "", "", "", "金牌维护", "王五", "信息科", "13800138002", ""],                # row 4: unknown status
    ["丙医院", "", "", "很多", "VIP维护", "赵六", "信息科", "13800138003", ""],             # row 5: users not a number
    ["丁医院", "", "", "", "普通维护", "钱七", "信息科", "13800138004", ""],                # row 6: fine
    ["丁医院", "", "", "", "普通维护", "钱七", "信息科", "138 0013 8004", ""],              # row 7: same as row 6
    ["戊医院", "", "", "", "", "孙八", "信息科", "13800138005", ""],                        # row 8: new unit, no status
    ["己医院", "", "", "", "普通维护", "", "信息科", "13800138006", "x@example.cn"],        # row 9: no contact name
    ["庚医院", "", "02112", "", "普通维护", "周九", "", "13800138007", "不是邮箱"],          # row 10: bad unit phone, e-mail
    ["丁医院", "", "", "", "VIP维护", "吴十", "", "13800138008", ""],                       # row 11: contradicts row 6
]


def test_a_file_with_bad_rows_lists_each_problem_in_chinese_and_confirm_writes_nothing(auth, unit_factory):
    unit_factory(name="甲医院")
    client = auth.client_for("market_manager")  # (issue 14: the status is the market manager's)
    before = counts()
    r = upload(client, xlsx(BAD_ROWS))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    for message in ("缺少单位名称", "联系电话“12345”不是有效的", "未知的维护状态“金牌维护”", "用户数“很多”不是整数",
                    "与第 6 行重复", "新单位需要填写维护状态", "缺少联系人姓名", "单位电话“02112”不是有效的",
                    "邮箱“不是邮箱”格式不正确", "维护状态与同一单位第 6 行不一致"):
        assert message in html, message
    assert "9 行有问题" in html
    assert "确认导入" not in html
    assert counts() == before

    # A hand-made confirm for such rows is refused too, and writes nothing.
    token = importer.stash(importer.read_workbook(_storage(xlsx(BAD_ROWS)))[1], "bad.xlsx", _user("market_manager"))
    plan = importer.build_plan(importer.unstash(token, _user("market_manager"))[1])
    r = client.post("/customers/import/confirm", data={"token": token, "fingerprint": plan.fingerprint()})
    assert r.status_code == 422
    assert "文件有问题，未导入任何数据" in r.get_data(as_text=True)
    assert counts() == before


def _storage(content: bytes, filename: str = "x.xlsx"):
    from werkzeug.datastructures import FileStorage

    return FileStorage(stream=io.BytesIO(content), filename=filename)


def _user(username: str):
    from portal.auth.models import User

    return db.session.scalar(select(User).where(User.username == username))


def _zip_without_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "你好")
    return buf.getvalue()


@pytest.mark.parametrize("content, filename, message", [
    ("单位名称,联系人\n甲医院,张三\n".encode(), "客户.txt", "只能导入 Excel 文件（.xlsx）"),
    ("单位名称,联系人\n甲医院,张三\n".encode(), "客户.csv", "只能导入 Excel 文件（.xlsx）"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "客户.xls", "另存为 .xlsx"),
    (b"this is not a workbook at all", "客户.xlsx", "无法读取"),
    (b"PK\x03\x04" + b"\0" * 200, "客户.xlsx", "无法读取"),
    (None, "客户.xlsx", "文件已损坏"),                       # a real zip, but no workbook inside
    (b"", "客户.xlsx", "无法读取"),
])
def test_a_wrong_or_damaged_file_is_refused_in_chinese_with_4xx(auth, content, filename, message):
    content = _zip_without_workbook() if content is None else content
    before = counts()
    r = upload(auth.client_for("cs"), content, filename)
    assert 400 <= r.status_code < 500
    assert message in r.get_data(as_text=True)
    assert counts() == before


def test_no_file_is_refused(auth):
    r = auth.client_for("cs").post("/customers/import", data={}, content_type="multipart/form-data")
    assert r.status_code == 422 and "请选择 Excel 文件（.xlsx）" in r.get_data(as_text=True)


@pytest.mark.parametrize("headers, missing", [
    (["单位名称", "地址", "联系人"], "维护状态、联系电话"),
    (["名称", "状态", "姓名", "电话"], "单位名称、维护状态、联系人、联系电话"),
])
def test_a_sheet_without_the_required_headers_is_refused(auth, headers, missing):
    r = upload(auth.client_for("cs"), xlsx([["甲医院", "x", "张三", "y"]], headers=headers))
    assert r.status_code == 422
    assert f"缺少必需的列：{missing}" in r.get_data(as_text=True)


def test_a_sheet_with_headers_only_is_refused(auth):
    r = upload(auth.client_for("cs"), xlsx([]))
    assert r.status_code == 422 and "没有数据行" in r.get_data(as_text=True)


def test_the_template_has_the_headers_and_round_trips(auth):
    client = auth.client_for("market_manager")  # (issue 14: the status is the market manager's)
    r = client.get("/customers/import/template.xlsx")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == HEADERS
    ws.append(["重庆市渝中区图书馆", "重庆市渝中区中山四路 36 号", "023-63851234", 60, "VIP维护",
               "郑华", "档案室", "13522223333", "zheng@example.cn"])
    buf = io.BytesIO()
    wb.save(buf)
    preview = upload(client, buf.getvalue(), "填好的模板.xlsx")
    assert preview.status_code == 200, preview.get_data(as_text=True)
    assert confirm(client, preview.get_data(as_text=True)).status_code == 302
    unit = db.session.scalar(select(CustomerUnit).where(CustomerUnit.name == "重庆市渝中区图书馆"))
    assert unit.maintenance_status == "vip" and unit.phone == "023-63851234" and unit.user_count == 60
    assert [c.email for c in unit.contacts] == ["zheng@example.cn"]


def test_a_confirmed_import_cannot_be_confirmed_twice(auth):
    client = auth.client_for("cs")
    html = upload(client, xlsx([["甲医院", "", "", "", "普通维护", "张三", "", "13800138000", ""]])
                  ).get_data(as_text=True)
    assert confirm(client, html).status_code == 302
    after = counts()
    r = confirm(client, html)
    assert r.status_code == 409 and "已过期或已完成" in r.get_data(as_text=True)
    assert counts() == after


def test_another_users_import_cannot_be_confirmed(auth):
    html = upload(auth.client_for("cs"), xlsx([["甲医院", "", "", "", "普通维护", "张三", "", "13800138000", ""]])
                  ).get_data(as_text=True)
    before = counts()
    r = confirm(auth.client_for("market"), html)
    assert r.status_code == 409
    assert counts() == before


def test_confirm_is_refused_when_the_data_changed_since_the_preview(auth, unit_factory):
    client = auth.client_for("cs")
    html = upload(client, xlsx([["甲医院", "", "", "", "普通维护", "张三", "", "13800138000", ""]])
                  ).get_data(as_text=True)
    assert "新建单位" in html
    unit_factory(name="甲医院")  # someone creates the unit meanwhile: the row now means something else
    before = counts()
    r = confirm(client, html)
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "预览之后客户数据有变化" in page and "已有单位新增联系人" in page
    assert counts() == before
    assert confirm(client, page).status_code == 302  # the new preview can be confirmed
    assert db.session.scalar(select(Contact.name)) == "张三"


def test_the_uploaded_rows_wait_server_side_not_in_the_cookie(auth):
    client = auth.client_for("cs")
    html = upload(client, xlsx([["甲医院", "", "", "", "普通维护", "张三", "", "13800138000", ""]])
                  ).get_data(as_text=True)
    cookie = client.get_cookie("session")
    assert cookie is None or "张三" not in cookie.value and len(cookie.value) < 400
    assert importer.unstash(hidden(html, "token"), _user("cs"))[1][0]["contact_name"] == "张三"


@pytest.mark.parametrize("role", ["dev_manager", "impl_manager", "engineer", "impl_engineer"])
def test_only_cs_market_and_admin_may_import(auth, role):
    client = auth.client_for(role)
    before = counts()
    assert client.get("/customers/import").status_code == 403
    assert client.get("/customers/import/template.xlsx").status_code == 403
    r = upload(client, xlsx([["甲医院", "", "", "", "普通维护", "张三", "", "13800138000", ""]]))
    assert r.status_code == 403
    assert counts() == before


@pytest.mark.parametrize("role", ["cs", "market", "market_manager", "admin"])
def test_import_page_renders_in_chinese_for_importers(auth, role):
    html = auth.client_for(role).get("/customers/import").get_data(as_text=True)
    assert "从 Excel 导入客户单位" in html and "下载模板" in html


def test_a_title_row_above_the_headers_is_skipped(auth):
    content = xlsx([HEADERS, ["甲医院", "", "", "", "普通维护", "张三", "", "13800138000", ""]],
                   headers=["2026 年客户单位清单"])
    r = upload(auth.client_for("cs"), content)
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    assert "新建单位" in html and ">3<" in html  # the data row is the sheet's row 3
