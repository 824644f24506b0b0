"""Load test: every role working at once on the portal under gunicorn, as in production.

    # SQLite (the database in INSTANCE_PATH; embedded Redis) — 3 minutes, 14 clients
    INSTANCE_PATH=/tmp/load .venv/bin/python bench/load_test.py --seconds 180
    # PostgreSQL and a Redis server
    DATABASE_URL=postgresql://… REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/load_test.py --seconds 180
    # bounded small (what tests/security/test_load.py runs)
    .venv/bin/python bench/load_test.py --clients 6 --actions 25 --seconds 60

Set-up (unless --no-setup): the schema is upgraded to the head revision; load users (`load_<role><n>`,
password LOAD_PASSWORD) and six load customer units (ordinary, VIP and stopped maintenance) are created if
missing. Then `gunicorn -w --workers app:app` starts on 127.0.0.1 at a free port with an RQ worker (as
`python -m portal.serve` runs them), Redis as the portal finds it (REDIS_URL, else the embedded one, held by
this process for the server's life). Login throttling is raised for the server (LOGIN_LIMIT_*): every client
logs in from 127.0.0.1; throttling is tested elsewhere.

Each client is one user of one role, in its own thread, with its own session, using the real pages and
forms (CSRF token and version fields read from the page; a new connection per request):

* cs registers problems (unit found through the intake form's lookup), tells the deadline, calls back;
* dev_manager analyses: assigns, suspends requirements for the fee, routes to 实施部, rejects;
* engineers resolve what is assigned to them; impl_manager assigns or answers; impl_engineers resolve
  and answer consultations (sometimes registering a follow-up);
* market records customer contacts and fee agreements, closes, approves urgent handling, reopens;
* everyone reads queues, lists, searches and ticket pages, writes notes; market_manager reads the dashboard.

On purpose some actions race: each client's first action and then --race-rate of them are posted twice at
once with the same form version (exactly one may win, the other must get 409), and each client's first
successful action and then --stale-rate of them are posted again
with the version they were loaded with (must get 409, not a silent overwrite). Every action's text carries
a token [LT<run>-<client>-<n>]; at the end every successful action must appear exactly once in the
history of its ticket and every refused one not at all (lost or duplicated updates otherwise), and
`portal.tickets.consistency` must find every ticket's history consistent with its state.

Prints a table (requests per role and action, status counts, p50/p95 ms as seen by the client) and the
checks; exits 1 if any check fails: a 5xx, a connection error, "database is locked" or a traceback in the
server's log, a lost or duplicated update, a write behind a refusal, a race won twice, a stale form
accepted, or an inconsistent history. --json FILE writes the figures for tests.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import http.client
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from html import unescape
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOAD_PASSWORD = "load-pass-2026"
# The order in which clients take roles: the first six cover the workflow; more add contention.
ROLE_SLOTS = ["cs", "dev_manager", "engineer", "market_manager", "impl_manager", "impl_engineer",
              "cs", "market", "engineer", "impl_engineer", "cs", "engineer", "market", "dev_manager",
              "cs", "engineer", "market", "impl_engineer", "engineer", "cs"]
DEPARTMENT = {"cs": "cs", "dev_manager": "dev", "engineer": "dev", "impl_manager": "impl", "impl_engineer": "impl",
              "market": "market", "market_manager": "market"}
ROLE_NAME = {"cs": "客服", "dev_manager": "开发经理", "engineer": "工程师", "impl_manager": "实施经理",
             "impl_engineer": "实施工程师", "market": "市场", "market_manager": "市场经理"}
UNITS = [("压测单位一号医院", "ordinary"), ("压测单位二号财政局", "ordinary"), ("压测单位三号教育局", "ordinary"),
         ("压测单位四号人民医院", "vip"), ("压测单位五号社保中心", "vip"), ("压测单位六号档案馆", "stopped")]
# Which workflow actions each role takes when its page offers them (weights), and in which states it
# looks for tickets. None in a state set: tickets whose state is unknown (found on a list).
ROLE_ACTIONS = {
    "cs": {"notify_deadline": 3, "callback": 3},
    "dev_manager": {"assign": 6, "suspend_for_fee": 4, "route_to_impl": 1, "reject": 0.4},
    "engineer": {"resolve": 1},
    "impl_manager": {"assign": 4, "answer": 3, "reject": 0.3},
    "impl_engineer": {"resolve": 3, "answer": 2},
    "market": {"record_contact": 3, "record_fee": 3, "close": 3, "approve_urgent": 0.4, "reopen": 0.3},
}
ROLE_ACTIONS["market_manager"] = ROLE_ACTIONS["market"]
ROLE_STATES = {
    "cs": {"assigned", "resolved"},
    "dev_manager": {"registered", "ready_to_assign"},
    "engineer": {"assigned"},
    "impl_manager": {"impl_queue"},
    "impl_engineer": {"assigned", "impl_queue"},
    "market": {"awaiting_market", "pending_fee", "callback_done", "closed", "registered"},
}
ROLE_STATES["market_manager"] = ROLE_STATES["market"]
# Where a successful action leaves the ticket (a hint for the next client; the page is the truth).
NEXT_STATE = {"assign": "assigned", "suspend_for_fee": "pending_fee", "route_to_impl": "impl_queue",
              "reject": "closed", "resolve": "resolved", "answer": "closed", "close": "closed", "reopen": "assigned"}
SEARCH_WORDS = ["打印", "报表", "登录", "备份", "导出", "压测", "医院"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=14, help="concurrent users, one thread each (default 14)")
    p.add_argument("--seconds", type=float, default=180, help="stop after this long (default 180)")
    p.add_argument("--actions", type=int, default=0, help="stop each client after this many actions (0: no limit)")
    p.add_argument("--workers", type=int, default=3, help="gunicorn workers, 2–4 (default 3)")
    p.add_argument("--race-rate", type=float, default=0.15, help="share of actions posted twice at once")
    p.add_argument("--stale-rate", type=float, default=0.1, help="share of successes re-posted with the old version")
    p.add_argument("--no-worker", action="store_true", help="do not start the RQ worker")
    p.add_argument("--no-setup", action="store_true", help="skip the schema upgrade and the load users/units")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    p.add_argument("--json", default="", help="write the figures and checks to this file")
    args = p.parse_args(argv)
    if not 2 <= args.workers <= 4:
        p.error("--workers must be 2 to 4")
    if args.clients < 1 or args.clients > len(ROLE_SLOTS):
        p.error(f"--clients must be 1 to {len(ROLE_SLOTS)}")
    return args


# --- HTTP ------------------------------------------------------------------------------------------------

class Client:
    """One user's session: cookies kept, a new connection per request (as gunicorn's sync workers do)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self._lock = threading.Lock()

    def request(self, method: str, path: str, form: dict | None = None, timeout: float = 60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"X-Load": "1"}
        with self._lock:
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read().decode("utf-8", "replace")
            with self._lock:
                for name, value in resp.getheaders():
                    if name.lower() == "set-cookie":
                        k, _, v = value.split(";", 1)[0].partition("=")
                        self.cookies[k.strip()] = v.strip()
            return resp.status, resp.getheader("Location") or "", payload
        finally:
            conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn app:app (+ the RQ worker), their output in one log file that is scanned at the end."""

    def __init__(self, workers: int, redis_url: str, with_worker: bool):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="portal-load-"))
        self.log_path = self.dir / "server.log"
        self.log = self.log_path.open("ab")
        env = dict(os.environ, REDIS_URL=redis_url, TZ=os.environ.get("TZ", "Asia/Shanghai"),
                   LOGIN_LIMIT_PER_USER="1000 per minute", LOGIN_LIMIT_PER_IP="10000 per minute")
        bin_dir = Path(sys.executable).parent
        web = [str(bin_dir / "gunicorn"), "app:app", "-b", f"127.0.0.1:{self.port}", "-w", str(workers),
               "--timeout", "120", "--error-logfile", "-", "--log-level", "warning"]
        self.procs = [subprocess.Popen(web, cwd=ROOT, env=env, stdout=self.log, stderr=self.log,
                                       start_new_session=True)]
        if with_worker:
            self.procs.append(subprocess.Popen([sys.executable, "-m", "portal.jobs.worker"], cwd=ROOT, env=env,
                                               stdout=self.log, stderr=self.log, start_new_session=True))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.procs[0].poll() is not None:
                self.stop()
                raise SystemExit("gunicorn stopped:\n" + self.log_text()[-3000:])
            try:
                if Client(self.port).request("GET", "/healthz", timeout=5)[0] in (200, 503):
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit("gunicorn did not answer within 90 s")

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.log.close()


# --- set-up (in this process, through the portal's own operations) --------------------------------------

def set_up(app, clients: int, upgrade: bool) -> dict:
    """Schema at head, load users and units; returns {username: (role, user id)} and the units."""
    from flask_migrate import upgrade as db_upgrade
    from sqlalchemy import select

    from portal.auth.models import User
    from portal.auth.operations import create_user
    from portal.core.enums import MaintenanceStatus, Role
    from portal.customers.models import CustomerUnit
    from portal.customers.operations import create_unit
    from portal.extensions import db

    with app.app_context():
        if upgrade:
            db_upgrade(directory=str(ROOT / "migrations"))
        users, seen = {}, Counter()
        for role in ROLE_SLOTS[:clients] + ["engineer", "impl_engineer"]:  # always two assignees to choose from
            seen[role] += 1
            username = f"load_{role}{seen[role]}"
            user = db.session.scalar(select(User).where(User.username == username))
            if user is None:
                roles = [Role.MARKET_MANAGER, Role.MARKET] if role == "market_manager" else [Role(role)]
                user = create_user(username, LOAD_PASSWORD, f"压测{ROLE_NAME[role]}{seen[role]}", roles,
                                   DEPARTMENT[role])
            users[username] = (role, user.id)
        units = {}
        for name, status in UNITS:
            unit = db.session.scalar(select(CustomerUnit).where(CustomerUnit.name == name))
            if unit is None:
                unit = create_unit(name, address="压测路 1 号", phone="010-65123456", user_count=100,
                                   status=MaintenanceStatus(status))
            units[unit.id] = (name, unit.maintenance_status)
        db.session.commit()
        dialect = db.engine.dialect.name
    return {"users": users, "units": units, "dialect": dialect}


# --- what the clients share ------------------------------------------------------------------------------

@dataclass
class Attempt:
    role: str
    action: str  # workflow action, or "register", or "GET …"
    status: int  # 0: connection error
    ms: float
    kind: str = "read"  # read | act | race | stale | register
    token: str = ""
    number: str = ""
    follow_up_token: str = ""
    race: int = 0


@dataclass
class Board:
    """What the clients know of the tickets: number → (state hint, type, assignee id)."""
    tickets: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: list = field(default_factory=list)
    races: int = 0
    # Set once cs has registered a ticket: the other roles start their work then (with nothing registered
    # yet, a fast client could spend all its actions on empty queues and the run would test no write).
    first_ticket: threading.Event = field(default_factory=threading.Event)

    def record(self, a: Attempt) -> None:
        with self.lock:
            self.attempts.append(a)

    def note(self, number: str, **kw) -> None:
        with self.lock:
            entry = self.tickets.setdefault(number, {"state": None, "type": None, "assignee": None})
            entry.update({k: v for k, v in kw.items() if v is not None or k == "state"})

    def seen(self, numbers) -> None:
        with self.lock:
            for n in numbers:
                self.tickets.setdefault(n, {"state": None, "type": None, "assignee": None})

    def pick(self, r: random.Random, states: set, assignee: int | None = None, within: set | None = None) -> str | None:
        """A ticket in one of the states (hint); an engineer's own when assigned; only `within` if given."""
        with self.lock:
            candidates = [(n, e) for n, e in self.tickets.items()
                          if within is None or n in within or (assignee is not None and e["assignee"] == assignee)]
            known = [n for n, e in candidates if e["state"] in states
                     and (assignee is None or e["state"] != "assigned" or e["assignee"] == assignee)]
            unknown = [n for n, e in candidates if e["state"] is None]
        if known and (not unknown or r.random() < 0.9):
            return r.choice(known[-60:]) if r.random() < 0.7 else r.choice(known)
        return r.choice(unknown) if unknown else None

    def next_race(self) -> int:
        with self.lock:
            self.races += 1
            return self.races


FORM_RE = re.compile(r'<form method="post" action="(/tickets/[^"]+/actions/(\w+))"(.*?)</form>', re.S)
INPUT_RE = re.compile(r'<input\b[^>]*>')
OPTION_RE = re.compile(r'<option\b[^>]*value="(\d+)"[^>]*>([^<]*)</option>')
SELECT_RE = re.compile(r'<select\b([^>]*)>(.*?)</select>', re.S)
NUMBER_RE = re.compile(r'/tickets/(SH-\d{4}-\d{6})\b')


def attr(tag: str, name: str) -> str | None:
    m = re.search(rf'\b{name}="([^"]*)"', tag)
    return unescape(m.group(1)) if m else None


def page_forms(html: str) -> dict[str, dict]:
    """The action forms of a ticket page: action → {url, hidden (hidden inputs and what each select
    sends unless changed, as a browser posts them), options (of the assignee select)}."""
    out = {}
    for url, action, body in FORM_RE.findall(html):
        hidden = {}
        for tag in INPUT_RE.findall(body):
            if attr(tag, "type") == "hidden" and attr(tag, "name"):
                hidden[attr(tag, "name")] = attr(tag, "value") or ""
        for select_attrs, options in SELECT_RE.findall(body):
            values = re.findall(r'<option\b([^>]*)>', options)
            chosen = next((o for o in values if re.search(r'\bselected\b', o)), values[0] if values else "")
            if attr(select_attrs, "name"):
                hidden[attr(select_attrs, "name")] = attr(chosen, "value") or ""
        options = [(int(v), unescape(label)) for v, label in OPTION_RE.findall(body)]
        out[action] = {"url": url, "hidden": hidden, "options": options}
    return out


def local_in(days: float) -> str:
    from portal.core.timeutil import to_local, utcnow

    return (to_local(utcnow()) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


class Actor(threading.Thread):
    def __init__(self, index: int, role: str, username: str, user_id: int, ctx: dict, board: Board, args,
                 port: int, run: str, stop_at: float):
        super().__init__(name=f"{role}-{index}", daemon=True)
        self.index, self.role, self.username, self.user_id = index, role, username, user_id
        self.ctx, self.board, self.args, self.run_id, self.stop_at = ctx, board, args, run, stop_at
        self.r = random.Random(None if args.seed is None else args.seed * 100 + index)
        self.client = Client(port)
        self.port = port
        self.seq = 0
        self.actions = 0
        self.login_ok = False
        # With a rate above zero, a client's first chance is always taken (then the rate applies): a short
        # run with few writes still races and re-posts, so the checks below are never vacuous.
        self.raced = self.staled = False
        self.board_has_cs = "cs" in ROLE_SLOTS[:args.clients]
        # Engineers see only their tickets and their department's queue: they pick from what they saw.
        self.visible: set | None = set() if role in ("engineer", "impl_engineer") else None

    # -- helpers --
    def token(self) -> str:
        self.seq += 1
        return f"[LT{self.run_id}-{self.index}-{self.seq}]"

    def get(self, label: str, path: str):
        t0 = time.perf_counter()
        try:
            status, location, body = self.client.request("GET", path)
        except OSError:
            status, location, body = 0, "", ""
        self.board.record(Attempt(self.role, label, status, (time.perf_counter() - t0) * 1000))
        return status, body

    def post(self, path: str, form: dict, attempt: Attempt, client: Client | None = None) -> Attempt:
        t0 = time.perf_counter()
        try:
            status, location, _ = (client or self.client).request("POST", path, form)
        except OSError:
            status, location = 0, ""
        attempt.status, attempt.ms = status, (time.perf_counter() - t0) * 1000
        if attempt.kind == "register" and status == 302:
            m = NUMBER_RE.search(urlsplit(location).path)
            attempt.number = m.group(1) if m else ""
        self.board.record(attempt)
        return attempt

    def login(self) -> bool:
        status, body = self.get("GET login", "/login")
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', body)
        form = {"username": self.username, "password": LOAD_PASSWORD, "csrf_token": m.group(1) if m else ""}
        a = self.post("/login", form, Attempt(self.role, "POST login", 0, 0, kind="login"))
        return a.status == 302

    # -- the loop --
    def run(self) -> None:
        self.login_ok = self.login()
        if not self.login_ok:
            return
        if self.role != "cs" and self.board_has_cs:
            self.board.first_ticket.wait(max(0.0, self.stop_at - time.monotonic()))
        while time.monotonic() < self.stop_at and (not self.args.actions or self.actions < self.args.actions):
            self.actions += 1
            # cs: 35 % registrations; everyone: reads and notes, the rest workflow actions
            x = self.r.random()
            register, read, note = (0.35, 0.55, 0.6) if self.role == "cs" else (0.0, 0.25, 0.3)
            if x < register:
                self.register()
            elif x < read:
                self.read()
            elif x < note:
                self.work(comment=True)
            elif not self.work():
                self.register() if self.role == "cs" else self.read()

    def read(self) -> None:
        r = self.r
        choice = r.choice(["queue", "list", "list", "search", "ticket"] + (["dashboard"] * 2
                                                                          if self.role == "market_manager" else []))
        if choice == "queue":
            status, body = self.get("GET queue /", "/")
        elif choice == "list":
            state = r.choice(["", "", "assigned", "registered", "closed"])
            status, body = self.get("GET list", "/tickets" + (f"?state={state}" if state else ""))
        elif choice == "search":
            status, body = self.get("GET search", "/tickets?q=" + quote(r.choice(SEARCH_WORDS)))
        elif choice == "dashboard":
            status, body = self.get("GET dashboard", "/metrics")
            return
        else:
            number = self.board.pick(r, {None, "registered", "assigned", "resolved", "closed", "impl_queue"},
                                     within=self.visible)
            if number:
                self.get("GET ticket", f"/tickets/{number}")
            return
        if status == 200:
            numbers = NUMBER_RE.findall(body)[:30]
            self.board.seen(numbers)
            if self.visible is not None:
                self.visible.update(numbers)

    def register(self) -> None:
        r = self.r
        status, body = self.get("GET new form", "/tickets/new")
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body)
        if status != 200 or not m:
            return
        unit_id, (unit_name, unit_status) = r.choice(list(self.ctx["units"].items()))
        status, options = self.get("GET unit lookup", "/customers/lookup?customer_q=" + quote(unit_name[:6]))
        ids = [int(v) for v in re.findall(r'name="customer_id" value="(\d+)"', options)]
        if unit_id not in ids:
            return
        ticket_type = r.choices(["maintenance", "requirement", "consultation"], [6, 2, 2])[0]
        tok = self.token()
        form = {"csrf_token": m.group(1), "channel": r.choice(["hotline", "email", "online", "visit"]),
                "type": ticket_type, "customer_id": str(unit_id), "reporter_name": "刘建国", "reporter_dept": "信息科",
                "reporter_phone": "13800138000", "summary": f"打印报表时提示错误 {tok}",
                "description": "每次点击“打印月报”后弹出错误。", "hotline_record_id": ""}
        a = self.post("/tickets/new", form, Attempt(self.role, "register", 0, 0, kind="register", token=tok))
        if a.status == 302 and a.number:
            first = ("awaiting_market" if unit_status == "stopped" else
                     "impl_queue" if ticket_type == "consultation" else "registered")
            self.board.note(a.number, state=first, type=ticket_type)
            self.board.first_ticket.set()

    def work(self, comment: bool = False) -> bool:
        """One workflow action on a ticket this role has business with; False if there was none."""
        r = self.r
        mine = self.user_id if self.visible is not None else None
        if comment:
            number = self.board.pick(r, {None, "registered", "assigned", "resolved", "impl_queue", "closed"},
                                     assignee=mine, within=self.visible)
        else:
            number = self.board.pick(r, ROLE_STATES[self.role], assignee=mine, within=self.visible)
        if not number:
            return False
        status, html = self.get("GET ticket", f"/tickets/{number}")
        if status != 200:
            return True
        forms = page_forms(html)
        if comment:
            wanted = {"comment": 1} if "comment" in forms else {}
        else:
            wanted = {k: w for k, w in ROLE_ACTIONS[self.role].items() if k in forms}
        total = sum(wanted.values())
        if not wanted or (total < 1 and r.random() > total):
            return True  # nothing (or nothing likely) to do here: that was a look
        action = r.choices(list(wanted), list(wanted.values()))[0]
        spec = forms[action]
        data, follow_tok, outcome = self.fill(action, spec)
        if data is None:
            return True
        tok = data.pop("_token")
        form = dict(spec["hidden"], **data)
        if action != "comment" and self.args.race_rate > 0 and (not self.raced or r.random() < self.args.race_rate):
            self.raced = True
            with_note = "comment" in forms and r.random() < 0.4
            self.race(number, action, spec, form, tok, follow_tok, outcome, forms["comment"] if with_note else None)
            return True
        a = self.post(spec["url"], form, Attempt(self.role, action, 0, 0, kind="act", token=tok, number=number,
                                                 follow_up_token=follow_tok))
        if a.status == 302:
            self.advance(number, action, outcome, form)
            if action != "comment" and self.args.stale_rate > 0 and (
                    not self.staled or r.random() < self.args.stale_rate):
                self.staled = True
                stale = dict(form)
                tok2 = self.token()
                for k, v in stale.items():
                    if isinstance(v, str) and tok in v:
                        stale[k] = v.replace(tok, tok2)
                self.post(spec["url"], stale, Attempt(self.role, action, 0, 0, kind="stale", token=tok2,
                                                      number=number))
        return True

    def race(self, number, action, spec, form, tok, follow_tok, outcome, note_spec=None) -> None:
        """Two posts at once on two connections with the same version. Either the same form twice (one
        may win, never both), or the action and a note on the ticket (the note lands before the action
        or is refused: the history checker sees the difference)."""
        race_id = self.board.next_race()
        tok2 = self.token()
        if note_spec is not None:
            url2, second, action2, kind2, follow2 = note_spec["url"], dict(note_spec["hidden"], **{
                "comment-text": f"并发备注 {tok2}"}), "comment", "race-note", ""
        else:
            url2, action2, kind2 = spec["url"], action, "race"
            second = {k: (v.replace(tok, tok2) if isinstance(v, str) else v) for k, v in form.items()}
            follow2 = ""
            if follow_tok:
                follow2 = self.token()
                second = {k: (v.replace(follow_tok, follow2) if isinstance(v, str) else v) for k, v in second.items()}
        attempts = [Attempt(self.role, action, 0, 0, kind=kind2, token=tok, number=number, follow_up_token=follow_tok,
                            race=race_id),
                    Attempt(self.role, action2, 0, 0, kind=kind2, token=tok2, number=number, follow_up_token=follow2,
                            race=race_id)]
        barrier = threading.Barrier(2)

        def go(a, url, f):
            barrier.wait()
            self.post(url, f, a)

        threads = [threading.Thread(target=go, args=(attempts[0], spec["url"], form)),
                   threading.Thread(target=go, args=(attempts[1], url2, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for a, f in zip(attempts, (form, second)):
            if a.status == 302 and a.action != "comment":
                self.advance(number, action, outcome, f)

    def advance(self, number: str, action: str, outcome: str, form: dict) -> None:
        if action == "assign":
            self.board.note(number, state="assigned", assignee=int(form["assign-assignee_id"]))
        elif action in NEXT_STATE:
            self.board.note(number, state=NEXT_STATE[action])
        elif action in ("record_contact", "record_fee", "callback"):
            entry = self.board.tickets.get(number, {})
            nxt = {("record_contact", "proceed"): "impl_queue" if entry.get("type") == "consultation" else "registered",
                   ("record_contact", "declined"): "closed", ("record_fee", "agreed"): "ready_to_assign",
                   ("record_fee", "declined"): "closed", ("callback", "yes"): "callback_done",
                   ("callback", "no"): "assigned"}[(action, outcome)]
            self.board.note(number, state=nxt)

    def fill(self, action: str, spec: dict) -> tuple[dict | None, str, str]:
        """The action's fields, each text carrying this action's token; (data, follow-up token, outcome)."""
        r, tok, p = self.r, self.token(), action + "-"
        d: dict = {"_token": tok}
        follow_tok, outcome = "", ""
        if action == "assign":
            load = [(v, label) for v, label in spec["options"] if label.startswith("压测")]
            choice = r.choice(load or spec["options"] or [(None, "")])[0]
            if choice is None:
                return None, "", ""
            d.update({p + "assignee_id": str(choice), p + "deadline": local_in(r.uniform(1, 10)),
                      p + "analysis": f"压测分析 {tok}"})
        elif action == "suspend_for_fee":
            d[p + "analysis"] = f"约需三人日 {tok}"
        elif action == "record_contact":
            outcome = "proceed" if r.random() < 0.8 else "declined"
            d.update({p + "outcome": outcome, p + "text": f"已与客户沟通 {tok}"})
        elif action == "record_fee":
            outcome = "agreed" if r.random() < 0.8 else "declined"
            d.update({p + "outcome": outcome, p + "text": f"费用协商结果 {tok}",
                      p + "fee": str(r.randint(1, 50) * 1000) if outcome == "agreed" else "",
                      p + "agreed_requirements": "按科室导出" if outcome == "agreed" else ""})
        elif action == "route_to_impl":
            d[p + "reason"] = f"属于实施问题 {tok}"
        elif action == "reject":
            d.update({p + "reason": f"无效反馈 {tok}", p + "duplicate_of": ""})
        elif action == "approve_urgent":
            d[p + "request"] = f"客户来函要求加急 {tok}"
        elif action == "notify_deadline":
            d.update({p + "whom": "刘建国", p + "method": "phone", p + "told_at": "", p + "text": f"已告知 {tok}"})
        elif action == "resolve":
            d.update({p + "process_text": "重装驱动", p + "result": f"已恢复 {tok}",
                      p + "hours_spent": r.choice(["0.5", "1", "1.5", "2", "4"])})
        elif action == "answer":
            d[p + "answer"] = f"使用导入模板 {tok}"
            if r.random() < 0.2:
                follow_tok = self.token()
                d.update({p + "follow_up": "y", p + "follow_up_type": "maintenance",
                          p + "follow_up_summary": f"导入模板报错 {follow_tok}"})
        elif action == "callback":
            outcome = "yes" if r.random() < 0.75 else "no"
            d.update({p + "solved": outcome, p + "satisfaction": str(r.randint(3, 5) if outcome == "yes" else 2),
                      p + "method": "phone", p + "contact_person": "", p + "text": f"回访结果 {tok}",
                      p + "deadline": local_in(3)})  # (read only when not solved: the reopened work's deadline)
        elif action == "close":
            d[p + "note"] = f"结案 {tok}"
        elif action == "reopen":
            d.update({p + "reason": f"问题复现 {tok}", p + "deadline": local_in(3)})
        elif action == "comment":
            d[p + "text"] = f"内部备注 {tok}"
        else:
            return None, "", ""
        return d, follow_tok, outcome


# --- the verdict -----------------------------------------------------------------------------------------

def verify(app, board: Board, run: str) -> dict:
    """Every success exactly once in its ticket's history; every refusal nowhere; the checker's result."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.tickets.consistency import iter_problems
    from portal.tickets.models import Event, Ticket

    token_re = re.compile(r"\[LT" + re.escape(run) + r"-\d+-\d+\]")
    pattern = f"%[LT{run}-%"
    with app.app_context():
        events = defaultdict(list)  # token → [(ticket number, action)]
        rows = db.session.execute(select(Ticket.number, Event.action, Event.text)
                                  .join(Ticket, Ticket.id == Event.ticket_id).where(Event.text.like(pattern)))
        for number, action, text in rows:
            for tok in token_re.findall(text or ""):
                events[tok].append((number, action))
        tickets = defaultdict(list)  # token → [ticket number] (registrations and follow-ups)
        for number, summary in db.session.execute(select(Ticket.number, Ticket.summary)
                                                  .where(Ticket.summary.like(pattern))):
            for tok in token_re.findall(summary):
                tickets[tok].append(number)
        problems, shown = 0, []
        for p in iter_problems():
            problems += 1
            if len(shown) < 20:
                shown.append(str(p))
        ticket_count = db.session.scalar(select(func.count()).select_from(Ticket))

    lost, refused_written, successes, refusals = [], [], 0, 0
    race_wins = defaultdict(int)
    stale, stale_accepted = 0, []
    for a in board.attempts:
        if a.kind not in ("register", "act", "race", "race-note", "stale") or not a.token:
            continue
        ok = a.status == 302
        if a.kind == "register":
            found = tickets.get(a.token, [])
            good = found == [a.number] if ok else not found
        else:
            found = events.get(a.token, [])
            good = found == [(a.number, a.action)] if ok else not found
            if a.follow_up_token:
                follow = tickets.get(a.follow_up_token, [])
                good = good and (len(follow) == 1 if ok else not follow)
        if ok:
            successes += 1
            if not good:
                lost.append(f"{a.role} {a.action} {a.number} {a.token}: history has {found}")
        elif 400 <= a.status < 500:
            refusals += 1
            if not good:
                refused_written.append(f"{a.role} {a.action} {a.number} {a.token} → {a.status}, yet written: {found}")
        if a.kind == "race" and ok:
            race_wins[a.race] += 1
        if a.kind == "stale":
            stale += 1
            if a.status != 409:
                stale_accepted.append(f"{a.role} {a.action} {a.number} → {a.status}")
    races = {a.race for a in board.attempts if a.kind == "race"}
    double = [r for r, n in race_wins.items() if n > 1]
    note_races = [a for a in board.attempts if a.kind == "race-note" and a.action == "comment"]
    return {"lost": lost, "refused_written": refused_written, "successes": successes, "refusals": refusals,
            "note_races": len(note_races), "note_races_refused": sum(1 for a in note_races if a.status == 409),
            "races": len(races), "race_single_win": sum(1 for r in races if race_wins.get(r) == 1),
            "race_double": double, "stale": stale, "stale_accepted": stale_accepted,
            "problems": problems, "problems_shown": shown, "tickets": ticket_count}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(board: Board, result: dict, log: str, meta: dict) -> tuple[dict, bool]:
    rows = defaultdict(list)
    for a in board.attempts:
        label = a.action if a.kind in ("read", "login") else f"POST {a.action}" + (
            f" ({a.kind})" if a.kind in ("race", "race-note", "stale") else "")
        rows[(a.role, label)].append(a)
    print(f"\n{meta['dialect']} · gunicorn -w {meta['workers']}{' + rq worker' if meta['worker'] else ''} · "
          f"{meta['clients']} clients · {meta['elapsed']:.0f} s · {len(board.attempts)} requests "
          f"({len(board.attempts) / meta['elapsed']:.1f}/s) · run {meta['run']} · load average "
          f"{meta['load'][0]:.2f} → {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)\n")
    print(f"| {'role':<14} | {'request':<34} | {'n':>5} | {'2xx':>5} | {'302':>5} | {'409':>4} | {'4xx':>4} | "
          f"{'5xx':>4} | {'err':>3} | {'p50 ms':>7} | {'p95 ms':>7} |")
    print(f"|{'-' * 16}|{'-' * 36}|------:|------:|------:|-----:|-----:|-----:|----:|--------:|--------:|")
    statuses = Counter()
    for (role, label), items in sorted(rows.items()):
        c = Counter(a.status for a in items)
        statuses.update(c)
        ms = [a.ms for a in items]
        two = sum(n for s, n in c.items() if 200 <= s < 300)
        other4 = sum(n for s, n in c.items() if 400 <= s < 500 and s != 409)
        five = sum(n for s, n in c.items() if s >= 500)
        print(f"| {role:<14} | {label:<34} | {len(items):>5} | {two:>5} | {c[302]:>5} | {c[409]:>4} | {other4:>4} | "
              f"{five:>4} | {c[0]:>3} | {pct(ms, 50):>7.1f} | {pct(ms, 95):>7.1f} |")
    all_ms = [a.ms for a in board.attempts]
    print(f"| {'all':<14} | {'':<34} | {len(all_ms):>5} | {'':>5} | {'':>5} | {'':>4} | {'':>4} | {'':>4} | "
          f"{'':>3} | {pct(all_ms, 50):>7.1f} | {pct(all_ms, 95):>7.1f} |")
    print("\nstatus counts: " + ", ".join(f"{s or 'conn-error'}: {n}" for s, n in sorted(statuses.items())))

    five = sum(n for s, n in statuses.items() if s >= 500)
    locked = log.count("database is locked")
    tracebacks = log.count("Traceback (most recent call last)")
    checks = [
        ("5xx responses", five, ""),
        ("connection errors", statuses[0], ""),
        ('"database is locked" in the server log', locked, ""),
        ("tracebacks in the server log", tracebacks, ""),
        ("lost or duplicated updates", len(result["lost"]), f"of {result['successes']} successful writes"),
        ("writes behind a refusal (4xx)", len(result["refused_written"]), f"of {result['refusals']} refused"),
        ("races won twice", len(result["race_double"]),
         f"of {result['races']} races ({result['race_single_win']} won once, the rest lost to a third)"),
        ("stale forms not refused with 409", len(result["stale_accepted"]), f"of {result['stale']} re-posted"),
        ("history problems (check-history)", result["problems"], f"over {result['tickets']} tickets"),
        ("clients that could not log in", meta["login_failed"], ""),
    ]
    print("\nchecks:")
    failed = False
    for name, n, note in checks:
        print(f"  {name:<42} {n:>5}  {'ok' if n == 0 else 'FAIL'}  {note}")
        failed |= n != 0
    for title, items in (("lost/duplicated", result["lost"]), ("written behind refusal", result["refused_written"]),
                         ("stale accepted", result["stale_accepted"]), ("history", result["problems_shown"])):
        for line in items[:10]:
            print(f"  {title}: {line}")
    if locked or tracebacks:
        lines = log.splitlines()
        for i, line in enumerate(lines):
            if "database is locked" in line or "Traceback" in line:
                print("  server log: " + " | ".join(lines[i:i + 3])[:400])
                break
    print(f"  (notes posted at once with an action on the same ticket: {result['note_races']}, of which "
          f"{result['note_races_refused']} refused with 409 — the others were written in turn)")
    print("\nresult:", "FAIL" if failed else "PASS")
    summary = {"meta": meta, "requests": len(board.attempts), "statuses": {str(k): v for k, v in statuses.items()},
               "checks": {name: n for name, n, _ in checks}, "failed": failed,
               "successes": result["successes"], "races": result["races"], "stale": result["stale"],
               "note_races": result["note_races"],
               "actions": dict(Counter(a.action for a in board.attempts if a.kind in ("act", "race", "race-note", "stale")
                                       and a.status == 302)),
               "registered": sum(1 for a in board.attempts if a.kind == "register" and a.status == 302),
               "p50": pct(all_ms, 50), "p95": pct(all_ms, 95)}
    return summary, failed


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TZ", "Asia/Shanghai")
    from portal import create_app

    app = create_app()  # starts (and holds) the embedded Redis when REDIS_URL is not set
    ctx = set_up(app, args.clients, upgrade=not args.no_setup)
    run = secrets.token_hex(3)
    board = Board()
    load = os.getloadavg()
    server = Server(args.workers, app.config["REDIS_URL"], with_worker=not args.no_worker)
    started = time.monotonic()
    try:
        stop_at = started + args.seconds
        by_role = defaultdict(list)
        for username, (role, uid) in ctx["users"].items():
            by_role[role].append((username, uid))
        actors, taken = [], Counter()
        for i, role in enumerate(ROLE_SLOTS[:args.clients]):
            username, uid = by_role[role][taken[role]]
            taken[role] += 1
            actors.append(Actor(i + 1, role, username, uid, ctx, board, args, server.port, run, stop_at))
        for a in actors:
            a.start()
        for a in actors:
            a.join()
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    result = verify(app, board, run)
    meta = {"dialect": ctx["dialect"], "workers": args.workers, "worker": not args.no_worker,
            "clients": args.clients, "elapsed": elapsed, "run": run, "load": load,
            "login_failed": sum(1 for a in actors if not a.login_ok), "server_log": str(server.log_path)}
    summary, failed = report(board, result, log, meta)
    if failed:
        print(f"server log kept: {server.log_path}")
    else:
        shutil.rmtree(server.dir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, ensure_ascii=False, indent=1, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
