"""Login, logout, throttling and redirects."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD


def login(client, username, password=PASSWORD, next_=None, **kw):
    url = "/login" + (f"?next={next_}" if next_ is not None else "")
    return client.post(url, data={"username": username, "password": password}, **kw)


def test_login_with_right_password_lands_on_the_work_queue(client, users):
    r = login(client, "cs")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_answer(client, users):
    a = login(client, "cs", "wrong-password")
    b = login(client, "nobody", "wrong-password")
    assert a.status_code == b.status_code == 401
    strip = lambda r: r.get_data(as_text=True).replace("nobody", "cs")
    assert strip(a).count("用户名或密码错误") == strip(b).count("用户名或密码错误") == 1


def test_pages_require_login_and_remember_where_you_were_going(client, users):
    r = client.get("/tickets?state=assigned")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    r = login(client, "cs", next_="/tickets?state=assigned")
    assert r.headers["Location"] == "/tickets?state=assigned"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "http:/evil.example", "javascript:alert(1)",
    "\\\\evil.example", "evil.example",
])
def test_next_only_goes_to_internal_paths(client, users, target):
    r = login(client, "cs", next_=target)
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_session_cookie_changes_at_login_and_is_httponly_samesite(client, users):
    client.get("/login")
    before = client.get_cookie("session")
    r = login(client, "cs")
    after = client.get_cookie("session")
    assert after is not None and (before is None or after.value != before.value)
    cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logout_ends_the_session_and_is_post_only(client, users):
    login(client, "cs")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_login_is_throttled_per_username(app, client, users):
    for _ in range(5):
        assert login(client, "cs", "wrong-password").status_code == 401
    r = login(client, "cs", "wrong-password")
    assert r.status_code == 429
    assert "尝试次数过多" in r.get_data(as_text=True)
    # even the right password is refused while throttled: the attacker learns nothing
    assert login(client, "cs").status_code == 429
    # another user from the same address is not blocked by cs's counter
    assert login(client, "market").status_code == 302


def test_login_throttle_per_ip_ignores_forged_forwarded_for(app, users):
    c = app.test_client()
    old = app.config["LOGIN_LIMIT_PER_IP"]
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per minute"
    try:
        for i in range(3):
            r = c.post("/login", data={"username": f"u{i}", "password": "x" * 10},
                       headers={"X-Forwarded-For": f"10.0.0.{i}"})
            assert r.status_code == 401
        r = c.post("/login", data={"username": "u9", "password": "x" * 10}, headers={"X-Forwarded-For": "10.9.9.9"})
        assert r.status_code == 429
    finally:
        app.config["LOGIN_LIMIT_PER_IP"] = old


def test_successful_logins_do_not_count_towards_the_throttle(client, users):
    for _ in range(8):
        assert login(client, "cs").status_code == 302
        client.post("/logout")


def test_absurdly_long_password_is_refused_without_hashing(client, users):
    r = login(client, "cs", "x" * 100_000)
    assert r.status_code == 401


def test_deactivated_user_cannot_log_in(client, users, db_session):
    users["cs"].active = False
    db_session.commit()
    assert login(client, "cs").status_code == 401


def test_login_form_without_csrf_token_is_refused_when_csrf_is_on(app, users):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = app.test_client().post("/login", data={"username": "cs", "password": PASSWORD})
        assert r.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
