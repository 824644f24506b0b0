"""Helpers for the job tests: a real RQ worker run in burst mode, reminders read back, time set
in the database (the sweeps take the date or instant they work for; nothing sleeps)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from rq import SimpleWorker
from sqlalchemy import select, update

from portal.core.redis_conn import get_redis
from portal.core.timeutil import from_local
from portal.extensions import db
from portal.notifications.models import Reminder


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the database stores."""
    return from_local(datetime(y, m, d, hh, mm))


def days(start: date, end: date, step: int = 1):
    """Every `step`-th day from start, and end itself (so a walk always reaches its last day)."""
    d = start
    while d < end:
        yield d
        d += timedelta(days=step)
    yield end


def reminders(**filters) -> list[Reminder]:
    db.session.expire_all()
    q = select(Reminder).order_by(Reminder.id)
    for name, value in filters.items():
        q = q.where(getattr(Reminder, name) == value)
    return list(db.session.scalars(q))


def periods_of(kind: str, customer_id: int) -> set[str]:
    return {r.period for r in reminders(kind=kind, customer_id=customer_id)}


def set_columns(model, row_id: int, **values) -> None:
    """Move a row's timestamps directly in the database (time passing), then forget cached state."""
    db.session.execute(update(model).where(model.id == row_id).values(**values))
    db.session.commit()
    db.session.expire_all()


def run_burst_worker() -> SimpleWorker:
    """A real RQ worker that runs what is queued (in this process) and returns when the queue is empty.

    The test's own session must not hold a transaction: on SQLite every writing transaction takes the
    database's write lock (BEGIN IMMEDIATE), which the job's own session needs."""
    db.session.commit()
    worker = SimpleWorker(["default"], connection=get_redis())
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    db.session.expire_all()
    return worker


def call_job(fn, *args):
    """Call a @job function here, as a worker would: it runs in its own app context and session,
    so the test's session must not hold SQLite's write lock meanwhile."""
    db.session.commit()
    result = fn(*args)
    db.session.expire_all()
    return result
