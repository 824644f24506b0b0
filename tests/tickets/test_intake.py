"""Problem intake (/tickets/new): validation, first state, attachments."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from portal.core.enums import MaintenanceStatus
from portal.extensions import db
from portal.tickets.models import Attachment, Event, Ticket


def png_bytes(size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def form(unit, **over):
    data = {
        "channel": "hotline", "customer_id": str(unit.id), "type": "maintenance",
        "reporter_name": "刘建国", "reporter_dept": "信息科", "reporter_phone": "13800138000",
        "summary": "打印机无法打印", "description": "点击打印后无反应",
    }
    data.update(over)
    return data


def ticket_count() -> int:
    db.session.expire_all()
    return db.session.query(Ticket).count()


def test_cs_registers_maintenance_problem_and_it_starts_registered_with_history(auth, unit_factory):
    unit = unit_factory()
    r = auth.client_for("cs").post("/tickets/new", data=form(unit))
    assert r.status_code == 302
    t = db.session.query(Ticket).one()
    assert r.headers["Location"].endswith(f"/tickets/{t.number}")
    assert t.state == "registered" and t.title == "刘建国 / 信息科 / 13800138000 / 打印机无法打印"
    assert [e.action for e in db.session.query(Event).filter_by(ticket_id=t.id)] == ["register"]
    page = auth.client_for("cs").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert t.number in page and "打印机无法打印" in page


@pytest.mark.parametrize("status,ticket_type,expected", [
    (MaintenanceStatus.STOPPED, "maintenance", "awaiting_market"),
    (MaintenanceStatus.STOPPED, "consultation", "awaiting_market"),
    (MaintenanceStatus.ORDINARY, "consultation", "impl_queue"),
    (MaintenanceStatus.VIP, "requirement", "registered"),
])
def test_first_state_follows_unit_status_and_type(auth, unit_factory, status, ticket_type, expected):
    unit = unit_factory(status=status)
    r = auth.client_for("cs").post("/tickets/new", data=form(unit, type=ticket_type))
    assert r.status_code == 302
    assert db.session.query(Ticket).one().state == expected


@pytest.mark.parametrize("field", ["reporter_name", "reporter_dept", "reporter_phone", "summary"])
def test_each_missing_title_part_is_refused_with_chinese_message_and_nothing_saved(auth, unit_factory, field):
    unit = unit_factory()
    r = auth.client_for("cs").post("/tickets/new", data=form(unit, **{field: "  "}))
    assert r.status_code == 422
    assert "此项必填" in r.get_data(as_text=True)
    assert ticket_count() == 0


@pytest.mark.parametrize("phone", ["12345", "010-1234", "138001380001", "4008001234", "abc"])
def test_bad_phone_is_refused(auth, unit_factory, phone):
    unit = unit_factory()
    r = auth.client_for("cs").post("/tickets/new", data=form(unit, reporter_phone=phone))
    assert r.status_code == 422
    assert "手机号" in r.get_data(as_text=True)
    assert ticket_count() == 0


@pytest.mark.parametrize("phone,stored", [
    ("138 0013 8000", "13800138000"), ("010-12345678", "010-12345678"),
    ("0755-12345678-8001", "0755-12345678-8001"), ("0755 12345678转8001", "0755-12345678-8001"),
])
def test_mobile_and_landline_with_extension_are_accepted_and_normalised(auth, unit_factory, phone, stored):
    unit = unit_factory()
    assert auth.client_for("cs").post("/tickets/new", data=form(unit, reporter_phone=phone)).status_code == 302
    assert db.session.query(Ticket).one().reporter_phone == stored


def test_unknown_customer_unit_is_refused(auth, unit_factory):
    unit = unit_factory()
    r = auth.client_for("cs").post("/tickets/new", data=form(unit, customer_id="999999"))
    assert r.status_code == 422
    assert ticket_count() == 0


def test_images_are_stored_and_shown_as_thumbnails(auth, unit_factory):
    unit = unit_factory()
    data = form(unit)
    data["attachments"] = [(io.BytesIO(png_bytes()), "屏幕截图.png"), (io.BytesIO(b"log line\n"), "error.log")]
    c = auth.client_for("cs")
    r = c.post("/tickets/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    t = db.session.query(Ticket).one()
    atts = {a.filename: a for a in db.session.query(Attachment).filter_by(ticket_id=t.id)}
    assert set(atts) == {"屏幕截图.png", "error.log"} and atts["屏幕截图.png"].is_image
    page = c.get(f"/tickets/{t.number}").get_data(as_text=True)
    thumb = f"/tickets/{t.number}/attachments/{atts['屏幕截图.png'].id}?thumb=1"
    assert thumb in page
    r = c.get(thumb)
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    r = c.get(f"/tickets/{t.number}/attachments/{atts['error.log'].id}")
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.data == b"log line\n"


@pytest.mark.parametrize("name,content", [
    ("tool.exe", b"MZ\x90\x00" + b"\x00" * 100),
    ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
    ("fake.png", b"<html><script>alert(1)</script></html>"),
    ("page.txt", b"<!DOCTYPE html><html><body>hi</body></html>"),
    ("report.pdf", b"not really a pdf"),
])
def test_forbidden_or_disguised_files_are_refused_and_nothing_saved(auth, unit_factory, name, content):
    unit = unit_factory()
    data = form(unit)
    data["attachments"] = [(io.BytesIO(content), name)]
    r = auth.client_for("cs").post("/tickets/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert name in text and ("不允许" in text or "不符" in text)
    assert ticket_count() == 0
    assert db.session.query(Attachment).count() == 0


def test_file_over_the_per_file_limit_is_refused(app, auth, unit_factory):
    unit = unit_factory()
    old = app.config["MAX_FILE_BYTES"]
    app.config["MAX_FILE_BYTES"] = 1024
    try:
        data = form(unit)
        data["attachments"] = [(io.BytesIO(b"x" * 2048), "big.txt")]
        r = auth.client_for("cs").post("/tickets/new", data=data, content_type="multipart/form-data")
    finally:
        app.config["MAX_FILE_BYTES"] = old
    assert r.status_code == 422
    assert ticket_count() == 0


def test_request_over_the_body_limit_is_413_and_nothing_saved(app, auth, unit_factory):
    unit = unit_factory()
    old = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 4096
    try:
        data = form(unit)
        data["attachments"] = [(io.BytesIO(b"x" * 10000), "big.txt")]
        r = auth.client_for("cs").post("/tickets/new", data=data, content_type="multipart/form-data")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = old
    assert r.status_code == 413
    assert ticket_count() == 0


@pytest.mark.parametrize("role", ["dev_manager", "engineer", "impl_manager", "impl_engineer", "market", "market_manager", "admin"])
def test_only_customer_service_may_register(auth, unit_factory, role):
    unit = unit_factory()
    c = auth.client_for(role)
    assert c.get("/tickets/new").status_code == 403
    assert c.post("/tickets/new", data=form(unit)).status_code == 403
    assert ticket_count() == 0


def test_a_consultation_reaching_implementation_through_market_is_handled_there_like_one_registered_there(
        users, ticket_factory, unit_factory):
    from portal.core.enums import MaintenanceStatus
    from portal.extensions import db
    from portal.tickets.operations import take_action

    direct = ticket_factory(type="consultation")
    via_market = ticket_factory(type="consultation", unit=unit_factory(status=MaintenanceStatus.STOPPED))
    assert via_market.state == "awaiting_market"
    take_action(via_market, "record_contact", users["market"], {"outcome": "proceed", "text": "客户已续费"})
    db.session.commit()
    assert (via_market.state, via_market.handling_department) == ("impl_queue", "impl")
    assert (direct.state, direct.handling_department) == ("impl_queue", "impl")
