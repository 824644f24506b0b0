"""The service-level policy edited in the portal (issue 15 item 4): per-level values over the defaults, every
change in an append-only history with its reason, nonsense refused in Chinese with nothing changed, and every
process seeing a change at its next request."""
from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select

from portal.core import policy as pol
from portal.core import policy_store
from portal.core.policy_store import PolicyChange, PolicyValue
from portal.extensions import db


def _post(auth, **data):
    return auth.client_for("admin").post("/admin/policy", data=data)


def _changes() -> int:
    return db.session.scalar(select(func.count()).select_from(PolicyChange))


def test_without_stored_values_every_level_has_the_defaults(app):
    for level in ("vip", "ordinary", "stopped", None):
        assert pol.policy_for(level) == pol.policy()


def test_a_level_value_applies_to_that_level_only_and_is_recorded_with_its_reason(auth, users):
    r = _post(auth, field="onsite_within_hours", level="vip", value="12", reason="VIP合同承诺12小时到场")
    assert r.status_code == 302
    assert pol.policy_for("vip").onsite_within_hours == 12
    assert pol.policy_for("ordinary").onsite_within_hours == 24
    assert pol.policy_for("stopped").onsite_within_hours == 24
    assert pol.policy_for(None).onsite_within_hours == 24
    change = db.session.scalars(select(PolicyChange)).one()
    assert (change.level, change.field, change.old_value, change.new_value, change.reason, change.user_id) == \
        ("vip", "onsite_within_hours", "24", "12", "VIP合同承诺12小时到场", users["admin"].id)
    page = auth.client_for("admin").get("/admin/policy").get_data(as_text=True)
    assert "VIP合同承诺12小时到场" in page and "24 → 12" in page


def test_a_second_change_records_the_value_it_replaced(auth):
    _post(auth, field="onsite_within_hours", level="vip", value="12", reason="第一次")
    _post(auth, field="onsite_within_hours", level="vip", value="8", reason="第二次")
    rows = db.session.scalars(select(PolicyChange).order_by(PolicyChange.id)).all()
    assert [(c.old_value, c.new_value) for c in rows] == [("24", "12"), ("12", "8")]
    assert db.session.get(PolicyValue, ("vip", "onsite_within_hours")).value == "8"


def test_percent_is_entered_as_percent_and_company_wide(auth):
    assert _post(auth, field="satisfaction_target", level="all", value="90", reason="提高目标").status_code == 302
    for level in ("vip", "ordinary", None):
        assert pol.policy_for(level).satisfaction_target == pytest.approx(0.90)


def test_times_and_per_mille_are_stored(auth):
    assert _post(auth, field="shift_am_start", level="all", value="08:00", reason="提前上班").status_code == 302
    assert _post(auth, field="hotline_seats_per_mille", level="all", value="1", reason="用户增多").status_code == 302
    p = pol.policy_for(None)
    assert p.shift_am_start == time(8, 0) and p.hotline_seats_per_mille == 1.0


@pytest.mark.parametrize("field, level, value", [
    ("onsite_within_hours", "vip", "-3"),          # negative hours
    ("onsite_within_hours", "vip", "0"),           # zero hours
    ("emergency_response_hours", "ordinary", "721"),  # absurd: more than a month
    ("emergency_response_hours", "ordinary", "1.5"),  # hours are whole
    ("emergency_response_hours", "ordinary", "abc"),
    ("emergency_response_hours", "ordinary", "nan"),
    ("first_reply_working_days", "vip", "0"),      # fewer than one working day
    ("hotline_seats_per_mille", "all", "0"),       # 0 seats
    ("satisfaction_target", "all", "101"),         # over 100 %
    ("satisfaction_target", "all", "0"),           # 0 %
    ("satisfaction_target", "all", "-5"),
    ("shift_am_start", "all", "13:00"),            # starts after it ends
    ("shift_pm_start", "all", "11:00"),            # afternoon before the morning ends
    ("shift_am_end", "all", "25:00"),
    ("onsite_within_hours", "all", "12"),          # a per-level number has no company-wide value
    ("satisfaction_target", "vip", "90"),          # a company-wide number has no per-level value
    ("no_such_field", "vip", "1"),
])
def test_nonsense_is_refused_in_chinese_and_changes_nothing(auth, field, level, value):
    before = pol.policy_for(level if level in ("vip", "ordinary", "stopped") else None)
    r = _post(auth, field=field, level=level, value=value, reason="试试")
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert 'role="alert"' in body and any("\u4e00" <= ch <= "\u9fff" for ch in body.split('role="alert"')[1][:200])
    assert _changes() == 0
    assert db.session.scalar(select(func.count()).select_from(PolicyValue)) == 0
    assert pol.policy_for(level if level in ("vip", "ordinary", "stopped") else None) == before


def test_a_change_without_a_reason_is_refused(auth):
    r = _post(auth, field="onsite_within_hours", level="vip", value="12", reason="   ")
    assert r.status_code == 422 and "原因" in r.get_data(as_text=True)
    assert _changes() == 0 and pol.policy_for("vip").onsite_within_hours == 24


def test_the_same_value_again_records_nothing(auth):
    assert _post(auth, field="onsite_within_hours", level="vip", value="24", reason="不变").status_code == 302
    assert _changes() == 0


def test_the_history_is_append_only(auth):
    _post(auth, field="onsite_within_hours", level="vip", value="12", reason="原因")
    change = db.session.scalars(select(PolicyChange)).one()
    change.reason = "改写历史"
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalars(select(PolicyChange)).one())
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()


def test_the_history_pages_by_keyset(auth):
    for i in range(3):
        _post(auth, field="callback_within_hours", level="ordinary", value=str(10 + i), reason=f"第{i}次")
    from portal.admin import policy as policy_ops

    first, _ = policy_ops.history(None, size=2)
    assert [c.new_value for c in first.rows] == ["12", "11"] and first.next_cursor
    second, _ = policy_ops.history(first.next_cursor, size=2)
    assert [c.new_value for c in second.rows] == ["10"] and second.next_cursor is None


def test_another_process_sees_a_change_at_its_next_request(app, auth):
    """A process that cached the values before another one changed them: its next request (a new app
    context, as gunicorn and each RQ job have) reads the newest version."""
    assert pol.policy_for("vip").onsite_within_hours == 24  # cached here
    policy_store.record(level="vip", field="onsite_within_hours", old="24", new="6", reason="另一个进程",
                        user_id=None)
    db.session.commit()
    app.extensions["policy_store"].update(version="stale-from-before", values={}, checked=0.0)  # as the other
    with app.app_context():  # the next request or job
        assert pol.policy_for("vip").onsite_within_hours == 6
