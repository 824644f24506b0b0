"""The PDF renderer reads nothing but the packaged font: no local file, no address on the
network — whether the markup comes from a template or from data put into one."""
from __future__ import annotations

import http.server
import threading
from datetime import date

import pytest

from portal.documents import operations as ops
from portal.documents import render
from portal.extensions import db
from tests.documents.helpers import document, flat, fonts, image_count, pdf_bytes, pdf_text, run_burst_worker


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.requests.append(self.path)
        body = b"body { color: red }" if self.path.endswith(".css") else b"GIF89a"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    """A tiny HTTP server on 127.0.0.1 that records every request it receives."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("SECRET-CONTENT-4711 root:x:0:0")
    return path


def test_the_recording_server_does_record(local_server):
    """(The check below can fail: a request to this server is seen.)"""
    import urllib.request

    port = local_server.server_address[1]
    urllib.request.urlopen(f"http://127.0.0.1:{port}/probe.png", timeout=5).read()
    assert local_server.requests == ["/probe.png"]


def test_template_with_local_files_urls_and_css_urls_renders_without_fetching_anything(local_server, secret_file):
    base = f"http://127.0.0.1:{local_server.server_address[1]}"
    html = f"""<!doctype html><html><head><meta charset="utf-8">
    <link rel="stylesheet" href="{base}/linked.css">
    <link rel="stylesheet" href="file://{secret_file}">
    <style>
      {render.FONT_CSS}
      @import url("{base}/imported.css");
      @font-face {{ font-family: "Remote"; src: url("{base}/remote-font.woff2"); }}
      body {{ font-family: "{render.FONT_FAMILY}", "Remote"; background: url("{base}/background.png"); }}
      p::after {{ content: url("file://{secret_file}"); }}
      ul {{ list-style-image: url("{base}/bullet.png"); }}
    </style></head>
    <body>
      <p>维护到期通知函 正文</p>
      <img src="file:///etc/passwd"><img src="file://{secret_file}"><img src="{base}/image.png">
      <img src="http://169.254.169.254/latest/meta-data/">
      <object data="{base}/object.svg"></object><embed src="file://{secret_file}">
      <iframe src="{base}/frame.html"></iframe>
      <svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd" width="10" height="10"/></svg>
      <ul><li>一</li></ul>
    </body></html>"""
    rendered = render.render_pdf(html)

    assert local_server.requests == []                      # nothing reached the network
    assert "维护到期通知函正文" in flat(pdf_text(rendered.pdf))  # … and the document still rendered
    assert image_count(rendered.pdf) == 0
    assert b"SECRET-CONTENT-4711" not in rendered.pdf and b"root:x:0:0" not in rendered.pdf
    assert "file:///etc/passwd" in rendered.refused
    assert f"{base}/image.png" in rendered.refused and f"{base}/background.png" in rendered.refused
    assert f"{base}/linked.css" in rendered.refused and f"{base}/remote-font.woff2" in rendered.refused
    assert all(f["embedded"] and f["name"].endswith("+PortalSansSC") for f in fonts(rendered.pdf))


def test_fetcher_serves_only_the_packaged_font():
    fetcher = render.PackagedAssetsFetcher()
    assert fetcher.fetch(render.FONT_URL).read()[:4] == b"OTTO"  # the shipped OpenType/CFF font
    for url in ("file:///etc/passwd", f"file://{render.FONT_PATH}", "data:text/plain,hi", "http://127.0.0.1/",
                "portal-asset:../../etc/passwd", "https://example.cn/font.otf"):
        with pytest.raises(render.BlockedURL):
            fetcher.fetch(url)


def test_markup_in_the_data_is_printed_as_text_and_fetches_nothing(users, unit_factory, local_server):
    """A unit named like an HTML tag: the letter shows the name; nothing is read or fetched."""
    from portal.customers import operations as cops

    base = f"http://127.0.0.1:{local_server.server_address[1]}"
    unit = unit_factory(status="ordinary", name=f'<img src="file:///etc/passwd"><img src="{base}/x.png">医院')
    contact = cops.add_contact(unit, name="<style>*{background:url(" + base + "/b)}</style>王五",  # ≤ 64
                               department="信息科", phone="13800138000")
    cops.add_contract(unit, start_date=date(2025, 1, 1), end_date=date(2025, 12, 31), fee=0)
    db.session.commit()
    docs = [ops.request_contact_letter(contact, users["cs"]), ops.request_expiry_notice(unit.contracts[0], users["cs"])]
    db.session.commit()
    run_burst_worker()
    for d in docs:
        d = document(d.id)
        assert d.status == "ready", d.error
        data = pdf_bytes(d)
        assert image_count(data) == 0
        assert 'src="file:///etc/passwd"' in pdf_text(data).replace("\n", "")
    assert local_server.requests == []
