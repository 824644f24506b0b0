"""Issue 14 (5): anyone who may see a ticket may follow (关注) it and is told of its events while they may see it."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.notifications.models import Notification
from portal.tickets import operations as ops
from portal.tickets.models import Ticket, TicketFollower


def follower_rows(t) -> int:
    return db.session.scalar(select(func.count()).select_from(TicketFollower).where(TicketFollower.ticket_id == t.id))


def notices(user, t, kind=None) -> list[Notification]:
    q = select(Notification).where(Notification.user_id == user.id, Notification.ticket_id == t.id)
    if kind:
        q = q.where(Notification.kind == kind)
    return list(db.session.scalars(q.order_by(Notification.id)))


def take(t, action, user, **data):
    db.session.expire_all()
    ops.take_action(db.session.get(Ticket, t.id), action, user, data)
    db.session.commit()


def test_following_and_unfollowing_twice_is_the_same_as_once(auth, users, ticket_factory):
    t = ticket_factory()
    c = auth.client_for("market")
    for _ in range(2):
        assert c.post(f"/tickets/{t.number}/follow").status_code == 302
        assert follower_rows(t) == 1
    page = c.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "取消关注" in page and 'aria-pressed="true"' in page
    for _ in range(2):
        assert c.post(f"/tickets/{t.number}/unfollow").status_code == 302
        assert follower_rows(t) == 0
    page = c.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert ">关注<" in page and 'aria-pressed="false"' in page


def test_the_htmx_toggle_answers_with_the_followers_box_listing_the_follower(auth, users, ticket_factory):
    users["market"].display_name = "王芳"
    db.session.commit()
    t = ticket_factory()
    r = auth.client_for("market").post(f"/tickets/{t.number}/follow", headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.lstrip().startswith('<section class="card followers" id="followers"')
    assert "王芳" in body and "取消关注" in body and "<html" not in body


def test_a_follower_is_notified_of_a_later_event_but_not_of_their_own(users, auth, ticket_factory):
    t = ticket_factory()
    auth.client_for("market").post(f"/tickets/{t.number}/follow")
    take(t, "comment", users["cs"], text="客户说今天下午在")
    assert [n.kind for n in notices(users["market"], t)] == ["comment"]
    take(t, "comment", users["market"], text="我来联系")
    assert len(notices(users["market"], t)) == 1  # not told of their own note
    take(t, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(days=2))
    assert [n.kind for n in notices(users["market"], t)] == ["comment", "assign"]


def test_a_follower_already_told_by_the_table_gets_one_notice(users, auth, ticket_factory):
    t = ticket_factory()
    auth.client_for("cs").post(f"/tickets/{t.number}/follow")  # cs is told of an assignment anyway
    take(t, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(days=2))
    assert [n.kind for n in notices(users["cs"], t)] == ["assign"]


def test_an_engineer_who_loses_access_stops_being_notified(users, auth, ticket_factory):
    t = ticket_factory()  # waits in the development queue: every engineer sees it
    assert auth.client_for("engineer").post(f"/tickets/{t.number}/follow").status_code == 302
    take(t, "comment", users["cs"], text="补充：只有一台电脑")
    assert len(notices(users["engineer"], t)) == 1
    # assigned to someone else: the engineer may no longer see it, and hears nothing more
    take(t, "assign", users["dev_manager"], assignee_id=users["engineer2"].id, deadline=utcnow() + timedelta(days=2))
    take(t, "comment", users["cs"], text="客户催了")
    assert len(notices(users["engineer"], t)) == 1
    assert auth.client_for("engineer").get(f"/tickets/{t.number}").status_code == 404
    # nor is the engineer listed as a follower to those who see it
    page = auth.client_for("cs").get(f"/tickets/{t.number}").get_data(as_text=True)
    assert "还没有人关注此工单" in page


def test_following_a_ticket_one_may_not_see_is_404_and_writes_nothing(users, auth, ticket_factory):
    t = ticket_factory()
    take(t, "assign", users["dev_manager"], assignee_id=users["engineer2"].id, deadline=utcnow() + timedelta(days=2))
    c = auth.client_for("engineer")
    for url in (f"/tickets/{t.number}/follow", f"/tickets/{t.number}/unfollow", "/tickets/SH-2026-999999/follow"):
        for headers in ({}, {"HX-Request": "true"}):
            assert c.post(url, headers=headers).status_code == 404
    assert follower_rows(t) == 0


def test_follow_without_a_csrf_token_is_refused(app, auth, ticket_factory):
    t = ticket_factory()
    c = auth.client_for("market")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = c.post(f"/tickets/{t.number}/follow")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert r.status_code == 400 and follower_rows(t) == 0


def test_every_event_kind_a_follower_may_get_is_declared(app):
    from portal.core.kernel import kernel
    from portal.tickets.workflow import ACTIONS

    assert set(ACTIONS) <= set(kernel.kinds)


def test_finding_and_checking_ten_followers_takes_as_many_statements_as_one(auth, users, ticket_factory):
    from portal.auth.operations import create_user
    from portal.core.enums import Role
    from tests.test_query_counts import counting, statements

    t = ticket_factory()
    number = t.number
    people = [users["engineer"]] + [create_user(f"eng{i}", "pw-long-enough-1", f"工程师{i}", [Role.ENGINEER], "dev")
                                    for i in range(9)]
    db.session.commit()
    for p in people[:1]:
        auth.client_for(p.username).post(f"/tickets/{number}/follow")

    def event_statements() -> int:
        db.session.expire_all()
        with counting() as seen:
            ops.take_action(db.session.get(Ticket, t.id), "comment", users["cs"], {"text": "备注"})
            db.session.flush()
        db.session.commit()
        # (the ORM writes each new notification with an INSERT of its own, as for the table's recipients)
        return sum(not x.startswith("INSERT INTO notifications") for x in seen)

    one = (statements(auth.client_for("cs"), f"/tickets/{number}"), event_statements())
    for p in people[1:]:
        db.session.add(TicketFollower(ticket_id=t.id, user_id=p.id))
    db.session.commit()
    ten = (statements(auth.client_for("cs"), f"/tickets/{number}"), event_statements())
    assert one == ten, (one, ten)
    assert len(notices(people[-1], t)) == 1  # the ten were told


def test_who_may_see_agrees_with_each_persons_own_visibility_for_every_ticket(users, ticket_factory):
    """The one-statement check of many people gives, person by person, what `restrict` gives each alone."""
    from portal.tickets import access

    soon = utcnow() + timedelta(days=2)
    registered = ticket_factory()
    mine = ticket_factory()
    take(mine, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=soon)
    consult = ticket_factory(type="consultation")
    closed = ticket_factory()
    take(closed, "assign", users["dev_manager"], assignee_id=users["engineer2"].id, deadline=soon)
    take(closed, "resolve", users["engineer2"], process="p", result="r", hours_spent=1)
    take(closed, "callback", users["cs"], solved=True, satisfaction=5, method="phone", text="好")
    take(closed, "close", users["market"])
    people = list(users.values())
    seen = {}
    for t in (registered, mine, consult, closed):
        expected = {u.id for u in people
                    if db.session.scalar(access.restrict(select(Ticket.id).where(Ticket.id == t.id), u))}
        seen[t.id] = access.who_may_see(t.id, people)
        assert seen[t.id] == expected, t.number
    # two people of one role are told apart (engineer / engineer2 on the ticket assigned to the first)
    assert users["engineer"].id in seen[mine.id] and users["engineer2"].id not in seen[mine.id]
    assert users["impl_engineer"].id in seen[consult.id] and users["engineer"].id not in seen[consult.id]
