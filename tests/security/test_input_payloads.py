"""Input (issue 8): script payloads typed into every text field — and into upload file names — stay
inert text in full pages, htmx fragments, e-mails, group-robot webhooks, PDFs and exports.

The portal renders no user HTML or Markdown: every user text is escaped by Jinja's autoescape, and no
template marks user data safe (test_no_template_or_helper_marks_user_data_safe lists the few places
that build markup in Python and why each is safe). So nh3 is not needed; this file proves the escaping.
"""
from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from portal.extensions import db
from portal.metrics.exports import DANGEROUS_FIRST
from tests.conftest import ROOT, require_or_skip
from tests.security.world import build_world
from tests.jobs.test_delivery import smtp_server  # noqa: F401  (fixture)

PAYLOADS = {
    "script": "<script>alert('PWN')</script>",
    "attribute breakout": "\"><img src=x onerror=alert('PWN')>",
    "htmx attribute": "<div hx-get=\"/admin\" hx-trigger=\"load\" id=\"PWN\">x</div>",
    "javascript url": "javascript:alert('PWN')",
    "template": "PWN{{7*7}}{{config}}",
    "crlf": "PWN\r\nX-Injected: 1\r\n\r\n<b id=PWN>x</b>",
}


class _Scan(HTMLParser):
    """Everything that would make user text active in a browser (or in htmx)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "script":
            self._script = True
        if a.get("id") == "PWN" or (tag == "img" and a.get("src") == "x"):
            self.problems.append(f"injected element <{tag} {a}>")
        for name, value in a.items():
            if name.startswith("on") and "PWN" in value:
                self.problems.append(f"event handler {name}={value!r}")
            if name.startswith(("hx-", "data-hx-")) and value == "/admin":
                self.problems.append(f"htmx attribute {name}={value!r}")
            if name in ("href", "src", "action", "formaction", "hx-get", "hx-post") and \
                    re.sub(r"\s", "", value).lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = False

    def handle_data(self, data):
        if self._script and "PWN" in data:
            self.problems.append("user text inside a script element")


def assert_inert(html: str, where: str) -> None:
    scan = _Scan()
    scan.feed(html)
    assert not scan.problems, (where, scan.problems)
    assert "PWN49" not in html, (where, "template expression evaluated")
    assert "SECRET_KEY" not in html, (where, "template expression evaluated")


def assert_headers_clean(response, where: str) -> None:
    for name, value in response.headers.items():
        assert "\r" not in value and "\n" not in value, (where, name)
        assert name.lower() != "x-injected", where


@pytest.fixture
def world(users, ticket_factory, unit_factory):
    return build_world(users, ticket_factory, unit_factory)


def _file_name(p: str) -> str:
    # (a multipart header cannot carry a raw quote or line break: the test client would cut the name there)
    return re.sub(r"[\r\n\"]", "", p)[:60] + ".txt"


def _fill(auth, w, p: str) -> dict:
    """Type the payload into every text field there is, through the forms; return what was made."""
    cs, eng = auth.client_for("cs"), auth.client_for("engineer")
    made = {}

    def ok(r, what):
        assert r.status_code in (200, 302), (what, r.status_code, re.findall(r"(?:error|alert)[^>]*>([^<]+)<", r.get_data(as_text=True)))

    unit = w.units["a"]
    r = cs.post("/tickets/new", data=dict(
        channel="hotline", customer_id=unit.id, type="maintenance", reporter_name=p[:64], reporter_dept=p[:100],
        reporter_phone="13800138000", summary=p[:200], description=p,
        attachments=[(io.BytesIO(b"x\n"), _file_name(p))]), content_type="multipart/form-data")
    ok(r, "intake")
    from portal.tickets.models import Ticket

    t = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    made["ticket"] = t
    r = cs.post(f"/tickets/{t.number}/actions/comment", data={
        "comment-text": p, "comment-version": str(t.version),
        "comment-attachments": [(io.BytesIO(b"y\n"), "b" + _file_name(p))]}, content_type="multipart/form-data")
    ok(r, "comment")
    mine = w.tickets["mine"]
    ok(eng.post(f"/tickets/{mine.number}/actions/resolve", data={
        "resolve-process_text": p, "resolve-result": p, "resolve-hours_spent": "1", "resolve-version": str(mine.version)}),
        "resolve")
    db.session.expire_all()
    mine = db.session.get(Ticket, mine.id)
    ok(cs.post(f"/tickets/{mine.number}/actions/callback", data={
        "callback-solved": "no", "callback-method": "phone", "callback-contact_person": p[:64], "callback-text": p,
        "callback-satisfaction": "3", "callback-deadline": "2099-01-01T09:00",
        "callback-version": str(mine.version)}), "callback")
    ok(cs.post("/hotline/new", data=dict(unit_name=p[:200], address=p[:300], phone="13800138000",
                                         contact_name=p[:64], content=p, handling=p)), "hotline")
    ok(cs.post("/complaints/new", data=dict(customer_id=unit.id, channel="phone", complainant=p[:64], content=p,
                                            handler_id=w.users["market_manager"].id)), "complaint")
    ok(cs.post(f"/customers/{unit.id}/edit", data=dict(name="甲市" + p[:150], address=p[:300], user_count="3")),
       "unit")
    ok(cs.post(f"/customers/{unit.id}/contacts/new", data=dict(name=p[:64], department=p[:100],
                                                              phone="13800138009")), "contact")
    ok(cs.post(f"/service-plan/{unit.id}/record", data=dict(kind="monthly", method="phone", contact_person=p[:64],
                                                           outcome=p)), "plan")
    ok(cs.post(f"/documents/{w.documents['a'].public_id}/sent", data=dict(note=p)), "document sent")
    ok(cs.post(f"/documents/units/{unit.id}/upload", data=dict(kind="other", title=p[:200], period="",
                                                               file=(io.BytesIO(b"z\n"), _file_name(p))),
               content_type="multipart/form-data"), "document upload")
    from portal.complaints.models import Complaint
    from portal.hotline.models import HotlineRecord

    made["hotline"] = db.session.scalar(select(HotlineRecord).order_by(HotlineRecord.id.desc()))
    made["complaint"] = db.session.scalar(select(Complaint).order_by(Complaint.id.desc()))
    return made


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_script_payloads_in_every_text_field_are_inert_in_pages_and_fragments(auth, world, name):
    p = PAYLOADS[name]
    w = world
    made = _fill(auth, w, p)
    t, mine = made["ticket"], w.tickets["mine"]
    from urllib.parse import quote

    urls = {
        "cs": [f"/tickets/{t.number}", f"/tickets/{mine.number}", "/tickets", f"/tickets?q={quote(p)}",
               f"/tickets?q={quote('PWN')}", "/", "/notifications", "/hotline", f"/hotline/{made['hotline'].id}",
               f"/tickets/new?hotline_record_id={made['hotline'].id}", "/complaints",
               f"/complaints/{made['complaint'].id}", "/customers", f"/customers?q={quote(p)}",
               f"/customers/{w.units['a'].id}", f"/customers/{w.units['a'].id}/edit", "/service-plan",
               "/documents", f"/documents?q={quote(p)}", f"/documents/{w.documents['a'].public_id}", "/handover",
               f"/customers/lookup?customer_q={quote('甲市')}", f"/complaints/units?customer_q={quote('甲市')}"],
        "engineer": [f"/tickets/{mine.number}", "/tickets", f"/tickets?q={quote('PWN')}", "/"],
        "market_manager": ["/metrics", f"/metrics/callbacks?department=", "/complaints",
                           f"/complaints/{made['complaint'].id}"],
    }
    seen_payload = 0
    for role, pages in urls.items():
        c = auth.client_for(role)
        for url in pages:
            for headers in ({}, {"HX-Request": "true"}):
                r = c.get(url, headers=headers)
                assert r.status_code == 200, (role, url, headers, r.status_code)
                html = r.get_data(as_text=True)
                assert_inert(html, (role, url, headers))
                assert_headers_clean(r, (role, url))
                seen_payload += "PWN" in html
    assert seen_payload > 20  # the payload was really shown (escaped) on the pages


def test_a_line_break_in_a_unit_name_never_breaks_a_download_header(auth, world, users):
    """A CR/LF typed into a unit name reached Content-Disposition (export and letter file names) and
    made Werkzeug answer 500; the download name is now cleaned of control characters."""
    from portal.documents import operations as dops
    from tests.jobs.helpers import run_burst_worker

    _fill(auth, world, PAYLOADS["crlf"])
    c = auth.client_for("cs")
    unit = world.units["a"]
    doc = dops.request_contract_letter(world.contracts["a"], users["cs"])
    db.session.commit()
    run_burst_worker()
    for url in (f"/metrics/units/{unit.id}/history.csv", f"/metrics/units/{unit.id}/history.xlsx",
                f"/documents/{doc.public_id}/download"):
        r = c.get(url)
        assert r.status_code == 200, (url, r.status_code)
        assert_headers_clean(r, url)
        assert r.headers["Content-Disposition"].startswith("attachment")


def test_payloads_in_attachment_names_are_inert_in_download_headers(auth, world):
    for name, p in PAYLOADS.items():
        made = _fill(auth, world, p) if name == "crlf" else None
        if made is None:
            continue
        from portal.tickets.models import Attachment

        c = auth.client_for("cs")
        for att in db.session.scalars(select(Attachment).where(Attachment.ticket_id == made["ticket"].id)):
            r = c.get(f"/tickets/{made['ticket'].number}/attachments/{att.id}")
            assert r.status_code == 200
            assert_headers_clean(r, att.filename)
            assert r.headers["Content-Disposition"].startswith("attachment")
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert "sandbox" in r.headers["Content-Security-Policy"]


def test_no_template_or_helper_marks_user_data_safe(app):
    """The portal renders no user HTML/Markdown (so no nh3): autoescape is on for every template, no
    template uses |safe or turns escaping off, and the only markup built in Python is listed here."""
    assert app.jinja_env.autoescape("x.html") is True
    for path in (ROOT / "templates").rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        for pattern in (r"\|\s*safe\b", r"autoescape\s+false", r"Markup\(", r"\|\s*e\s*\)\s*\|\s*safe"):
            assert not re.search(pattern, source), (str(path), pattern)
    allowed = {
        # built from constants and escape()d pieces only
        "portal/metrics/charts.py": "SVG charts: every label goes through markupsafe.escape",
        "portal/search/text.py": "search highlighting: each piece of the text is escaped, <mark> added around it",
        "portal/documents/content.py": "the embedded font's @font-face CSS, a constant",
        "portal/tickets/listing.py": "type hints of the highlighted snippets (built by search.text)",
        "portal/kb/operations.py": "revision diff: Markup('<del>%s</del>') % line — the % operator escapes each line",
        "portal/replies/area.py": "the picker button: an autoescaped template's output, marked as the HTML it is",
    }
    found = set()
    for path in (ROOT / "portal").rglob("*.py"):
        if re.search(r"\bMarkup\(|\|safe|autoescape=False", path.read_text(encoding="utf-8")):
            found.add(str(path.relative_to(ROOT)))
    assert found <= set(allowed), sorted(found - set(allowed))


# --- e-mail and group-robot webhooks -----------------------------------------------------------------

@pytest.fixture
def smtp_sink(smtp_server):
    """A real SMTP server on loopback (tests/jobs/test_delivery.py), the portal's SMTP_* pointing at it."""
    return smtp_server


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_script_payloads_reach_e_mail_as_plain_text_and_never_a_header(users, ticket_factory, unit_factory,
                                                                      smtp_sink, name):
    from portal.notifications.jobs import deliver_notification
    from portal.notifications.models import Notification
    from portal.tickets import operations as ops
    from tests.jobs.helpers import call_job

    p = PAYLOADS[name]
    users["engineer"].email = "engineer@example.com"
    users["engineer"].display_name = "工程师" + p[:40]
    t = ticket_factory(unit=unit_factory(name="单位" + p[:100]), summary=p[:200], reporter_name=p[:64])
    from datetime import timedelta

    from portal.core.timeutil import utcnow

    ops.take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                        "deadline": utcnow() + timedelta(days=2)})
    db.session.commit()
    n = db.session.scalar(select(Notification).where(Notification.user_id == users["engineer"].id))
    assert call_job(deliver_notification, n.id) == "sent"
    [msg] = smtp_sink.messages()
    assert msg.get_content_type() == "text/plain" and not msg.is_multipart()
    assert "X-Injected" not in msg and "Bcc" not in msg
    for header in ("Subject", "To", "From"):
        assert "\r" not in str(msg[header]) and "\n" not in str(msg[header])
    body = msg.get_content()
    assert p.split("\r")[0] in body  # the text arrives as text


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_script_payloads_reach_group_robots_as_a_plain_text_message(monkeypatch, app, name):
    import json

    from portal.notifications import delivery
    from tests.jobs.test_delivery import WebhookSink

    p = PAYLOADS[name]
    sink = WebhookSink({"errcode": 0})
    try:
        monkeypatch.setenv("WECOM_WEBHOOK_URL", sink.url + "/wecom")
        monkeypatch.setenv("DINGTALK_WEBHOOK_URL", sink.url + "/dingtalk")
        assert sorted(delivery.send_webhooks(p, p)) == ["dingtalk", "wecom"]
    finally:
        sink.close()
    for _path, headers, body in sink.requests:
        payload = json.loads(body)
        assert payload["msgtype"] == "text"  # never markdown: the robots show it as typed
        assert set(payload) == {"msgtype", "text"} and set(payload["text"]) == {"content"}
        title, _, rest = payload["text"]["content"].partition("\n")
        assert "\r" not in title and "\n" not in title
        assert rest == p


# --- PDFs -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["script", "attribute breakout", "htmx attribute", "template"])
def test_script_payloads_are_printed_literally_in_letters(users, unit_factory, name):
    from datetime import date, timedelta
    from decimal import Decimal

    from portal.customers import operations as cops
    from portal.documents import letterhead
    from portal.documents import operations as dops
    from tests.documents.helpers import pdf_bytes
    from tests.jobs.helpers import run_burst_worker

    require_or_skip(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    p = PAYLOADS[name]
    letterhead.save(dict(name="客服部" + p, address=p, phone="0571-88880000", fax="", email="", qq=""), users["admin"])
    unit = unit_factory(name="单位" + p[:100], address=p[:300])
    contact = cops.add_contact(unit, name=p[:64], department=p[:100], phone="13800138000")
    contract = cops.add_contract(unit, start_date=date.today() - timedelta(days=300), end_date=date.today() + timedelta(days=60), fee=Decimal("1"))
    db.session.flush()
    doc = dops.request_expiry_notice(contract, users["cs"], contact=contact, fax=p[:60], boxes=["urgent"],
                                     renew_by=date.today() + timedelta(days=30))
    db.session.commit()
    run_burst_worker()
    db.session.refresh(doc)
    assert doc.status == "ready", doc.error
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf_bytes(doc), capture_output=True, check=True)
    text = "".join(out.stdout.decode("utf-8").split())
    literal = "".join(p.split())
    assert literal[:30] in text, (literal, text[:500])  # printed as typed, not interpreted as markup
    assert "PWN49" not in text


# --- exports ----------------------------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"PWN\")", "+1+cmd|'/C calc'!A0", "-2+3+cmd|'/C calc'!A0",
            "@SUM(1+1)*cmd|'/C calc'!A0", "\t=1+1", "\r=1+1"]


def _cells(client, url: str) -> list[str]:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    if url.split("?")[0].endswith(".xlsx"):
        wb = load_workbook(io.BytesIO(r.data))
        return [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
                if c.data_type == "s" and isinstance(c.value, str)] + \
               [f"={c.value}" for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    return [f for row in csv.reader(io.StringIO(r.data.decode("utf-8-sig"))) for f in row]


@pytest.mark.parametrize("formula", FORMULAS)
def test_formula_and_script_payloads_in_every_exported_text_cell_are_neutralised(auth, world, formula):
    w = world
    made = _fill(auth, w, formula)
    cs, admin = auth.client_for("cs"), auth.client_for("admin")
    cells = []
    for fmt in ("xlsx", "csv"):
        cells += _cells(cs, f"/tickets/export.{fmt}")
        cells += _cells(cs, f"/metrics/units/{w.units['a'].id}/history.{fmt}")
        cells += _cells(admin, f"/metrics/export.{fmt}")
    assert any("PWN" in c or "1+1" in c or "cmd|" in c for c in cells)  # the payload really is in the export
    bad = [c for c in cells if c and c.startswith(DANGEROUS_FIRST)]
    assert not bad, bad
    assert made["ticket"].number in "".join(cells)
