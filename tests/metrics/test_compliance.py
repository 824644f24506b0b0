"""Compliance on the dashboard: the share of each service-level promise kept, from the clocks of portal.sla.

September 2025 (local times; a clock counts in the period its limit falls in; frozen "now" 2025-10-15):

clock        subject  unit    dept  person  started          limit             stopped            counts as
onsite c1    T1       A vip   dev   e1      09-01 09:00      09-02 09:00       09-01 20:00        kept
onsite c2    T2       A vip   dev   e1      09-10 10:00      09-11 10:00       09-11 12:00        broken
onsite c3    T3       B ord   dev   e2      09-20 10:00      09-21 10:00       still running      broken (running past it)
onsite c4    T4       B ord   impl  i1      09-25 08:00      09-26 08:00       void               not counted
onsite c5    T5       B ord   impl  i1      09-29 12:00      09-30 12:00       09-29 18:00        kept
onsite c6    T6       A vip   dev   e1      09-30 20:00      10-01 20:00       10-02 09:00        October, not September
first_reply  T1       A vip   cs    —       09-01 09:00 (Mon) 09-04 09:00       09-03 10:00        kept
                                            (3 working days)

September's 24-hour on-site: kept 2, broken 2 → 50 %; dev 1 of 3, impl 1 of 1; VIP 1 of 2, ordinary 1 of 2;
e1 1 of 2, e2 0 of 1, i1 1 of 1. The clocks are declared by a test area (the real ones by the areas that
start them), so these tests measure whatever clocks the kernel holds.
"""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from portal.core import policy_store
from portal.core.policy import policy
from portal.core.timeutil import clock_set_to
from portal.extensions import db
from portal.metrics import dashboard, queries, refresh
from portal.metrics.models import ClockDaily, ClockMonthly
from portal.metrics.periods import of_kind
from portal.sla.models import ServiceClock
from tests.metrics.helpers import CLOCKS_NOW, at, start_clock as start, stop_clock as stop

SEPT = of_kind("month", date(2025, 9, 1))
OCT = of_kind("month", date(2025, 10, 1))
NOW = CLOCKS_NOW

def promise(scope, key="onsite_24h"):
    with clock_set_to(NOW):
        items = dashboard.promises(scope, [scope.period], policy())
    return next(p for p in items if p.key == key)


def test_share_kept_counts_kept_and_broken_running_past_its_limit_as_broken_and_leaves_void_out(promised):
    p = promise(queries.Scope(SEPT))
    assert p.figures == {"kept": 2, "breached": 2, "running": 0}
    assert p.share == pytest.approx(0.5)
    assert p.target == 1.0 and p.ok is False
    reply = promise(queries.Scope(SEPT), "first_reply")
    assert reply.figures == {"kept": 1, "breached": 0, "running": 0} and reply.ok is True
    # the working-day limit: Monday 09:00 + 3 working days = Thursday 09:00
    row = db.session.scalar(select(ServiceClock).where(ServiceClock.key == "first_reply"))
    assert row.due_at == at("2025-09-04 09:00")


def test_a_clock_counts_in_the_period_its_limit_falls_in(promised):
    assert promise(queries.Scope(OCT)).figures == {"kept": 0, "breached": 1, "running": 0}  # T6: due 10-01


def test_by_department_level_and_engineer(promised):
    t = promised
    p = promise(queries.Scope(SEPT))
    assert p.by_department == {"dev": {"kept": 1, "breached": 2, "running": 0},
                               "impl": {"kept": 1, "breached": 0, "running": 0}}
    assert p.by_level == {"vip": {"kept": 1, "breached": 1, "running": 0},
                          "ordinary": {"kept": 1, "breached": 1, "running": 0}}
    assert p.by_engineer == {t.e1.id: {"kept": 1, "breached": 1, "running": 0},
                             t.e2.id: {"kept": 0, "breached": 1, "running": 0},
                             t.i1.id: {"kept": 1, "breached": 0, "running": 0}}
    assert promise(queries.Scope(SEPT, department="dev")).share == pytest.approx(1 / 3)
    assert promise(queries.Scope(SEPT, level="vip")).share == pytest.approx(0.5)
    assert promise(queries.Scope(SEPT, engineer_id=t.e2.id)).share == 0.0
    assert promise(queries.Scope(SEPT, customer_id=t.B.id)).figures == {"kept": 1, "breached": 1, "running": 0}
    # a custom range reads the daily table: the same figures
    custom = queries.Scope(queries.DashPeriod("custom", date(2025, 9, 1), date(2025, 10, 1)))
    assert promise(custom).figures == {"kept": 2, "breached": 2, "running": 0}


def test_trend_over_twelve_periods(promised):
    from portal.metrics import periods

    scope = queries.Scope(OCT)
    trend_periods = periods.trend(OCT)
    with clock_set_to(NOW):
        p = next(x for x in dashboard.promises(scope, trend_periods, policy()) if x.key == "onsite_24h")
    assert len(p.trend) == 12
    assert p.trend[-2] == {"kept": 2, "breached": 2, "running": 0}  # September
    assert p.trend[-1] == {"kept": 0, "breached": 1, "running": 0}  # October
    assert all(f is None for f in p.trend[:-2])


def test_a_running_clock_counts_as_running_until_its_limit_passes_then_as_broken(promised):
    t = promised
    with clock_set_to(at("2025-10-20 10:00")):
        start("onsite_24h", t.T5, "2025-10-20 10:00", unit=t.B, department="impl", person=t.i1)
        db.session.commit()
        refresh.refresh(db.session.commit)
        db.session.commit()
        assert promise(queries.Scope(OCT)).figures == {"kept": 0, "breached": 1, "running": 1}
    with clock_set_to(at("2025-10-21 10:30")):  # its limit passed; nothing else changed
        refresh.refresh(db.session.commit)
        db.session.commit()
    assert promise(queries.Scope(OCT)).figures == {"kept": 0, "breached": 2, "running": 0}


def test_a_clock_stopped_later_with_an_earlier_time_is_picked_up_by_the_next_refresh(promised):
    t = promised
    with clock_set_to(at("2025-10-16 12:00")):
        stop("onsite_24h", t.T3, "2025-09-20 18:00", void=True)  # recorded late: the promise did not apply
        db.session.commit()
        refresh.refresh(db.session.commit)
        db.session.commit()
    assert promise(queries.Scope(SEPT)).figures == {"kept": 2, "breached": 1, "running": 0}


def test_refreshing_twice_gives_the_same_figures(promised):
    def everything():
        return [sorted((r.day, r.key, r.department, r.assignee_id, r.level, r.kept, r.breached, r.running)
                       for r in db.session.scalars(select(model))) for model in (ClockDaily, ClockMonthly)]

    before = everything()
    assert before[1]  # there is something to compare
    for _i in range(2):
        with clock_set_to(NOW):
            refresh.refresh(db.session.commit)
        db.session.commit()
        assert everything() == before
    with clock_set_to(NOW):
        refresh.rebuild(db.session.commit)
    db.session.commit()
    assert everything() == before


def test_a_policy_change_leaves_last_month_s_figures_unchanged(promised, monkeypatch):
    t = promised
    before = promise(queries.Scope(SEPT))
    monkeypatch.setenv("POLICY_ONSITE_WITHIN_HOURS", "48")
    with clock_set_to(at("2025-10-10 09:00")):
        start("onsite_24h", t.T2, "2025-10-10 09:00", unit=t.A, department="dev", person=t.e1)
        stop("onsite_24h", t.T2, "2025-10-11 15:00")  # 30 hours: within the new 48
        db.session.commit()
    with clock_set_to(NOW):
        refresh.refresh(db.session.commit)
        db.session.commit()
        refresh.rebuild(db.session.commit)
        db.session.commit()
    after = promise(queries.Scope(SEPT))
    assert (after.figures, after.by_level, after.by_engineer) == (before.figures, before.by_level, before.by_engineer)
    assert promise(queries.Scope(OCT)).figures == {"kept": 1, "breached": 1, "running": 0}


def breaking_numbers(client, url) -> list[str]:
    import re

    r = client.get(url)
    assert r.status_code == 200, r.status_code
    return sorted(re.findall(r">(T-\d{6})</a>", r.get_data(as_text=True)))


def test_drill_down_lists_exactly_the_tickets_that_broke_the_promise(promised, auth):
    t = promised
    admin = auth.client_for("admin")
    assert breaking_numbers(admin, "/metrics/clocks?period=2025-09&key=onsite_24h") == sorted([t.T2.number,
                                                                                                t.T3.number])
    assert breaking_numbers(admin, "/metrics/clocks?period=2025-09&key=onsite_24h&outcome=kept") == sorted(
        [t.T1.number, t.T5.number])
    assert breaking_numbers(admin, "/metrics/clocks?period=2025-09&key=onsite_24h&level=vip") == [t.T2.number]
    # the tile links there
    with clock_set_to(NOW), admin.application.test_request_context():
        tile = next(x for x in dashboard.build(queries.Scope(SEPT)).compliance_tiles if x.key == "clock_onsite_24h")
    assert tile.value == "50.0%" and tile.link.startswith("/metrics/clocks?")
    assert breaking_numbers(admin, tile.link) == sorted([t.T2.number, t.T3.number])


def test_drill_down_shows_a_department_manager_only_the_department_s_clocks(promised, auth):
    t = promised
    dev = auth.client_for("dev_manager")
    assert breaking_numbers(dev, "/metrics/clocks?period=2025-09&key=onsite_24h") == sorted([t.T2.number, t.T3.number])
    assert breaking_numbers(dev, "/metrics/clocks?period=2025-09&key=onsite_24h&outcome=all") == sorted(
        [t.T1.number, t.T2.number, t.T3.number])
    assert dev.get("/metrics/clocks?period=2025-09&key=onsite_24h&department=impl").status_code == 403
    impl = auth.client_for("impl_manager")
    assert breaking_numbers(impl, "/metrics/clocks?period=2025-09&key=onsite_24h&outcome=all") == [t.T5.number]
    assert auth.client_for("engineer").get("/metrics/clocks?period=2025-09&key=onsite_24h").status_code == 403


def test_drill_down_pages_by_keyset_and_refuses_nonsense(promised, auth, monkeypatch):
    from portal.metrics import routes

    monkeypatch.setattr(routes, "LIST_PAGE", 1)
    admin = auth.client_for("admin")
    html = admin.get("/metrics/clocks?period=2025-09&key=onsite_24h").get_data(as_text=True)
    assert 'rel="next"' in html
    import re

    next_url = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    seen = breaking_numbers(admin, "/metrics/clocks?period=2025-09&key=onsite_24h") + breaking_numbers(admin, next_url)
    assert sorted(seen) == sorted([promised.T2.number, promised.T3.number])
    assert admin.get("/metrics/clocks?period=2025-09&key=DROP%20TABLE").status_code == 400
    assert admin.get("/metrics/clocks?period=2025-09&key=onsite_24h&outcome=x").status_code == 400


def test_dashboard_page_shows_the_compliance_tiles_and_tables(promised, auth):
    with clock_set_to(NOW):
        html = auth.client_for("admin").get("/metrics?period=2025-09").get_data(as_text=True)
    assert 'id="tile-clock_onsite_24h"' in html and "50.0%" in html and "100.0%" in html
    assert "50.0% (1/2)" in html  # VIP row
    assert "33.3% (1/3)" in html  # development


def test_excel_export_has_the_compliance_sheets(promised, auth):
    with clock_set_to(NOW):
        r = auth.client_for("admin").get("/metrics/export.xlsx?period=2025-09")
    wb = load_workbook(io.BytesIO(r.data))
    assert "服务时限达成" in wb.sheetnames and "服务时限达成趋势" in wb.sheetnames
    rows = list(wb["服务时限达成"].iter_rows(min_row=2, values_only=True))
    total = next(r for r in rows if r[0] == "24小时上门" and r[1] == "合计")
    assert total[3:8] == (2, 2, 0, pytest.approx(0.5), 1)
    assert total[8] == "否"
    vip = next(r for r in rows if r[0] == "24小时上门" and r[2] == "VIP维护")
    assert vip[3:5] == (1, 1)
    trend = list(wb["服务时限达成趋势"].iter_rows(min_row=2, values_only=True))
    sept = next(r for r in trend if r[3] == "24小时上门" and r[0] == "2025年9月")
    assert sept[4:8] == (2, 2, 0, pytest.approx(0.5))


def test_a_promise_is_titled_with_the_limits_in_force_for_the_levels_shown(promised, auth, users):
    with clock_set_to(NOW):
        html = auth.client_for("admin").get("/metrics?period=2025-09").get_data(as_text=True)
        assert "24小时上门" in html  # every level: 24 hours
        policy_store.record(level="vip", field="onsite_within_hours", old="24", new="12", reason="VIP 承诺缩短",
                            user_id=users["admin"].id)
        db.session.commit()
        html = auth.client_for("admin").get("/metrics?period=2025-09").get_data(as_text=True)
        assert "上门（VIP维护 12小时 · 其余 24小时）" in html  # the levels differ: each said
        vip = auth.client_for("admin").get("/metrics?period=2025-09&level=vip").get_data(as_text=True)
        assert "12小时上门" in vip and "24小时上门" not in vip


def test_satisfaction_must_be_above_the_target_not_equal_to_it(app):
    assert dashboard._above(0.85, 0.85) is False
    assert dashboard._above(0.851, 0.85) is True
