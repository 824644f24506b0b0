"""Every figure of the dashboard on the hand-built September 2025 (see conftest.py for the data and
the working-out). Times are in working hours; the expected values are written out here."""
from __future__ import annotations

from datetime import date

import pytest

from portal.metrics import queries
from portal.metrics.periods import DashPeriod, of_kind, trend
from portal.metrics.queries import Scope

H = 3600
SEPT = of_kind("month", date(2025, 9, 1))


def scope(**kw) -> Scope:
    return Scope(SEPT, **kw)


def test_tickets_raised_solved_and_resolution_rate(sept):
    f = queries.totals(scope())
    assert (f["raised"], f["solved"]) == (6, 3)
    assert queries.derived(f)["resolution_rate"] == pytest.approx(0.5)


def test_a_reopened_ticket_is_not_solved_and_keeps_its_hours(sept):
    f = queries.totals(scope(engineer_id=sept.e2.id))  # T3 (open) and T7 (reopened)
    assert (f["raised"], f["solved"], f["hours"]) == (2, 0, 1.0)


def test_response_time_median_and_90th_percentile_in_working_hours(sept):
    f = queries.totals(scope())
    d = queries.durations(scope(), f)
    assert f["responded"] == 5  # T4 was never assigned
    # .5 1 2 4 18 h: median 2 h; P90 at position 3.6 → 4 + 0.6 × (18 − 4) = 12.4 h
    assert d["response_p50"] == pytest.approx(2 * H)
    assert d["response_p90"] == pytest.approx(12.4 * H)


def test_resolution_time_median_and_90th_percentile_in_working_hours(sept):
    d = queries.durations(scope(), queries.totals(scope()))
    # 24 26 72 h: median 26 h; P90 at position 1.8 → 26 + 0.8 × (72 − 26) = 62.8 h
    assert d["resolution_p50"] == pytest.approx(26 * H)
    assert d["resolution_p90"] == pytest.approx(62.8 * H)


@pytest.mark.parametrize("sort_cost", [0, 10**9])
def test_both_percentile_plans_give_the_same_answer(sept, monkeypatch, sort_cost):
    # 0: always sort the period's rows (PostgreSQL: percentile_cont); huge: always walk the value index.
    monkeypatch.setattr(queries, "SORT_COST", sort_cost)
    d = queries.durations(scope(), queries.totals(scope()))
    assert (d["response_p50"], d["response_p90"]) == pytest.approx((2 * H, 12.4 * H))
    assert (d["resolution_p50"], d["resolution_p90"]) == pytest.approx((26 * H, 62.8 * H))


def test_deadlines_kept_and_missed_including_open_tickets_past_their_deadline(sept):
    f = queries.totals(scope())
    assert (f["deadline_kept"], f["deadline_missed"]) == (2, 3)  # kept T1 T5; missed T2 (late), T3 (open), T7
    assert queries.derived(f)["deadline_kept_rate"] == pytest.approx(0.4)


def test_service_hours(sept):
    assert queries.totals(scope())["hours"] == pytest.approx(11.0)


def test_satisfaction_share_scored_4_or_5_and_mean(sept):
    f = queries.totals(scope())
    r = queries.derived(f)
    assert (f["callbacks_scored"], f["callbacks_satisfied"]) == (4, 2)  # 5 3 4 2; the visit was not scored
    assert r["satisfied_rate"] == pytest.approx(0.5)
    assert r["satisfaction_mean"] == pytest.approx(3.5)


def test_service_plan_completion_counts_what_was_due_in_the_period(sept):
    f = queries.totals(scope())
    assert (f["plan_callbacks_due"], f["plan_callbacks_done"]) == (2, 2)  # C's (maintenance stopped) is not due
    assert (f["plan_visits_due"], f["plan_visits_done"]) == (2, 1)
    august = queries.totals(Scope(of_kind("month", date(2025, 8, 1))))
    assert (august["plan_callbacks_due"], august["plan_callbacks_done"]) == (1, 0)


def test_complaints_received_open_and_handled(sept):
    assert queries.complaints(scope()) == {"received": 2, "handled": 1, "confirmed": 0, "open": 1}
    # by department: only the complaint about a development ticket
    assert queries.complaints(scope(department="dev"))["received"] == 1


def test_department_filter(sept):
    dev, impl = queries.totals(scope(department="dev")), queries.totals(scope(department="impl"))
    assert (dev["raised"], dev["solved"], impl["raised"], impl["solved"]) == (5, 2, 1, 1)
    # callbacks about development tickets only (T1 5, T2 3, T7 2); the plan belongs to no department
    assert (dev["callbacks_scored"], dev["callbacks_satisfied"]) == (3, 1)
    assert dev["plan_callbacks_due"] == 0


def test_engineer_filter_and_table(sept):
    f = queries.totals(scope(engineer_id=sept.e1.id))
    assert (f["raised"], f["solved"], f["deadline_kept"], f["deadline_missed"], f["hours"]) == (2, 2, 1, 1, 8.0)
    d = queries.durations(scope(engineer_id=sept.e1.id), f)
    assert (d["response_p50"], d["resolution_p50"]) == pytest.approx((10 * H, 49 * H))  # (2+18)/2, (26+72)/2
    table = {row["name"]: row for row in queries.by_engineer(scope())}
    assert {name: (r["raised"], r["solved"]) for name, r in table.items()} == {
        "engineer": (2, 2), "engineer2": (2, 0), "impl_engineer": (1, 1)}


def test_maintenance_level_filter_and_table(sept):
    vip = queries.totals(scope(level="vip"))
    assert (vip["raised"], vip["solved"], vip["plan_visits_due"], vip["plan_visits_done"]) == (3, 2, 1, 1)
    levels = {row["level"]: row for row in queries.by_level(scope())}
    assert levels["ordinary"]["raised"] == 3 and levels["ordinary"]["plan_visits_done"] == 0


def test_one_unit_computed_on_the_fly_matches_the_pre_aggregate(sept):
    unit = queries.totals(scope(customer_id=sept.A.id))
    assert (unit["raised"], unit["solved"], unit["hours"]) == (3, 2, 9.0)
    assert (unit["callbacks_scored"], unit["callbacks_satisfied"]) == (3, 1)  # T1 5, T2 3, T7 2
    assert unit == queries.totals(scope(level="vip"))  # A is the only VIP unit
    d = queries.durations(scope(customer_id=sept.A.id), unit)
    assert d["response_p50"] == pytest.approx(2 * H)  # 1 2 18


def test_a_custom_range_read_from_the_daily_table_equals_the_month(sept):
    custom = DashPeriod("custom", date(2025, 9, 1), date(2025, 10, 1))
    assert queries.totals(Scope(custom)) == queries.totals(scope())
    part = queries.totals(Scope(DashPeriod("custom", date(2025, 9, 1), date(2025, 9, 11))))
    assert part["raised"] == 3  # T1 T2 T3


def test_trend_over_the_last_twelve_months(sept):
    periods = trend(SEPT)
    assert periods[0].start == date(2024, 10, 1) and periods[-1].start == date(2025, 9, 1)
    rows = queries.trend(scope(), periods)
    assert [r["raised"] for r in rows] == [0] * 10 + [1, 6]
    assert queries.complaints_trend(scope(), periods) == [0] * 11 + [2]


def test_quarter_and_year(sept):
    q3 = queries.totals(Scope(of_kind("quarter", date(2025, 9, 1))))
    year = queries.totals(Scope(of_kind("year", date(2025, 1, 1))))
    assert (q3["raised"], year["raised"]) == (7, 8)


def test_a_custom_range_s_trend_is_the_twelve_months_up_to_its_last_day(sept):
    custom = DashPeriod("custom", date(2025, 9, 5), date(2025, 9, 21))
    periods = trend(custom)
    assert [p.kind for p in periods] == ["month"] * 12 and periods[-1].start == date(2025, 9, 1)
    assert [r["raised"] for r in queries.trend(Scope(custom), periods)][-2:] == [1, 6]
