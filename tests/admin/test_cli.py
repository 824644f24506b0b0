"""`flask --app app create-admin` creates the first administrator from the shell."""
from portal.auth.models import User
from portal.core.enums import Role
from portal.extensions import db


def test_create_admin_makes_an_active_administrator_who_can_sign_in(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--username", "boss", "--display-name", "系统管理员", "--password", "boss-pass-2026"])
    assert result.exit_code == 0, result.output
    assert "boss" in result.output
    db.session.rollback()
    user = db.session.query(User).filter_by(username="boss").one()
    assert user.roles == {Role.ADMIN} and user.active and user.display_name == "系统管理员"
    c = app.test_client()
    assert c.post("/login", data={"username": "boss", "password": "boss-pass-2026"}).status_code == 302
    assert c.get("/admin/users").status_code == 200


def test_create_admin_prompts_for_the_password_twice(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "--username", "boss"],
                                          input="boss-pass-2026\nboss-pass-2026\n")
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert db.session.query(User).filter_by(username="boss").count() == 1


def test_create_admin_refuses_a_short_password_or_a_taken_name(app, users):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--username", "boss", "--password", "short"])
    assert result.exit_code != 0
    result = runner.invoke(args=["create-admin", "--username", "admin", "--password", "boss-pass-2026"])
    assert result.exit_code != 0
    db.session.rollback()
    assert db.session.query(User).filter_by(username="boss").count() == 0
    assert db.session.query(User).filter_by(username="admin").count() == 1
