"""Privilege (issue 8): nobody raises their own roles; the last active administrator can be neither
demoted nor deactivated (nor can an administrator demote or deactivate themself); and a user who is
deactivated or loses a role loses that access on the very next request."""
from __future__ import annotations

import pytest

from portal.auth.models import User
from portal.auth.operations import AccountError, create_user, set_active, set_roles
from portal.core.enums import Role
from portal.extensions import db
from tests.conftest import PASSWORD


def _roles(user_id: int) -> set[str]:
    db.session.expire_all()
    return {r.value for r in db.session.get(User, user_id).roles}


def _edit(client, user: User, roles: list[str], active: bool = True):
    data = dict(display_name=user.display_name, roles=roles, department=user.department_key or "")
    if active:
        data["active"] = "y"
    return client.post(f"/admin/users/{user.id}", data=data)


@pytest.mark.parametrize("role", ["cs", "dev_manager", "engineer", "impl_manager", "impl_engineer", "market",
                                  "market_manager"])
def test_a_user_cannot_raise_their_own_roles(auth, users, role):
    user = users[role]
    c = auth.client_for(role)
    assert _edit(c, user, [role, "admin"]).status_code == 403
    assert c.post("/admin/users/new", data=dict(username="alias", password="long-enough-pw", display_name="x",
                                                roles=["admin"])).status_code == 403
    assert c.post("/account", data={"prefs-locale": "zh_CN", "roles": "admin", "prefs-roles": "admin"}).status_code == 302
    assert _roles(user.id) == {role}
    assert db.session.query(User).filter_by(username="alias").count() == 0


def test_the_last_administrator_can_be_neither_demoted_nor_deactivated(auth, users):
    admin = users["admin"]
    c = auth.client_for("admin")
    r = _edit(c, admin, ["cs"])
    assert r.status_code == 409 and "管理员" in r.get_data(as_text=True)
    r = _edit(c, admin, ["admin"], active=False)
    assert r.status_code == 409
    db.session.expire_all()
    assert _roles(admin.id) == {"admin"} and db.session.get(User, admin.id).active
    # nor by an operation called from a job or the shell, whoever the actor
    with pytest.raises(AccountError):
        set_roles(db.session.get(User, admin.id), [Role.CS], users["cs"])
    with pytest.raises(AccountError):
        set_active(db.session.get(User, admin.id), False, users["cs"])
    db.session.rollback()
    assert _roles(admin.id) == {"admin"}


def test_an_inactive_administrator_does_not_count_as_another_one(auth, users):
    other = create_user("admin2", PASSWORD, "另一个管理员", [Role.ADMIN])
    db.session.commit()
    c = auth.client_for("admin")
    assert _edit(c, other, ["admin"], active=False).status_code == 302  # two active: one may go
    db.session.expire_all()
    assert not db.session.get(User, other.id).active
    with pytest.raises(AccountError):
        set_roles(db.session.get(User, users["admin"].id), [Role.CS], db.session.get(User, other.id))
    db.session.rollback()
    assert _roles(users["admin"].id) == {"admin"}


def test_an_administrator_cannot_demote_or_deactivate_themself_even_with_another_admin(auth, users):
    create_user("admin2", PASSWORD, "另一个管理员", [Role.ADMIN])
    db.session.commit()
    admin = users["admin"]
    c = auth.client_for("admin")
    assert _edit(c, admin, ["cs"]).status_code == 409
    assert _edit(c, admin, ["admin"], active=False).status_code == 409
    assert _roles(admin.id) == {"admin"} and db.session.get(User, admin.id).active


def _lost(response) -> bool:
    """Refused (403/404) or signed out (a redirect to the login page; 401 for htmx)."""
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_deactivated_user_loses_access_on_the_very_next_request(auth, users, ticket_factory, htmx):
    t = ticket_factory()
    headers = {"HX-Request": "true"} if htmx else {}
    victim = auth.client_for("cs")
    assert victim.get(f"/tickets/{t.number}", headers=headers).status_code == 200
    admin = auth.client_for("admin")
    assert _edit(admin, users["cs"], ["cs"], active=False).status_code == 302
    for url in (f"/tickets/{t.number}", "/tickets", "/tickets/new", "/"):
        assert _lost(victim.get(url, headers=headers)), url
    r = victim.post(f"/tickets/{t.number}/actions/comment", data={"comment-text": "停用后写入"}, headers=headers)
    assert _lost(r)
    from portal.tickets.models import Event

    assert db.session.query(Event).filter(Event.text == "停用后写入").count() == 0


@pytest.mark.parametrize("lost_role,url,keeps", [
    ("cs", "/tickets/new", "market"),
    ("admin", "/admin/users", "market_manager"),
    ("market_manager", "/metrics", "market"),
])
def test_a_user_who_loses_a_role_loses_its_access_on_the_very_next_request(auth, users, lost_role, url, keeps):
    user = create_user("multi", PASSWORD, "多角色", [Role(lost_role), Role(keeps)])  # (never the last admin)
    db.session.commit()
    victim = auth.client_for("multi")
    assert victim.get(url).status_code == 200
    assert _edit(auth.client_for("admin"), user, [keeps]).status_code == 302
    assert _roles(user.id) == {keeps}
    assert _lost(victim.get(url))
    assert _lost(victim.get(url, headers={"HX-Request": "true"}))


def test_an_engineer_moved_out_of_development_no_longer_sees_the_development_queue(auth, users, ticket_factory):
    t = ticket_factory(summary="开发部队列里的问题")  # `registered`: waits in the development queue
    victim = auth.client_for("engineer")
    assert victim.get(f"/tickets/{t.number}").status_code == 200
    assert _edit(auth.client_for("admin"), users["engineer"], ["impl_engineer"]).status_code == 302
    assert _lost(victim.get(f"/tickets/{t.number}"))
    assert t.number not in victim.get("/tickets").get_data(as_text=True) or _lost(victim.get("/tickets"))
