"""Only administrators reach the admin area, for every URL and method, page or htmx request."""
import pytest

from tests.conftest import ROLE_KEYS

NON_ADMINS = [k for k in ROLE_KEYS if k != "admin"]


def admin_urls(users):
    uid = users["cs"].id
    return [
        ("GET", "/admin/users"),
        ("GET", "/admin/users/new"),
        ("POST", "/admin/users/new"),
        ("GET", f"/admin/users/{uid}"),
        ("POST", f"/admin/users/{uid}"),
        ("POST", f"/admin/users/{uid}/password"),
        ("GET", "/admin/departments"),
        ("POST", "/admin/departments/cs"),
    ]


@pytest.mark.parametrize("role", NON_ADMINS)
def test_every_admin_url_answers_403_to_non_admins(auth, users, role):
    c = auth.client_for(role)
    for method, url in admin_urls(users):
        data = {"username": "intruder", "display_name": "x", "password": "long-enough-1", "confirm": "long-enough-1",
                "roles": ["admin"], "active": "y", "d1-name": "黑客部"}
        r = c.open(url, method=method, data=data if method == "POST" else None)
        assert r.status_code == 403, (role, method, url, r.status_code)
        r = c.open(url, method=method, data=data if method == "POST" else None, headers={"HX-Request": "true"})
        assert r.status_code == 403, (role, method, url, "htmx")


def test_refused_admin_posts_write_nothing(auth, users, db_session):
    from portal.auth.models import Department, User

    c = auth.client_for("cs")
    c.post("/admin/users/new", data={"username": "intruder", "display_name": "x", "password": "long-enough-1",
                                      "roles": ["admin"]})
    c.post(f"/admin/users/{users['cs'].id}", data={"display_name": "x", "roles": ["admin"], "active": "y"})
    c.post("/admin/departments/cs", data={"d1-name": "黑客部"})
    db_session.expire_all()
    assert db_session.query(User).filter_by(username="intruder").first() is None
    assert "admin" not in {r.value for r in db_session.get(User, users["cs"].id).roles}
    assert "黑客部" not in {d.name for d in db_session.query(Department)}


def test_admin_urls_redirect_anonymous_visitors_to_login(client, users):
    for method, url in admin_urls(users):
        r = client.open(url, method=method)
        assert r.status_code == 302 and "/login" in r.headers["Location"], (method, url)


def test_admin_sees_users_and_departments(auth, users):
    c = auth.client_for("admin")
    r = c.get("/admin/users")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    for key in ROLE_KEYS:
        assert f">{key}</a>" in page
    assert "客服" in page  # role titles in Chinese by default
    r = c.get("/admin/departments")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    for key, name in [("cs", "客服部"), ("dev", "开发部"), ("impl", "实施部"), ("market", "市场部")]:
        assert f"<code>{key}</code>" in page and name in page
