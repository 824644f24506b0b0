"""Every area and desk, plugged into the kernel at start-up (the app factory calls `plug_all`).

A new area writes its `area.py` (permissions, menu entries, reminder kinds, listeners) and is added
here; a department's desk (portal/desks) grants the area's permissions to its roles.
"""
from __future__ import annotations

from portal.core.kernel import kernel


def plug_all(app) -> None:
    # The areas are imported here, at start-up, because plugging them in is what start-up is for.
    from portal.admin.area import AREA as admin
    from portal.auth.area import AREA as auth
    from portal.complaints.area import AREA as complaints
    from portal.customers.area import AREA as customers
    from portal.desks import DESKS
    from portal.documents.area import AREA as documents
    from portal.handover.area import AREA as handover
    from portal.hotline.area import AREA as hotline
    from portal.kb.area import AREA as kb
    from portal.kb_work.area import AREA as kb_work
    from portal.metrics.area import AREA as metrics
    from portal.queues.area import AREA as queues
    from portal.replies.area import AREA as replies
    from portal.service_plan.area import AREA as service_plan
    from portal.signals.area import AREA as signals
    from portal.sla.area import AREA as sla
    from portal.tickets.area import AREA as tickets
    from portal.visits.area import AREA as visits

    for area in (auth, queues, tickets, hotline, service_plan, customers, handover, documents, metrics,
                 complaints, sla, visits, kb, admin, replies, signals, kb_work):
        kernel.plug(area)
        if area.init_app is not None:
            area.init_app(app)
    for desk in DESKS:
        kernel.seat(desk)
