"""`flask demo-data`: what a first start shows — every ticket state, a project unit to hand over, a letterhead,
a complaint — built through the real operations, and only once."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from portal.complaints.models import Complaint
from portal.core.enums import State
from portal.core.timeutil import to_local, today_local
from portal.customers.models import CustomerUnit
from portal.demo import load_demo_data
from portal.documents import letterhead
from portal.extensions import db
from portal.notifications.models import Reminder
from portal.tickets.models import Ticket


def test_demo_data_shows_every_state_a_project_unit_a_letterhead_and_a_complaint():
    assert load_demo_data() is True
    db.session.commit()
    states = set(db.session.scalars(select(Ticket.state).distinct()))
    assert states == {s.value for s in State}
    assert db.session.scalar(select(func.count()).select_from(CustomerUnit).where(CustomerUnit.is_project)) == 1
    assert letterhead.current().complete
    # (issue 14: the history adds complaints handled and confirmed; one still waits for its handler)
    assert db.session.scalar(select(func.count()).select_from(Complaint).where(Complaint.state == "received")) == 1
    # (issue 15: a contract lapsed last week, not renewed: 市场部经理 is asked to set or keep the unit's status)
    lapsed = db.session.scalars(select(Reminder).where(Reminder.kind == "contract_lapsed",
                                                       Reminder.closed_at.is_(None))).all()
    assert [(r.role, db.session.get(CustomerUnit, r.customer_id).name) for r in lapsed] == \
        [("market_manager", "天津市和平区卫健委")]


def test_demo_data_is_loaded_only_once():
    assert load_demo_data() is True
    db.session.commit()
    tickets = db.session.scalar(select(func.count()).select_from(Ticket))
    assert load_demo_data() is False
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == tickets


def test_demo_data_command_builds_the_dashboards_figures_at_once(app):
    """A first start shows the dashboard with the demo's figures, not "not generated yet" until the first job."""
    from portal.metrics import refresh
    from portal.metrics.models import TicketFact

    assert refresh.status()["rebuilt_at"] is None
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "demo data: created" in result.output and "metrics built" in result.output
    db.session.expire_all()
    assert refresh.status()["rebuilt_at"] is not None
    facts = db.session.scalar(select(func.count()).select_from(TicketFact))
    assert facts == db.session.scalar(select(func.count()).select_from(Ticket)) > 0


def _last_twelve_months() -> list[date]:
    first = today_local().replace(day=1)
    months = []
    for _ in range(12):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(first)
    return months


def test_demo_history_fills_each_of_the_last_twelve_months_on_working_days_with_a_response_time():
    """Issue 14: all the demo's activity fell on one day (a Sunday), so the dashboard showed 0.0 小时 and
    eleven empty months. The history is spread over the last 13 months, in working hours on working days."""
    from portal.core.policy import is_workday
    from portal.metrics import refresh
    from portal.metrics.models import MonthlyFigures
    from portal.tickets.models import Callback

    assert load_demo_data() is True
    db.session.commit()
    refresh.rebuild(db.session.commit)
    by_month = {(m.day if isinstance(m.day, date) else date.fromisoformat(m.day)): m for m in db.session.execute(
        select(MonthlyFigures.day, func.sum(MonthlyFigures.raised).label("raised"),
               func.sum(MonthlyFigures.responded).label("responded"),
               func.sum(MonthlyFigures.response_s_sum).label("response_s"),
               func.sum(MonthlyFigures.callbacks_scored).label("scored"),
               func.sum(MonthlyFigures.plan_callbacks_due).label("plan_due"),
               func.sum(MonthlyFigures.plan_callbacks_done).label("plan_done"))
        .group_by(MonthlyFigures.day))}
    for month in _last_twelve_months():
        m = by_month.get(month)
        assert m is not None and m.raised > 0, f"no tickets in {month:%Y-%m}"
        assert m.responded > 0 and m.response_s > 0, f"no response time in {month:%Y-%m}"
        assert m.scored > 0 and m.plan_due > 0 and m.plan_done > 0, f"no callbacks / plan in {month:%Y-%m}"
    created = [to_local(t) for t in db.session.scalars(select(Ticket.created_at))]
    assert all(is_workday(t.date()) and 8 <= t.hour < 18 for t in created)
    made = [to_local(t) for t in db.session.scalars(select(Callback.made_at))]
    assert all(is_workday(t.date()) and 8 <= t.hour < 18 for t in made)
    received = {to_local(c).strftime("%Y-%m") for c in db.session.scalars(select(Complaint.received_at))}
    assert len(received) >= 4  # complaints in several months, for the complaints trend
