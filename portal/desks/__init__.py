"""The departments' desks: one short file per department says what its people may do, which work
queues they see on their home page and which reminders they act on.

    cs.py      客服部   customer service (and the hotline duty manager)
    dev.py     开发部   the development manager and engineers
    impl.py    实施部   the implementation manager and implementation engineers
    market.py  市场部   market staff and the market manager
    admin.py   管理员   administrators

Together the desks' `grants` are the role → permission table (a role is granted in one desk only).
The ticket workflow's own table (portal/tickets/workflow.py) says who may take each ticket action.
"""
from portal.desks import admin, cs, dev, impl, market

# Seating order = the order of the queues on the home page of someone with several roles.
DESKS = [dev.DESK, cs.DESK, market.DESK, impl.DESK, admin.DESK]
