"""The service plan's record forms: the browser leaves validation to the portal (novalidate), and an empty
submit is answered with the portal's Chinese messages, nothing recorded."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.extensions import db
from portal.tickets.models import Callback


def test_the_record_forms_leave_validation_to_the_portal(auth, unit_factory):
    unit_factory(status="vip")
    html = auth.client_for("cs").get("/service-plan").get_data(as_text=True)
    forms = re.findall(r"<form\b[^>]*service-plan/\d+/record[^>]*>", html, re.S)
    assert forms and all(re.search(r"\snovalidate\b", f) for f in forms)


def test_an_empty_record_is_answered_in_chinese_and_nothing_is_recorded(auth, unit_factory):
    unit = unit_factory(status="vip")
    r = auth.client_for("cs").post(f"/service-plan/{unit.id}/record", headers={"HX-Request": "true"},
                                   data={"kind": "monthly", "method": "phone", "contact_person": "", "outcome": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Please fill out this field" not in html and re.search(r"[\u4e00-\u9fff]", html)
    assert "此项必填" in html or "请填写" in html
    assert db.session.scalar(select(func.count()).select_from(Callback)) == 0
