"""Sessions: a login opens a server-side session (portal.auth.operations.start_session) whose random
key the signed cookie carries; it changes at every login and is dead — for every copy of the cookie —
after logout, a password change, a deactivation or a role change.

Login throttling (per user, per IP, forged X-Forwarded-For), the same answer for an unknown user and a
wrong password, and absurdly long passwords refused before hashing are tested in tests/auth/test_login.py;
admin-side deactivation and password reset in tests/admin/test_users.py.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select, update

from portal.auth import operations as ops
from portal.auth.models import LoginSession
from portal.core.timeutil import utcnow
from portal.extensions import db
from tests.conftest import PASSWORD


def login(client, username="cs", password=PASSWORD):
    r = client.post("/login", data={"username": username, "password": password})
    assert r.status_code == 302, r.status_code
    return r


def cookie(client) -> str:
    c = client.get_cookie("session")
    assert c is not None
    return c.value


def replay(app, value: str):
    """A copy of a session cookie, sent from another browser."""
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def sent_to_login(r) -> bool:
    return r.status_code == 302 and r.headers["Location"].startswith("/login")


def signed_in(client) -> bool:
    r = client.get("/")
    assert r.status_code in (200, 302)
    return r.status_code == 200


def user_id_in(app, value: str) -> str | None:
    """What Flask-Login keeps in a signed cookie (read with the app's own serializer)."""
    data = app.session_interface.get_signing_serializer(app).loads(value)
    return data.get("_user_id")


# --- fixation -------------------------------------------------------------------------

def test_login_changes_the_session_and_a_cookie_from_before_login_stays_anonymous(app, client, users):
    client.get("/login")
    before = cookie(client)  # e.g. planted by an attacker who visited the login page himself
    login(client)
    after = cookie(client)
    assert after != before
    assert user_id_in(app, before) is None and user_id_in(app, after)
    assert signed_in(client)
    assert not signed_in(replay(app, before))  # the planted cookie did not become a signed-in one


def test_each_login_gets_a_new_random_session_id(app, users):
    a, b = app.test_client(), app.test_client()
    login(a), login(b)
    ida, idb = user_id_in(app, cookie(a)), user_id_in(app, cookie(b))
    assert ida != idb and len(ida) >= 40
    assert str(users["cs"].id) not in (ida, idb)  # not the user's id: nothing to guess
    # Only a hash of the key is stored: the table alone signs no one in.
    stored = set(db.session.scalars(select(LoginSession.key_hash)))
    assert len(stored) == 2 and ida not in stored and idb not in stored
    a.post("/logout")
    assert not signed_in(a) and signed_in(b)  # logging out one browser leaves the other


# --- replayed cookies after the session ended -------------------------------------------

def test_cookie_copied_before_logout_is_dead_after_logout(app, client, users):
    login(client)
    copy = cookie(client)
    assert signed_in(replay(app, copy))
    assert client.post("/logout").status_code == 302
    assert sent_to_login(replay(app, copy).get("/"))
    r = replay(app, copy).get("/tickets", headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers["HX-Redirect"].endswith("/login")


def test_cookie_copied_before_a_password_change_is_dead_and_the_changing_browser_stays_in(app, client, users):
    login(client)
    copy = cookie(client)
    elsewhere = app.test_client()
    login(elsewhere)
    r = client.post("/account", data={"pw-current": PASSWORD, "pw-new": "changed-pass-2026"})
    assert r.status_code == 302
    assert cookie(client) != copy and user_id_in(app, cookie(client)) != user_id_in(app, copy)
    assert signed_in(client)  # the browser that changed it goes on, under a new session id
    assert sent_to_login(replay(app, copy).get("/"))  # a copy of its old cookie does not
    assert not signed_in(elsewhere)  # nor the user's other browsers


def test_cookie_copied_before_deactivation_is_dead(app, auth, users):
    eng = auth.client_for("engineer")
    copy = cookie(eng)
    u = users["engineer"]
    r = auth.client_for("admin").post(f"/admin/users/{u.id}", data={
        "display_name": u.display_name, "department": "dev", "email": "", "roles": ["engineer"]})  # no "active"
    assert r.status_code == 302
    assert sent_to_login(replay(app, copy).get("/"))
    # Reactivated, the old session does not come back: a new login is needed.
    r = auth.client_for("admin").post(f"/admin/users/{u.id}", data={
        "display_name": u.display_name, "department": "dev", "email": "", "roles": ["engineer"], "active": "y"})
    assert r.status_code == 302
    assert sent_to_login(replay(app, copy).get("/"))
    fresh = app.test_client()
    login(fresh, "engineer")
    assert signed_in(fresh)


def test_cookie_copied_before_a_role_change_is_dead_but_an_unchanged_edit_ends_nothing(app, auth, users):
    eng = auth.client_for("engineer")
    copy = cookie(eng)
    u = users["engineer"]
    form = {"display_name": "新名字", "department": "dev", "email": "", "roles": ["engineer"], "active": "y"}
    assert auth.client_for("admin").post(f"/admin/users/{u.id}", data=form).status_code == 302
    assert signed_in(replay(app, copy))  # same roles: the session goes on
    form["roles"] = ["engineer", "impl_engineer"]
    assert auth.client_for("admin").post(f"/admin/users/{u.id}", data=form).status_code == 302
    assert sent_to_login(replay(app, copy).get("/"))
    assert not signed_in(eng)


def test_admin_changing_own_roles_keeps_the_session_doing_it_and_ends_the_others(app, auth, users):
    admin = auth.client_for("admin")
    other = app.test_client()
    login(other, "admin")
    u = users["admin"]
    r = admin.post(f"/admin/users/{u.id}", data={"display_name": "admin", "department": "", "email": "",
                                                   "roles": ["admin", "cs"], "active": "y"})
    assert r.status_code == 302
    assert signed_in(admin) and not signed_in(other)


def test_session_older_than_its_lifetime_is_refused(app, client, users):
    login(client)
    age = timedelta(days=app.config.get("LOGIN_SESSION_DAYS", ops.SESSION_MAX_AGE_DAYS), minutes=1)
    db.session.execute(update(LoginSession).values(created_at=utcnow() - age))
    db.session.commit()
    assert sent_to_login(client.get("/"))


# --- cost ------------------------------------------------------------------------------

def test_user_and_session_are_read_in_one_query_per_request(app, client, users):
    login(client)
    client.get("/")
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.lower())

    db.session.expire_all()  # as in a fresh request: nothing cached in the session
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get("/tickets").status_code == 200  # (not 我的账号: it lists the sessions, a query of its own)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    touching = [s for s in seen if "login_sessions" in s]
    assert len(touching) == 1 and "from users" in touching[0] and "join login_sessions" in touching[0]
