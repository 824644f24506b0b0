"""Issue 7's page-weight rules (kept with the search tests, which own the list page's speed):
our JavaScript plus htmx under 25 KB gzipped, responses compressed, static files cache-busted and cached."""
from __future__ import annotations

import gzip
import re

from tests.conftest import ROOT


def test_our_javascript_and_htmx_weigh_under_25_kb_gzipped():
    scripts = list((ROOT / "static" / "js").glob("*.js")) + list((ROOT / "static" / "vendor").glob("*.js"))
    assert scripts
    total = sum(len(gzip.compress(p.read_bytes(), 9)) for p in scripts)
    assert total < 25 * 1024, total


def test_pages_are_compressed_when_the_browser_accepts_it(auth):
    r = auth.client_for("cs").get("/tickets", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in r.headers["Vary"]
    assert "<table" in gzip.decompress(r.data).decode()


def test_static_urls_carry_a_content_hash_and_are_cached_for_a_year(auth, client):
    html = auth.client_for("cs").get("/tickets").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert urls and all(re.search(r"\?v=[0-9a-f]{12}$", u) for u in urls), urls
    r = client.get(urls[0].replace("&amp;", "&"))
    assert r.status_code == 200
    assert "max-age=31536000" in r.headers["Cache-Control"] and "immutable" in r.headers["Cache-Control"]
    r.close()


def test_a_static_url_without_its_hash_is_revalidated(client):
    r = client.get("/static/js/portal.js")
    assert r.status_code == 200
    assert "immutable" not in r.headers.get("Cache-Control", "")
    r.close()
