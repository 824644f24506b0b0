"""Benchmark of the dashboard's drill-downs: how long the ticket list takes for each number's link.

    INSTANCE_PATH=/tmp/bench-1m .venv/bin/python bench/drilldown_bench.py [--runs 5] [--explain]

On a seeded portal (`flask --app app seed-bench …` then `flask --app app metrics rebuild`; DATABASE_URL
names PostgreSQL instead), as the bench administrator: builds the dashboard of the last full month and of
the last full year, takes every link of a number to the ticket list (raised, solved, assigned, deadlines
kept / missed) plus the same with a department and a maintenance level, and requests each list page
through the Flask test client once to warm up and --runs times (the whole request: filters, visibility,
the page's two queries, the template). Prints the median and the slowest; --explain adds the query plan
of each page's id query. Nothing is written but the log-in.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--explain", action="store_true")
    args = p.parse_args()

    from dataclasses import replace

    from sqlalchemy import func, select, text
    from werkzeug.datastructures import MultiDict

    from portal import create_app
    from portal.auth.models import User
    from bench.seed import BENCH_PASSWORD
    from portal.extensions import db
    from portal.metrics import dashboard, periods, queries
    from portal.core.timeutil import today_local
    from portal.tickets import listing
    from portal.tickets.models import Ticket

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False  # to sign in with the log-in form below
    client = app.test_client()
    r = client.post("/login", data={"username": "bench_admin", "password": BENCH_PASSWORD})
    if r.status_code != 302:
        raise SystemExit(f"signing in as bench_admin failed (HTTP {r.status_code}): seed with `flask seed-bench`")
    with app.app_context():
        dialect = db.engine.dialect.name
        n = db.session.scalar(select(func.count(Ticket.id)))
        admin = db.session.scalar(select(User).where(User.username == "bench_admin"))
        today = today_local()
        month = periods.of_kind("month", today).earlier(1)
        year = periods.of_kind("year", today).earlier(1)
        links: list[tuple[str, str]] = []
        with app.test_request_context():
            for period in (month, year):
                base = queries.Scope(period)
                for scope, what in ((base, ""), (replace(base, department="dev"), " · dev"),
                                    (replace(base, level="vip"), " · vip")):
                    d = dashboard.build(scope)
                    for tile in d.tiles:
                        numbers = [(tile.value, tile.link)] if tile.key == "raised" else []
                        for text_, link in numbers + tile.detail:
                            if link and link.startswith("/tickets?"):
                                links.append((f"{period.label}{what} · {text_}", link))
        plans = {}
        for _name, link in links:
            f = listing.Filters.from_args(MultiDict(parse_qsl(urlsplit(link).query)))
            q = listing._filtered(select(Ticket.id), f, admin).order_by(Ticket.urgent.desc(), Ticket.id.desc())
            sql = str(q.limit(51).compile(db.engine, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
            plans[link] = [row[-1] for row in db.session.execute(text(prefix + sql))]
        db.session.remove()

    # Requests outside any app context of ours: one pushed here would be shared with them (and its `g`).
    print(f"{dialect}, {n:,} tickets; {len(links)} drill-down pages, {args.runs} runs each (ms)")
    for name, link in links:
        client.get(link)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            r = client.get(link)
            times.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                raise SystemExit(f"{link}: HTTP {r.status_code}")
        print(f"  {name:<44} median {statistics.median(times):7.1f}   max {max(times):7.1f}   {link}")
        if args.explain:
            for line in plans[link]:
                print("      ", line)

if __name__ == "__main__":
    main()
