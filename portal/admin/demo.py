"""Demo data of the service-level policy page: two changes an administrator made, with their reasons, so the
page shows the per-level table with values differing from the default and a history to read."""
from __future__ import annotations

from portal.admin import policy as policy_ops
from portal.auth.models import User

CHANGES = [
    dict(level="vip", field="onsite_within_hours", entered="12",
         reason="2026年VIP维护合同补充条款：电话无法解决的问题，12小时内到达现场。"),
    dict(level="vip", field="tell_deadline_within_hours", entered="2",
         reason="VIP客户要求：问题分派后2小时内告知解决时限。"),
]


def seed(admin: User) -> None:
    for change in CHANGES:
        policy_ops.change(admin, **change)
