"""我的账号: the current-password check is throttled like a login (Flask-Limiter on Redis), so a stolen
session cannot guess the password without limit; only wrong passwords count."""
from __future__ import annotations

from portal.auth import operations as ops
from portal.extensions import db
from tests.conftest import PASSWORD

NEW = "changed-pass-2026"


def change_password(client, current, new=NEW, **kw):
    return client.post("/account", data={"pw-current": current, "pw-new": new}, **kw)


def password_is(username: str, password: str) -> bool:
    db.session.expire_all()
    return ops.authenticate(username, password) is not None


def test_after_five_wrong_current_passwords_even_the_right_one_is_refused_with_429(auth, users):
    client = auth.client_for("cs")
    for i in range(5):  # LOGIN_LIMIT_PER_USER: 5 per minute; a forged X-Forwarded-For changes nothing
        r = change_password(client, f"guess-{i}", headers={"X-Forwarded-For": f"10.2.0.{i}"})
        assert r.status_code == 422 and "密码错误" in r.get_data(as_text=True)
    r = change_password(client, PASSWORD)
    assert r.status_code == 429
    assert "尝试次数过多" in r.get_data(as_text=True)
    assert password_is("cs", PASSWORD) and not password_is("cs", NEW)


def test_the_right_current_password_before_the_limit_changes_it(auth, users):
    client = auth.client_for("cs")
    for i in range(4):
        assert change_password(client, f"guess-{i}").status_code == 422
    r = change_password(client, PASSWORD)
    assert r.status_code == 302
    assert password_is("cs", NEW)


def test_only_wrong_passwords_count_not_a_too_short_new_one_nor_a_language_change(auth, users):
    client = auth.client_for("cs")
    for _ in range(8):
        assert change_password(client, PASSWORD, new="short").status_code == 422  # form error, not a guess
        assert client.post("/account", data={"prefs-locale": "zh_CN"}).status_code == 302
    assert change_password(client, PASSWORD).status_code == 302


def test_the_throttle_is_per_user_one_clerks_guesses_do_not_block_another(auth, users):
    attacker = auth.client_for("cs")
    for i in range(5):
        change_password(attacker, f"guess-{i}")
    assert change_password(attacker, PASSWORD).status_code == 429
    assert change_password(auth.client_for("market"), PASSWORD).status_code == 302


def test_the_throttle_is_also_per_address_across_users(app, auth, users):
    old = app.config["LOGIN_LIMIT_PER_IP"]
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per minute"
    try:
        for name in ("cs", "market", "engineer"):  # one guess each from the same address
            assert change_password(auth.client_for(name), "guess").status_code == 422
        r = change_password(auth.client_for("dev_manager"), PASSWORD)
        assert r.status_code == 429
        assert password_is("dev_manager", PASSWORD)
    finally:
        app.config["LOGIN_LIMIT_PER_IP"] = old
