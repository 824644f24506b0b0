"""客服's home lists the open monthly callback reminders (issue 14): not only under 通知. Each links to
its unit's row of the service plan; the count is capped like a queue's; other roles do not get the section."""
from __future__ import annotations

from portal.extensions import db


def sweep():
    from portal.service_plan.jobs import sweep as plan_sweep

    plan_sweep()
    db.session.commit()


def test_cs_home_lists_open_monthly_callbacks_linking_to_the_plan_row(auth, unit_factory):
    unit = unit_factory(name="回访测试医院")
    sweep()
    body = auth.client_for("cs").get("/").get_data(as_text=True)
    section = body.split('id="q-monthly-callbacks"', 1)[1].split("</section>", 1)[0]
    assert "回访测试医院" in section
    assert f"#unit-{unit.id}" in section and "/service-plan" in section
    assert 'href="#q-monthly-callbacks"' in body  # in the queue summary too


def test_a_settled_callback_leaves_the_home(auth, unit_factory):
    from sqlalchemy import update

    from portal.core.timeutil import utcnow
    from portal.notifications.models import Reminder

    unit_factory(name="已回访医院")
    sweep()
    db.session.execute(update(Reminder).where(Reminder.kind == "monthly_callback").values(closed_at=utcnow()))
    db.session.commit()
    body = auth.client_for("cs").get("/").get_data(as_text=True)
    assert "已回访医院" not in body.split('id="q-monthly-callbacks"', 1)[1].split("</section>", 1)[0]


def test_other_roles_have_no_monthly_callback_section(auth, unit_factory):
    unit_factory()
    sweep()
    for role in ("engineer", "dev_manager", "market"):
        assert 'id="q-monthly-callbacks"' not in auth.client_for(role).get("/").get_data(as_text=True), role
