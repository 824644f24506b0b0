"""开发部 — development: the manager analyses every registered problem and assigns it to an engineer with a
deadline (or routes it to 实施部, or suspends a new requirement for 市场部 to agree its fee); engineers solve
and record the process and result."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_

from portal.core.enums import DepartmentKey, Role, State
from portal.core.kernel import Desk
from portal.core.timeutil import utcnow
from portal.queues.definitions import MINE, MINE_RESOLVED, MINE_WAITING, Queue, open_in, waiting_in
from portal.tickets.models import Ticket

DESK = Desk(
    key=DepartmentKey.DEV.value,
    title=DepartmentKey.DEV.title,
    grants={
        Role.DEV_MANAGER: frozenset({
            "tickets.view_all", "customers.view", "customers.lookup",  # (the unit search of 更正问题单)
            "complaints.view", "complaints.handle", "complaints.be_handler",
            "metrics.view", "metrics.department", "metrics.unit_history",
            "replies.use", "replies.manage_shared",
            "visits.view", "visits.view_department", "visits.plan", "visits.book", "visits.record",
            "kb.view", "kb.write", "kb.publish",
            "kb_work.related",
        }),
        # Engineers take hotline duty too (the roster needs more seats than 客服 alone can fill).
        Role.ENGINEER: frozenset({"tickets.view_assigned", "tickets.view_dev_queue", "hotline.duty",
                                  "replies.use", "visits.view", "visits.book", "visits.record",
                                  "kb.view", "kb.write", "kb_work.related"}),
    },
    queues=(
        Queue("dev_urgent", _l("Urgent"), frozenset({Role.DEV_MANAGER}),
              lambda u: and_(Ticket.urgent.is_(True),
                             Ticket.state.in_([State.REGISTERED.value, State.READY_TO_ASSIGN.value])),
              sort_matches=True),
        Queue("dev_analyse", _l("To analyse"), frozenset({Role.DEV_MANAGER}), open_in(State.REGISTERED)),
        Queue("dev_assign", _l("To assign (fee agreed)"), frozenset({Role.DEV_MANAGER}),
              open_in(State.READY_TO_ASSIGN)),
        Queue("dev_overdue", _l("Overdue in development"), frozenset({Role.DEV_MANAGER}),
              lambda u: and_(Ticket.state == State.ASSIGNED.value, Ticket.handling_department == "dev",
                             Ticket.deadline < utcnow()), order="deadline"),
        Queue("dev_waiting", _l("Waiting for the customer"), frozenset({Role.DEV_MANAGER}), waiting_in("dev"),
              order="deadline"),
        MINE, MINE_WAITING, MINE_RESOLVED,
    ),
    reminder_kinds=("overdue", "overdue_manager", "complaint_to_handle",
                   "kb_stale"),
)
