"""Input (issue 8), files: SVG, HTML, polyglots (a real GIF/JPEG with HTML appended), double extensions
and wrong magic bytes are refused at every upload with a Chinese 4xx message and nothing stored; an
oversized request is a 413 that leaves no temporary or stored file; path tricks in any parameter are a
404/400 and never reach a file outside the storage."""
from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import pytest
from flask import current_app
from PIL import Image

from portal.core import uploads
from portal.core import storage
from tests.security.world import build_world, changed, fingerprint

ZH_REFUSALS = ("不允许上传此类型的文件", "文件内容与文件类型不符", "无法读取该图片")


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, fmt)
    return out.getvalue()


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><script>alert(1)</script></svg>"
BAD_FILES = {
    "svg": ("drawing.svg", SVG),
    "html": ("page.html", HTML),
    "htm": ("page.htm", HTML),
    "xhtml": ("page.xhtml", HTML),
    "svg as png": ("chart.png", SVG),
    "html as txt": ("readme.txt", HTML),
    "xml svg as log": ("trace.log", b"<?xml version='1.0'?>" + SVG),
    "gif polyglot": ("photo.gif", _image("GIF") + HTML),
    "jpeg polyglot": ("photo.jpg", _image("JPEG") + b"<html><script>alert(1)</script></html>"),
    "png polyglot": ("photo.png", _image("PNG") + b"<svg onload=alert(1)>"),
    "gif header then html": ("photo.gif", b"GIF89a" + HTML),
    "double extension html": ("report.pdf.html", HTML),
    "double extension, html inside": ("invoice.html.png", HTML),
    "double extension svg": ("scan.png.svg", SVG),
    "png bytes named pdf": ("report.pdf", _image("PNG")),
    "pdf bytes named png": ("scan.png", b"%PDF-1.4\n%%EOF\n"),
    "text named docx": ("notes.docx", b"plain text, not a document"),
    "executable": ("setup.exe", b"MZ\x90\x00" + b"\x00" * 64),
    "no extension": ("Makefile", b"all:\n\techo hi\n"),
}


@pytest.fixture
def world(users, ticket_factory, unit_factory):
    return build_world(users, ticket_factory, unit_factory)


def _intake(w, files):
    return "/tickets/new", dict(channel="hotline", customer_id=w.units["a"].id, type="maintenance",
                                reporter_name="孙丽", reporter_dept="信息科", reporter_phone="13800138000",
                                summary="附件测试", attachments=files)


def _comment(w, files):
    t = w.tickets["mine"]
    return f"/tickets/{t.number}/actions/comment", {"comment-text": "附件", "comment-version": str(t.version),
                                                    "comment-attachments": files}


def _document(w, files):
    return f"/documents/units/{w.units['a'].id}/upload", dict(kind="other", title="扫描件", file=files[0])


def _revision(w, files):
    return f"/documents/{w.documents['a'].public_id}/revisions", dict(file=files[0])


UPLOAD_FORMS = {"intake": _intake, "comment": _comment, "document": _document, "revision": _revision}


@pytest.mark.parametrize("where", sorted(UPLOAD_FORMS))
def test_svg_html_polyglot_double_extension_and_wrong_magic_uploads_are_refused_in_chinese(auth, world, where):
    c = auth.client_for("cs")
    for kind, (name, content) in BAD_FILES.items():
        before = fingerprint()
        url, data = UPLOAD_FORMS[where](world, [(io.BytesIO(content), name)])
        r = c.post(url, data=data, content_type="multipart/form-data")
        assert 400 <= r.status_code < 500, (where, kind, r.status_code)
        body = r.get_data(as_text=True)
        assert any(m in body for m in ZH_REFUSALS), (where, kind)
        assert not changed(before, fingerprint()), (where, kind)


def test_a_plain_image_and_a_plain_text_file_are_still_accepted(auth, world):
    c = auth.client_for("cs")
    url, data = _intake(world, [(io.BytesIO(_image("PNG")), "截图.png"), (io.BytesIO(b"log\n"), "error.log")])
    assert c.post(url, data=data, content_type="multipart/form-data").status_code == 302


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


@pytest.fixture
def temp_dir(monkeypatch, tmp_path):
    """The directory where Werkzeug spools large request bodies (tempfile's), watched by the test."""
    d = tmp_path / "spool"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


@pytest.mark.parametrize("where", sorted(UPLOAD_FORMS) + ["import"])
def test_an_oversized_request_is_413_and_leaves_no_temporary_or_stored_file(app, auth, world, temp_dir,
                                                                            monkeypatch, where):
    c = auth.client_for("cs")
    upload_dir = Path(app.config["UPLOAD_DIR"])
    archive = storage.local_root(storage.ARCHIVE)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 700 * 1024)
    big = b"x" * (900 * 1024)  # over the limit, and over Werkzeug's 500 KB in-memory spool
    before, files_before = fingerprint(), (_tree(upload_dir), _tree(archive))
    if where == "import":
        url, data = "/customers/import", dict(file=(io.BytesIO(big), "单位.xlsx"))
    else:
        url, data = UPLOAD_FORMS[where](world, [(io.BytesIO(big), "big.txt")])
    r = c.post(url, data=data, content_type="multipart/form-data")
    assert r.status_code == 413, (where, r.status_code)
    assert "上传的内容过大" in r.get_data(as_text=True)
    assert list(temp_dir.iterdir()) == []
    assert (_tree(upload_dir), _tree(archive)) == files_before
    assert not changed(before, fingerprint())


@pytest.mark.parametrize("where", sorted(UPLOAD_FORMS))
def test_a_file_over_the_per_file_limit_is_refused_and_leaves_no_temporary_file(app, auth, world, temp_dir,
                                                                                 monkeypatch, where):
    c = auth.client_for("cs")
    monkeypatch.setitem(app.config, "MAX_FILE_BYTES", 600 * 1024)
    before = fingerprint()
    url, data = UPLOAD_FORMS[where](world, [(io.BytesIO(b"x" * (800 * 1024)), "big.txt")])  # spooled to disk
    r = c.post(url, data=data, content_type="multipart/form-data")
    assert r.status_code == 422, (where, r.status_code)
    assert "文件超过" in r.get_data(as_text=True)
    assert list(temp_dir.iterdir()) == []
    assert not changed(before, fingerprint())


# --- path tricks ----------------------------------------------------------------------------------

SENTINEL = "SENTINEL-OUTSIDE-THE-STORAGE"
TRICKS = ["..%2F..%2F..%2Fsecret.txt", "..%2f..%2f..%2f..%2fetc%2fpasswd", "%2e%2e", "%2e%2e%2f%2e%2e%2fsecret.txt",
          "%2Fetc%2Fpasswd", "..%5C..%5Csecret.txt", "abc%00def", "%00", "....%2F%2F....%2F%2Fsecret.txt",
          "%252e%252e%252fsecret.txt", "C%3A%5Cwindows%5Cwin.ini"]


@pytest.fixture
def sentinel(app):
    """A file beside the storage folders that no request may ever return."""
    p = Path(app.instance_path) / "secret.txt"
    p.write_text(SENTINEL)
    yield p
    p.unlink(missing_ok=True)


def _leaks(r) -> bool:
    body = r.get_data()
    return SENTINEL.encode() in body or b"root:x:0:0" in body or b"[fonts]" in body


def test_path_tricks_in_any_url_parameter_are_404_or_400_and_reach_no_file(auth, world, sentinel):
    w = world
    t = w.tickets["mine"]
    att = w.attachments["mine"]
    gets = []
    for trick in TRICKS:
        gets += [f"/tickets/{t.number}/attachments/{trick}", f"/tickets/{t.number}/attachments/{trick}?thumb=1",
                 f"/tickets/{trick}", f"/tickets/{trick}/attachments/{att.id}", f"/static/{trick}",
                 f"/static/css/{trick}", f"/documents/{trick}", f"/documents/{trick}/download",
                 f"/customers/{trick}", f"/complaints/{trick}", f"/hotline/{trick}", f"/metrics/export.{trick}",
                 f"/tickets/export.{trick}", f"/metrics/units/{w.units['a'].id}/history.{trick}"]
    posts = []
    for trick in TRICKS:
        posts += [f"/admin/departments/{trick}", f"/admin/jobs/{trick}/retry", f"/tickets/{t.number}/actions/{trick}",
                  f"/tickets/{trick}/actions/comment"]
    for role in ("cs", "admin"):
        c = auth.client_for(role)
        for url in gets:
            # (Werkzeug answers a doubled slash with a 308 to the merged path: followed, it must end in a 404)
            r = c.get(url, follow_redirects=True)
            assert r.status_code in (400, 404), (role, url, r.status_code)
            assert all(h.location.startswith("/") or h.location.startswith("http://localhost/")
                       for h in r.history), (role, url)
            assert not _leaks(r), (role, url)
        for url in posts:
            before = fingerprint()
            r = c.post(url, data={"d1-name": "x", "comment-text": "x"})
            assert r.status_code in (400, 403, 404), (role, url, r.status_code)
            assert not _leaks(r) and not changed(before, fingerprint()), (role, url)


def test_path_tricks_in_query_parameters_reach_no_file(auth, world, sentinel):
    c = auth.client_for("cs")
    t, doc = world.tickets["mine"], world.documents["a"]
    for trick in ("../../secret.txt", "/etc/passwd", "..\\..\\secret.txt", "%00", "....//....//secret.txt"):
        for url in (f"/tickets/{t.number}/attachments/{world.attachments['mine'].id}?thumb={trick}",
                    f"/documents/{doc.public_id}?part={trick}", f"/documents/{doc.public_id}/download?name={trick}",
                    f"/documents?unit_id={trick}&period={trick}", f"/tickets?q={trick}&after={trick}",
                    f"/metrics/export.csv?table={trick}", f"/handover/units/{world.units['project'].id}?part={trick}"):
            r = c.get(url)
            assert r.status_code < 500 and not _leaks(r), (url, r.status_code)


@pytest.mark.parametrize("name", ["../../../../secret.txt", "..\\..\\..\\secret.txt", "/etc/cron.d/evil.txt",
                                  "C:\\Windows\\evil.txt", "evil\x00.txt", "..", "./.././x.txt"])
def test_a_file_name_with_a_path_is_stored_inside_the_storage_under_a_random_name(app, auth, world, name):
    c = auth.client_for("cs")
    upload_dir = Path(app.config["UPLOAD_DIR"]).resolve()
    outside = {p for p in Path(app.instance_path).rglob("*") if upload_dir not in p.resolve().parents}
    t = world.tickets["mine"]
    r = c.post(f"/tickets/{t.number}/actions/comment", data={"comment-text": "x", "comment-version": str(t.version),
                                                             "comment-attachments": [(io.BytesIO(b"x\n"), name)]},
               content_type="multipart/form-data")
    assert r.status_code in (302, 422), r.status_code
    now_outside = {p for p in Path(app.instance_path).rglob("*") if upload_dir not in p.resolve().parents}
    assert now_outside == outside  # nothing new anywhere but in the upload folder
    from portal.tickets.models import Attachment
    from portal.extensions import db

    for att in db.session.query(Attachment).filter(Attachment.ticket_id == t.id):
        assert "/" not in att.filename and "\\" not in att.filename and "\x00" not in att.filename
        assert att.filename not in ("..", ".")
        assert re.fullmatch(r"[0-9a-f]{32}", att.stored_name)
        r = c.get(f"/tickets/{t.number}/attachments/{att.id}")
        assert r.status_code == 200
        disposition = r.headers["Content-Disposition"]
        assert "/" not in disposition.replace("%2F", "/").split("filename", 1)[1] or "%2F" not in disposition
        assert "\r" not in disposition and "\n" not in disposition


def test_the_storage_layers_refuse_keys_that_leave_their_folder(app):
    for bad in ("../x", "..", "/etc/passwd", "a/../../b", "a\\b", ""):
        with pytest.raises(ValueError):
            storage.check_key(bad)
    for bad in ("../x", "..", "/etc/passwd", "a/b", "a.b", "x\x00"):
        with pytest.raises(FileNotFoundError):
            uploads.key_of(bad)
    assert current_app.config["UPLOAD_DIR"]
