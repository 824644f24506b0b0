"""Notifications: the bell counts what is new for me and what is due for my roles; each item
links to the place that settles it; mark-as-read is mine only."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.notifications import reminders
from portal.notifications.models import Notification
from portal.tickets.operations import take_action
from tests.redirect_attacks import OFF_SITE, ON_SITE, assert_stays_on_site


def test_assignment_notifies_the_engineer_and_the_bell_counts_it(auth, users, ticket_factory):
    t = ticket_factory()
    take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                     "deadline": utcnow() + timedelta(days=1)})
    db.session.commit()
    import re

    bell = auth.client_for("engineer").get("/notifications/bell").get_data(as_text=True)
    label = re.search(r'aria-label="([^"]*)"', bell).group(1)
    assert re.match(r"通知: 1 未读, \d+ 到期", label), label
    other = auth.client_for("engineer2").get("/notifications/bell").get_data(as_text=True)
    assert re.search(r'aria-label="通知: 0 未读', other)
    page = auth.client_for("engineer").get("/notifications").get_data(as_text=True)
    assert t.number in page and "已分派" in page


def test_reminders_for_my_role_are_listed_with_a_link_to_settle_them(auth, users, ticket_factory):
    t = ticket_factory()
    take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                     "deadline": utcnow() + timedelta(days=1)})
    db.session.commit()
    page = auth.client_for("cs").get("/notifications").get_data(as_text=True)
    assert "告知客户解决时限" in page and f"/tickets/{t.number}" in page
    assert "告知客户解决时限" not in auth.client_for("market").get("/notifications").get_data(as_text=True)


def test_mark_read_is_only_for_the_owner_and_follows_only_internal_links(auth, users, ticket_factory):
    t = ticket_factory()
    take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                     "deadline": utcnow() + timedelta(days=1)})
    db.session.commit()
    n = db.session.scalar(select(Notification).where(Notification.user_id == users["engineer"].id))
    assert auth.client_for("engineer2").post(f"/notifications/{n.id}/read").status_code == 404
    r = auth.client_for("engineer").post(f"/notifications/{n.id}/read", data={"go": "//evil.example/"})
    assert r.status_code == 302 and r.headers["Location"] == "/notifications"
    db.session.expire_all()
    assert db.session.get(Notification, n.id).read_at is not None


def test_mark_read_go_never_leaves_the_site_whatever_the_encoding_tricks(auth, users, ticket_factory):
    t = ticket_factory()
    take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                     "deadline": utcnow() + timedelta(days=1)})
    db.session.commit()
    n = db.session.scalar(select(Notification).where(Notification.user_id == users["engineer"].id))
    client = auth.client_for("engineer")
    for target in OFF_SITE + list(ON_SITE):  # one notification, read again and again: each answer checked
        r = client.post(f"/notifications/{n.id}/read", data={"go": target})
        assert_stays_on_site(r, "/notifications", target)
    r = client.post(f"/notifications/{n.id}/read", data={"go": f"/tickets/{t.number}"})
    assert r.headers["Location"] == f"/tickets/{t.number}"  # its own link still works


def _notified_users(ticket, kind):
    return set(db.session.scalars(select(Notification.user_id).where(Notification.ticket_id == ticket.id,
                                                                      Notification.kind == kind)))


def test_a_new_ticket_waits_in_the_dev_managers_queue_without_a_personal_notification(users, ticket_factory):
    from portal.queues.definitions import BY_KEY
    from portal.tickets.models import Ticket

    t = ticket_factory()
    assert users["dev_manager"].id not in _notified_users(t, "register")  # the queue is where it waits
    where = BY_KEY["dev_analyse"].where(users["dev_manager"])
    assert db.session.scalar(select(Ticket.id).where(where, Ticket.id == t.id)) == t.id


def test_an_urgent_ticket_still_notifies_the_dev_manager(users, ticket_factory):
    t = ticket_factory()
    take_action(t, "approve_urgent", users["market"], {"request": "客户来函要求加急"})
    db.session.commit()
    assert users["dev_manager"].id in _notified_users(t, "approve_urgent")


def test_the_bell_says_in_words_what_its_numbers_count(auth, users, ticket_factory):
    t = ticket_factory()
    take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                     "deadline": utcnow() + timedelta(days=1)})
    db.session.commit()
    import re

    bell = auth.client_for("engineer").get("/notifications/bell").get_data(as_text=True)
    shown = re.sub(r"<[^>]+>|\s+", " ", bell).strip()
    assert "1 条新消息" in shown
    cs_bell = re.sub(r"<[^>]+>|\s+", " ", auth.client_for("cs").get("/notifications/bell").get_data(as_text=True))
    assert re.search(r"\d+ 项待办", cs_bell)  # the deadline to tell


def test_opening_a_ticket_marks_my_unread_notifications_for_it_read_and_no_one_elses(auth, users, ticket_factory):
    t, other = ticket_factory(), ticket_factory()
    for ticket in (t, other):
        take_action(ticket, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                              "deadline": utcnow() + timedelta(days=1)})
    db.session.commit()
    assert auth.client_for("engineer").get(f"/tickets/{t.number}").status_code == 200

    def unread(user, ticket):
        db.session.expire_all()
        return [n.id for n in db.session.scalars(select(Notification).where(
            Notification.user_id == users[user].id, Notification.ticket_id == ticket.id,
            Notification.read_at.is_(None)))]

    assert unread("engineer", t) == []
    assert len(unread("engineer", other)) == 1  # another ticket's stays unread
    assert len(unread("cs", t)) >= 1  # another user's stays unread
