"""Hand-built data for the metrics tests: rows with the exact times a test needs.

Times are written as local (Asia/Shanghai) wall-clock strings and stored as naive UTC, as the
portal stores them. Each ticket's state is the one its timestamps imply, so every CHECK holds.
"""
from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal

from portal.core.policy import policy
from portal.core.timeutil import from_local
from portal.sla import clocks
from portal.extensions import db
from portal.notifications.models import Reminder
from portal.tickets.models import Callback, Ticket, TicketAssignee

_numbers = itertools.count(1)


def at(local: str) -> datetime:
    """'2025-09-30 18:00' in Shanghai → naive UTC."""
    return from_local(datetime.fromisoformat(local))


def add_ticket(unit, created: str, *, assigned: str | None = None, resolved: str | None = None,
               deadline: str | None = None, hours: float | None = None, engineer=None, department: str = "dev",
               type: str = "maintenance", closed: bool = False) -> Ticket:
    created_at = at(created)
    if resolved:
        state = "closed" if closed else "callback_done"
    elif assigned:
        state = "assigned"
    else:
        state = "registered"
    t = Ticket(
        number=f"T-{next(_numbers):06d}", type=type, channel="hotline", state=state,
        close_reason="solved" if state == "closed" else None, customer_id=unit.id,
        reporter_name="刘建国", reporter_dept="信息科", reporter_phone="13800138000", summary="打印机无法打印",
        handling_department=department, assignee_id=engineer.id if engineer and assigned else None,
        deadline=at(deadline) if deadline else None, created_at=created_at, updated_at=created_at,
        first_assigned_at=at(assigned) if assigned else None, assigned_at=at(assigned) if assigned else None,
        resolved_at=at(resolved) if resolved else None, closed_at=at(resolved) if closed else None,
        hours_spent=Decimal(str(hours)) if hours is not None else None,
    )
    db.session.add(t)
    db.session.flush()
    if engineer and assigned:
        db.session.add(TicketAssignee(ticket_id=t.id, user_id=engineer.id))
    return t


def add_callback(unit, made: str, satisfaction: int | None, *, ticket=None, kind: str = "ticket",
                 solved: bool | None = True) -> Callback:
    cb = Callback(kind=kind, ticket_id=ticket.id if ticket else None, customer_id=unit.id, method="phone",
                  contact_person="刘建国", outcome="回访", solved=solved if kind == "ticket" else None,
                  satisfaction=satisfaction, made_at=at(made))
    db.session.add(cb)
    db.session.flush()
    return cb


def add_plan_item(unit, kind: str, period: str, due: date, done: bool, note: str | None = None) -> Reminder:
    """A service-plan reminder (monthly_callback / visit) due at local midnight of `due` (the next period's first day)."""
    r = Reminder(key=f"{kind}:{unit.id}:{period}", kind=kind, role="cs", customer_id=unit.id, period=period,
                 due_at=from_local(datetime.combine(due, datetime.min.time())),
                 closed_at=from_local(datetime.combine(due, datetime.min.time())) if (done or note) else None,
                 closed_note="recorded" if done else note)
    db.session.add(r)
    db.session.flush()
    return r


# --- service-level clocks (portal.sla), as the areas that keep the promises start and stop them ---------
CLOCKS_NOW = at("2025-10-15 12:00")  # "now" for the compliance tests' figures (tests/metrics/conftest.py: promised)


def start_clock(key, ticket, started, *, unit, department, person=None, role=None):
    return clocks.start(key, started_at=at(started), policy=policy(), level=unit.maintenance_status,
                        ticket_id=ticket.id, customer_id=unit.id, department=department,
                        user_id=person.id if person else None, role=role)


def stop_clock(key, ticket, when, void=False):
    return clocks.stop(key, at=at(when), ticket_id=ticket.id, void=void)

