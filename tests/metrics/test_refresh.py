"""The pre-aggregate follows the portal: what the workflow, the service plan and the market manager
change reaches the dashboard at the next refresh; a refresh gives what a full rebuild gives."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.core.enums import MaintenanceStatus
from portal.core.timeutil import utcnow
from portal.customers.operations import change_status
from portal.extensions import db
from portal.metrics import jobs, queries, refresh
from portal.metrics.models import DailyFigures, MonthlyFigures, RefreshState, TicketFact
from portal.metrics.periods import of_kind
from portal.service_plan import jobs as plan_jobs
from portal.service_plan import operations as plan_ops
from portal.core.timeutil import today_local
from portal.tickets import workflow
from portal.tickets.models import Ticket


def this_month(**kw) -> queries.Scope:
    return queries.Scope(of_kind("month", today_local()), **kw)


def act(t: Ticket, action: str, user, **data):
    workflow.perform(t, action, user, data)
    db.session.commit()


def refreshed() -> dict:
    refresh.refresh(db.session.commit)
    db.session.commit()
    return queries.totals(this_month())


def snapshot() -> tuple:
    tables = []
    for model in (TicketFact, DailyFigures, MonthlyFigures):
        rows = db.session.execute(select(model.__table__)).all()
        tables.append(sorted(tuple(str(v) for v in r) for r in rows))
    return tuple(tables)


def test_workflow_steps_reach_the_figures_at_the_next_refresh(users, ticket_factory):
    refresh.rebuild(db.session.commit)
    t = ticket_factory()
    assert refreshed()["raised"] == 1
    act(t, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(days=2))
    assert refreshed()["responded"] == 1
    act(t, "resolve", users["engineer"], process="远程处理", result="已解决", hours_spent="1.5")
    f = refreshed()
    assert (f["solved"], f["hours"], f["deadline_kept"]) == (1, 1.5, 1)
    # the callback finds it unsolved: back to the engineer — no longer solved, the hours stay
    act(t, "callback", users["cs"], solved=False, method="phone", text="问题仍然存在", satisfaction=2,
        deadline=utcnow() + timedelta(days=2))
    f = refreshed()
    assert (f["solved"], f["hours"], f["callbacks_scored"], f["callbacks_satisfied"]) == (0, 1.5, 1, 0)
    act(t, "resolve", users["engineer"], process="再次处理", result="已解决", hours_spent="0.5")
    act(t, "callback", users["cs"], solved=True, method="phone", text="已解决", satisfaction=5)
    f = refreshed()
    assert (f["solved"], f["hours"], f["callbacks_scored"], f["callbacks_satisfied"]) == (1, 2.0, 2, 1)
    fact = db.session.get(TicketFact, t.id)
    t = db.session.get(Ticket, t.id)
    assert fact.resolution_s is not None and t.resolved_at is not None  # measured to the second resolution


def test_a_deadline_passing_without_any_event_is_missed_after_the_next_refresh(users, ticket_factory):
    t = ticket_factory()
    act(t, "assign", users["dev_manager"], assignee_id=users["engineer"].id, deadline=utcnow() + timedelta(hours=1))
    refresh.rebuild(db.session.commit)
    assert queries.totals(this_month())["deadline_missed"] == 0
    # an hour later: the deadline has passed, nobody touched the ticket
    db.session.execute(update(Ticket).where(Ticket.id == t.id).values(deadline=utcnow() - timedelta(minutes=1)))
    db.session.execute(update(RefreshState).values(refreshed_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert refreshed()["deadline_missed"] == 1


def test_a_maintenance_level_change_moves_the_unit_s_figures(users, unit_factory, ticket_factory):
    unit = unit_factory(MaintenanceStatus.ORDINARY)
    ticket_factory(unit=unit)
    refresh.rebuild(db.session.commit)
    db.session.commit()
    assert queries.totals(this_month(level="ordinary"))["raised"] == 1
    change_status(unit, MaintenanceStatus.VIP, "续签VIP维护合同", users["market_manager"])
    db.session.commit()
    refresh.refresh(db.session.commit)
    db.session.commit()
    assert queries.totals(this_month(level="ordinary"))["raised"] == 0
    assert queries.totals(this_month(level="vip"))["raised"] == 1


def test_a_service_plan_callback_counts_as_done_after_the_next_refresh(users, unit_factory):
    unit = unit_factory(MaintenanceStatus.VIP)
    plan_jobs.sweep()
    db.session.commit()
    f = refreshed()
    assert (f["plan_callbacks_due"], f["plan_callbacks_done"]) == (1, 0)
    plan_ops.record(unit, "monthly", users["cs"], method="phone", contact_person="刘建国", outcome="使用正常",
                    satisfaction=5)
    db.session.commit()
    f = refreshed()
    assert (f["plan_callbacks_due"], f["plan_callbacks_done"], f["callbacks_satisfied"]) == (1, 1, 1)


def test_refresh_gives_what_a_rebuild_gives_and_running_it_twice_changes_nothing(users, ticket_factory):
    refresh.rebuild(db.session.commit)
    for _i in range(3):
        t = ticket_factory()
        act(t, "assign", users["dev_manager"], assignee_id=users["engineer2"].id,
            deadline=utcnow() + timedelta(days=1))
    act(t, "resolve", users["engineer2"], process="处理", result="解决", hours_spent="2")
    refresh.refresh(db.session.commit)
    db.session.commit()
    after_refresh = snapshot()
    refresh.refresh(db.session.commit)
    db.session.commit()
    assert snapshot() == after_refresh
    refresh.rebuild(db.session.commit)
    db.session.commit()
    assert snapshot() == after_refresh


def test_the_job_refreshes_and_a_second_one_at_the_same_time_does_nothing(users, ticket_factory):
    ticket_factory()
    assert "tickets" in jobs.refresh_metrics()  # first run: a full rebuild
    assert db.session.get(RefreshState, 1).refreshed_at is not None
    with refresh.exclusive():
        assert jobs.refresh_metrics() == {"skipped": True}
        assert jobs.rebuild_metrics() == {"skipped": True}
    with pytest.raises(refresh.Busy):
        with refresh.exclusive():
            with refresh.exclusive():
                pass
