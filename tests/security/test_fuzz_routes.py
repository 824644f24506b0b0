"""Every route of the URL map, as every role, with hostile values in every path parameter, query argument
and form field the portal reads: never a 5xx, never a traceback, nothing written by a GET, nothing written
by a refused POST.

The routes come from `app.url_map` (a new route is fuzzed without touching this file; `EXCLUDED` names
the few that are not, and why). The names a request may carry come from the code itself: every WTForms
field (action forms with their prefixes) and every `args.get("…")` / `form.get("…")` in portal/.
Hypothesis draws the values (fixed hostile ones, and generated integers, dates and text with control,
format, combining and surrogate characters). Each route gets one deterministic request per role first,
then FUZZ_EXAMPLES drawn ones. Failures are collected, not shrunk (a request costs milliseconds, shrinking
would cost minutes), and reported together with the seed.

Reproduce or vary: FUZZ_SEED=<n> (default 20261206), FUZZ_EXAMPLES=<n> per route (default 10),
FUZZ_BUDGET=<seconds> for the whole run, past which each remaining route gets only 2 drawn examples (default 85;
the deterministic sweep always runs whole).
"""
from __future__ import annotations

import base64
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.security.world import build_world
from tests.tickets.test_workflow_matrix import recorded_writes

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("FUZZ_SEED", "20261206"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
BUDGET = float(os.environ.get("FUZZ_BUDGET", "85"))
ROLES = ["cs", "dev_manager", "engineer", "impl_manager", "impl_engineer", "market", "market_manager", "admin",
         "duty"]  # `duty` is the world's 值班经理 (cs + duty_manager)

# (endpoint, method) left out, and why. Everything else in the URL map is fuzzed.
EXCLUDED = {
    ("static", "GET"): "files from disk through Flask's own send_from_directory; no parameter of ours",
    ("auth.logout", "POST"): "would end the fuzzing client's own session",
}


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


HOSTILE = [
    "", "0", "-1", "-0", "+1", " 1", "1 ", "01", "1.5", "1e308", "NaN", "inf", "0x10", "1_000", "١٢٣", "１２",
    "2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
    "99999999999999999999999", "-99999999999999999999999", "9" * 5000,
    "9999-12-31", "0000-01-01", "0001-01-01", "10000-01-01", "1899-12-31", "2026-02-30", "2026-13-01", "2026-1-1",
    "9999-12-31T23:59", "0001-01-01T00:00", "9999-12", "0001-01", "2026-00", "9999Q4", "0000Q1", "2026Q9", "99999",
    "\x00", "a\x00b", "\r\n", "x\r\nSet-Cookie: a=b", "\t", "\\", "\\\\server\\share", "../../etc/passwd", "%",
    "%00", "'", "\"><script>alert(1)</script>", "' OR 1=1 --", "\u202e\u202dabc", "\u200f", "e" + "\u0301" * 200,
    "\ufeff", "\U0001F600", "\ud800", "a\udfffb", "true", "on", "[]", "{}", "null", "x" * 10_000,
    # forged and foreign cursors
    "W3RydWUsIDVd", _b64(["tickets.urgent", [True, 2**70]]), _b64(["tickets.urgent", ["x", 1]]),
    _b64(["tickets.deadline", ["10000-01-01T00:00:00", 1]]), _b64(["tickets.deadline", [None, 1]]),
    _b64(["customers.name", ["a" * 5000, 1]]), _b64(["documents.newest", [-2**63]]), _b64([[[[[]]]]]),
    _b64(["tickets.urgent", [True, 5]]), "s9999999999999999999.1", "s1.99999999999999999999", "====", "!!",
]
# What overflowed or crashed before: huge, the calendar's end, negative, its start, NaN, a forged cursor, NUL,
# 10k characters.
KILLERS = ["99999999999999999999999", "9999-12-31", "-1", "0001-01-01", "NaN", "W3RydWUsIDVd", "\x00", "x" * 10_000,
           "9999-12", "9999Q4", "0001", "2147483648"]
GOOD = ["1", "2", "3", "5", "yes", "no", "phone", "2026-03-02", "2026-03", "2026", "2026Q1", "2026-03-02T09:30",
        "maintenance", "urgent", "deadline", "dev", "impl", "vip", "ordinary", "am", "pm", "kept", "missed"]
values = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(GOOD),
    st.integers(min_value=-2**80, max_value=2**80).map(str),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
    st.text(max_size=40),
    st.text(st.characters(categories=["Cc", "Cf", "Cs", "Mn", "Zl", "Zp", "Co"], codec=None), max_size=12),
)


# --- what a request may carry, read from the code -------------------------------------------------

def _all_forms() -> list[type]:
    import portal.models  # noqa: F401
    out, todo = [], [FlaskForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("portal."):
                out.append(sub)
            todo.append(sub)
    return out


def _field_names(form_cls, prefix: str = "") -> list[str]:
    from wtforms.fields.core import UnboundField

    return [f"{prefix}{name}" for name, value in vars_all(form_cls) if isinstance(value, UnboundField)]


def vars_all(cls):
    seen = {}
    for klass in reversed(cls.__mro__):
        seen.update(vars(klass))
    return seen.items()


_ARG = re.compile(r"args\.get(?:list)?\(\s*[\"'](\w+)[\"']")
_FORM = re.compile(r"(?:form|values)\.get(?:list)?\(\s*[\"'](\w+)[\"']")


def name_pools(app) -> tuple[dict, dict, dict[str, list[str]]]:
    """Per endpoint: the query argument names and the form field names its package reads (its modules'
    `args.get("…")` / `form.get("…")` and the fields of its WTForms; action forms with their prefixes);
    and action → its prefixed field names."""
    import inspect

    from portal.tickets.forms import ACTION_FORMS

    forms = _all_forms()
    actions = {a: _field_names(f, f"{a}-") for a, f in ACTION_FORMS.items()}
    by_package: dict[str, tuple[set, set]] = {}
    for py in (ROOT / "portal").rglob("*.py"):
        package = ".".join(py.relative_to(ROOT).with_suffix("").parts[:2])
        text = py.read_text(encoding="utf-8")
        a, f = by_package.setdefault(package, (set(), set()))
        a.update(_ARG.findall(text))
        f.update(_FORM.findall(text))
    for form in forms:
        package = ".".join(form.__module__.split(".")[:2])
        names = set(_field_names(form)) - {"csrf_token"}
        by_package[package][0].update(names)
        by_package[package][1].update(names)
    by_package["portal.tickets"][1].update(n for v in actions.values() for n in v)
    args, fields = {}, {}
    for endpoint, view in app.view_functions.items():
        package = ".".join(inspect.getmodule(view).__name__.split(".")[:2])
        a, f = by_package.get(package, (set(), set()))
        args[endpoint], fields[endpoint] = sorted(a) or ["q"], sorted(f) or ["x"]
    return args, fields, actions


# --- the routes --------------------------------------------------------------------------------

@dataclass
class Route:
    endpoint: str
    method: str
    rule: str
    params: list[str]


def routes_of(app) -> list[Route]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) not in EXCLUDED:
                out.append(Route(rule.endpoint, method, rule.rule, sorted(rule.arguments)))
    return sorted(out, key=lambda r: (r.rule, r.method))


def valid_path_values(w, users) -> dict[str, list[str]]:
    from portal.tickets.forms import ACTION_FORMS

    return {
        "unit_id": [str(u.id) for u in w.units.values()],
        "contact_id": [str(c.id) for c in w.contacts.values()],
        "contract_id": [str(c.id) for c in w.contracts.values()],
        "complaint_id": [str(c.id) for c in w.complaints.values()],
        "record_id": [str(w.hotline.id)],
        "shift_id": [str(w.shift.id)],
        "note_id": [str(n.id) for n in w.notes.values()],
        # victims of the admin pages, never a fuzzing user (a password change would sign it out)
        "user_id": [str(users["engineer2"].id), str(users["impl_engineer2"].id)],
        "doc_id": [d.public_id for d in w.documents.values()],
        "number": [t.number for t in w.tickets.values()],
        "att_id": [a.id for a in w.attachments.values()],
        "action": sorted(ACTION_FORMS),
        "fmt": ["csv", "xlsx", "pdf"],
        "key": ["cs", "dev", "impl", "market"],
        "job_id": ["no-such-job"],
        "filename": ["app.css"],
        "reply_id": [str(r.id) for r in w.replies.values()],
    }


def _enc(v: str) -> str:
    # lone surrogates go out as the bytes a careless client would send (invalid UTF-8)
    return quote(v.encode("utf-8", "surrogatepass"), safe="")


def _path(route: Route, params: dict[str, str]) -> str:
    path = route.rule
    for name in route.params:
        path = re.sub(r"<(?:[^:<>]+:)?" + name + r">", _enc(params[name]) or "%20", path)
    return path


def _body(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{_enc(k)}={_enc(v)}" for k, v in pairs).encode("ascii")


# --- one request and its checks -----------------------------------------------------------------

@dataclass
class Run:
    failures: list = field(default_factory=list)
    requests: int = 0
    values: int = 0
    fuzzed: set = field(default_factory=set)
    names: dict = field(default_factory=dict)  # (endpoint, method) → parameter names sent
    by_role: set = field(default_factory=set)


def send(run: Run, clients, route: Route, role: str, params: dict, pairs: list[tuple[str, str]]) -> None:
    client = clients(role)
    path = _path(route, params)
    run.requests += 1
    run.values += len(pairs) + len(route.params)
    run.fuzzed.add((route.endpoint, route.method))
    run.by_role.add((route.endpoint, route.method, role))
    run.names.setdefault((route.endpoint, route.method), set()).update(
        [k for k, _ in pairs] + route.params)
    where = f"{route.method} {path} as {role} with {pairs!r}"[:600]
    with recorded_writes() as writes:
        try:
            if route.method == "GET":
                r = client.get(path, query_string=_body(pairs).decode())
            else:
                r = client.open(path, method=route.method, data=_body(pairs),
                                content_type="application/x-www-form-urlencoded")
        except Exception as e:  # TESTING propagates what would have been a 500
            from portal.extensions import db

            db.session.rollback()
            run.failures.append(f"{type(e).__name__}: {str(e)[:200]} — {where}")
            return
    body = r.get_data()
    if r.status_code >= 500:
        run.failures.append(f"{r.status_code} — {where}")
    elif b"Traceback (most recent call last)" in body or b'File "/' in body:
        run.failures.append(f"traceback in the body — {where}")
    elif route.method == "GET" and writes:
        run.failures.append(f"a GET wrote: {writes[0][:80]} — {where}")
    elif route.method != "GET" and 400 <= r.status_code < 500 and writes:
        run.failures.append(f"refused ({r.status_code}) but wrote: {writes[0][:80]} — {where}")


# --- the test ------------------------------------------------------------------------------------

@pytest.fixture
def fuzz_world(users, ticket_factory, unit_factory):
    return build_world(users, ticket_factory, unit_factory)


def test_every_route_as_every_role_survives_hostile_input(app, auth, fuzz_world):
    from portal.extensions import db, limiter

    w = fuzz_world
    users = w.users
    started = time.monotonic()
    arg_names, form_names, action_fields = name_pools(app)
    valid = valid_path_values(w, users)
    routes = routes_of(app)
    run = Run()

    def clients(role: str):
        return auth.client_for(role)

    def relogin_if_signed_out():
        for role in ROLES:
            r = clients(role).get("/notifications/bell")
            if r.status_code in (301, 302, 401):
                auth.clients.pop(role, None)
                clients(role)

    def names_for(route: Route, params: dict) -> list[str]:
        if route.method == "GET":
            return arg_names[route.endpoint]
        if route.endpoint == "tickets.act" and params.get("action") in action_fields:
            return action_fields[params["action"]] + ["version"]
        return form_names[route.endpoint]

    limiter.enabled = False  # the login throttle would lock the fuzzing clients out; tests/auth covers it
    try:
        # 1. Deterministic sweep: each route, as each role, real ids in the path and
        #    a. a hostile value in every name the route may read (rotating through HOSTILE),
        #    b. the path itself hostile (one value per role);
        #    then, as the roles in turn,
        #    c. every name at once with each of the values that broke pages before,
        #    d. (GET) each name alone, the others absent: huge, and two of the rest in turn (a list parses a
        #       name only when the others let it get that far, e.g. metrics' `page` after a valid period).
        for n, route in enumerate(routes):
            params = {p: (valid.get(p) or ["1"])[0] for p in route.params}
            names = names_for(route, params)
            for k, role in enumerate(ROLES):
                send(run, clients, route, role, params,
                     [(name, HOSTILE[(n + k + i) % len(HOSTILE)]) for i, name in enumerate(names)])
                if route.params:
                    send(run, clients, route, role, {p: HOSTILE[(n * 7 + k) % len(HOSTILE)] for p in route.params}, [])
            for j, value in enumerate(KILLERS):
                send(run, clients, route, ROLES[(n + j) % len(ROLES)], params, [(name, value) for name in names])
            if route.method == "GET":
                rest = KILLERS[1:]
                for i, name in enumerate(names):
                    turn = [KILLERS[0], rest[(n + 2 * i) % len(rest)], rest[(n + 2 * i + 1) % len(rest)]]
                    for j, value in enumerate(turn):
                        send(run, clients, route, ROLES[(n + i + j) % len(ROLES)], params, [(name, value)])
            if route.method != "GET":
                db.session.rollback()
                relogin_if_signed_out()
        sweep_seconds = time.monotonic() - started

        def drawn_requests(route: Route, examples: int):
            @seed(SEED)
            @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(data=st.data())
            def fuzz(data):
                role = data.draw(st.sampled_from(ROLES), label="role")
                params = {p: data.draw(st.sampled_from(valid.get(p) or ["1"]) | values, label=p)
                          for p in route.params}
                names = data.draw(st.lists(st.sampled_from(names_for(route, params)), max_size=4, unique=True),
                                  label="names")
                pairs = [(name, data.draw(values, label=name)) for name in names]
                send(run, clients, route, role, params, pairs)
            return fuzz

        # 2. Drawn examples per route, within the budget (past it, every route still gets a couple).
        drawn = 0
        for route in routes:
            full = time.monotonic() - started < BUDGET
            drawn_requests(route, EXAMPLES if full else 2)()
            drawn += full
            if route.method != "GET":
                db.session.rollback()
                relogin_if_signed_out()
    finally:
        limiter.enabled = True

    took = time.monotonic() - started
    expected = {(r.endpoint, r.method) for r in routes}
    print(f"\nfuzz: seed {SEED}, {len(run.fuzzed)} routes (endpoint × method) × {len(ROLES)} roles "
          f"({len(run.by_role)} route-role pairs), {sum(len(v) for v in run.names.values())} route parameters, "
          f"{run.requests} requests, {run.values} values, sweep {sweep_seconds:.1f} s, {EXAMPLES} drawn examples "
          f"for {drawn} routes (2 for the rest), total {took:.1f} s "
          f"on {db.engine.dialect.name}")
    assert run.fuzzed == expected
    assert not run.failures, f"{len(run.failures)} failures (FUZZ_SEED={SEED}):\n" + "\n".join(
        sorted(set(run.failures))[:60])


def test_the_fuzzed_routes_are_the_url_map_less_the_commented_exclusions(app):
    in_map = {(rule.endpoint, m) for rule in app.url_map.iter_rules()
              for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    fuzzed = {(r.endpoint, r.method) for r in routes_of(app)}
    assert set(EXCLUDED) <= in_map, "an exclusion names a route that no longer exists"
    assert fuzzed == in_map - set(EXCLUDED)
    assert all(why.strip() for why in EXCLUDED.values())
