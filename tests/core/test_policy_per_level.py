"""A ticket is judged by the limits in force when it was registered, for its customer's maintenance level
(issue 15 item 4): changing the policy affects tickets registered afterwards, never the past — the sweep's
reminders, the workflow's obligations and the service clocks' outcomes stay as they were."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.core import policy as pol
from portal.core import policy_store
from portal.core.kernel import Clock, kernel
from portal.core.policy import ticket_policy
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.notifications.models import Reminder
from portal.sla import clocks
from portal.sla.models import ServiceClock
from portal.tickets.jobs import sweep
from portal.tickets.models import Ticket
from portal.tickets.operations import take_action
from tests.jobs.helpers import local, reminders, set_columns


def set_policy(level, field, new, reason="测试"):
    old = pol.snapshot(pol.policy_for(None if level == pol.COMPANY else level))[field]
    policy_store.record(level=level, field=field, old=str(old), new=str(new), reason=reason, user_id=None)
    db.session.commit()


def act(ticket, action, user, **data):
    take_action(ticket, action, user, data)
    db.session.commit()
    db.session.expire_all()


def test_a_ticket_takes_its_customers_level_values_when_registered(ticket_factory, unit_factory):
    set_policy("vip", "onsite_within_hours", 12)
    vip = ticket_factory(unit=unit_factory(status="vip"))
    ordinary = ticket_factory(unit=unit_factory(status="ordinary"))
    assert vip.policy_snapshot["onsite_within_hours"] == 12 and ticket_policy(vip).onsite_within_hours == 12
    assert ordinary.policy_snapshot["onsite_within_hours"] == 24 and ticket_policy(ordinary).onsite_within_hours == 24


def test_a_policy_change_leaves_registered_tickets_their_limits(ticket_factory, unit_factory):
    before = ticket_factory(unit=unit_factory(status="vip"))
    set_policy("vip", "onsite_within_hours", 12)
    after = ticket_factory(unit=unit_factory(status="vip"))
    db.session.expire_all()
    assert ticket_policy(db.session.get(Ticket, before.id)).onsite_within_hours == 24
    assert ticket_policy(db.session.get(Ticket, after.id)).onsite_within_hours == 12


def test_the_deadline_to_tell_is_due_by_the_tickets_own_limit(ticket_factory, users):
    old = ticket_factory()
    set_policy("ordinary", "tell_deadline_within_hours", 8)
    new = ticket_factory()
    for t in (old, new):
        act(t, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(days=3))
    due = {r.ticket_id: r.due_at - r.created_at for r in reminders(kind="tell_deadline")}
    assert round(due[old.id].total_seconds() / 3600) == 4
    assert round(due[new.id].total_seconds() / 3600) == 8


def test_the_sweep_escalates_each_ticket_by_the_limit_it_was_registered_with(ticket_factory, users):
    old = ticket_factory()
    set_policy("ordinary", "overdue_escalate_hours", 48)
    new = ticket_factory()
    deadline = local(2026, 11, 2, 17)
    for t in (old, new):
        act(t, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(days=3))
        set_columns(Ticket, t.id, deadline=deadline)
    sweep(now=deadline + timedelta(hours=25))
    db.session.commit()
    assert {r.ticket_id for r in reminders(kind="overdue_manager")} == {old.id}
    sweep(now=deadline + timedelta(hours=49))
    db.session.commit()
    assert {r.ticket_id for r in reminders(kind="overdue_manager")} == {old.id, new.id}


def test_a_ticket_without_a_snapshot_is_judged_by_its_levels_values_today(ticket_factory, unit_factory, users):
    t = ticket_factory(unit=unit_factory(status="vip"))
    set_columns(Ticket, t.id, policy_snapshot=None)
    set_policy("vip", "overdue_escalate_hours", 2)
    deadline = local(2026, 11, 2, 17)
    act(db.session.get(Ticket, t.id), "assign", users["dev_manager"], assignee_id=users["engineer"].id,
        deadline=utcnow() + timedelta(days=3))
    set_columns(Ticket, t.id, deadline=deadline)
    sweep(now=deadline + timedelta(hours=3))
    db.session.commit()
    assert [r.ticket_id for r in reminders(kind="overdue_manager")] == [t.id]


def _share_kept(start, end, key="onsite_test") -> float:
    """A compliance figure as the dashboard computes it: the share of last month's clocks of one promise that
    were kept, each judged against the due time fixed when it started."""
    rows = list(db.session.scalars(select(ServiceClock).where(ServiceClock.key == key,
                                                              ServiceClock.started_at >= start,
                                                              ServiceClock.started_at < end)))
    return sum(1 for c in rows if c.outcome == "kept") / len(rows)


def test_a_policy_change_leaves_last_months_compliance_unchanged(ticket_factory, unit_factory, monkeypatch):
    monkeypatch.setitem(kernel.clocks, "onsite_test", Clock("onsite_test", "上门", "onsite_within_hours"))
    unit = unit_factory(status="vip")
    start = local(2026, 10, 5, 9)
    arrivals = [20, 23, 30]  # hours after the start: two kept within 24 h, one breached
    for hours in arrivals:
        t = ticket_factory(unit=unit)
        clocks.start("onsite_test", started_at=start, policy=ticket_policy(t), level="vip", ticket_id=t.id)
        clocks.stop("onsite_test", at=start + timedelta(hours=hours), ticket_id=t.id)
    db.session.commit()
    month = (local(2026, 10, 1), local(2026, 11, 1))
    before = _share_kept(*month)
    assert before == 2 / 3

    set_policy("vip", "onsite_within_hours", 12, reason="VIP 12小时上门")
    db.session.expire_all()
    assert _share_kept(*month) == before
    assert {c.due_at for c in db.session.scalars(select(ServiceClock).where(ServiceClock.key == "onsite_test"))} \
        == {start + timedelta(hours=24)}
    assert all(ticket_policy(t).onsite_within_hours == 24 for t in db.session.scalars(select(Ticket)))
