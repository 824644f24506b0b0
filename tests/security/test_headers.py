"""Security headers on every page a signed-in user can open, for every role: a Content-Security-Policy
that allows no inline or eval'd script (only same-origin files, or inline scripts carrying the
request's nonce) and no framing; nosniff; no-store for anything shown to a signed-in user. And htmx
itself configured not to eval, not to talk to other origins, and not to keep pages in its history cache.

That htmx really works under this policy, with no violation reported, is checked in a browser in
tests/security/test_headers_browser.py.
"""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ROLE_KEYS

SKIP_ENDPOINTS = {"static"}
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
EVENT_HANDLER_ATTR = re.compile(r"<[a-z][^>]*\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.I)


def csp(resp) -> dict[str, list[str]]:
    header = resp.headers.get("Content-Security-Policy")
    assert header, f"{resp.request.path}: no Content-Security-Policy"
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def check_headers(resp, where: str, signed_in: bool = True) -> None:
    policy = csp(resp)
    script_src = policy.get("script-src", policy.get("default-src"))
    assert script_src, f"{where}: no script-src"
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, f"{where}: {script_src}"
    assert "*" not in script_src and "data:" not in script_src, f"{where}: {script_src}"
    assert policy.get("frame-ancestors") == ["'none'"], f"{where}: frame-ancestors {policy.get('frame-ancestors')}"
    assert policy.get("object-src") == ["'none'"], where
    assert policy.get("base-uri") == ["'self'"], where
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", where
    if signed_in:
        assert "no-store" in resp.headers.get("Cache-Control", ""), f"{where}: Cache-Control {resp.headers.get('Cache-Control')}"
    if resp.status_code == 200 and resp.mimetype == "text/html":
        check_scripts(resp, where, script_src)


def check_scripts(resp, where: str, script_src: list[str]) -> None:
    html = resp.get_data(as_text=True)
    nonces = {s[len("'nonce-"):-1] for s in script_src if s.startswith("'nonce-")}
    for attrs, body in SCRIPT_TAG.findall(html):
        src = re.search(r'\ssrc="([^"]*)"', attrs)
        if src:
            assert src.group(1).startswith("/static/"), f"{where}: script from {src.group(1)}"
            continue
        nonce = re.search(r'\snonce="([^"]*)"', attrs)
        assert nonce and nonce.group(1) in nonces, f"{where}: inline script without the request's nonce: {body[:80]!r}"
    handler = EVENT_HANDLER_ATTR.search(html)
    assert handler is None, f"{where}: inline handler {handler.group(0)[:120]!r} (blocked by the CSP, or needs eval)"


@pytest.fixture
def objects(users, ticket_factory, unit_factory):
    """Something real for the rules that take an id; other ids are simply missing (a 404 page has the
    same headers)."""
    unit = unit_factory()
    ticket = ticket_factory(unit=unit)
    return {"unit_id": unit.id, "number": ticket.number, "user_id": users["cs"].id, "fmt": "csv"}


def get_rules(app):
    return sorted((r for r in app.url_map.iter_rules()
                   if "GET" in r.methods and r.endpoint not in SKIP_ENDPOINTS), key=lambda r: r.rule)


def url_for_rule(rule, objects: dict) -> str:
    values = {arg: objects.get(arg, 999999) for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


@pytest.mark.parametrize("role", ROLE_KEYS)
def test_every_page_a_signed_in_user_opens_has_csp_nosniff_no_store_and_no_framing(app, auth, objects, role):
    client = auth.client_for(role)
    seen = {}
    for rule in get_rules(app):
        url = url_for_rule(rule, objects)
        resp = client.get(url)
        seen[url] = resp.status_code
        check_headers(resp, f"{role} GET {url} → {resp.status_code}")
        if resp.status_code == 200 and resp.mimetype == "text/html":
            frag = client.get(url, headers={"HX-Request": "true"})  # the htmx variant of the same page
            check_headers(frag, f"{role} htmx GET {url} → {frag.status_code}")
    assert sum(1 for s in seen.values() if s == 200) >= 5, seen  # the role really saw pages, not only refusals


def test_login_page_and_refusals_have_csp_nosniff_and_no_framing(app, client, users):
    check_headers(client.get("/login"), "GET /login", signed_in=False)
    check_headers(client.get("/tickets"), "GET /tickets (anonymous redirect)", signed_in=False)
    r = client.get("/tickets", headers={"HX-Request": "true"})
    assert r.status_code == 401
    check_headers(r, "htmx GET /tickets (anonymous 401)", signed_in=False)


def test_htmx_is_configured_without_eval_for_own_origin_only_and_without_history_cache(auth):
    html = auth.client_for("cs").get("/").get_data(as_text=True)
    meta = re.search(r"""<meta name="htmx-config" content='([^']*)'>""", html)
    assert meta, "no htmx-config meta in the page"
    config = json.loads(meta.group(1))
    assert config["allowEval"] is False
    assert config["selfRequestsOnly"] is True
    assert config["historyCacheSize"] == 0  # pages with personal data are never kept in localStorage
    assert config.get("allowScriptTags") is False  # swapped fragments cannot bring scripts
    assert config.get("includeIndicatorStyles") is False  # htmx would add an inline <style> the CSP refuses
