"""Who sees which dashboard: one function decides (portal.metrics.access.can_view_dashboard)."""
from __future__ import annotations

import pytest

from portal.auth.operations import create_user
from portal.core.enums import Role
from portal.extensions import db
from portal.metrics.access import can_view_dashboard
from tests.conftest import PASSWORD

EVERYTHING = {None: True, "dev": True, "impl": True}
NOTHING = {None: False, "dev": False, "impl": False}
EXPECTED = {
    "admin": EVERYTHING,
    "market_manager": EVERYTHING,
    "dev_manager": {None: False, "dev": True, "impl": False},
    "impl_manager": {None: False, "dev": False, "impl": True},
    "engineer": NOTHING,
    "impl_engineer": NOTHING,
    "cs": NOTHING,
    "market": NOTHING,
}


@pytest.mark.parametrize("role", EXPECTED)
@pytest.mark.parametrize("department", [None, "dev", "impl"])
def test_can_view_dashboard(users, role, department):
    assert can_view_dashboard(users[role], department) is EXPECTED[role][department]


def test_an_unknown_department_is_nobody_s(users):
    assert not can_view_dashboard(users["admin"], "market")
    assert not can_view_dashboard(users["dev_manager"], "cs")


@pytest.mark.parametrize("role", ["engineer", "impl_engineer", "cs", "market"])
@pytest.mark.parametrize("url", [
    "/metrics", "/metrics?department=dev", "/metrics?department=impl", "/metrics/export.xlsx",
    "/metrics/export.csv", "/metrics/callbacks", "/metrics/plan?kind=visit",
])
def test_staff_without_a_dashboard_get_403(auth, role, url):
    assert auth.client_for(role).get(url).status_code == 403


def test_an_engineer_cannot_see_the_other_department_s_dashboard_nor_their_own(auth):
    client = auth.client_for("engineer")
    assert client.get("/metrics?department=impl").status_code == 403
    assert client.get("/metrics?department=dev").status_code == 403


def test_a_department_manager_sees_their_department_by_default_and_no_other(auth):
    client = auth.client_for("dev_manager")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert "开发部" in r.get_data(as_text=True)
    assert client.get("/metrics?department=dev").status_code == 200
    assert client.get("/metrics?department=impl").status_code == 403
    assert client.get("/metrics?department=").status_code == 403  # the whole company
    assert client.get("/metrics/export.xlsx?department=impl").status_code == 403
    assert client.get("/metrics/callbacks?department=impl").status_code == 403


def test_a_manager_of_both_departments_may_see_both(app, users, auth):
    create_user("both", PASSWORD, "双部门经理", [Role.DEV_MANAGER, Role.IMPL_MANAGER], "dev")
    db.session.commit()
    client = auth.client_for("both")
    assert client.get("/metrics?department=dev").status_code == 200
    assert client.get("/metrics?department=impl").status_code == 200
    assert client.get("/metrics?department=").status_code == 403


@pytest.mark.parametrize("role", ["admin", "market_manager"])
def test_admins_and_the_market_manager_see_the_whole_company(auth, role):
    r = auth.client_for(role).get("/metrics")
    assert r.status_code == 200 and "全公司" in r.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_the_login(client):
    for url in ("/metrics", "/metrics/export.xlsx", "/tickets/export.csv", "/complaints"):
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_the_navigation_shows_the_dashboard_only_to_those_who_may_see_it(auth):
    assert 'href="/metrics"' in auth.client_for("dev_manager").get("/").get_data(as_text=True)
    assert 'href="/metrics"' not in auth.client_for("engineer").get("/").get_data(as_text=True)
