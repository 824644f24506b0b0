"""Two administrators demoting each other at the same moment must not leave the portal without one."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from portal.auth.models import User
from portal.auth.operations import AccountError, active_admin_count, create_user
from portal.core.enums import Role
from portal.extensions import db
from tests.conftest import PASSWORD


def _edit(user_id, actor_id, roles):
    actor = db.session.get(User, actor_id)
    from portal.admin.operations import update_user

    return update_user(user_id, actor, display_name="x", department_key=None, email=None, roles=roles, active=True)


def test_simultaneous_mutual_demotion_leaves_one_administrator(app, users):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time (BEGIN IMMEDIATE); the race needs PostgreSQL")
    a = users["admin"].id
    b = create_user("admin2", PASSWORD, "副管理员", [Role.ADMIN]).id
    db.session.commit()
    a_applied, a_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first():  # admin demotes admin2 and holds its transaction open
        with app.app_context():
            try:
                _edit(b, a, [Role.CS])
                a_applied.set()
                a_may_commit.wait(60)
                db.session.commit()
                outcome["first"] = "committed"
            except Exception as e:  # noqa: BLE001 - reported below
                outcome["first"] = e
                a_applied.set()

    def second():  # meanwhile admin2 demotes admin
        with app.app_context():
            try:
                _edit(a, b, [Role.CS])
                db.session.commit()
                outcome["second"] = "committed"
            except AccountError as e:
                db.session.rollback()
                outcome["second"] = str(e)
            except Exception as e:  # noqa: BLE001 - reported below
                outcome["second"] = e

    t1 = threading.Thread(target=first)
    t1.start()
    assert a_applied.wait(20)
    t2 = threading.Thread(target=second)
    t2.start()
    # Wait (bounded) until the second transaction is observably blocked on the first one's lock.
    deadline = time.monotonic() + 45  # generous: CI runs two suites at once on two cores
    blocked = False
    with db.engine.connect() as conn:
        while time.monotonic() < deadline and not blocked and t2.is_alive() and "first" not in outcome:
            blocked = bool(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )).scalar())
            if not blocked:
                time.sleep(0.05)
        # What every other session of this database is doing, for the message if the race did not happen.
        sessions = conn.execute(text(
            "SELECT state, wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all()
    a_may_commit.set()
    t1.join(60)
    t2.join(60)
    assert outcome.get("first") == "committed", outcome
    assert blocked, f"the second demotion did not wait for the first one: {outcome}; sessions: {sessions}"
    assert outcome["second"] == "不能移除最后一位管理员的管理员角色。"
    db.session.rollback()
    assert active_admin_count() == 1
    assert db.session.get(User, a).roles == {Role.ADMIN}
