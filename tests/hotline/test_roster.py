"""The hotline duty roster (值班安排): 2‰ seats, arranged only by the duty manager, ahead of time."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.auth.operations import create_user
from portal.core.enums import Role
from portal.core.timeutil import to_local, utcnow
from portal.extensions import db
from portal.hotline import roster
from portal.hotline.models import DutyShift
from portal.notifications import reminders
from portal.notifications.models import Reminder
from tests.conftest import PASSWORD


@pytest.fixture
def duty_manager(users):
    u = create_user("duty_manager", PASSWORD, "值班经理", [Role.CS, Role.DUTY_MANAGER], "cs")
    db.session.commit()
    return u


def tomorrow() -> date:
    return to_local(utcnow()).date() + timedelta(days=1)


def test_seats_are_two_per_mille_of_users_under_maintenance_rounded_up(unit_factory):
    unit_factory(status="vip", user_count=1200)
    unit_factory(status="ordinary", user_count=301)
    unit_factory(status="stopped", user_count=5000)  # not served: not counted
    assert roster.seats_needed() == 4  # 1501 * 2 / 1000 = 3.002 → 4


def test_only_the_duty_manager_arranges_shifts(auth, users, duty_manager):
    day = tomorrow().isoformat()
    r = auth.client_for("cs").post("/hotline/roster/add", data={"day": day, "half": "am", "user_id": users["cs"].id})
    assert r.status_code == 403
    assert db.session.scalar(select(DutyShift.id)) is None
    r = auth.client_for("duty_manager").post("/hotline/roster/add",
                                             data={"day": day, "half": "am", "user_id": users["cs"].id})
    assert r.status_code == 302
    db.session.expire_all()
    assert [(s.day.isoformat(), s.half, s.user_id) for s in db.session.scalars(select(DutyShift))] == \
        [(day, "am", users["cs"].id)]


def test_a_started_shift_cannot_be_changed_and_nothing_is_written(auth, users, duty_manager):
    past = (to_local(utcnow()).date() - timedelta(days=1)).isoformat()
    r = auth.client_for("duty_manager").post("/hotline/roster/add",
                                             data={"day": past, "half": "pm", "user_id": users["cs"].id})
    assert r.status_code == 409
    assert "已经开始" in r.get_data(as_text=True) or "已开始" in r.get_data(as_text=True)
    assert db.session.scalar(select(DutyShift.id)) is None


def test_only_staff_with_hotline_duty_take_duty(auth, users, duty_manager):
    # (issue 14: engineers take duty too now — 市场部 still does not)
    r = auth.client_for("duty_manager").post("/hotline/roster/add",
                                             data={"day": tomorrow().isoformat(), "half": "am",
                                                   "user_id": users["market"].id})
    assert r.status_code == 422
    assert db.session.scalar(select(DutyShift.id)) is None


def test_arranging_a_shift_settles_its_reminder(users, duty_manager):
    day = tomorrow()
    reminders.open_many([dict(key=f"duty_roster:{day.isoformat()}am", kind="duty_roster", role="duty_manager",
                              period=f"{day.isoformat()}am", due_at=utcnow())])
    roster.add_to_shift(day, "am", users["cs"].id, duty_manager)
    db.session.commit()
    r = db.session.scalar(select(Reminder).where(Reminder.kind == "duty_roster"))
    assert r.closed_at is not None


def test_roster_page_warns_when_a_shift_is_short(auth, users, duty_manager, unit_factory):
    unit_factory(status="vip", user_count=2000)  # 4 seats
    roster.add_to_shift(tomorrow(), "am", users["cs"].id, duty_manager)
    db.session.commit()
    page = auth.client_for("cs").get(f"/hotline/roster?week={tomorrow().isoformat()}").get_data(as_text=True)
    assert "1 / 4" in page or "1 of 4" in page or "4 个席位中的 1 个" in page or "已排 1" in page
    assert "cs" in page


def test_intake_form_shows_who_is_on_duty_now(auth, users, duty_manager, monkeypatch):
    today = to_local(utcnow()).date()
    db.session.add(DutyShift(day=today, half="am", user_id=users["cs"].id, created_by_id=duty_manager.id))
    db.session.commit()
    monkeypatch.setattr(roster, "current_shift", lambda now=None: (today, "am"))
    page = auth.client_for("cs").get("/tickets/new").get_data(as_text=True)
    import re

    line = re.search(r'<p class="muted on-duty">(.*?)</p>', page, re.S).group(1)
    assert line == "当前热线值班：cs"
