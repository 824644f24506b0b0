"""管理员 — administrators: users, roles and departments, background jobs, the letterhead; they see every
ticket, customer and document, and the whole company's metrics."""
from portal.core.enums import Role
from portal.core.kernel import Desk

DESK = Desk(
    key="admin",
    title=Role.ADMIN.title,
    grants={
        Role.ADMIN: frozenset({
            "admin.manage", "tickets.view_all",
            "customers.view", "customers.edit", "service_plan.view", "archive.view", "archive.settings",
            "handover.view", "complaints.view", "complaints.receive", "complaints.handle",
            "metrics.view", "metrics.company", "metrics.unit_history",
            "visits.view", "visits.view_all",
            "kb.view",
        }),
    },
)
