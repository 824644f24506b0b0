"""Benchmark of the service-metrics dashboard: how long a page takes at 100,000 and 1,000,000 tickets.

    .venv/bin/python bench/dashboard_bench.py --instances /tmp/h8-100k,/tmp/h8-1m

Each instance is an INSTANCE_PATH holding a seeded portal (`flask --app app seed-bench …`, then
`flask --app app db upgrade`); DATABASE_URL, if set, names the database instead (one instance then).
Each is measured in a process of its own. If the metrics pre-aggregate was never built, it is built
first (timed); --rebuild times a full rebuild anyway. Then, as an administrator, every dashboard view
below is requested through the Flask test client (the whole request: access check, SQL, charts,
template) once to warm up and --runs times; the median and the slowest are printed, with the time the
SQL alone takes (portal.metrics.dashboard.build) and, of that, the compliance figures (the service-level
promises kept: portal.metrics.dashboard.promises, its two queries on metrics_clock_monthly/daily and the
tiles). Nothing is written except the pre-aggregate.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--instances", default=os.environ.get("INSTANCE_PATH", ""),
                   help="comma-separated INSTANCE_PATHs (default: $INSTANCE_PATH)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--rebuild", action="store_true", help="time a full rebuild of the pre-aggregate first")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # internal: measure this process's instance
    return p.parse_args()


def views(today, engineer_id: int, unit_id: int) -> list[tuple[str, str]]:
    from datetime import timedelta

    year, last_year = today.year, today.year - 1
    q = (today.month - 1) // 3 + 1
    first = today.replace(year=today.year - 1)
    return [
        (f"year {year} (to date), whole company", f"/metrics?period={year}"),
        (f"year {last_year}, whole company", f"/metrics?period={last_year}"),
        (f"year {last_year}, development dept.", f"/metrics?period={last_year}&department=dev"),
        (f"year {last_year}, VIP units", f"/metrics?period={last_year}&level=vip"),
        (f"year {last_year}, one engineer", f"/metrics?period={last_year}&engineer={engineer_id}"),
        (f"year {last_year}, one unit", f"/metrics?period={last_year}&customer_id={unit_id}"),
        (f"quarter {year}Q{q}", f"/metrics?period={year}Q{q}"),
        (f"month {today:%Y-%m}", f"/metrics?period={today:%Y-%m}"),
        ("custom: the last 365 days (daily table)", f"/metrics?period=custom&first={first}&last={today}"),
        (f"Excel export, year {last_year}", f"/metrics/export.xlsx?period={last_year}"),
        ("ticket list export, the last 7 days (xlsx)",
         f"/tickets/export.xlsx?date_from={today - timedelta(days=6)}&date_to={today}"),
        ("ticket list export, the last 7 days (CSV)",
         f"/tickets/export.csv?date_from={today - timedelta(days=6)}&date_to={today}"),
    ]


def measure_one(runs: int, rebuild: bool) -> dict:
    from sqlalchemy import func, select

    from portal import create_app
    from portal.auth.models import User, UserRole
    from portal.extensions import db
    from portal.metrics import dashboard, periods, refresh
    from portal.metrics.models import ClockMonthly
    from portal.sla.models import ServiceClock
    from portal.metrics.forms import DashboardForm
    from portal.metrics.models import RefreshState, TicketFact
    from portal.core.timeutil import today_local
    from portal.tickets.models import Ticket

    app = create_app({"RATELIMIT_ENABLED": False, "SERVER_NAME": "bench.local"})
    out: dict = {"instance": os.environ.get("INSTANCE_PATH", ""), "views": []}
    with app.app_context():
        out["database"] = db.engine.dialect.name
        out["tickets"] = db.session.scalar(select(func.count()).select_from(Ticket))
        if rebuild or db.session.get(RefreshState, 1) is None:
            started = time.perf_counter()
            refresh.rebuild(db.session.commit)
            db.session.commit()
            out["rebuild_s"] = time.perf_counter() - started
        for _i in range(2):  # the second run is the steady state of a worker (calendar computed, caches warm)
            started = time.perf_counter()
            refresh.refresh(db.session.commit)
            db.session.commit()
            out["refresh_s"] = time.perf_counter() - started
        out["facts"] = db.session.scalar(select(func.count()).select_from(TicketFact))
        out["clocks"] = db.session.scalar(select(func.count()).select_from(ServiceClock))
        out["clock_months"] = db.session.scalar(select(func.count()).select_from(ClockMonthly))
        out["load"] = os.getloadavg()[0]
        admin = db.session.scalar(select(User).join(UserRole, UserRole.user_id == User.id)
                                  .where(UserRole.role == "admin", User.active.is_(True)).limit(1))
        if admin is None:
            raise SystemExit("no active administrator in this database")
        engineer_id, _n = db.session.execute(
            select(Ticket.assignee_id, func.count()).where(Ticket.assignee_id.is_not(None))
            .group_by(Ticket.assignee_id).order_by(func.count().desc()).limit(1)).one()
        unit_id, _n = db.session.execute(
            select(Ticket.customer_id, func.count()).group_by(Ticket.customer_id)
            .order_by(func.count().desc()).limit(1)).one()
        from portal.auth.operations import start_session

        login_id, today, admin_id = start_session(admin), today_local(), admin.id
        db.session.commit()
        db.session.remove()

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = login_id, True
    for name, url in views(today, engineer_id, unit_id):
        page_times, sql_times, clock_times = [], [], []
        for run in range(runs + 1):
            started = time.perf_counter()
            r = client.get(url)
            elapsed = time.perf_counter() - started
            if r.status_code != 200:
                raise SystemExit(f"{url}: HTTP {r.status_code}")
            with app.test_request_context(url):
                from flask import request
                from flask_login import login_user

                me = db.session.get(User, admin_id)
                me.login_key = login_id
                login_user(me)
                form = DashboardForm(request.args)  # the view's own query string (its period, filters)
                form.department.choices = [("", ""), ("dev", ""), ("impl", "")]
                form.validate()
                scope, _err = form.scope(today)
                started = time.perf_counter()
                if url.startswith("/metrics?"):
                    dashboard.build(scope)
                sql = time.perf_counter() - started
                started = time.perf_counter()
                if url.startswith("/metrics?"):
                    dashboard.compliance_tiles(scope, dashboard.promises(scope, periods.trend(scope.period),
                                                                         dashboard.policy_for(scope.level)))
                clock_s = time.perf_counter() - started
                db.session.remove()
            if run:  # the first run warms the caches
                page_times.append(elapsed)
                sql_times.append(sql)
                clock_times.append(clock_s)
        out["views"].append({"name": name, "url": url, "median_ms": 1000 * statistics.median(page_times),
                             "max_ms": 1000 * max(page_times), "sql_ms": 1000 * statistics.median(sql_times),
                             "clock_ms": 1000 * statistics.median(clock_times)})
    return out


def main() -> None:
    args = parse_args()
    if args.one:
        print(json.dumps(measure_one(args.runs, args.rebuild), default=str))
        return
    instances = [p for p in args.instances.split(",") if p] or [""]
    for instance in instances:
        env = dict(os.environ)
        if instance:
            env["INSTANCE_PATH"] = instance
        cmd = [sys.executable, __file__, "--one", "--runs", str(args.runs)] + (["--rebuild"] if args.rebuild else [])
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            sys.stderr.write(done.stderr)
            raise SystemExit(done.returncode)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"\n== {r['instance'] or r['database']}: {r['tickets']:,} tickets ({r['database']}), "
              f"{r['facts']:,} in the pre-aggregate; {r['clocks']:,} service-level clocks, "
              f"{r['clock_months']:,} rows in metrics_clock_monthly; load average {r['load']:.1f} at the start")
        if "rebuild_s" in r:
            print(f"   full rebuild of the pre-aggregate: {r['rebuild_s']:.1f} s")
        print(f"   incremental refresh (nothing new):  {r['refresh_s'] * 1000:.0f} ms")
        print(f"   {'view':44s} {'median':>8s} {'slowest':>8s} {'SQL':>7s} {'clocks':>7s}   ({args.runs} runs; SQL: "
              f"the figures' queries alone; clocks: of those, the promises kept)")
        for v in r["views"]:
            dash = v["url"].startswith("/metrics?")
            sql = f"{v['sql_ms']:5.0f}ms" if dash else "     —"
            clocks = f"{v['clock_ms']:5.0f}ms" if dash else "     —"
            print(f"   {v['name']:44s} {v['median_ms']:6.0f}ms {v['max_ms']:6.0f}ms {sql} {clocks}")


if __name__ == "__main__":
    main()
