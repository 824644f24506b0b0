"""实施部 — implementation: answers consultations, and takes the problems the development manager routes to
it; the manager assigns them to implementation engineers."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_

from portal.core.enums import DepartmentKey, Role, State, TicketType
from portal.core.kernel import Desk
from portal.core.timeutil import utcnow
from portal.queues.definitions import MINE, MINE_RESOLVED, MINE_WAITING, Queue, waiting_in
from portal.tickets.models import Ticket

DESK = Desk(
    key=DepartmentKey.IMPL.value,
    title=DepartmentKey.IMPL.title,
    grants={
        Role.IMPL_MANAGER: frozenset({
            "tickets.view_all", "customers.view", "customers.lookup",  # (the unit search of 更正问题单)
            "complaints.view", "complaints.handle", "complaints.be_handler",
            "metrics.view", "metrics.department", "metrics.unit_history",
            "replies.use", "replies.manage_shared",
            "visits.view", "visits.view_department", "visits.plan", "visits.book", "visits.record",
            "kb.view", "kb.write", "kb.publish",
            "kb_work.related",
        }),
        Role.IMPL_ENGINEER: frozenset({"tickets.view_assigned", "tickets.view_impl_queue", "hotline.duty",
                                       "replies.use", "visits.view", "visits.book", "visits.record",
                                       "kb.view", "kb.write", "kb_work.related"}),
    },
    queues=(
        MINE, MINE_WAITING, MINE_RESOLVED,
        Queue("impl_consult", _l("Consultations to answer"), frozenset({Role.IMPL_MANAGER, Role.IMPL_ENGINEER}),
              lambda u: and_(Ticket.state == State.IMPL_QUEUE.value,
                             Ticket.type == TicketType.CONSULTATION.value)),
        Queue("impl_routed", _l("Problems routed to implementation"), frozenset({Role.IMPL_MANAGER}),
              lambda u: and_(Ticket.state == State.IMPL_QUEUE.value,
                             Ticket.type != TicketType.CONSULTATION.value)),
        Queue("impl_overdue", _l("Overdue in implementation"), frozenset({Role.IMPL_MANAGER}),
              lambda u: and_(Ticket.state == State.ASSIGNED.value, Ticket.handling_department == "impl",
                             Ticket.deadline < utcnow()), order="deadline"),
        Queue("impl_waiting", _l("Waiting for the customer"), frozenset({Role.IMPL_MANAGER}), waiting_in("impl"),
              order="deadline"),
    ),
    reminder_kinds=("overdue", "overdue_manager", "complaint_to_handle",
                   "kb_stale"),
)
