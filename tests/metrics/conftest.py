"""A small hand-built data set whose figures are worked out by hand in the tests (September 2025).

Working time counts whole working days; 2025-09-06/07, 13/14, 20/21, 27 are weekend days and
2025-09-28 (Sunday) is a make-up working day; 2025-10-01…08 is the National Day holiday.

ticket  unit   dept  engineer    registered        first assigned    resolved          deadline          hours
T1      A vip  dev   engineer    09-01 Mon 09:00   09-01 11:00 (2h)  09-02 11:00 (26h) 09-03 18:00 kept  3
T2      A vip  dev   engineer    09-05 Fri 16:00   09-08 Mon 10:00   09-10 Wed 16:00   09-09 18:00 missed 5
                                                   (8h+10h = 18h)    (8+24+24+16=72h)
T3      B ord  dev   engineer2   09-10 Wed 10:00   09-10 14:00 (4h)  —                 09-12 18:00 missed (open, past)
T4      B ord  dev   —           09-15 Mon 09:00   —                 —                 —
T5      B ord  impl  impl_eng.   09-22 Mon 09:00   09-22 09:30 (.5h) 09-23 09:00 (24h) 09-25 18:00 kept  2
T7      A vip  dev   engineer2   09-25 Thu 09:00   09-25 10:00 (1h)  reopened: —       09-26 18:00 missed 1
T8      B ord  dev   —           08-10 (August: not in September)
T9      A vip  dev   —           10-09 (October)

September: raised 6, solved 3 (T1 T2 T5), response times .5 1 2 4 18 h, resolution times 24 26 72 h,
deadlines kept 2 / missed 3, hours 11.
Callbacks in September: T1 5, T2 3, B's monthly phone callback 4, A's visit (not scored), T7 2 (not solved).
Service plan due in September (due 10-01): callbacks A done, B done; visits A done (VIP, monthly),
B not done (ordinary, 2025Q3); C's callback settled because its maintenance stopped (not in the plan);
A's August callback (due 09-01) belongs to August.
Complaints in September: about T2 (handled), about unit B (open).
"""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from portal.complaints.models import Complaint
from portal.extensions import db
from portal.metrics import refresh
from portal.core.kernel import Clock, kernel
from portal.core.timeutil import clock_set_to
from tests.metrics.helpers import CLOCKS_NOW, add_callback, add_plan_item, add_ticket, at, start_clock, stop_clock


@pytest.fixture
def sept(users, unit_factory):
    A = unit_factory("vip", name="北京市第一人民医院")
    B = unit_factory("ordinary", name="上海市浦东新区财政局")
    C = unit_factory("stopped", name="杭州市西湖区税务局")
    e1, e2, i1 = users["engineer"], users["engineer2"], users["impl_engineer"]
    t = SimpleNamespace(A=A, B=B, C=C, e1=e1, e2=e2, i1=i1)
    t.T1 = add_ticket(A, "2025-09-01 09:00", assigned="2025-09-01 11:00", resolved="2025-09-02 11:00",
                      deadline="2025-09-03 18:00", hours=3, engineer=e1, closed=True)
    t.T2 = add_ticket(A, "2025-09-05 16:00", assigned="2025-09-08 10:00", resolved="2025-09-10 16:00",
                      deadline="2025-09-09 18:00", hours=5, engineer=e1)
    t.T3 = add_ticket(B, "2025-09-10 10:00", assigned="2025-09-10 14:00", deadline="2025-09-12 18:00", engineer=e2)
    t.T4 = add_ticket(B, "2025-09-15 09:00")
    t.T5 = add_ticket(B, "2025-09-22 09:00", assigned="2025-09-22 09:30", resolved="2025-09-23 09:00",
                      deadline="2025-09-25 18:00", hours=2, engineer=i1, department="impl")
    # T7 was resolved on 09-26, the callback found it unsolved, so it went back to the engineer:
    # resolved_at is cleared (as portal.tickets.workflow does), the hours stay.
    t.T7 = add_ticket(A, "2025-09-25 09:00", assigned="2025-09-25 10:00", deadline="2025-09-26 18:00", hours=1,
                      engineer=e2)
    t.T8 = add_ticket(B, "2025-08-10 09:00")
    t.T9 = add_ticket(A, "2025-10-09 09:00")
    add_callback(A, "2025-09-03 10:00", 5, ticket=t.T1)
    add_callback(A, "2025-09-11 10:00", 3, ticket=t.T2)
    add_callback(B, "2025-09-15 15:00", 4, kind="monthly")
    add_callback(A, "2025-09-16 15:00", None, kind="visit")
    add_callback(A, "2025-09-26 10:00", 2, ticket=t.T7, solved=False)
    add_plan_item(A, "monthly_callback", "2025-09", date(2025, 10, 1), done=True)
    add_plan_item(B, "monthly_callback", "2025-09", date(2025, 10, 1), done=True)
    add_plan_item(A, "visit", "2025-09", date(2025, 10, 1), done=True)
    add_plan_item(B, "visit", "2025Q3", date(2025, 10, 1), done=False)
    add_plan_item(C, "monthly_callback", "2025-09", date(2025, 10, 1), done=False, note="maintenance stopped")
    add_plan_item(A, "monthly_callback", "2025-08", date(2025, 9, 1), done=False)
    cs = users["cs"]
    db.session.add(Complaint(customer_id=A.id, ticket_id=t.T2.id, channel="phone", complainant="刘建国",
                             content="处理太慢", received_at=at("2025-09-12 10:00"), received_by_id=cs.id,
                             handler_id=users["dev_manager"].id, state="handled", handling="已与工程师沟通",
                             outcome="已道歉并加快处理", handled_at=at("2025-09-13 10:00"),
                             handled_by_id=users["dev_manager"].id))
    db.session.add(Complaint(customer_id=B.id, channel="email", complainant="孙丽", content="回访电话太多",
                             received_at=at("2025-09-20 10:00"), received_by_id=cs.id,
                             handler_id=users["market_manager"].id, state="received"))
    db.session.commit()
    refresh.rebuild(db.session.commit)
    db.session.commit()
    return t


# --- issue 15: the service-level clocks behind the compliance figures (see test_compliance.py) -----------
TEST_CLOCKS = (
    Clock("emergency_response", "Emergency response", "emergency_response_hours"),
    Clock("onsite_24h", "24-hour on-site", "onsite_within_hours"),
    Clock("first_reply", "First reply", "first_reply_working_days", unit="working_days"),
    Clock("tell_deadline", "Deadline told", "tell_deadline_within_hours"),
    Clock("callback", "Callback", "callback_within_hours"),
)


@pytest.fixture
def declared_clocks(app):
    """The five promises, declared for the test where no area of this build declares them yet."""
    added = [c.key for c in TEST_CLOCKS if c.key not in kernel.clocks]
    for c in TEST_CLOCKS:
        kernel.clocks.setdefault(c.key, c)
    yield
    for key in added:
        kernel.clocks.pop(key, None)


@pytest.fixture
def promised(declared_clocks, users, unit_factory):
    A = unit_factory("vip", name="北京市第一人民医院")
    B = unit_factory("ordinary", name="上海市浦东新区财政局")
    e1, e2, i1 = users["engineer"], users["engineer2"], users["impl_engineer"]
    t = SimpleNamespace(A=A, B=B, e1=e1, e2=e2, i1=i1)
    with clock_set_to(at("2025-09-01 09:00")):
        t.T1 = add_ticket(A, "2025-09-01 09:00", assigned="2025-09-01 10:00", engineer=e1, deadline="2025-12-31 18:00")
        t.T2 = add_ticket(A, "2025-09-10 09:00", assigned="2025-09-10 09:30", engineer=e1, deadline="2025-12-31 18:00")
        t.T3 = add_ticket(B, "2025-09-20 09:00", assigned="2025-09-20 09:30", engineer=e2, deadline="2025-12-31 18:00")
        t.T4 = add_ticket(B, "2025-09-25 07:00", assigned="2025-09-25 07:30", engineer=i1,
                          department="impl", deadline="2025-12-31 18:00")
        t.T5 = add_ticket(B, "2025-09-29 11:00", assigned="2025-09-29 11:30", engineer=i1,
                          department="impl", deadline="2025-12-31 18:00")
        t.T6 = add_ticket(A, "2025-09-30 19:00", assigned="2025-09-30 19:30", engineer=e1, deadline="2025-12-31 18:00")
        start_clock("onsite_24h", t.T1, "2025-09-01 09:00", unit=A, department="dev", person=e1)
        stop_clock("onsite_24h", t.T1, "2025-09-01 20:00")
        start_clock("onsite_24h", t.T2, "2025-09-10 10:00", unit=A, department="dev", person=e1)
        stop_clock("onsite_24h", t.T2, "2025-09-11 12:00")
        start_clock("onsite_24h", t.T3, "2025-09-20 10:00", unit=B, department="dev", person=e2)
        start_clock("onsite_24h", t.T4, "2025-09-25 08:00", unit=B, department="impl", person=i1)
        stop_clock("onsite_24h", t.T4, "2025-09-25 09:00", void=True)
        start_clock("onsite_24h", t.T5, "2025-09-29 12:00", unit=B, department="impl", person=i1)
        stop_clock("onsite_24h", t.T5, "2025-09-29 18:00")
        start_clock("onsite_24h", t.T6, "2025-09-30 20:00", unit=A, department="dev", person=e1)
        stop_clock("onsite_24h", t.T6, "2025-10-02 09:00")
        start_clock("first_reply", t.T1, "2025-09-01 09:00", unit=A, department="cs", role="cs")
        stop_clock("first_reply", t.T1, "2025-09-03 10:00")
    db.session.commit()
    with clock_set_to(CLOCKS_NOW):
        refresh.rebuild(db.session.commit)
    db.session.commit()
    return t
