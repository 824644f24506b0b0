"""Hotline rules enforced (issue 15 item 6): a shift staffed below the policy's seats (not only an empty one)
reminds the duty manager half a day ahead, once; the duty manager manages the roster with its own permission
(no 客服 role needed, and the hotline records stay 客服's); staff on duty check in (签到) — only themselves,
only around their shift, only once — and whoever has not checked in 10 minutes into the shift is reported to
the duty manager, once per shift and person; the roster shows each shift's check-ins."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.auth.operations import create_user
from portal.core.enums import Role
from portal.core.policy import policy
from portal.core.timeutil import clock_set_to
from portal.extensions import db
from portal.hotline import jobs, roster
from portal.hotline.models import DutyShift
from portal.notifications.models import Notification
from tests.conftest import PASSWORD
from tests.jobs.helpers import local, reminders

FRIDAY = date(2026, 11, 27)  # a working day
EVE = local(2026, 11, 26, 21)  # Thursday 21:00: Friday's morning shift (08:30) is 11.5 hours away


@pytest.fixture
def duty_manager(users):
    """A 值班经理 who is not 客服 (issue 15: the roster is theirs by its own permission)."""
    u = create_user("duty_manager", PASSWORD, "值班经理", [Role.DUTY_MANAGER], "cs")
    db.session.commit()
    return u


@pytest.fixture
def ten_seats(unit_factory):
    unit_factory(user_count=5000)  # 5000 users × 2‰ = 10 seats
    assert roster.seats_needed() == 10


@pytest.fixture
def staff(users):
    people = [users["cs"], users["engineer"], users["engineer2"], users["impl_engineer"], users["impl_engineer2"]]
    for i in range(5):
        people.append(create_user(f"duty{i}", PASSWORD, f"值班{i}", [Role.CS], "cs"))
    db.session.commit()
    return people


def put_on(day, half, people, by):
    for p in people:
        db.session.add(DutyShift(day=day, half=half, user_id=p.id, created_by_id=by.id))
    db.session.commit()


# --- seats ---------------------------------------------------------------------------------------------

def test_a_shift_with_one_of_ten_seats_reminds_the_duty_manager_once(users, duty_manager, ten_seats, staff):
    put_on(FRIDAY, "am", staff[:1], duty_manager)
    assert jobs.sweep(EVE)["duty_roster"] == 1
    assert jobs.sweep(EVE + timedelta(minutes=30))["duty_roster"] == 0  # a second run: nothing new
    [r] = [r for r in reminders(kind="duty_roster") if r.period == "2026-11-27am"]
    assert (r.role, r.closed_at) == ("duty_manager", None)
    assert r.due_at == local(2026, 11, 26, 20, 30)  # half a day (duty_roster_lead_hours) before the shift


def test_the_reminder_stays_until_every_seat_is_taken(users, duty_manager, ten_seats, staff):
    put_on(FRIDAY, "am", staff[:1], duty_manager)
    jobs.sweep(EVE)
    db.session.commit()
    with clock_set_to(EVE):
        for p in staff[1:9]:
            roster.add_to_shift(FRIDAY, "am", p.id, duty_manager)
        db.session.commit()
        assert [r.closed_at for r in reminders(kind="duty_roster", period="2026-11-27am")] == [None]  # 9 of 10
        roster.add_to_shift(FRIDAY, "am", staff[9].id, duty_manager)
        db.session.commit()
    [r] = reminders(kind="duty_roster", period="2026-11-27am")
    assert r.closed_at is not None and r.closed_note == "roster set"


def test_a_shift_that_starts_short_closes_its_reminder_on_record(users, duty_manager, ten_seats, staff):
    put_on(FRIDAY, "am", staff[:3], duty_manager)
    jobs.sweep(EVE)
    jobs.sweep(local(2026, 11, 27, 8, 31))
    db.session.commit()
    [r] = reminders(kind="duty_roster", period="2026-11-27am")
    assert r.closed_note == "shift started short of seats"


def test_the_roster_reads_the_seats_figure_from_the_policy(auth, duty_manager, unit_factory, monkeypatch):
    unit_factory(user_count=5000)
    monkeypatch.setenv("POLICY_HOTLINE_SEATS_PER_MILLE", "1")
    page = auth.client_for("duty_manager").get("/hotline/roster").get_data(as_text=True)
    assert "5000 × 1‰ = 5" in page and "2‰" not in page


# --- the duty manager's own permission --------------------------------------------------------------------

def test_a_duty_manager_without_cs_manages_the_roster_but_not_the_hotline_records(auth, users, duty_manager):
    c = auth.client_for("duty_manager")
    assert c.get("/hotline/roster").status_code == 200
    assert c.get("/hotline/roster", headers={"HX-Request": "true"}).status_code == 200
    for url in ("/hotline", "/hotline/new", "/hotline/1"):
        assert c.get(url).status_code == 403, url
    day = FRIDAY + timedelta(days=7)
    with clock_set_to(EVE):
        r = c.post("/hotline/roster/add", data={"day": day.isoformat(), "half": "am", "user_id": users["engineer"].id})
    assert r.status_code == 302
    assert db.session.scalar(select(DutyShift.user_id).where(DutyShift.day == day)) == users["engineer"].id
    menu = c.get("/").get_data(as_text=True)
    assert 'href="/hotline/roster"' in menu and 'href="/hotline"' not in menu


# --- check-in ----------------------------------------------------------------------------------------

def shift_of(user, half="am", day=FRIDAY) -> DutyShift:
    db.session.expire_all()
    return db.session.scalar(select(DutyShift).where(DutyShift.day == day, DutyShift.half == half,
                                                     DutyShift.user_id == user.id))


def test_the_person_on_duty_checks_in_from_home_once(auth, users, duty_manager):
    put_on(FRIDAY, "am", [users["engineer"]], duty_manager)
    c = auth.client_for("engineer")
    s = shift_of(users["engineer"])
    with clock_set_to(local(2026, 11, 27, 7, 30)):  # an hour before: not yet
        assert "q-my-shift" not in c.get("/").get_data(as_text=True)
        c.post(f"/hotline/duty/{s.id}/check-in")
        assert shift_of(users["engineer"]).checked_in_at is None
    with clock_set_to(local(2026, 11, 27, 8, 22)):  # just before the shift
        home = c.get("/").get_data(as_text=True)
        assert "我的热线值班" in home and f"/hotline/duty/{s.id}/check-in" in home
        r = c.post(f"/hotline/duty/{s.id}/check-in", data={"go": "/"})
        assert r.status_code == 302
        assert shift_of(users["engineer"]).checked_in_at == local(2026, 11, 27, 8, 22)
        assert "已于 08:22 签到" in c.get("/").get_data(as_text=True)
    with clock_set_to(local(2026, 11, 27, 9)):
        c.post(f"/hotline/duty/{s.id}/check-in")  # twice: refused, the first time stands
        assert shift_of(users["engineer"]).checked_in_at == local(2026, 11, 27, 8, 22)
        assert "您已为该班次签到" in c.get("/").get_data(as_text=True)


def test_nobody_checks_in_for_someone_else(auth, users, duty_manager):
    put_on(FRIDAY, "am", [users["engineer"]], duty_manager)
    s = shift_of(users["engineer"])
    with clock_set_to(local(2026, 11, 27, 8, 25)):
        assert auth.client_for("engineer2").post(f"/hotline/duty/{s.id}/check-in").status_code == 404
        assert auth.client_for("cs").post(f"/hotline/duty/{s.id}/check-in").status_code == 404
        assert auth.client_for("market").post(f"/hotline/duty/{s.id}/check-in").status_code == 403  # no duty at all
    assert shift_of(users["engineer"]).checked_in_at is None


def test_a_missing_check_in_reminds_the_duty_manager_once_per_shift_and_person(users, duty_manager):
    put_on(FRIDAY, "am", [users["cs"], users["engineer"], users["engineer2"]], duty_manager)
    with clock_set_to(local(2026, 11, 27, 8, 25)):
        roster.check_in(shift_of(users["cs"]).id, users["cs"])
        db.session.commit()
    assert jobs.sweep_check_ins(local(2026, 11, 27, 8, 39))["duty_check_in"] == 0  # 9 minutes in: still time
    assert jobs.sweep_check_ins(local(2026, 11, 27, 8, 40))["duty_check_in"] == 2
    db.session.commit()
    assert jobs.sweep_check_ins(local(2026, 11, 27, 8, 50))["duty_check_in"] == 0  # a second run: nothing new
    db.session.commit()
    rows = reminders(kind="duty_check_in")
    assert {r.key for r in rows} == {f"duty_check_in:2026-11-27am:{users['engineer'].id}",
                                     f"duty_check_in:2026-11-27am:{users['engineer2'].id}"}
    assert {r.role for r in rows} == {"duty_manager"}
    notes = list(db.session.scalars(select(Notification).where(Notification.kind == "duty_check_in")))
    assert {n.user_id for n in notes} == {duty_manager.id} and len(notes) == 2
    assert {n.text.split(" · ")[0] for n in notes} == {"engineer", "engineer2"}
    # a late check-in settles that person's reminder; the shift's end closes the other, on record
    with clock_set_to(local(2026, 11, 27, 9, 5)):
        roster.check_in(shift_of(users["engineer"]).id, users["engineer"])
        db.session.commit()
    assert jobs.sweep_check_ins(local(2026, 11, 27, 12))["settled"] == 1
    db.session.commit()
    notes = {r.key.rsplit(":", 1)[1]: r.closed_note for r in reminders(kind="duty_check_in")}
    assert notes == {str(users["engineer"].id): "checked in",
                     str(users["engineer2"].id): "shift ended without check-in"}
    assert jobs.sweep_check_ins(local(2026, 11, 27, 14))["duty_check_in"] == 0  # the afternoon has nobody


def test_the_roster_shows_each_shifts_check_ins(auth, users, duty_manager):
    put_on(FRIDAY, "am", [users["cs"], users["engineer"]], duty_manager)
    with clock_set_to(local(2026, 11, 27, 8, 27)):
        roster.check_in(shift_of(users["cs"]).id, users["cs"])
        db.session.commit()
    with clock_set_to(local(2026, 11, 27, 8, 45)):
        page = auth.client_for("duty_manager").get("/hotline/roster").get_data(as_text=True)
    cell = page.split('id="shift-2026-11-27-am"')[1].split("</td>")[0]
    assert "✓ 08:27" in cell and "未签到" in cell
    assert "签到</button>" not in cell  # the duty manager checks in nobody


def test_the_grace_time_comes_from_the_policy():
    assert policy().check_in_grace_minutes == 10
