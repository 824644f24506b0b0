"""Walking a visit through its steps at set moments (frozen clocks), as the people would."""
from __future__ import annotations

from datetime import datetime, timedelta

from portal.core.timeutil import clock_set_to
from portal.extensions import db
from portal.tickets.operations import take_action
from portal.visits import operations as ops
from portal.visits.models import Visit


def need_onsite(ticket, actor, at: datetime, reason: str = "远程无法连接服务器，需要现场处理") -> Visit:
    with clock_set_to(at):
        take_action(ticket, "need_onsite", actor, {"reason": reason})
        db.session.commit()
    return ops.open_visit_of_ticket(ticket.id)


def book(visit: Visit, actor, engineer, at: datetime, appointment: datetime | None = None) -> None:
    with clock_set_to(at):
        ops.book(visit, actor, appointment_at=appointment or at + timedelta(hours=1), engineer_id=engineer.id,
                 customer_contact="张建华", note="已电话约定")
        db.session.commit()


def finish(visit: Visit, engineer, start: datetime, *, arrive_after: timedelta = timedelta(hours=2)) -> Visit:
    """Depart at `start`, arrive `arrive_after` later, do every checklist item, be confirmed, leave."""
    with clock_set_to(start):
        ops.depart(visit, engineer)
        db.session.commit()
    arrived = start + arrive_after
    with clock_set_to(arrived):
        ops.arrive(visit, engineer)
        db.session.commit()
    with clock_set_to(arrived + timedelta(hours=1)):
        ops.record_work(visit, engineer, done=[i["key"] for i in visit.checklist], notes={},
                        result="已完成数据库清理和备份检查，系统运行正常")
        ops.confirm(visit, engineer, name="张建华", text="服务完成，情况属实")
        ops.leave(visit, engineer)
        db.session.commit()
    return visit


def done_plan_visit(unit, users, at: datetime) -> Visit:
    """A service-plan maintenance visit to `unit`, planned and done from `at` on (its period: at's)."""
    with clock_set_to(at):
        visit = ops.plan_visit(unit, users["cs"])
        db.session.commit()
    book(visit, users["cs"], users["impl_engineer"], at)
    return finish(visit, users["impl_engineer"], at + timedelta(hours=1))
