"""Login, logout, throttling and redirects."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.redirect_attacks import OFF_SITE, ON_SITE, assert_stays_on_site


def login(client, username, password=PASSWORD, next_=None, **kw):
    url = "/login" + (f"?next={next_}" if next_ is not None else "")
    return client.post(url, data={"username": username, "password": password}, **kw)


def test_login_with_right_password_lands_on_the_work_queue(client, users):
    r = login(client, "cs")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def same_page(a, b, *usernames) -> bool:
    """Two answers alike but for the user name typed, which the form shows back."""
    def norm(r):
        text = r.get_data(as_text=True)
        for name in usernames:
            text = text.replace(f'value="{name}"', 'value="?"')
        return r.status_code, text
    return norm(a) == norm(b)


def test_wrong_password_unknown_user_and_deactivated_user_get_the_same_answer(client, users, db_session):
    a = login(client, "cs", "wrong-password")
    b = login(client, "nobody", "wrong-password")
    assert a.status_code == b.status_code == 401
    assert a.get_data(as_text=True).count("用户名或密码错误") == 1
    assert same_page(a, b, "cs", "nobody")  # same status, same page: nothing tells which names exist
    users["market"].active = False
    db_session.commit()
    c = login(client, "market")  # the right password of a deactivated account
    assert same_page(a, c, "cs", "market")


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


@pytest.mark.parametrize("target", OFF_SITE + list(ON_SITE), ids=repr)
def test_next_never_leaves_the_site_whatever_the_encoding_tricks(client, users, target):
    r = client.post("/login", query_string={"next": target}, data={"username": "cs", "password": PASSWORD})
    assert_stays_on_site(r, "/", target)


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
    for i in range(5):  # a new forged X-Forwarded-For each time changes nothing
        assert login(client, "cs", "wrong-password", headers={"X-Forwarded-For": f"10.1.0.{i}"}).status_code == 401
    r = login(client, "cs", "wrong-password", headers={"X-Forwarded-For": "10.1.0.99"})
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


def test_absurdly_long_password_is_refused_before_hashing(client, users, monkeypatch):
    from argon2 import PasswordHasher

    calls = []
    for name in ("verify", "hash"):
        real = getattr(PasswordHasher, name)
        monkeypatch.setattr(PasswordHasher, name,
                            lambda self, *a, _real=real, _name=name, **kw: calls.append(_name) or _real(self, *a, **kw))
    a = login(client, "cs", "x" * 100_000)
    b = login(client, "nobody", "x" * 100_000)
    assert a.status_code == b.status_code == 422
    assert "密码过长（最多 256 个字符）" in a.get_data(as_text=True)
    assert same_page(a, b, "cs", "nobody")  # refused by length alone, whoever the user
    assert calls == []  # argon2 never ran
    assert login(client, "cs", "wrong-password").status_code == 401 and calls == ["verify"]  # (the spy works)


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
