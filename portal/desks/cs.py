"""客服部 — customer service: takes every problem a customer reports and registers it, tells the customer the
promised deadline, calls back after the solution, makes the monthly callbacks and visits of the service plan,
keeps the hotline records, hands project units over to after-sales, and sends the letters. The hotline duty
manager (值班经理) arranges the duty roster; the customer service manager (客服部经理) follows up low scores."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_

from portal.core.enums import DepartmentKey, Role, State
from portal.core.kernel import Desk
from portal.queues.definitions import Queue, open_in
from portal.tickets.models import Ticket

CS = frozenset({
    "tickets.register", "tickets.view_all",
    "customers.view", "customers.edit", "customers.lookup",
    "hotline.use", "hotline.duty", "hotline.roster_view",
    "service_plan.view", "service_plan.record",
    "archive.view", "handover.view", "handover.act",
    "complaints.view", "complaints.receive",
    "metrics.unit_history",
    "replies.use",
    "visits.view", "visits.view_all", "visits.plan", "visits.book",
    "kb.view",
    "kb_work.suggest",
})

DESK = Desk(
    key=DepartmentKey.CS.value,
    title=DepartmentKey.CS.title,
    grants={
        Role.CS: CS,
        Role.DUTY_MANAGER: frozenset({"hotline.roster_edit", "hotline.roster_view"}),
        # 客服部经理: 客服's work, plus the quality signals (low scores, a month below target), the whole
        # company's figures they are measured by, and complaints to handle.
        Role.CS_MANAGER: CS | {"metrics.view", "metrics.company", "complaints.handle", "complaints.be_handler",
                               "replies.manage_shared"},
    },
    queues=(
        # Only while the work is under way: once resolved, the callback comes next and the deadline is moot.
        Queue("cs_tell_deadline", _l("Deadlines to tell the customer"), frozenset({Role.CS}),
              lambda u: and_(Ticket.state == State.ASSIGNED.value, Ticket.deadline_notified_at.is_(None))),
        Queue("cs_callback", _l("Callbacks to make"), frozenset({Role.CS}), open_in(State.RESOLVED)),
        # the customer must act: 客服 is who they call, and who chases them
        Queue("cs_waiting", _l("Waiting for the customer"), frozenset({Role.CS}), open_in(State.WAITING_CUSTOMER)),
    ),
    reminder_kinds=("tell_deadline", "callback_due", "monthly_callback", "visit", "summary", "duty_roster",
                    "duty_check_in", "quality_follow_up"),
)
