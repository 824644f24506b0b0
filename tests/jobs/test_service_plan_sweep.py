"""The service plan's sweep walked through 2026 day by day, the date passed explicitly (a frozen
clock): monthly callbacks, on-site visits and summaries per maintenance level, created once per
period and settled by the matching record."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from portal.core.enums import CallbackKind
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.notifications.models import Reminder
from portal.service_plan import operations
from portal.core.timeutil import today_local
from portal.service_plan.jobs import sweep
from portal.tickets.models import Callback
from tests.jobs.helpers import days, local, periods_of, reminders, set_columns

MONTHS_2026 = {f"2026-{m:02d}" for m in range(1, 13)}
QUARTERS_2026 = {f"2026Q{q}" for q in range(1, 5)}


def walk(start: date, end: date, step: int = 7) -> dict[str, int]:
    """Run the sweep weekly (or every `step` days) from start to end; return what it created in total.
    A week is shorter than any period, so a weekly walk meets every month."""
    total: dict[str, int] = {}
    for d in days(start, end, step):
        for k, v in sweep(today=d).items():
            total[k] = total.get(k, 0) + v
        db.session.commit()
    return total


def reminder_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Reminder))


def test_monthly_callback_is_due_every_month_for_vip_and_ordinary_and_never_for_stopped(units):
    walk(date(2026, 1, 1), date(2026, 12, 31))
    assert periods_of("monthly_callback", units["vip"].id) == MONTHS_2026
    assert periods_of("monthly_callback", units["ordinary"].id) == MONTHS_2026
    assert reminders(customer_id=units["stopped"].id) == []
    for r in reminders(kind="monthly_callback"):
        assert r.role == "cs" and r.closed_at is None


def test_onsite_visit_is_due_monthly_for_vip_and_quarterly_for_ordinary(units):
    walk(date(2026, 1, 1), date(2026, 12, 31))
    assert periods_of("visit", units["vip"].id) == MONTHS_2026
    assert periods_of("visit", units["ordinary"].id) == QUARTERS_2026
    assert periods_of("visit", units["stopped"].id) == set()


def test_summary_is_due_after_each_quarter_and_year_for_vip_and_after_each_year_for_ordinary(units):
    # Into January 2027, so that 2026's last quarter and the year 2026 are over.
    walk(date(2026, 1, 1), date(2027, 1, 5))
    # The units exist since December 2025: 2025's last quarter and year are summarised too.
    assert periods_of("summary", units["vip"].id) == {"2025Q4", *QUARTERS_2026, "2025", "2026"}
    assert periods_of("summary", units["ordinary"].id) == {"2025", "2026"}
    assert periods_of("summary", units["stopped"].id) == set()


def test_each_reminder_appears_on_the_first_day_of_its_period_and_is_due_at_its_end(units):
    vip = units["vip"].id
    walk(date(2026, 3, 25), date(2026, 3, 31))
    assert "2026-04" not in periods_of("monthly_callback", vip)
    sweep(today=date(2026, 4, 1))
    db.session.commit()
    april = reminders(kind="monthly_callback", customer_id=vip, period="2026-04")
    assert len(april) == 1
    assert april[0].due_at == local(2026, 5, 1)  # the end of April in Shanghai
    q2 = reminders(kind="visit", customer_id=units["ordinary"].id, period="2026Q2")
    assert len(q2) == 1 and q2[0].due_at == local(2026, 7, 1)


def test_sweep_run_twice_creates_nothing_new(units):
    first = walk(date(2026, 1, 1), date(2027, 1, 5), step=1)  # every day: 370 runs
    count = reminder_count()
    assert sum(v for k, v in first.items() if k != "settled") == count > 0
    second = walk(date(2026, 1, 1), date(2027, 1, 5), step=3)
    assert all(v == 0 for v in second.values()), second
    assert reminder_count() == count


def test_a_unit_is_in_the_plan_only_from_the_month_it_was_added(units, unit_factory):
    late = unit_factory(status="vip")
    set_columns(CustomerUnit, late.id, created_at=local(2026, 6, 15, 9))
    walk(date(2026, 1, 1), date(2026, 12, 31))
    assert periods_of("monthly_callback", late.id) == {f"2026-{m:02d}" for m in range(6, 13)}
    assert periods_of("summary", late.id) == {"2026Q2", "2026Q3"}


def record(unit, kind, users, when):
    cb = operations.record(unit, kind, users["cs"], method="phone", contact_person="刘建国", outcome="使用正常",
                           satisfaction=5, made_at=when)
    db.session.commit()
    return cb


def test_recording_a_monthly_callback_settles_that_months_reminder_only(units, users):
    vip = units["vip"]
    walk(date(2026, 2, 1), date(2026, 3, 5))
    record(vip, CallbackKind.MONTHLY.value, users, local(2026, 3, 5, 10))
    closed = {r.period: r.closed_at for r in reminders(kind="monthly_callback", customer_id=vip.id)}
    assert closed["2026-03"] is not None
    assert closed["2026-02"] is None  # last month's callback is still missing
    assert all(r.closed_at is None for r in reminders(kind="visit", customer_id=vip.id))
    # The rest of March's sweeps leave it closed and create no second one.
    walk(date(2026, 3, 6), date(2026, 3, 31))
    march = reminders(kind="monthly_callback", customer_id=vip.id, period="2026-03")
    assert len(march) == 1 and march[0].closed_at is not None


def test_a_done_visit_settles_the_visit_of_its_period(units, users):
    # issue 15: only a done on-site visit (portal/visits, arrival recorded) settles it, never a phone record
    from tests.visits.helpers import done_plan_visit

    ordinary, vip = units["ordinary"], units["vip"]
    walk(date(2026, 4, 1), date(2026, 5, 10))
    done_plan_visit(ordinary, users, local(2026, 5, 10, 9))
    done_plan_visit(vip, users, local(2026, 5, 10, 10))
    assert reminders(kind="visit", customer_id=ordinary.id, period="2026Q2")[0].closed_at is not None
    vip_visits = {r.period: r.closed_at for r in reminders(kind="visit", customer_id=vip.id)}
    assert vip_visits["2026-05"] is not None and vip_visits["2026-04"] is None
    # The monthly phone callback is a different duty: still open.
    assert reminders(kind="monthly_callback", customer_id=ordinary.id, period="2026-05")[0].closed_at is None


def test_sweep_settles_a_reminder_whose_callback_exists(units, users):
    ordinary = units["ordinary"]
    walk(date(2026, 7, 1), date(2026, 7, 3))
    assert reminders(kind="monthly_callback", customer_id=ordinary.id, period="2026-07")[0].closed_at is None
    # A callback recorded without going through service_plan.operations (e.g. imported).
    db.session.add(Callback(kind=CallbackKind.MONTHLY.value, customer_id=ordinary.id, method="phone",
                            contact_person="王芳", outcome="正常", made_by_id=users["cs"].id,
                            made_at=local(2026, 7, 3, 9)))
    db.session.commit()
    result = sweep(today=date(2026, 7, 4))
    db.session.commit()
    assert result["settled"] == 1
    july = reminders(kind="monthly_callback", customer_id=ordinary.id, period="2026-07")
    assert july[0].closed_at is not None and july[0].closed_note == "recorded"


def test_a_callback_made_before_the_sweep_means_the_month_is_never_left_open(units, users):
    vip = units["vip"]
    record(vip, CallbackKind.MONTHLY.value, users, local(2026, 8, 1, 9))
    sweep(today=date(2026, 8, 1))
    db.session.commit()
    assert [r.closed_at is not None for r in reminders(kind="monthly_callback", customer_id=vip.id)] == [True]


def test_sweep_without_a_date_works_for_today_in_shanghai(unit_factory):
    unit = unit_factory(status="ordinary")
    created = sweep()
    db.session.commit()
    assert created["monthly_callback"] == 1
    today = today_local()
    assert periods_of("monthly_callback", unit.id) == {f"{today.year}-{today.month:02d}"}


def change_level(unit, to, users):
    from portal.customers.operations import change_status

    change_status(db.session.get(CustomerUnit, unit.id), to, "合同变更", users["market_manager"])
    db.session.commit()


def test_reminders_of_a_unit_whose_maintenance_stopped_are_closed_by_the_next_sweep(units, users):
    # 客服 can no longer record a callback for a stopped unit, so nothing else could close them.
    ordinary = units["ordinary"]
    walk(date(2026, 5, 1), date(2026, 5, 3))
    change_level(ordinary, "stopped", users)
    walk(date(2026, 5, 4), date(2026, 6, 10))
    plan = [r for r in reminders(customer_id=ordinary.id) if r.kind in ("monthly_callback", "visit")]
    assert {(r.kind, r.period) for r in plan} == {("monthly_callback", "2026-05"), ("visit", "2026Q2")}
    assert all(r.closed_at is not None and r.closed_note == "maintenance stopped" for r in plan)
    # The summary of the year it was still under maintenance stays due.
    assert [(r.period, r.closed_at) for r in reminders(kind="summary", customer_id=ordinary.id)] == [("2025", None)]


def test_visit_reminder_follows_a_change_of_maintenance_level(units, users):
    vip, ordinary = units["vip"], units["ordinary"]
    walk(date(2026, 5, 1), date(2026, 5, 3))
    change_level(vip, "ordinary", users)
    change_level(ordinary, "vip", users)
    walk(date(2026, 5, 4), date(2026, 5, 10))
    open_visits = {u: {r.period for r in reminders(kind="visit", customer_id=units[u].id) if r.closed_at is None}
                   for u in ("vip", "ordinary")}
    assert open_visits == {"vip": {"2026Q2"}, "ordinary": {"2026-05"}}
