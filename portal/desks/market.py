"""市场部 — market: talks to customers whose maintenance has stopped, agrees fees for new requirements,
approves urgent handling, closes tickets after the callback, and watches contracts ending. The market
manager alone sets a unit's maintenance status, and sees the whole company's service metrics."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_

from portal.core.enums import OPEN_STATES, DepartmentKey, Role, State
from portal.core.kernel import Desk
from portal.queues.definitions import Queue, open_in
from portal.tickets.models import Ticket

MARKET = frozenset({
    "tickets.view_all", "customers.view", "customers.edit",
    "service_plan.view", "archive.view", "handover.view",
    "complaints.view", "complaints.receive", "complaints.be_handler",
    "metrics.unit_history", "customers.expiry_watch",
    "replies.use",
    "kb.view",
})
ROLES = frozenset({Role.MARKET, Role.MARKET_MANAGER})

DESK = Desk(
    key=DepartmentKey.MARKET.value,
    title=DepartmentKey.MARKET.title,
    grants={
        Role.MARKET: MARKET,
        Role.MARKET_MANAGER: MARKET | {"customers.set_status", "complaints.handle", "metrics.view",
                                       "metrics.company", "replies.manage_shared"},
    },
    queues=(
        Queue("market_contact", _l("Customers to contact (maintenance stopped)"), ROLES,
              open_in(State.AWAITING_MARKET)),
        Queue("market_fee", _l("Fees to agree"), ROLES, open_in(State.PENDING_FEE)),
        Queue("market_close", _l("Tickets to close"), ROLES, open_in(State.CALLBACK_DONE)),
        Queue("market_urgent", _l("Urgent tickets in progress"), ROLES,
              lambda u: and_(Ticket.urgent.is_(True), Ticket.state.in_([s.value for s in OPEN_STATES])),
              sort_matches=True),
    ),
    reminder_kinds=("contract_expiry", "complaint_to_handle", "contract_lapsed",
                    "quality_follow_up"),
)
