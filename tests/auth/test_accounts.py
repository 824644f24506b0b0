"""Account operations (portal.auth.operations): hashing, roles, deactivation, last-admin rule."""
from __future__ import annotations

import pytest

from portal.auth import operations as ops
from portal.auth.models import User
from portal.core.enums import Role
from portal.extensions import db
from tests.conftest import PASSWORD


def test_passwords_are_stored_as_argon2id_hashes(users):
    assert users["cs"].password_hash.startswith("$argon2id$")
    assert PASSWORD not in users["cs"].password_hash


def test_create_user_refuses_taken_name_case_insensitively_and_short_passwords(users):
    with pytest.raises(ops.AccountError):
        ops.create_user("CS", PASSWORD, "x", [Role.CS])
    with pytest.raises(ops.AccountError):
        ops.create_user("newbie", "short", "x", [Role.CS])
    with pytest.raises(ops.AccountError):
        ops.create_user("newbie", "x" * (ops.MAX_PASSWORD_LENGTH + 1), "x", [Role.CS])


def test_create_user_keeps_several_roles_and_the_department(app):
    user = ops.create_user("zhoujie", PASSWORD, "周杰", [Role.MARKET, Role.MARKET_MANAGER], "market")
    db.session.commit()
    assert user.roles == {Role.MARKET, Role.MARKET_MANAGER} and user.department_key == "market"


def test_last_active_admin_cannot_lose_the_role_or_be_deactivated_by_anyone(users):
    admin, someone = users["admin"], users["cs"]
    with pytest.raises(ops.AccountError) as e:
        ops.set_roles(admin, [Role.CS], actor=someone)
    assert str(e.value) == "不能移除最后一位管理员的管理员角色。"
    with pytest.raises(ops.AccountError) as e:
        ops.set_active(admin, False, actor=someone)
    assert str(e.value) == "不能停用最后一位管理员。"
    db.session.expire_all()
    admin = db.session.get(User, admin.id)
    assert admin.roles == {Role.ADMIN} and admin.active


def test_an_inactive_admin_does_not_count_as_another_admin(users):
    retired = ops.create_user("old_admin", PASSWORD, "前任", [Role.ADMIN])
    retired.active = False
    db.session.flush()
    assert ops.active_admin_count() == 1
    with pytest.raises(ops.AccountError):
        ops.set_roles(users["admin"], [Role.CS], actor=users["cs"])


def test_with_two_admins_one_may_be_demoted_by_the_other_but_not_by_themselves(users):
    second = ops.create_user("admin2", PASSWORD, "副管理员", [Role.ADMIN])
    db.session.flush()
    with pytest.raises(ops.AccountError) as e:
        ops.set_roles(second, [Role.CS], actor=second)
    assert str(e.value) == "不能移除自己的管理员角色。"
    with pytest.raises(ops.AccountError):
        ops.set_active(second, False, actor=second)
    ops.set_roles(second, [Role.CS], actor=users["admin"])
    db.session.commit()
    assert db.session.get(User, second.id).roles == {Role.CS}


def test_password_change_deactivation_and_role_change_end_the_users_sessions(users):
    cs, admin = users["cs"], users["admin"]

    def live() -> int:
        db.session.flush()
        return len(ops.live_sessions(cs))

    ops.start_session(cs), ops.start_session(cs)
    assert live() == 2
    ops.set_password(cs, "another-pass-2026")
    assert live() == 0
    ops.start_session(cs)
    ops.set_roles(cs, [Role.CS], actor=admin)  # no change: nothing ends
    assert live() == 1
    ops.set_roles(cs, [Role.CS, Role.MARKET], actor=admin)
    assert live() == 0
    ops.start_session(cs)
    ops.set_active(cs, False, actor=admin)
    assert live() == 0 and not cs.active
    db.session.commit()
    assert ops.authenticate("cs", "another-pass-2026") is None  # inactive: no sign-in


def test_admin_update_user_applies_nothing_when_a_rule_refuses(users):
    from portal.admin.operations import update_user

    admin = users["admin"]
    with pytest.raises(ops.AccountError):
        update_user(admin.id, admin, display_name="改名", department_key="cs", email="a@example.cn",
                    roles=[Role.CS], active=True)
    db.session.rollback()
    admin = db.session.get(User, admin.id)
    assert admin.display_name == "admin" and admin.roles == {Role.ADMIN}
