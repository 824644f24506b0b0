"""Error answers to htmx requests are marked (X-Portal-Error) so that static/js/portal.js shows their
message where the clerk clicked instead of swapping them over the page; an expired form is marked so the
page reloads with what was typed; a signed-out htmx request is sent to the sign-in page with the way back."""
from __future__ import annotations

HX = {"HX-Request": "true"}


def test_an_expired_csrf_token_on_an_htmx_action_is_a_marked_chinese_400(app, auth, ticket_factory, monkeypatch):
    number = ticket_factory().number
    client = auth.client_for("cs")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    r = client.post(f"/tickets/{number}/actions/comment", data={"comment-text": "x", "comment-version": "1"},
                    headers={**HX, "X-CSRFToken": "an-old-token"})
    assert r.status_code == 400
    assert r.headers["X-Portal-Error"] == "expired-form"
    assert "表单已过期" in r.get_data(as_text=True) and 'role="alert"' in r.get_data(as_text=True)


def test_generic_error_answers_are_marked_for_htmx_only(auth, users):
    client = auth.client_for("engineer")
    r = client.get("/tickets/SH-2000-999999", headers=HX)
    assert r.status_code == 404 and r.headers["X-Portal-Error"] == "message"
    r = client.get("/admin/users", headers=HX)
    assert r.status_code == 403 and r.headers["X-Portal-Error"] == "message"
    r = client.get("/tickets/SH-2000-999999")  # a whole page: nothing for a script to intercept
    assert r.status_code == 404 and "X-Portal-Error" not in r.headers


def test_a_routes_own_422_fragment_is_not_marked_and_is_swapped_as_before(auth, users, ticket_factory):
    t = ticket_factory()
    r = auth.client_for("cs").post(f"/tickets/{t.number}/actions/comment", headers=HX,
                                   data={"comment-text": "x" * 20001, "comment-version": str(t.version)})
    assert r.status_code == 422 and "X-Portal-Error" not in r.headers
    assert 'id="ticket"' in r.get_data(as_text=True)


def test_a_signed_out_htmx_request_goes_to_sign_in_and_back_to_the_same_page(client, users):
    r = client.get("/notifications/bell", headers={**HX, "HX-Current-URL": "http://localhost/tickets?state=assigned"})
    assert r.status_code == 401
    assert r.headers["HX-Redirect"] == "/login?next=/tickets?state%3Dassigned"


def test_a_forged_current_url_cannot_make_the_way_back_leave_the_site(client, users):
    for current in ("http://localhost//evil.com/x", "http://localhost/\\evil.com", "javascript:alert(1)", "%%%"):
        r = client.get("/notifications/bell", headers={**HX, "HX-Current-URL": current})
        assert r.status_code == 401 and r.headers["HX-Redirect"] == "/login", current
