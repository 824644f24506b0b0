"""Quality signals reach someone (issue 15 item 5): a callback scored ≤ 2 or not solved reminds the customer
service manager and the market manager — in person, in their bell — to record a follow-up, which a manager's
note on the ticket settles (closing the ticket does not); a month whose satisfaction is not above the target
(the source: > 85 %) tells the managers once."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.auth.operations import create_user
from portal.core.enums import Role
from portal.core.policy import policy
from portal.core.timeutil import clock_set_to, utcnow
from portal.extensions import db
from portal.notifications import reminders as reminder_ops
from portal.notifications.models import Notification, Reminder
from portal.signals import jobs as monthly
from portal.tickets import operations as ops
from portal.tickets.models import Callback
from tests.conftest import PASSWORD
from tests.jobs.helpers import local

NOW = local(2026, 11, 18, 10)


@pytest.fixture
def cs_manager(users):
    u = create_user("cs_manager", PASSWORD, "客服部经理", [Role.CS_MANAGER], "cs")
    db.session.commit()
    return u


def act(t, action, who, **data):
    ops.take_action(t, action, who, data)
    db.session.commit()


def resolved(ticket_factory, users):
    t = ticket_factory()
    act(t, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(days=2))
    act(t, "resolve", users["engineer"], process="p", result="r", hours_spent=1)
    return t


def follow_ups(ticket_id=None, open_only=True):
    db.session.expire_all()
    q = select(Reminder).where(Reminder.kind == "quality_follow_up")
    if ticket_id:
        q = q.where(Reminder.ticket_id == ticket_id)
    if open_only:
        q = q.where(Reminder.closed_at.is_(None))
    return list(db.session.scalars(q.order_by(Reminder.id)))


def bell(user) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                               Notification.kind == "quality_follow_up")))


@pytest.mark.parametrize("score", [1, 2])
def test_a_low_score_reminds_the_cs_manager_and_the_market_manager_in_person(users, cs_manager, ticket_factory,
                                                                             score):
    with clock_set_to(NOW):
        t = resolved(ticket_factory, users)
        act(t, "callback", users["cs"], solved=True, satisfaction=score, method="phone", text="态度不好")
        rows = follow_ups(t.id)
        assert {r.user_id for r in rows} == {cs_manager.id, users["market_manager"].id}
        assert reminder_ops.notify_people() == 2  # the reminder sweep turns them into notifications
        db.session.commit()
        assert reminder_ops.notify_people() == 0  # once
    for who in (cs_manager, users["market_manager"]):
        [n] = bell(who)
        assert n.ticket_id == t.id and n.read_at is None
        page = TestPages.notifications_of(who)
        assert t.number in page and "回访低分或未解决" in page
    assert bell(users["cs"]) == [] and bell(users["market"]) == []


def test_a_score_of_three_or_more_with_the_problem_solved_reaches_nobody(users, cs_manager, ticket_factory):
    t = resolved(ticket_factory, users)
    act(t, "callback", users["cs"], solved=True, satisfaction=3, method="phone", text="一般")
    assert follow_ups() == []


def test_not_solved_reminds_both_managers_even_with_a_good_score(users, cs_manager, ticket_factory):
    t = resolved(ticket_factory, users)
    act(t, "callback", users["cs"], solved=False, satisfaction=4, method="phone", text="仍有问题",
        deadline=utcnow() + timedelta(days=2))
    assert {r.user_id for r in follow_ups(t.id)} == {cs_manager.id, users["market_manager"].id}


def test_a_managers_note_settles_the_follow_up_and_reads_the_notifications(users, cs_manager, ticket_factory):
    t = resolved(ticket_factory, users)
    act(t, "callback", users["cs"], solved=True, satisfaction=1, method="phone", text="很不满意")
    reminder_ops.notify_people()
    db.session.commit()
    act(t, "comment", users["engineer"], text="我再看看")  # not a manager: the follow-up stays owed
    assert len(follow_ups(t.id)) == 2
    act(t, "comment", cs_manager, text="已致电客户致歉，约定下周回访")
    assert follow_ups(t.id) == []
    closed = follow_ups(t.id, open_only=False)
    assert {r.closed_note for r in closed} == {"follow-up recorded"}
    assert all(n.read_at is not None for n in bell(cs_manager) + bell(users["market_manager"]))


def test_closing_the_ticket_does_not_settle_the_follow_up(users, cs_manager, ticket_factory):
    t = resolved(ticket_factory, users)
    act(t, "callback", users["cs"], solved=True, satisfaction=2, method="phone", text="勉强")
    act(t, "close", users["market"], note="")
    assert len(follow_ups(t.id)) == 2


def test_with_no_manager_on_the_staff_the_roles_are_reminded(ticket_factory, users):
    from portal.auth.models import User

    # the users fixture has no cs_manager; the market manager leaves
    users["market_manager"].active = False
    db.session.commit()
    t = resolved(ticket_factory, users)
    act(t, "callback", users["cs"], solved=True, satisfaction=1, method="phone", text="差")
    assert {(r.role, r.user_id) for r in follow_ups(t.id)} == {("cs_manager", None), ("market_manager", None)}
    assert db.session.get(User, users["market_manager"].id).active is False


# --- the month's figure ----------------------------------------------------------------------------

def scored(unit, month_day: date, scores: list[int], who):
    for i, s in enumerate(scores):
        db.session.add(Callback(kind="monthly", customer_id=unit.id, method="phone", outcome="x", solved=True,
                                satisfaction=s, made_by_id=who.id,
                                made_at=local(month_day.year, month_day.month, month_day.day, 10, i % 50)))
    db.session.commit()


def told(kind="satisfaction_below_target"):
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind)))


def test_a_month_below_target_tells_each_manager_once(users, cs_manager, unit_factory):
    unit = unit_factory()
    scored(unit, date(2026, 10, 15), [5] * 16 + [2] * 4, users["cs"])  # 80 %
    assert monthly.sweep(date(2026, 11, 1)) == {"satisfaction_below_target": 2}
    db.session.commit()
    assert monthly.sweep(date(2026, 11, 2)) == {"satisfaction_below_target": 0}  # a second run: nothing new
    assert monthly.sweep(date(2026, 11, 30)) == {"satisfaction_below_target": 0}
    db.session.commit()
    notes = told()
    assert {n.user_id for n in notes} == {cs_manager.id, users["market_manager"].id}
    assert all("2026-10" in n.text and "80.0%" in n.text for n in notes)


def test_exactly_the_target_is_a_miss_because_the_source_asks_for_more(users, cs_manager, unit_factory):
    assert policy().satisfaction_target == 0.85
    unit = unit_factory()
    scored(unit, date(2026, 10, 15), [5] * 17 + [1] * 3, users["cs"])  # 85 % exactly
    assert monthly.sweep(date(2026, 11, 1))["satisfaction_below_target"] == 2


def test_a_month_above_target_or_without_scores_tells_nobody(users, cs_manager, unit_factory):
    unit = unit_factory()
    assert monthly.sweep(date(2026, 11, 1))["satisfaction_below_target"] == 0  # no scored callback: no figure
    scored(unit, date(2026, 10, 15), [5] * 18 + [1] * 2, users["cs"])  # 90 %
    scored(unit, date(2026, 11, 3), [1] * 5, users["cs"])  # the current month is not judged yet
    assert monthly.sweep(date(2026, 11, 20))["satisfaction_below_target"] == 0
    assert told() == []


def test_the_month_is_the_local_calendar_month(users, cs_manager, unit_factory):
    unit = unit_factory()
    # 2026-11-01 07:00 in Shanghai is still 2026-10-31 in UTC: it belongs to November, not October.
    db.session.add(Callback(kind="monthly", customer_id=unit.id, method="phone", outcome="x", solved=True,
                            satisfaction=1, made_by_id=users["cs"].id, made_at=local(2026, 11, 1, 7)))
    db.session.commit()
    assert monthly.month_figure(date(2026, 10, 1)) == (0, 0)
    assert monthly.month_figure(date(2026, 11, 1)) == (1, 0)


class TestPages:
    client = None

    @staticmethod
    def notifications_of(user) -> str:
        from flask import current_app

        c = current_app.test_client()
        assert c.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
        return c.get("/notifications").get_data(as_text=True)
