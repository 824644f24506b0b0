"""What the visit report (上门服务报告) says, read when the archive's job renders it (portal/documents)."""
from __future__ import annotations

from sqlalchemy import select

from portal.core.timeutil import to_local
from portal.extensions import db
from portal.visits.models import Visit, VisitEvent, VisitOrigin

ORIGIN_TITLE = {VisitOrigin.TICKET.value: "问题处理上门", VisitOrigin.PLAN.value: "维护计划上门"}
DEPARTMENT_TITLE = {"dev": "开发部", "impl": "实施部"}


def report_context(visit_id: int) -> dict:
    visit = db.session.get(Visit, visit_id)
    events = list(db.session.scalars(select(VisitEvent).where(VisitEvent.visit_id == visit_id).order_by(VisitEvent.id)))
    people = [visit.engineer.display_name] if visit.engineer else []
    people += [c.user.display_name for c in visit.companions]
    return dict(visit=visit, events=events, people=people, origin_title=ORIGIN_TITLE[visit.origin],
                department_title=DEPARTMENT_TITLE.get(visit.department, visit.department),
                day=to_local(visit.arrived_at or visit.needed_at).strftime("%Y-%m-%d"))
