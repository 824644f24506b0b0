"""Signed-in sessions: each user sees their own browsers and can sign the others out; an administrator can
sign a user out everywhere. A session that is ended is dead on its very next request."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.auth.models import LoginSession
from portal.extensions import db
from tests.conftest import PASSWORD


def sign_in(app, username: str, agent: str):
    c = app.test_client()
    c.environ_base["HTTP_USER_AGENT"] = agent
    assert c.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return c


def signed_in(client) -> bool:
    return client.get("/tickets").status_code == 200


def rows(html: str) -> list[str]:
    table = re.search(r'<table class="sessions">(.*?)</table>', html, re.S)
    return re.findall(r"<tr><td>(.*?)</tr>", table.group(1), re.S) if table else []


def test_my_account_lists_my_browsers_marks_this_one_and_shows_no_one_elses(app, users):
    office = sign_in(app, "cs", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                "Chrome/120.0.0.0 Safari/537.36")
    sign_in(app, "cs", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                       "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40")
    sign_in(app, "engineer", "Mozilla/5.0 工程师的电脑")
    html = office.get("/account").get_data(as_text=True)
    mine = rows(html)
    assert len(mine) == 2 and "登录会话" in html
    here = [r for r in mine if "本浏览器" in r]
    assert len(here) == 1 and "Chrome 120 · Windows 10" in here[0]  # named as staff would name it
    assert any("WeChat Browser 8 · iOS 17 · iPhone" in r for r in mine) and "工程师的电脑" not in html
    assert "退出其他所有会话" in html


def test_signing_out_other_sessions_ends_them_at_their_next_request_and_keeps_this_one(app, users):
    office = sign_in(app, "cs", "办公室电脑")
    phone = sign_in(app, "cs", "手机")
    other_user = sign_in(app, "engineer", "工程师的电脑")
    r = office.post("/account/sessions/end-others", follow_redirects=True)
    assert r.status_code == 200 and "已退出其他 1 个会话。" in r.get_data(as_text=True)
    assert signed_in(office)
    assert not signed_in(phone)
    assert signed_in(other_user)
    assert len(rows(office.get("/account").get_data(as_text=True))) == 1
    # Nothing more to end: said so, and nothing changes.
    r = office.post("/account/sessions/end-others", follow_redirects=True)
    assert "没有其他登录会话。" in r.get_data(as_text=True) and signed_in(office)


def test_an_administrator_signs_a_user_out_everywhere_and_nothing_else_changes(app, users, auth):
    cs = users["cs"]
    office, phone = sign_in(app, "cs", "办公室电脑"), sign_in(app, "cs", "手机")
    admin = auth.client_for("admin")
    page = admin.get(f"/admin/users/{cs.id}").get_data(as_text=True)
    assert len(rows(page)) == 2 and "本浏览器" not in page and "全部退出登录" in page
    r = admin.post(f"/admin/users/{cs.id}/sessions/end", follow_redirects=True)
    assert r.status_code == 200 and "已让 cs 退出 2 个登录会话。" in r.get_data(as_text=True)
    assert not signed_in(office) and not signed_in(phone)
    assert signed_in(admin)
    db.session.expire_all()
    assert db.session.get(type(cs), cs.id).active  # still an active account: they may sign in again
    assert signed_in(sign_in(app, "cs", "办公室电脑"))


def test_an_administrator_signing_themselves_out_everywhere_stays_signed_in_here(app, users, auth):
    admin = auth.client_for("admin")
    elsewhere = sign_in(app, "admin", "家里的电脑")
    r = admin.post(f"/admin/users/{users['admin'].id}/sessions/end", follow_redirects=True)
    assert "已让 admin 退出 1 个登录会话。" in r.get_data(as_text=True)
    assert signed_in(admin) and not signed_in(elsewhere)


def test_only_administrators_may_sign_others_out_and_an_unknown_user_is_404(app, users, auth):
    victim = sign_in(app, "engineer", "工程师的电脑")
    live = db.session.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.ended_at.is_(None)))
    r = auth.client_for("dev_manager").post(f"/admin/users/{users['engineer'].id}/sessions/end")
    assert r.status_code == 403 and signed_in(victim)
    assert auth.client_for("admin").post("/admin/users/999999/sessions/end").status_code == 404
    db.session.expire_all()
    # dev_manager's and admin's own sign-ins are the only new sessions; none ended.
    assert db.session.scalar(select(func.count()).select_from(LoginSession)
                             .where(LoginSession.ended_at.is_(None))) == live + 2
