"""Upload file names (issue 12): a name with control characters is cleaned and the file saved; a name
whose bare CR/LF broke its part's header (the file never reaches the portal) is refused with a Chinese
422 and nothing saved — never a comment or ticket saved silently without its file; a name over 200
characters is shortened before its extension, so a valid .txt stays a .txt. Checked through the comment
route and the intake route, with the multipart bodies written by hand (a test client would escape them)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.tickets.models import Attachment, Event, Ticket

BOUNDARY = "----portal-test-boundary"
LOST = "无法读取"


def multipart(fields: dict[str, str], files: list[tuple[str, bytes, bytes]]) -> bytes:
    out = b""
    for name, value in fields.items():
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").encode()
    for field, filename, content in files:
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"".encode()
                + filename + b"\"\r\nContent-Type: text/plain\r\n\r\n" + content + b"\r\n")
    return out + f"--{BOUNDARY}--\r\n".encode()


def post(client, url, fields, files):
    return client.post(url, data=multipart(fields, files), content_type=f"multipart/form-data; boundary={BOUNDARY}")


def intake(unit, ticket, filename: bytes):
    fields = {"channel": "hotline", "customer_id": str(unit.id), "type": "maintenance", "reporter_name": "刘建国",
              "reporter_dept": "信息科", "reporter_phone": "13800138000", "summary": "附件文件名测试",
              "description": "见附件"}
    return "/tickets/new", fields, [("attachments", filename, b"error line 1\nerror line 2\n")]


def comment(unit, ticket, filename: bytes):
    fields = {"comment-text": "补充日志", "comment-version": str(ticket.version)}
    return (f"/tickets/{ticket.number}/actions/comment", fields,
            [("comment-attachments", filename, b"error line 1\nerror line 2\n")])


ROUTES = {"intake": intake, "comment": comment}


def counts(app) -> tuple[int, int, int, int]:
    db.session.expire_all()
    stored = sum(1 for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file())
    return (db.session.scalar(select(func.count(Ticket.id))), db.session.scalar(select(func.count(Event.id))),
            db.session.scalar(select(func.count(Attachment.id))), stored)


@pytest.fixture
def target(unit_factory, ticket_factory):
    unit = unit_factory()
    return unit, ticket_factory(unit=unit)


@pytest.mark.parametrize("where", sorted(ROUTES))
@pytest.mark.parametrize("filename", [b"log\rfile.txt", b"log\nfile.txt", b"error.txt\r", b"\r\n.txt"], ids=repr)
def test_a_name_broken_by_a_bare_cr_or_lf_is_refused_in_chinese_and_nothing_is_saved(app, auth, target, where,
                                                                                   filename):
    before = counts(app)
    r = post(auth.client_for("cs"), *ROUTES[where](*target, filename))
    assert r.status_code == 422, r.status_code
    assert LOST in r.get_data(as_text=True)
    assert counts(app) == before  # no ticket, no comment, no attachment row, no file


@pytest.mark.parametrize("where", sorted(ROUTES))
@pytest.mark.parametrize("filename, saved_as", [
    (b"log\x00file.txt", "log file.txt"), (b"log\tfile.txt", "log file.txt"), (b"log\x01\x7ffile.txt", "log file.txt"),
    ("报告\u202etxt.exe.txt".encode(), "报告 txt.exe.txt"), (b"\x1b[31mred.log", "[31mred.log"),
], ids=repr)
def test_control_characters_in_a_name_are_cleaned_and_the_file_is_saved(app, auth, target, where, filename,
                                                                       saved_as):
    before = counts(app)
    r = post(auth.client_for("cs"), *ROUTES[where](*target, filename))
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    after = counts(app)
    assert after[2] == before[2] + 1 and after[3] == before[3] + 1
    newest = db.session.scalar(select(Attachment).order_by(Attachment.created_at.desc()).limit(1))
    assert newest.filename == saved_as


@pytest.mark.parametrize("where", sorted(ROUTES))
def test_a_300_character_txt_name_is_shortened_before_its_extension_and_accepted(app, auth, target, where):
    name = "服务器日志" * 60 + ".txt"  # 304 characters
    before = counts(app)
    r = post(auth.client_for("cs"), *ROUTES[where](*target, name.encode()))
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert counts(app)[2] == before[2] + 1
    saved = db.session.scalar(select(Attachment).order_by(Attachment.created_at.desc()).limit(1)).filename
    assert len(saved) == 200 and saved.endswith(".txt") and saved.startswith("服务器日志")
