"""/admin/calendar: an administrator enters a year's public holidays and make-up working days, one by one or as
text; a bad line refuses the whole import (in Chinese, per line) and changes nothing; every working-day count
reads the entered days first, and the dashboard's working-day table follows them."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from portal.core import policy, workcalendar
from portal.core.timeutil import clock_set_to, from_local
from portal.extensions import db
from portal.metrics import refresh
from portal.metrics.models import WorkCalendarDay



def _entered() -> dict[date, tuple[str, str]]:
    return {d.day: (d.kind, d.name) for d in db.session.scalars(select(workcalendar.CalendarDay))}


def test_the_page_says_when_the_package_has_no_schedule_for_a_year(auth):
    page = auth.client_for("admin").get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "工作日历" in page and "日历组件没有 2027 年的安排" in page


def test_an_administrator_enters_and_removes_a_day_and_is_workday_follows_at_once(auth):
    admin = auth.client_for("admin")
    assert policy.is_workday(date(2027, 2, 8))  # a Monday, in 春节 — the fallback does not know
    r = admin.post("/admin/calendar", data={"day": "2027-02-08", "kind": "holiday", "name": "春节"})
    assert r.status_code == 303
    assert _entered() == {date(2027, 2, 8): ("holiday", "春节")}
    assert not policy.is_workday(date(2027, 2, 8))
    assert "春节" in admin.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert admin.post("/admin/calendar/2027-02-08/delete").status_code == 303
    assert _entered() == {} and policy.is_workday(date(2027, 2, 8))
    assert admin.post("/admin/calendar/2027-02-08/delete").status_code == 404


def test_a_bad_day_is_refused_in_chinese(auth):
    r = auth.client_for("admin").post("/admin/calendar", data={"day": "2027-02-30", "kind": "holiday"})
    assert r.status_code == 422 and "YYYY-MM-DD" in r.get_data(as_text=True)
    r = auth.client_for("admin").post("/admin/calendar", data={"day": "2027-02-08", "kind": "weekend"})
    assert r.status_code == 422 and 'id="kind-err"' in r.get_data(as_text=True)
    assert _entered() == {}


def test_an_import_enters_every_line(auth):
    text = "date,kind,name\n2027-02-06,holiday,春节\n2027-02-07,假日,春节\n\n# 调休\n2027-02-14,班,春节调休\n"
    r = auth.client_for("admin").post("/admin/calendar/import", data={"text": text})
    assert r.status_code == 303
    assert _entered() == {date(2027, 2, 6): ("holiday", "春节"), date(2027, 2, 7): ("holiday", "春节"),
                          date(2027, 2, 14): ("workday", "春节调休")}
    assert policy.is_workday(date(2027, 2, 14))  # a Sunday worked


def test_an_import_with_bad_lines_names_each_in_chinese_and_enters_nothing(auth):
    text = "2027-02-06,holiday,春节\n2027-13-01,holiday,x\n2027-02-08,weekend,x\n2027-02-06,holiday,again\nonly\n"
    r = auth.client_for("admin").post("/admin/calendar/import", data={"text": text})
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "未导入任何日期" in body
    for line in ("第 2 行", "第 3 行", "第 4 行", "第 5 行"):
        assert line in body
    assert "<li>第 1 行" not in body
    assert _entered() == {}


def test_the_dashboards_working_day_table_follows_the_entered_days(users):
    with clock_set_to(from_local(datetime(2026, 12, 20, 9, 0))):
        refresh.rebuild()
        db.session.commit()
        assert db.session.get(WorkCalendarDay, date(2027, 2, 8)).workday == 1
        before_march = db.session.get(WorkCalendarDay, date(2027, 3, 1)).workdays_before
        workcalendar.put([workcalendar.Entry(date(2027, 2, d), "holiday", "春节") for d in (8, 9, 10)],
                         users["admin"].id)
        db.session.commit()
        refresh.refresh()
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(WorkCalendarDay, date(2027, 2, 8)).workday == 0
    assert db.session.get(WorkCalendarDay, date(2027, 3, 1)).workdays_before == before_march - 3
    assert db.session.scalar(select(func.count()).select_from(WorkCalendarDay)
                             .where(WorkCalendarDay.day.between(date(2027, 2, 8), date(2027, 2, 10)),
                                    WorkCalendarDay.workday == 0)) == 3
