"""The kernel the areas plug into (portal/core/kernel.py): the menu and the page guards cannot disagree,
a settled reminder's notification is read, e-mails link absolutely, and the declarations are consistent."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from portal.auth.operations import create_user
from portal.core.enums import Role
from portal.core.kernel import KernelError, kernel, navigation
from portal.extensions import db
from portal.notifications import reminders
from portal.notifications.models import Notification, Reminder
from portal.notifications.texts import describe
from tests.conftest import PASSWORD

NAV = re.compile(r'<nav aria-label="[^"]*">(.*?)</nav>', re.S)
HREF = re.compile(r'<a href="([^"]+)"')


@pytest.fixture
def every_role(auth, users):
    """A signed-in client for each role, the duty manager included (one role each)."""
    create_user("duty_manager", PASSWORD, "值班经理", [Role.DUTY_MANAGER], "cs")
    create_user("cs_manager", PASSWORD, "客服部经理", [Role.CS_MANAGER], "cs")
    db.session.commit()
    return {role: auth.client_for(role.value) for role in Role}


def _menu(client) -> list[str]:
    page = client.get("/").get_data(as_text=True)
    [nav] = NAV.findall(page)
    return HREF.findall(nav)


def test_each_menu_entry_is_shown_exactly_to_the_users_its_page_admits(every_role):
    entries = {e.endpoint for e in kernel.nav}
    with current_app.test_request_context():
        from flask import url_for

        paths = {url_for(endpoint) for endpoint in entries}
    assert len(paths) == len(entries) >= 12
    for role, client in every_role.items():
        shown = set(_menu(client))
        assert shown <= paths, f"{role}: menu shows pages no entry declares: {shown - paths}"
        for path in paths:
            status = client.get(path).status_code
            assert (path in shown) == (status == 200), f"{role.value}: {path} shown={path in shown} answered {status}"


def test_each_role_sees_a_menu_and_no_two_roles_of_different_desks_see_the_same_one(every_role):
    menus = {role: tuple(_menu(client)) for role, client in every_role.items()}
    assert all(menus.values())
    assert menus[Role.ADMIN] != menus[Role.CS] != menus[Role.ENGINEER]


def test_navigation_is_empty_for_someone_not_signed_in(client):
    assert navigation(None) == []
    page = client.get("/login").get_data(as_text=True)
    assert not NAV.findall(page)


def test_every_permission_a_desk_grants_is_declared_and_every_declared_one_is_granted(app):
    granted = set().union(*kernel.grants.values())
    assert granted <= set(kernel.permissions)
    assert set(kernel.permissions) - granted == set(), "a permission nobody holds guards nothing"
    assert set(kernel.grants) == set(Role), "every role sits at one desk"


def test_a_desk_granting_an_undeclared_permission_is_refused_at_start_up(app):
    from portal.core.kernel import Desk, Kernel

    k = Kernel()
    with pytest.raises(KernelError):
        k.seat(Desk("x", "x", grants={Role.CS: frozenset({"nothing.such"})}))


def test_every_reminder_kind_a_desk_names_is_declared_with_a_chinese_title(app):
    named = {k for d in kernel.desks.values() for k in d.reminder_kinds}
    assert named <= set(kernel.kinds)
    for key, kind in kernel.kinds.items():
        title = str(kind.title)
        assert re.search(r"[\u4e00-\u9fff]", title), f"{key}: {title!r} is not translated"


def test_settling_a_personal_reminder_marks_its_notification_read(ticket_factory, users):
    from portal.core.timeutil import utcnow
    from portal.tickets.jobs import sweep_ticket_reminders
    from portal.tickets.models import Ticket
    from portal.tickets.operations import take_action
    from tests.jobs.helpers import call_job, set_columns

    ticket = ticket_factory()
    take_action(ticket, "assign", users["dev_manager"],
                dict(assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(days=3)))
    db.session.commit()
    set_columns(Ticket, ticket.id, deadline=utcnow() - timedelta(hours=1))
    call_job(sweep_ticket_reminders)
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == users["engineer"].id,
                                                          Notification.reminder_id.is_not(None))).all()
    assert note.kind == "overdue" and note.read_at is None and note.link == f"/tickets/{ticket.number}"
    call_job(sweep_ticket_reminders)  # a second sweep creates no second notification
    assert db.session.scalar(select(db.func.count()).select_from(Notification)
                             .where(Notification.reminder_id == note.reminder_id)) == 1

    reminders.settle(Reminder.id == note.reminder_id, note="resolved")
    db.session.commit()
    db.session.refresh(note)
    assert note.read_at is not None

    reminders.reopen(Reminder.id == note.reminder_id)
    db.session.commit()
    db.session.refresh(note)
    assert note.read_at is None, "a reminder due again is unread again"


def test_an_e_mail_carries_an_absolute_link_on_the_configured_base_url(app, ticket_factory, users, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", "https://portal.example.cn")
    ticket = ticket_factory()
    n = Notification(key="k1", user_id=users["cs"].id, kind="assign", ticket_id=ticket.id, text="x",
                     link=f"/tickets/{ticket.number}")
    db.session.add(n)
    db.session.commit()
    subject, body = describe(n)
    assert f"https://portal.example.cn/tickets/{ticket.number}" in body.splitlines()
    assert "分派" in subject or "已分派" in subject or ticket.number in subject


def test_document_ready_reaches_the_listening_areas_without_documents_importing_them(app):
    listeners = {fn.__module__ for fn in kernel.listeners["document_ready"]}
    assert listeners == {"portal.handover.operations", "portal.service_plan.operations"}
    source = (current_app.root_path + "/documents/jobs.py")
    text = open(source, encoding="utf-8").read()
    assert "portal.handover" not in text and "portal.service_plan" not in text


def test_every_reminder_and_notice_the_portal_writes_is_of_a_declared_kind(app):
    """Kinds are declared once, by their areas: the demo's tickets in every state, then every sweep, write
    only kinds the kernel knows (so each has its title, recipients and link)."""
    from portal.customers.jobs import sweep as contracts
    from portal.demo import load_demo_data
    from portal.hotline.jobs import sweep as roster
    from portal.hotline.jobs import sweep_check_ins as check_ins
    from portal.service_plan.jobs import sweep as plan
    from portal.signals.jobs import sweep as satisfaction
    from portal.tickets.jobs import sweep as tickets

    assert load_demo_data() is True
    db.session.commit()
    for sweep in (tickets, plan, contracts, roster, check_ins, satisfaction):
        sweep()
    reminders.notify_people()
    db.session.commit()
    written = set(db.session.scalars(select(Reminder.kind).distinct())) \
        | set(db.session.scalars(select(Notification.kind).distinct()))
    assert len(written) >= 8
    assert written <= set(kernel.kinds), f"undeclared kinds: {written - set(kernel.kinds)}"
