"""Where each number leads: the ticket list with the filters that produced it.

The list (portal.tickets.listing.Filters) filters by date_from/date_to (registered, local days),
customer_id and assignee_id (current assignee), and by the dashboard's own filters below. What each
means is written once, in portal.tickets.conditions, which the metrics pre-aggregate
(portal.metrics.refresh) counts with as well — so a number and the list behind it cannot disagree:

    department=dev|impl      the handling department
    maintenance=<status>     the unit's current maintenance status (stopped | ordinary | vip)
    solved=1                 stands resolved now
    responded=1              has been assigned
    deadline=kept            resolved by the deadline
    deadline=missed          resolved after the deadline, or still open past it

The list shows these as chips (in words) and its export link keeps them.
"""
from __future__ import annotations


def ticket_args(scope, **extra) -> dict:
    """Query arguments of the ticket list for the scope's tickets (plus `extra`)."""
    args = {"date_from": scope.period.start.isoformat(), "date_to": scope.period.last.isoformat()}
    if scope.department:
        args["department"] = scope.department
    if scope.engineer_id:
        args["assignee_id"] = scope.engineer_id
    if scope.customer_id:
        args["customer_id"] = scope.customer_id
    if scope.level:
        args["maintenance"] = scope.level
    args.update(extra)
    return args
