"""Account management by administrators: create, edit, roles, deactivation, password reset."""
from __future__ import annotations

import re

from portal.auth.models import Department, User
from portal.auth.operations import create_user
from portal.core.enums import Role
from portal.extensions import db
from tests.conftest import PASSWORD


def reload(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def edit_data(user: User, **over) -> dict:
    """The edit form as the browser would send it for this user, with changes."""
    data = {"display_name": user.display_name, "department": user.department_key or "", "email": user.email or "",
            "roles": sorted(r.value for r in user.roles)}
    if user.active:
        data["active"] = "y"
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def login(app, username, password=PASSWORD):
    c = app.test_client()
    r = c.post("/login", data={"username": username, "password": password})
    return c, r


# --- create -----------------------------------------------------------------------

def test_admin_creates_user_with_several_roles_who_can_then_sign_in(app, auth):
    r = auth.client_for("admin").post("/admin/users/new", data={
        "username": "zhoujie", "display_name": "周杰", "department": "market", "email": "zhoujie@example.cn",
        "roles": ["market", "market_manager"], "password": "first-pass-2026"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/users")
    user = db.session.query(User).filter_by(username="zhoujie").one()
    assert user.roles == {Role.MARKET, Role.MARKET_MANAGER}
    assert user.department_key == "market" and user.display_name == "周杰" and user.email == "zhoujie@example.cn"
    assert user.active
    c, r = login(app, "zhoujie", "first-pass-2026")
    assert r.status_code == 302
    page = auth.client_for("admin").get("/admin/users").get_data(as_text=True)
    assert "zhoujie" in page and "周杰" in page and "市场部经理" in page


def test_create_user_needs_a_role_a_long_enough_password_and_a_free_user_name(auth, users):
    c = auth.client_for("admin")
    base = {"username": "newbie", "display_name": "新人", "department": "cs", "roles": ["cs"],
            "password": "first-pass-2026"}
    cases = [
        ({"roles": []}, "至少选择一个角色"),
        ({"password": "short"}, "密码长度"),
        ({"username": ""}, "此项必填"),
        ({"username": "two words"}, "不能包含空格"),
        ({"roles": ["cs", "superuser"]}, None),  # an unknown role is refused by the field
        ({"department": "hr"}, None),
        ({"username": "CS"}, "用户名已被使用"),  # taken (case-insensitive)
        ({"email": "not-an-email"}, "电子邮箱"),
    ]
    for over, message in cases:
        data = dict(base, **over)
        r = c.post("/admin/users/new", data={k: v for k, v in data.items() if v != []})
        assert r.status_code == 422, over
        if message:
            assert message in r.get_data(as_text=True), over
    db.session.expire_all()
    assert db.session.query(User).filter(User.username.in_(["newbie", "two words"])).count() == 0
    assert db.session.query(User).count() == len(users)


# --- edit -------------------------------------------------------------------------

def test_admin_edits_name_department_email_and_roles(auth, users):
    eng = users["engineer"]
    r = auth.client_for("admin").post(f"/admin/users/{eng.id}", data=edit_data(
        eng, display_name="张伟（组长）", department="impl", email="zw@example.cn",
        roles=["impl_engineer", "impl_manager"]))
    assert r.status_code == 302
    eng = reload(eng.id)
    assert eng.display_name == "张伟（组长）" and eng.department_key == "impl" and eng.email == "zw@example.cn"
    assert eng.roles == {Role.IMPL_ENGINEER, Role.IMPL_MANAGER}


def test_edit_page_shows_the_users_current_values(auth, users):
    mm = create_user("zhoujie", PASSWORD, "周杰", [Role.MARKET, Role.MARKET_MANAGER], "market", "zj@example.cn")
    db.session.commit()
    page = auth.client_for("admin").get(f"/admin/users/{mm.id}").get_data(as_text=True)
    checked = re.findall(r'<input checked [^>]*name="roles"[^>]*value="([a-z_]+)"', page)
    assert sorted(checked) == ["market", "market_manager"]
    assert '<option selected value="market">' in page and 'value="周杰"' in page and 'value="zj@example.cn"' in page
    assert '<input checked id="active"' in page
    assert "重置密码" in page


def test_admin_may_demote_and_deactivate_another_admin_when_one_remains(auth, users):
    other = create_user("admin2", PASSWORD, "副管理员", [Role.ADMIN, Role.CS])
    db.session.commit()
    r = auth.client_for("admin").post(f"/admin/users/{other.id}", data=edit_data(other, roles=["cs"], active=None))
    assert r.status_code == 302
    other = reload(other.id)
    assert other.roles == {Role.CS} and not other.active


def test_last_active_admin_cannot_lose_the_admin_role(auth, users):
    # A deactivated admin does not count: "admin" is the last active one.
    retired = create_user("old_admin", PASSWORD, "前任", [Role.ADMIN])
    retired.active = False
    db.session.commit()
    admin = users["admin"]
    r = auth.client_for("admin").post(f"/admin/users/{admin.id}",
                                      data=edit_data(admin, roles=["cs"], display_name="改名"))
    assert r.status_code == 409
    assert "不能移除最后一位管理员的管理员角色" in r.get_data(as_text=True)
    admin = reload(admin.id)
    assert admin.roles == {Role.ADMIN} and admin.display_name == "admin"  # nothing written


def test_reactivating_an_admin_then_lets_the_other_step_down(auth, users):
    retired = create_user("old_admin", PASSWORD, "前任", [Role.ADMIN])
    retired.active = False
    db.session.commit()
    c = auth.client_for("admin")
    assert c.post(f"/admin/users/{retired.id}", data=edit_data(retired, active="y")).status_code == 302
    # Own admin role still cannot be dropped by oneself — the other admin must do it.
    admin = reload(users["admin"].id)
    r = c.post(f"/admin/users/{admin.id}", data=edit_data(admin, roles=["cs"]))
    assert r.status_code == 409 and "不能移除自己的管理员角色" in r.get_data(as_text=True)
    c2, _ = login(c.application, "old_admin")
    assert c2.post(f"/admin/users/{admin.id}", data=edit_data(admin, roles=["cs"])).status_code == 302
    assert reload(admin.id).roles == {Role.CS}


def test_admin_cannot_remove_own_admin_role_even_when_others_remain(auth, users):
    create_user("admin2", PASSWORD, "副管理员", [Role.ADMIN])
    db.session.commit()
    admin = users["admin"]
    r = auth.client_for("admin").post(f"/admin/users/{admin.id}",
                                      data=edit_data(admin, roles=["cs"], email="me@example.cn"))
    assert r.status_code == 409
    assert "不能移除自己的管理员角色" in r.get_data(as_text=True)
    admin = reload(admin.id)
    assert admin.roles == {Role.ADMIN} and admin.email is None


def test_admin_cannot_deactivate_themselves(auth, users):
    create_user("admin2", PASSWORD, "副管理员", [Role.ADMIN])
    db.session.commit()
    admin = users["admin"]
    c = auth.client_for("admin")
    r = c.post(f"/admin/users/{admin.id}", data=edit_data(admin, active=None))
    assert r.status_code == 409
    assert "不能停用自己的账号" in r.get_data(as_text=True)
    assert reload(admin.id).active
    assert c.get("/admin/users").status_code == 200  # still signed in


def test_deactivated_users_session_is_dead_on_the_very_next_request(app, auth, users):
    eng = auth.client_for("engineer")
    assert eng.get("/").status_code == 200
    engineer = users["engineer"]
    r = auth.client_for("admin").post(f"/admin/users/{engineer.id}", data=edit_data(engineer, active=None))
    assert r.status_code == 302
    r = eng.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = eng.get("/tickets", headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers.get("HX-Redirect", "").endswith("/login")
    _, r = login(app, "engineer")
    assert r.status_code == 401  # and may not sign in again


def test_password_reset_sets_the_new_password_and_ends_the_users_sessions(app, auth, users):
    cs = auth.client_for("cs")
    assert cs.get("/").status_code == 200
    r = auth.client_for("admin").post(f"/admin/users/{users['cs'].id}/password",
                                      data={"password": "reset-pass-2026", "confirm": "reset-pass-2026"})
    assert r.status_code == 302
    r = cs.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert login(app, "cs")[1].status_code == 401
    assert login(app, "cs", "reset-pass-2026")[1].status_code == 302


def test_password_reset_refuses_mismatch_or_short_password_and_changes_nothing(auth, users):
    cs = auth.client_for("cs")
    before = reload(users["cs"].id).password_hash
    c = auth.client_for("admin")
    for data, message in [({"password": "reset-pass-2026", "confirm": "other-pass-2026"}, "两次输入的密码不一致"),
                          ({"password": "short", "confirm": "short"}, "密码长度")]:
        r = c.post(f"/admin/users/{users['cs'].id}/password", data=data)
        assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert reload(users["cs"].id).password_hash == before
    assert cs.get("/").status_code == 200  # session untouched


def test_admin_resetting_own_password_stays_signed_in(auth, users):
    c = auth.client_for("admin")
    r = c.post(f"/admin/users/{users['admin'].id}/password",
               data={"password": "reset-pass-2026", "confirm": "reset-pass-2026"})
    assert r.status_code == 302
    assert c.get("/admin/users").status_code == 200


def test_unknown_user_is_404(auth, users):
    c = auth.client_for("admin")
    assert c.get("/admin/users/999999").status_code == 404
    assert c.post("/admin/users/999999/password", data={"password": "x" * 10, "confirm": "x" * 10}).status_code == 404


# --- extra fields on other pages ---------------------------------------------------

def test_roles_sent_to_non_admin_pages_are_never_honoured(auth, users):
    cs = auth.client_for("cs")
    cs.post("/account", data={"prefs-locale": "zh_CN", "roles": ["admin"], "role": "admin", "active": "y"})
    cs.post("/hotline/new", data={"unit_name": "某单位", "phone": "13800138000", "contact_name": "刘", "content": "x",
                                  "roles": ["admin"], "recorded_by_id": str(users["admin"].id)})
    cs.post("/tickets/new", data={"roles": ["admin"]})
    assert reload(users["cs"].id).roles == {Role.CS}
    assert cs.get("/admin/users").status_code == 403


# --- departments ------------------------------------------------------------------

def test_admin_renames_a_department_by_key(auth, users):
    c = auth.client_for("admin")
    dept = db.session.query(Department).filter_by(key="cs").one()
    r = c.post("/admin/departments/cs", data={f"d{dept.id}-name": "客户服务部"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Department, dept.id).name == "客户服务部"
    assert "客户服务部" in c.get("/admin/departments").get_data(as_text=True)


def test_department_rename_refuses_empty_or_taken_names_and_unknown_keys(auth, users):
    c = auth.client_for("admin")
    dept = db.session.query(Department).filter_by(key="cs").one()
    r = c.post("/admin/departments/cs", data={f"d{dept.id}-name": "  "})
    assert r.status_code == 422 and "此项必填" in r.get_data(as_text=True)
    r = c.post("/admin/departments/cs", data={f"d{dept.id}-name": "开发部"})
    assert r.status_code == 409 and "已有部门使用这个名称" in r.get_data(as_text=True)
    assert c.post("/admin/departments/hr", data={"name": "人事部"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Department, dept.id).name == "客服部"
