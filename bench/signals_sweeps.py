"""Issue 15 items 5–6: the statement count of each new sweep at two sizes of data (printed, not timed):
contracts (expiry window and lapse), the month's satisfaction, the roster's seats and the check-ins. Each must
be the same at 10 and 300 units (set-based statements). Run: .venv/bin/python -m bench.signals_sweeps"""
import os, tempfile
os.environ["INSTANCE_PATH"] = tempfile.mkdtemp()
from datetime import date, timedelta
from decimal import Decimal
from sqlalchemy import event
from portal import create_app
from portal.extensions import db
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite:///" + os.environ["INSTANCE_PATH"] + "/c.db"})
with app.app_context():
    from flask_migrate import upgrade
    upgrade(directory="migrations")
    from portal.customers.operations import create_unit, add_contract
    from portal.customers import expiry
    from portal.signals import jobs as monthly
    from portal.hotline import jobs as hot
    from datetime import datetime
    from portal.core.timeutil import from_local

    def local(*a):
        return from_local(datetime(*a))
    n = [0]
    event.listen(db.engine, "before_cursor_execute", lambda *a, **k: n.__setitem__(0, n[0] + 1))
    made = 0
    for size in (10, 300):
        for i in range(made, size):
            u = create_unit(f"单位{i}")
            add_contract(u, start_date=date(2026, 1, 1), end_date=date(2026, 12, 31) if i % 2 else date(2026, 10, 31), fee=Decimal(1))
        made = size
        db.session.commit()
        for name, fn in (("contracts", lambda: expiry.sweep(date(2026, 11, 15))), ("satisfaction", lambda: monthly.sweep(date(2026, 11, 2))),
                         ("roster", lambda: hot.sweep(local(2026, 11, 26, 21))), ("check_ins", lambda: hot.sweep_check_ins(local(2026, 11, 27, 9)))):
            n[0] = 0; r = fn(); db.session.commit(); print(size, "units", name, n[0], "statements", r)
