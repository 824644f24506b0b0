"""Attachments in the S3-compatible store (FILE_STORAGE=s3, moto's server over HTTP): uploaded through the
intake form and a comment, downloaded through the access-checked route byte for byte with the same
safety headers as from the local folder; the thumbnail comes from the bucket; nothing lands in UPLOAD_DIR;
a user who may not see the ticket gets 404."""
from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from portal.extensions import db
from portal.tickets.models import Attachment, Ticket
from tests.conftest import s3_objects
from tests.tickets.test_intake import form, png_bytes


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_attachments_go_to_the_bucket_and_come_back_through_the_access_checked_route(app, auth, unit_factory,
                                                                                      s3_files):
    upload_dir = Path(app.config["UPLOAD_DIR"])
    local_before = _tree(upload_dir)
    unit = unit_factory()
    blob = os.urandom(200 * 1024)  # binary: a zip made of random bytes after its signature
    zip_bytes = b"PK\x03\x04" + blob
    data = form(unit)
    data["attachments"] = [(io.BytesIO(png_bytes((400, 300))), "屏幕截图.png"), (io.BytesIO(b"log line\n"), "error.log")]
    c = auth.client_for("cs")
    assert c.post("/tickets/new", data=data, content_type="multipart/form-data").status_code == 302
    t = db.session.query(Ticket).one()
    r = c.post(f"/tickets/{t.number}/actions/comment",
               data={"comment-text": "补充日志", "comment-version": str(t.version),
                     "comment-attachments": [(io.BytesIO(zip_bytes), "日志.zip")]},
               content_type="multipart/form-data")
    assert r.status_code in (200, 302), r.status_code
    db.session.expire_all()
    atts = {a.filename: a for a in db.session.query(Attachment).filter_by(ticket_id=t.id)}
    assert set(atts) == {"屏幕截图.png", "error.log", "日志.zip"}

    # in the bucket under <prefix>/uploads/<first two>/<name> (+ the thumbnail), not in the local folder
    objects, p = s3_objects(s3_files), s3_files["prefix"]
    png, log, zipped = atts["屏幕截图.png"], atts["error.log"], atts["日志.zip"]
    key = lambda a, suffix="": f"{p}/uploads/{a.stored_name[:2]}/{a.stored_name}{suffix}"  # noqa: E731
    assert set(objects) == {key(png), key(png, ".thumb.jpg"), key(log), key(zipped)}
    assert objects[key(log)] == b"log line\n" and objects[key(zipped)] == zip_bytes
    assert _tree(upload_dir) == local_before

    for att, content in ((log, b"log line\n"), (zipped, zip_bytes), (png, objects[key(png)])):
        r = c.get(f"/tickets/{t.number}/attachments/{att.id}")
        assert r.status_code == 200 and r.data == content, att.filename
        assert r.headers["Content-Length"] == str(len(content))
        assert r.headers["Content-Disposition"].startswith("attachment")
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert "no-store" in r.headers["Cache-Control"]
        assert r.mimetype == att.content_type.split(";")[0]

    r = c.get(f"/tickets/{t.number}/attachments/{png.id}?thumb=1")
    assert r.status_code == 200 and r.mimetype == "image/jpeg" and r.data == objects[key(png, ".thumb.jpg")]
    with Image.open(io.BytesIO(r.data)) as im:
        assert im.format == "JPEG" and max(im.size) <= 240

    # an implementation engineer (a problem in the development queue, never assigned to them) sees
    # neither the ticket nor its files
    other = auth.client_for("impl_engineer2")
    assert other.get(f"/tickets/{t.number}/attachments/{log.id}").status_code == 404
    assert other.get(f"/tickets/{t.number}/attachments/{png.id}?thumb=1").status_code == 404


def test_an_attachment_whose_object_is_gone_is_404_not_500(app, auth, ticket_factory, users, s3_files):
    from portal.core import uploads

    t = ticket_factory()
    stored = uploads.store(uploads.check(_file("note.txt", b"x\n")))
    db.session.add(Attachment(id=stored, ticket_id=t.id, filename="note.txt", stored_name=stored,
                              content_type="text/plain; charset=utf-8", size=2, is_image=False,
                              uploaded_by_id=users["cs"].id))
    db.session.commit()
    s3_files["client"].delete_object(Bucket=s3_files["bucket"],
                                     Key=f"{s3_files['prefix']}/uploads/{stored[:2]}/{stored}")
    r = auth.client_for("cs").get(f"/tickets/{t.number}/attachments/{stored}")
    assert r.status_code == 404


def _file(name: str, content: bytes):
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(content), filename=name)


def test_an_unreachable_file_store_is_a_chinese_503_and_the_ticket_is_not_saved(app, auth, unit_factory, s3_files,
                                                                                monkeypatch):
    from portal.core import storage
    from tests.conftest import _free_port

    unit = unit_factory()
    c = auth.client_for("cs")
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")  # nothing listens
    storage.forget_stores(app)
    data = form(unit)
    data["attachments"] = [(io.BytesIO(b"log line\n"), "error.log")]
    r = c.post("/tickets/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 503 and "文件存储暂时无法访问" in r.get_data(as_text=True)
    assert r.headers["Retry-After"]
    db.session.expire_all()
    assert db.session.query(Ticket).count() == 0 and db.session.query(Attachment).count() == 0

    # the store is back: the same form goes through, and the download works again
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", s3_files["endpoint"])
    storage.forget_stores(app)
    data["attachments"] = [(io.BytesIO(b"log line\n"), "error.log")]
    assert c.post("/tickets/new", data=data, content_type="multipart/form-data").status_code == 302
    t, att = db.session.query(Ticket).one(), db.session.query(Attachment).one()
    assert c.get(f"/tickets/{t.number}/attachments/{att.id}").data == b"log line\n"
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    storage.forget_stores(app)
    r = c.get(f"/tickets/{t.number}/attachments/{att.id}")
    assert r.status_code == 503 and "文件存储暂时无法访问" in r.get_data(as_text=True)
