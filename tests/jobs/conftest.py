"""Fixtures for the job tests."""
from __future__ import annotations

import pytest

from portal.core.redis_conn import get_redis
from tests.jobs.helpers import local, set_columns


@pytest.fixture
def redis_conn(app):
    return get_redis()


@pytest.fixture
def units(unit_factory):
    """A VIP, an ordinary and a stopped unit, all existing since before 2026 (created 2025-12-20 local)."""
    from portal.core.enums import MaintenanceStatus
    from portal.customers.models import CustomerUnit

    made = {s: unit_factory(status=s) for s in (MaintenanceStatus.VIP, MaintenanceStatus.ORDINARY,
                                                 MaintenanceStatus.STOPPED)}
    for u in made.values():
        set_columns(CustomerUnit, u.id, created_at=local(2025, 12, 20, 10))
    return {"vip": made[MaintenanceStatus.VIP], "ordinary": made[MaintenanceStatus.ORDINARY],
            "stopped": made[MaintenanceStatus.STOPPED]}



@pytest.fixture(autouse=True)
def _outbox_not_paused(app):
    """A test that saw Redis down must not leave later tests' commits waiting for drain_outbox."""
    from portal.jobs import queue

    app.extensions.pop(queue._PAUSE_KEY, None)
    yield
    app.extensions.pop(queue._PAUSE_KEY, None)
