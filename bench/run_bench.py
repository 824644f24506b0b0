"""Page-speed benchmark: the portal under gunicorn, as in production, on a seeded database.

    # SQLite (the database in INSTANCE_PATH), PostgreSQL (DATABASE_URL); REDIS_URL as for the portal
    INSTANCE_PATH=/tmp/bench-1m .venv/bin/python bench/run_bench.py
    DATABASE_URL=postgresql://… REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/run_bench.py

The database must hold `flask --app app seed-bench` data (its bench_* users and tickets) and its search
index (`flask --app app search-reindex` after seeding; `flask --app app metrics rebuild` for the dashboard).
The script starts `gunicorn -w 2 app:app` on 127.0.0.1 at a free port, logs in as the bench user of each
role, and measures for every page:

* server latency: --requests sequential requests (after --warmup ones), p50 and p95 of the time gunicorn
  itself logs for each request (%(D)s: from reading the request to writing the response);
* throughput: --threads concurrent clients on the loopback interface for at most --seconds seconds or
  --max-load requests (whichever comes first), completed requests per second;
* cpu: the CPU time gunicorn's processes spent per sequential request (from /proc, Linux only) — unlike
  the latencies it hardly changes when other work shares the machine (PostgreSQL's own CPU is not in it).

It prints one table and the load average before and after (the machine may be shared: rerun when quiet).
It never fails: a page that answers an error or does not exist (e.g. the dashboard before it was built)
is reported as such in its row.
"""
from __future__ import annotations

import argparse
import gzip
import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROLE_USERS = [  # (role, bench user) — seed-bench's BENCH_USERS
    ("cs", "bench_cs"), ("dev_manager", "bench_dev_manager"), ("engineer", "bench_engineer1"),
    ("impl_manager", "bench_impl_manager"), ("impl_engineer", "bench_impl_engineer1"), ("market", "bench_market"),
    ("market_manager", "bench_market_manager"),
]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=40, help="measured sequential requests per page (default 40)")
    p.add_argument("--warmup", type=int, default=6, help="unmeasured requests per page first (default 6)")
    p.add_argument("--threads", type=int, default=4, help="concurrent clients for the throughput (default 4)")
    p.add_argument("--seconds", type=float, default=5.0, help="throughput: at most this long per page (default 5)")
    p.add_argument("--max-load", type=int, default=400, help="throughput: at most this many requests per page")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, as on the 2-core target)")
    p.add_argument("--common", default="系统", help="a word in many tickets (default 系统)")
    p.add_argument("--rare", default="", help="a word in few tickets (default: an error code from the data)")
    p.add_argument("--only", default="", help="comma-separated page keys to run (default: all)")
    return p.parse_args()


# --- HTTP -----------------------------------------------------------------------------------------------------

class Client:
    """One user's session (cookies) against the local server; a new connection per request, as with
    gunicorn's sync workers."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, tag: str = "-") -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"X-Bench": tag, "Accept-Encoding": "gzip"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            if resp.getheader("Content-Encoding") == "gzip":
                payload = gzip.decompress(payload)
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie":
                    k, _, v = value.split(";", 1)[0].partition("=")
                    self.cookies[k.strip()] = v.strip()
            return resp.status, payload
        finally:
            conn.close()

    def login(self, username: str, password: str) -> bool:
        status, page = self.request("GET", "/login")
        m = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            rb'value="([^"]+)"[^>]*name="csrf_token"', page)
        form = {"username": username, "password": password}
        if m:
            form["csrf_token"] = m.group(1).decode()
        status, _ = self.request("POST", "/login", form)
        return status == 302


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving app:app, with an access log of (tag, status, microseconds) per request."""

    def __init__(self, workers: int):
        self.port = free_port()
        self.log = Path(tempfile.mkdtemp(prefix="portal-bench-")) / "access.log"
        cmd = [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
               "--access-logfile", str(self.log), "--access-logformat", "%({x-bench}i)s %(s)s %(D)s",
               "--timeout", "120", "app:app"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("gunicorn stopped: " + self.proc.stderr.read().decode()[-2000:])
            try:
                if Client(self.port).request("GET", "/healthz")[0] in (200, 503):
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit("gunicorn did not answer within 90 s")

    def timings(self, tag: str) -> list[float]:
        """Server times (ms) of the requests tagged so."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == tag:
                out.append(int(parts[2]) / 1000)
        return out

    def cpu_seconds(self) -> float | None:
        """User + system CPU time used so far by gunicorn and its workers (Linux /proc; None elsewhere).
        On SQLite that is all the work of a request; on PostgreSQL the database's own share is not in it."""
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        total, found = 0, False
        try:
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
                pid, ppid = int(entry), int(fields[1])
                if pid == self.proc.pid or ppid == self.proc.pid:
                    total += int(fields[11]) + int(fields[12])  # utime, stime
                    found = True
        except OSError:
            return None
        return total / tick if found else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


# --- what to measure -----------------------------------------------------------------------------------------

@dataclass
class Page:
    key: str
    title: str
    user: str  # role
    path: str
    result: dict = field(default_factory=dict)


def data_facts() -> dict:
    """From the database itself: ticket count (max id), a ticket with 30 events, a rare word, a full year."""
    from sqlalchemy import func, select, text

    from portal import create_app
    from portal.extensions import db
    from portal.tickets.models import Event, Ticket

    app = create_app()
    with app.app_context():
        tickets = db.session.scalar(select(func.max(Ticket.id))) or 0
        long_id = db.session.scalar(
            select(Event.ticket_id).where(Event.ticket_id <= 5000).group_by(Event.ticket_id)
            .having(func.count() == 30).limit(1))
        number = db.session.scalar(select(Ticket.number).where(Ticket.id == long_id)) if long_id else None
        desc = db.session.scalar(select(Ticket.description).where(Ticket.description.contains("错误代码 E"))
                                 .order_by(Ticket.id.desc()).limit(1))
        rare = re.search(r"E\d{4}", desc).group(0) if desc else "E8650"
        newest = db.session.scalar(select(Ticket.created_at).order_by(Ticket.id.desc()).limit(1))
        dialect = db.engine.dialect.name
        db.session.execute(text("SELECT 1"))
    year = (newest.year - 1) if newest else date.today().year - 1
    return {"tickets": tickets, "long": number, "rare": rare, "year": year, "dialect": dialect}


def pages(facts: dict, common: str, rare: str) -> list[Page]:
    q = lambda s: quote(s)  # noqa: E731
    out = [Page(f"home_{role}", f"queue page / ({role})", role, "/") for role, _ in ROLE_USERS if role != "market_manager"]
    out += [
        Page("list", "/tickets", "cs", "/tickets"),
        Page("list_filtered", "/tickets?state=assigned&type=maintenance", "cs", "/tickets?state=assigned&type=maintenance"),
        Page("list_engineer", "/tickets (engineer's visibility)", "engineer", "/tickets"),
        Page("ticket", f"ticket page, 30 events ({facts['long']})", "cs", f"/tickets/{facts['long']}"),
        Page("search_common", f"search common word {common}", "cs", f"/tickets?q={q(common)}"),
        Page("search_rare", f"search rare word {rare}", "cs", f"/tickets?q={q(rare)}"),
        Page("search_common_eng", f"search {common} (engineer)", "engineer", f"/tickets?q={q(common)}"),
        Page("search_filtered", f"search {common} + 2 filters", "cs",
             f"/tickets?q={q(common)}&state=assigned&type=maintenance"),
        Page("dashboard", f"dashboard, year {facts['year']}", "market_manager", f"/metrics?period={facts['year']}"),
    ]
    if not facts["long"]:
        out = [p for p in out if p.key != "ticket"]
    return out


def measure(server: Server, client: Client, page: Page, args) -> None:
    statuses = set()
    for _ in range(args.warmup):
        statuses.add(client.request("GET", page.path, tag="warm")[0])
    if statuses - {200}:
        page.result = {"note": f"HTTP {sorted(statuses)}" + (" (not built yet)" if 404 in statuses else "")}
        return
    tag = f"lat:{page.key}"
    cpu_before = server.cpu_seconds()
    for _ in range(args.requests):
        client.request("GET", page.path, tag=tag)
    cpu_after = server.cpu_seconds()
    cpu = (cpu_after - cpu_before) * 1000 / args.requests if cpu_before is not None and cpu_after is not None else None
    times = sorted(server.timings(tag))
    # throughput
    ltag, done, errors = f"load:{page.key}", [0], [0]
    lock, stop_at = threading.Lock(), time.monotonic() + args.seconds

    def worker():
        c = Client(server.port)
        c.cookies = dict(client.cookies)
        while time.monotonic() < stop_at:
            with lock:
                if done[0] + errors[0] >= args.max_load:
                    return
            status, _ = c.request("GET", page.path, tag=ltag)
            with lock:
                if status == 200:
                    done[0] += 1
                else:
                    errors[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    q = statistics.quantiles(times, n=20) if len(times) >= 2 else times * 19
    page.result = {"p50": statistics.median(times), "p95": q[18], "rps": done[0] / elapsed, "cpu": cpu,
                   "note": f"{errors[0]} errors under load" if errors[0] else ""}


def main() -> None:
    args = parse_args()
    from bench.seed import BENCH_PASSWORD

    facts = data_facts()
    rare = args.rare or facts["rare"]
    todo = pages(facts, args.common, rare)
    if args.only:
        keys = set(args.only.split(","))
        todo = [p for p in todo if p.key in keys]
    load_before = os.getloadavg()
    server = Server(args.workers)
    try:
        clients = {}
        for role, username in ROLE_USERS:
            c = Client(server.port)
            if c.login(username, BENCH_PASSWORD):
                clients[role] = c
        for page in todo:
            if page.user not in clients:
                page.result = {"note": f"login as {page.user} failed"}
                continue
            measure(server, clients[page.user], page, args)
    finally:
        server.stop()
    load_after = os.getloadavg()
    print(f"\n{facts['dialect']} · {facts['tickets']:,} tickets · gunicorn -w {args.workers} · "
          f"{args.requests} requests per page (after {args.warmup}) · load: {args.threads} threads, "
          f"≤ {args.seconds:g} s / ≤ {args.max_load} requests per page")
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} · "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} ({os.cpu_count()} cores)\n")
    width = max(_width(p.title) for p in todo) if todo else 10
    pad = lambda s: s + " " * (width - _width(s))  # noqa: E731
    print(f"| {pad('page')} | {'user':<14} | p50 ms | p95 ms |  req/s | cpu ms | note")
    print(f"|{'-' * (width + 2)}|{'-' * 16}|-------:|-------:|-------:|-------:|-----")
    for p in todo:
        r = p.result
        if "p50" in r:
            cpu = f"{r['cpu']:6.1f}" if r.get("cpu") is not None else "     —"
            print(f"| {pad(p.title)} | {p.user:<14} | {r['p50']:6.1f} | {r['p95']:6.1f} | {r['rps']:6.1f} | {cpu} | "
                  f"{r.get('note', '')}")
        else:
            print(f"| {pad(p.title)} | {p.user:<14} |      — |      — |      — |      — | {r.get('note', '')}")
    print("\ncpu ms: CPU time of the gunicorn processes per sequential request (Linux) — what a page costs the "
          "server whatever else runs on the machine; on PostgreSQL without the database's own share.")


def _width(s: str) -> int:
    """Columns a string takes in a terminal (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


if __name__ == "__main__":
    main()
