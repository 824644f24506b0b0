"""The database failing at any statement of a request: the answer is a clean Chinese 503 (never an exception
escaping the portal, never a traceback), and it tells the truth about what was saved.

Every GET page (as a role that may open it) fails at its first, middle and last statement; registering a
ticket and writing a note fail at every one of theirs. On PostgreSQL the connection is really cut (the
backend terminated from another connection, the pool reconnects); on SQLite the driver's error is raised in
its place. A failure after the commit has nothing left to break for a plain form (its redirect needs no
query); where it does, the 503 says the change was saved.

This is how a late query (a lazy load while rendering, an after-request hook) that escaped the error
handlers was found: tests/security/test_bad_day.py cuts connections under load at random points; this
walks the points one by one.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.tickets.models import Event, Ticket
from tests.conftest import ROLE_KEYS
from tests.security.test_bad_day import ON_POSTGRES, UNAVAILABLE, release
from tests.security.test_headers import get_rules, objects, url_for_rule  # noqa: F401  (objects: a fixture)
from tests.tickets.test_flows_http import form_version, page, post

SAVED = "您的操作已保存"
# Who tries a page first: the roles that see the most.
ROLE_ORDER = ["admin", "market_manager", "dev_manager", "cs", "market", "impl_manager", "engineer", "impl_engineer"]
assert sorted(ROLE_ORDER) == sorted(ROLE_KEYS)


class FailAt:
    """Makes the n-th statement (1-based) of what runs while it is listening fail."""

    def __init__(self, n: int | None = None):
        self.n, self.seen, self.fired = n, 0, False

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self)

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.seen += 1
        if self.n is None or self.seen != self.n:
            return
        self.fired = True
        if ON_POSTGRES:
            import psycopg

            pid = conn.connection.dbapi_connection.info.backend_pid
            url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(url, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        else:
            raise OperationalError(statement, parameters, Exception("disk I/O error"))


def request(client, method: str, url: str, n: int | None, **kw):
    """The request with its n-th statement failing (None: none), read to the end; and how many ran."""
    with FailAt(n) as fail:
        r = client.open(url, method=method, buffered=True, **kw)
    return r, fail


def assert_clean_503(r, where: str, saved: bool) -> None:
    body = r.get_data(as_text=True)
    assert r.status_code == 503, f"{where}: {r.status_code}"
    assert "Traceback" not in body and "psycopg" not in body and "sqlite3" not in body, where
    assert (SAVED in body) == saved and (UNAVAILABLE in body) != saved, f"{where}: {body[-400:]}"
    assert "no-store" in r.headers.get("Cache-Control", "") and r.headers.get("Retry-After"), where


def test_every_page_failing_at_its_first_middle_or_last_statement_answers_a_clean_503(app, auth, objects):
    release()
    pages = 0
    for rule in get_rules(app):
        if rule.rule == "/healthz":
            continue  # says "database: error" in its own JSON, with a 503 (tests/test_health.py)
        url = url_for_rule(rule, objects)
        for role in ROLE_ORDER:
            client = auth.client_for(role)
            ok, counted = request(client, "GET", url, None)
            if ok.status_code == 200:
                break
        else:
            continue  # no role opens it with these ids (a 404 page is tested below through the others)
        pages += 1
        for n in sorted({1, (counted.seen + 1) // 2, counted.seen}):
            for htmx in (False, True):
                headers = {"HX-Request": "true"} if htmx else {}
                r, fail = request(client, "GET", url, n, headers=headers)
                where = f"{role} GET {url} (htmx {htmx}), statement {n} of {counted.seen}"
                if fail.fired:
                    assert_clean_503(r, where, saved=False)
                    if htmx and r.mimetype == "text/html":
                        assert "<html" not in r.get_data(as_text=True), f"{where}: a whole page into a fragment"
                else:  # (this time the page ran fewer statements: nothing failed)
                    assert r.status_code == 200, where
        assert request(client, "GET", url, None)[0].status_code == 200, f"{url}: no recovery"
    assert pages >= 25, pages


@pytest.mark.parametrize("htmx", [False, True])
def test_writing_a_note_failing_at_any_statement_is_a_clean_503_that_says_whether_it_was_saved(
        app, auth, ticket_factory, htmx):
    number = ticket_factory().number
    cs = auth.client_for("cs")
    release()
    notes = lambda: db.session.scalar(select(func.count()).select_from(Event).where(Event.action == "comment"))  # noqa: E731
    n = 0
    while True:
        n += 1
        version = form_version(page(cs, number), "comment")
        before = notes()
        release()
        with FailAt(n) as fail:
            r = post(cs, number, "comment", version, htmx=htmx, text=f"第{n}次")
        saved = notes() == before + 1
        release()
        where = f"note (htmx {htmx}), statement {n}"
        if not fail.fired:
            assert r.status_code in (200, 302) and saved, where
            break
        assert notes() <= before + 1, where
        if r.status_code in (200, 302):  # the failure came after everything the answer needed
            assert saved, where
        else:
            assert_clean_503(r, where, saved=saved)
    assert n > 3, n


def test_registering_failing_at_any_statement_is_a_clean_503_and_saves_nothing(app, auth, unit_factory):
    unit_id = unit_factory().id
    cs = auth.client_for("cs")
    release()
    tickets = lambda: db.session.scalar(select(func.count()).select_from(Ticket))  # noqa: E731
    form = {"channel": "hotline", "customer_id": str(unit_id), "type": "maintenance", "reporter_name": "刘建国",
            "reporter_dept": "信息科", "reporter_phone": "13800138000", "summary": "打印机无法打印", "description": "x"}
    n = 0
    while True:
        n += 1
        before = tickets()
        release()
        with FailAt(n) as fail:
            r = cs.post("/tickets/new", content_type="multipart/form-data", data=dict(form))
        after = tickets()
        release()
        where = f"register, statement {n}"
        if not fail.fired:
            assert r.status_code == 302 and after == before + 1, where
            break
        assert after == before, f"{where}: a ticket was saved although the request failed"
        assert_clean_503(r, where, saved=False)
    assert n > 5, n
