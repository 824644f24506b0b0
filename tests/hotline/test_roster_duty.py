"""The roster takes anyone with hotline duty (客服 and engineers by default), adds a person to a shift in one
htmx action that answers with that shift's cell, copies last week's arrangement (duty manager only, shifts not
yet started, no duplicates, idempotent), and explains the seats figure with each shift's shortfall."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.auth.operations import create_user
from portal.core.enums import Role
from portal.core.timeutil import to_local, utcnow
from portal.extensions import db
from portal.hotline import roster
from portal.hotline.jobs import shift_start
from portal.hotline.models import DutyShift
from tests.conftest import PASSWORD


@pytest.fixture
def duty_manager(users):
    u = create_user("duty_manager", PASSWORD, "值班经理", [Role.CS, Role.DUTY_MANAGER], "cs")
    db.session.commit()
    return u


def monday(offset_weeks: int = 0) -> date:
    today = to_local(utcnow()).date()
    return today - timedelta(days=today.weekday()) + timedelta(weeks=offset_weeks)


def shifts() -> set[tuple[date, str, int]]:
    db.session.expire_all()
    return {(s.day, s.half, s.user_id) for s in db.session.scalars(select(DutyShift))}


def test_customer_service_and_engineers_may_take_hotline_duty(users, duty_manager):
    staff = {u.username for u in roster.duty_staff()}
    assert {"cs", "engineer", "engineer2", "impl_engineer"} <= staff
    assert not staff & {"market", "market_manager", "dev_manager", "admin"}
    day = monday(1) + timedelta(days=1)
    roster.add_to_shift(day, "am", users["engineer"].id, duty_manager)
    roster.add_to_shift(day, "am", users["impl_engineer"].id, duty_manager)
    db.session.commit()
    assert shifts() == {(day, "am", users["engineer"].id), (day, "am", users["impl_engineer"].id)}


def test_someone_without_hotline_duty_is_refused(users, duty_manager):
    with pytest.raises(roster.RosterError) as e:
        roster.add_to_shift(monday(1), "am", users["market"].id, duty_manager)
    assert e.value.status == 422


def test_adding_a_person_is_one_htmx_request_answered_with_the_shift_cell(auth, users, duty_manager):
    day = monday(1) + timedelta(days=2)
    r = auth.client_for("duty_manager").post("/hotline/roster/add", headers={"HX-Request": "true"},
                                             data={"day": day.isoformat(), "half": "pm",
                                                   "user_id": users["engineer"].id, "week": monday(1).isoformat()})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html.lstrip().startswith("<td") and f'id="shift-{day.isoformat()}-pm"' in html
    assert "engineer" in html and "<html" not in html
    assert shifts() == {(day, "pm", users["engineer"].id)}
    # The cell's own add control posts on choosing a person (no button to press, no page reload).
    page = auth.client_for("duty_manager").get(f"/hotline/roster?week={monday(1).isoformat()}").get_data(as_text=True)
    assert 'hx-post="/hotline/roster/add"' in page and 'hx-trigger="change"' in page


def test_a_refused_htmx_add_answers_with_the_cell_and_its_message(auth, users, duty_manager):
    day = monday(1)
    client = auth.client_for("duty_manager")
    data = {"day": day.isoformat(), "half": "am", "user_id": users["cs"].id}
    assert client.post("/hotline/roster/add", headers={"HX-Request": "true"}, data=data).status_code == 200
    r = client.post("/hotline/roster/add", headers={"HX-Request": "true"}, data=data)
    assert r.status_code == 409 and r.get_data(as_text=True).lstrip().startswith("<td")
    assert "已在该班次中" in r.get_data(as_text=True)


def test_copying_last_week_copies_shifts_not_yet_started_skips_duplicates_and_is_idempotent(
        auth, users, duty_manager):
    source = monday(1)
    for i in range(7):
        roster.add_to_shift(source + timedelta(days=i), "am", users["cs"].id, duty_manager)
    roster.add_to_shift(source, "pm", users["engineer"].id, duty_manager)
    roster.add_to_shift(source + timedelta(days=7), "am", users["cs"].id, duty_manager)  # already there
    db.session.commit()
    client = auth.client_for("duty_manager")
    r = client.post("/hotline/roster/copy", data={"week": monday(2).isoformat()})
    assert r.status_code == 302
    copied = {s for s in shifts() if s[0] >= monday(2)}
    assert copied == {(source + timedelta(days=7 + i), "am", users["cs"].id) for i in range(7)} | {
        (monday(2), "pm", users["engineer"].id)}
    before = shifts()
    assert client.post("/hotline/roster/copy", data={"week": monday(2).isoformat()}).status_code == 302
    assert shifts() == before


def test_copying_into_the_current_week_leaves_started_shifts_alone(users, duty_manager):
    for i in range(7):
        for half in ("am", "pm"):
            db.session.add(DutyShift(day=monday(-1) + timedelta(days=i), half=half, user_id=users["cs"].id,
                                     created_by_id=duty_manager.id))
    db.session.commit()
    n = roster.copy_previous_week(monday(0), duty_manager)
    db.session.commit()
    expected = {(monday(0) + timedelta(days=i), h, users["cs"].id) for i in range(7) for h in ("am", "pm")
                if shift_start(monday(0) + timedelta(days=i), h) > utcnow()}
    assert {s for s in shifts() if s[0] >= monday(0)} == expected and n == len(expected)


def test_only_the_duty_manager_copies_a_week(auth, users, duty_manager):
    roster.add_to_shift(monday(1), "am", users["cs"].id, duty_manager)
    db.session.commit()
    r = auth.client_for("cs").post("/hotline/roster/copy", data={"week": monday(2).isoformat()})
    assert r.status_code == 403
    assert all(s[0] < monday(2) for s in shifts())


def test_the_seats_figure_is_explained_and_each_shift_shows_its_shortfall(auth, users, duty_manager,
                                                                          unit_factory):
    unit_factory(status="vip", user_count=2000)  # 2000 × 2‰ = 4 seats
    day = monday(1)  # a Monday: a working day unless a holiday falls on it
    roster.add_to_shift(day, "am", users["cs"].id, duty_manager)
    db.session.commit()
    page = auth.client_for("cs").get(f"/hotline/roster?week={day.isoformat()}").get_data(as_text=True)
    assert "2000" in page and "2‰" in page
    if roster.is_workday(day):
        assert "还差 3 人" in page
