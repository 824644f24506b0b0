"""Letters print the customer's own maintenance level's numbers from the policy in force (issue 15 item 4), and
the pages' labels read the policy rather than repeat the standard's numbers."""
from __future__ import annotations

import re

from portal.core import policy as pol
from portal.core import policy_store
from portal.customers import operations as cops
from portal.documents import content
from portal.documents import operations as ops
from portal.extensions import db


def set_policy(level, field, new):
    old = pol.snapshot(pol.policy_for(None if level == pol.COMPANY else level))[field]
    policy_store.record(level=level, field=field, old=str(old), new=str(new), reason="测试", user_id=None)
    db.session.commit()


def _letter_text(contact, user) -> str:
    doc = ops.request_contact_letter(contact, user)
    db.session.commit()
    return "".join(re.sub(r"<[^>]+>", "", content.build(doc).html).split())


def test_each_letter_prints_its_units_level_numbers(users, letterhead, vip_unit, unit_factory):
    set_policy("vip", "onsite_within_hours", 12)
    set_policy("vip", "emergency_response_hours", 1)
    set_policy("ordinary", "first_reply_working_days", 2)
    ordinary = unit_factory(status="ordinary", name="杭州市第三医院")
    contact = cops.add_contact(ordinary, name="王小明", department="药剂科", phone="13700137000")
    db.session.commit()

    vip = _letter_text(vip_unit.contacts[0], users["cs"])
    assert "紧急问题1小时内响应" in vip and "12小时内安排人员到达现场" in vip and "3个工作日内首次答复" in vip
    plain = _letter_text(contact, users["cs"])
    assert "紧急问题2小时内响应" in plain and "24小时内安排人员到达现场" in plain and "2个工作日内首次答复" in plain


def test_the_roster_states_the_seat_rate_and_lead_time_in_force(auth):
    page = auth.client_for("cs").get("/hotline/roster").get_data(as_text=True)
    assert "× 2‰" in page and "提前 12 小时" in page
    set_policy(pol.COMPANY, "hotline_seats_per_mille", 1.0)
    set_policy(pol.COMPANY, "duty_roster_lead_hours", 24)
    page = auth.client_for("cs").get("/hotline/roster").get_data(as_text=True)
    assert "× 1‰" in page and "提前 24 小时" in page and "2‰" not in page


def test_the_dashboard_target_reads_the_policy(auth):
    page = auth.client_for("admin").get("/metrics").get_data(as_text=True)
    assert "目标 &gt; 85.0%" in page
    set_policy(pol.COMPANY, "satisfaction_target", 0.8)
    page = auth.client_for("admin").get("/metrics").get_data(as_text=True)
    assert "目标 &gt; 80.0%" in page and "85.0%" not in page
