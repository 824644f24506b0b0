"""One htmx layer (portal/core/htmx.py) decides what an htmx request gets: a fragment only for a plain htmx
request; a boosted navigation or a history restore swaps the whole body, so it gets the whole page."""
from __future__ import annotations

import pytest

from portal.core import htmx

HTMX = {"HX-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}
RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


@pytest.mark.parametrize("headers, htmx_request, fragment", [
    ({}, False, False), (HTMX, True, True), (BOOSTED, True, False), (RESTORE, True, False),
])
def test_fragment_only_for_a_plain_htmx_request(app, headers, htmx_request, fragment):
    with app.test_request_context("/", headers=headers):
        assert htmx.is_htmx_request() is htmx_request
        assert htmx.is_fragment_request() is fragment


@pytest.mark.parametrize("headers, fragment", [({}, False), (HTMX, True), (BOOSTED, False), (RESTORE, False)])
def test_an_error_is_a_fragment_only_for_a_plain_htmx_request(auth, headers, fragment):
    r = auth.client_for("cs").get("/tickets/NO-SUCH-TICKET", headers=headers)
    assert r.status_code == 404
    assert ("<html" not in r.get_data(as_text=True)) is fragment
    assert "HX-Request" in r.headers.get("Vary", "")


@pytest.mark.parametrize("headers", [HTMX, BOOSTED])
def test_signed_out_htmx_request_is_sent_to_login_by_hx_redirect(client, headers):
    r = client.get("/tickets", headers=headers)
    assert r.status_code == 401 and r.headers["HX-Redirect"].endswith("/login")


def test_response_sets_hx_trigger_only_when_asked(app):
    with app.test_request_context("/"):
        r = htmx.response("body", htmx.STOP_POLLING, {"Cache-Control": "no-store"}, trigger="document-settled")
        assert (r.status_code, r.headers["HX-Trigger"], r.headers["Cache-Control"]) == (
            286, "document-settled", "no-store")
        assert "HX-Trigger" not in htmx.response("body", 422, trigger=None).headers
