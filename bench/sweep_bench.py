"""Benchmark of the periodic sweeps: time and number of SQL statements per sweep, at two sizes.

    INSTANCE_PATH=/tmp/sweep-bench .venv/bin/python bench/sweep_bench.py --units 1000,10000 --tickets 1000000

Uses the database named by DATABASE_URL (default: SQLite in INSTANCE_PATH) — give it a database of
its own: it builds the schema with the migrations, appends synthetic data with `bench.seed.seed`
(units up to each size in --units, tickets up to --tickets with the first size) and deletes every
reminder before each measurement. For every size it runs each sweep twice, as the scheduler does: a
first run that opens every reminder that is due, then a run that finds nothing new (the duty roster
as of 11 hours before the next working day's morning shift, so that it has a shift to check). It counts the
statements sent to the database (SQLAlchemy's before_cursor_execute, BEGIN/COMMIT included) and prints
a table: the statement count of a sweep must be the same for 1,000 and 10,000 units.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--units", default="1000,10000", help="comma-separated unit counts, ascending (default 1000,10000)")
    p.add_argument("--tickets", type=int, default=0, help="tickets to have in the database (seeded once)")
    return p.parse_args()


class StatementCounter:
    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.count += 1

    @contextmanager
    def measure(self):
        start_count, start = self.count, time.perf_counter()
        out = {}
        yield out
        out["seconds"] = time.perf_counter() - start
        out["statements"] = self.count - start_count


def counts() -> tuple[int, int]:
    from sqlalchemy import func, select

    from portal.customers.models import CustomerUnit
    from portal.extensions import db
    from portal.tickets.models import Ticket

    return (db.session.scalar(select(func.count()).select_from(CustomerUnit)),
            db.session.scalar(select(func.count()).select_from(Ticket)))


def forget_reminders() -> None:
    """Every sweep's memory of what it has said (this is a benchmark database): reminders, the notifications the
    sweeps sent (keyed, so a second size would otherwise find them sent), the clocks' reminded/escalated marks."""
    from sqlalchemy import delete, update

    from portal.extensions import db
    from portal.notifications.models import Notification, Reminder
    from portal.sla.models import ServiceClock

    db.session.execute(delete(Notification))
    db.session.execute(delete(Reminder))
    db.session.execute(update(ServiceClock).where(ServiceClock.stopped_at.is_(None))
                       .values(reminded_at=None, escalated_at=None))
    db.session.commit()


def sweeps():
    from datetime import timedelta

    from portal.customers.jobs import sweep as contracts
    from portal.hotline.jobs import sweep as duty_roster
    from portal.hotline.jobs import sweep_check_ins as check_ins
    from portal.kb.jobs import sweep as stale_articles
    from portal.service_plan.jobs import sweep as service_plan
    from portal.signals.jobs import sweep as satisfaction
    from portal.sla.sweep import sweep as service_clocks
    from portal.tickets.jobs import sweep as tickets

    return [("service plan", service_plan), ("tickets", tickets), ("contracts", contracts),
            ("duty roster", lambda: duty_roster(now=_before_next_shift())),
            ("check-ins", lambda: check_ins(now=_before_next_shift() + timedelta(hours=11, minutes=30))),
            ("clocks", service_clocks), ("satisfaction", satisfaction), ("stale KB", stale_articles)]


def _before_next_shift():
    """11 hours before the next working day's morning shift: the roster sweep then has a shift to
    check whatever the time of day the benchmark runs (the bench database has no roster)."""
    from datetime import timedelta

    from portal.core.policy import is_workday, policy_for
    from portal.core.timeutil import to_local, utcnow
    from portal.hotline.jobs import shift_start

    day = to_local(utcnow()).date() + timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    return shift_start(day, "am") - timedelta(hours=11)


def main() -> None:
    args = parse_args()
    sizes = sorted(int(x) for x in args.units.split(","))
    os.environ.setdefault("INSTANCE_PATH", "/tmp/sweep-bench")
    from flask_migrate import upgrade

    from portal import create_app
    from portal.core.policy import is_workday, policy_for
    from portal.core.timeutil import today_local
    from bench.seed import seed
    from portal.extensions import db

    app = create_app()
    rows = []
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        counter = StatementCounter(db.engine)
        print(f"database: {db.engine.url.render_as_string(hide_password=True)}", flush=True)
        for size in sizes:
            units, tickets = counts()
            if units < size or tickets < args.tickets:
                started = time.perf_counter()
                seed(tickets=max(args.tickets - tickets, 0), customers=max(size - units, 0),
                     echo=lambda line: print("  " + line, flush=True))
                print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
            units, tickets = counts()
            db.session.commit()
            for name, sweep in sweeps():
                forget_reminders()
                for run in ("first", "again"):
                    # The entered holidays and the stored policy are re-read every few seconds or minutes (a
                    # cache per process): read them now, so that no sweep's count includes that by chance.
                    is_workday(today_local())
                    policy_for(None)
                    db.session.commit()  # and each sweep starts its own transaction (its BEGIN counted)
                    with counter.measure() as m:
                        result = sweep()
                        db.session.commit()
                    rows.append((units, tickets, name, run, m["seconds"], m["statements"],
                                 sum(v for k, v in result.items() if k != "settled")))
                    print(f"  {units:>9,} units {tickets:>10,} tickets  {name:<12} {run:<5} "
                          f"{m['seconds']:8.3f} s {m['statements']:4d} statements", flush=True)
    print()
    print(f"{'units':>9} {'tickets':>10}  {'sweep':<12} {'run':<5} {'seconds':>9} {'statements':>10} {'opened':>8}")
    for units, tickets, name, run, seconds, statements, opened in rows:
        print(f"{units:>9,} {tickets:>10,}  {name:<12} {run:<5} {seconds:>9.3f} {statements:>10d} {opened:>8,}")
    by_sweep: dict[tuple[str, str], set[int]] = {}
    for _, _, name, run, _, statements, _ in rows:
        by_sweep.setdefault((name, run), set()).add(statements)
    grows = [f"{name} ({run})" for (name, run), seen in by_sweep.items() if len(seen) > 1]
    print()
    print("statement counts are the same at every size" if not grows
          else "statement count differs between sizes: " + ", ".join(grows))


if __name__ == "__main__":
    main()
