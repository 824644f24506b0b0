"""The maintenance summary's figures (computed in SQL) and the PDF that states them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale

from portal.core.enums import State, TicketType
from portal.documents import operations as ops
from portal.documents import summary
from portal.extensions import db
from portal.service_plan import periods
from portal.core.timeutil import today_local
from tests.documents.helpers import document, flat, pdf_bytes, pdf_text, run_burst_worker


def test_summary_figures_are_computed_from_the_quarters_tickets_and_callbacks(vip_unit, quarter_of_work):
    f = summary.compute(vip_unit.id, quarter_of_work, "vip")
    assert f.raised == 4 and f.solved == 3 and f.resolution_rate == pytest.approx(0.75)
    assert f.by_type_state == {("maintenance", "closed"): 1, ("maintenance", "resolved"): 1,
                               ("consultation", "closed"): 1, ("requirement", "registered"): 1}
    assert f.avg_response_hours == pytest.approx(3.0, abs=0.01)       # (2 + 4) / 2
    assert f.avg_resolution_hours == pytest.approx(15.0, abs=0.01)    # (10 + 30 + 5) / 3
    assert (f.deadline_kept, f.deadline_total) == (1, 2)
    assert f.callbacks == {"ticket": 1, "monthly": 1, "visit": 2}
    assert (f.planned_monthly, f.planned_visits) == (3, 3)            # VIP: monthly visits
    assert f.visits_done == {"plan": 1, "ticket": 1}                  # on-site records done in the quarter
    assert f.maintenance_visits == 3                                  # + the 2 recorded as callbacks before
    assert (f.scored, f.satisfied) == (2, 1) and f.avg_satisfaction == pytest.approx(4.0)
    assert [t.summary for t in f.tickets] == ["打印机无法打印", "报表导出乱码", "如何导出月报", "新增统计报表"]


def test_summary_pdf_states_the_figures(users, letterhead, vip_unit, quarter_of_work):
    q = quarter_of_work
    doc = ops.request_summary(vip_unit, q.key, users["cs"])
    db.session.commit()
    run_burst_worker()
    doc = document(doc.id)
    assert doc.status == "ready", doc.error
    t = flat(pdf_text(pdf_bytes(doc)))
    quarter_name = "一二三四"[int(q.key[-1]) - 1]
    assert f"{q.start.year}年第{quarter_name}季度维护总结" in t
    assert "维护等级VIP维护" in t
    last_day = q.end - timedelta(days=1)
    assert f"统计期间{q.start.year}年{q.start.month}月1日至{last_day.year}年{last_day.month}月{last_day.day}日" in t
    assert "本期共登记问题4个，已解决3个，问题解决率75.0%" in t
    assert "平均响应时间3.0小时（登记至分派）" in t
    assert "平均解决时间15.0小时（登记至解决）" in t
    assert "按期解决1/2（50.0%）" in t
    visits = t[t.index("三、"):t.index("四、")]
    assert "电话回访（每月）13" in visits
    assert "上门维护巡检33" in visits
    assert "问题上门处理1—" in visits
    assert "问题解决后回访1—" in visits
    assert "满意率50.0%（目标85.0%，未达标）" in t
    assert "报表导出乱码" in t and "上季度的问题" not in t
    # tickets by type and state, in the enums' Chinese titles: 1 closed and 1 awaiting callback …
    # (columns: the states that occur, in workflow order — to analyse, awaiting callback, closed)
    with force_locale("zh_CN"):
        title = {k: str(k.title) for k in (*TicketType, State.REGISTERED, State.RESOLVED, State.CLOSED)}
    table = t[t.index("二、"):t.index("问题解决率75.0%（3/4）")]
    assert f"问题类型{title[State.REGISTERED]}{title[State.RESOLVED]}{title[State.CLOSED]}合计" in table
    assert f"{title[TicketType.MAINTENANCE]}0112" in table
    assert f"{title[TicketType.REQUIREMENT]}1001" in table
    assert f"{title[TicketType.CONSULTATION]}0011" in table
    assert "合计1124" in table


@pytest.mark.parametrize("satisfied, met", [(17, False), (18, True)])
def test_summary_satisfaction_meets_the_target_only_above_it(satisfied, met):
    f = summary.Figures(period=periods.quarter(today_local()), scored=20, satisfied=satisfied)
    assert f.satisfaction_target == pytest.approx(0.85)
    assert f.satisfaction_met is met  # 17 / 20 = 85 % exactly: not above 85 %, so not met


def test_summary_of_a_period_not_yet_started_is_refused(users, vip_unit):
    nxt = periods.quarter(periods.quarter(today_local()).end)
    with pytest.raises(ops.DocumentError):
        ops.request_summary(vip_unit, nxt.key, users["cs"])
    with pytest.raises(ops.DocumentError):
        ops.request_summary(vip_unit, "2026Q5", users["cs"])
