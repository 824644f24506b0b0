"""Delivery to real servers on loopback: e-mail to an SMTP server (aiosmtpd), group-robot
webhooks (WeCom / DingTalk) to a local HTTP sink. User text never reaches a mail header."""
from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import current_app
from aiosmtpd.controller import Controller

from portal.auth.operations import create_user
from portal.core.enums import Role
from portal.extensions import db
from portal.jobs import queue as outbox
from portal.notifications import delivery
from portal.notifications.jobs import deliver_notification, post_reminder_digest
from portal.notifications.models import Notification
from tests.conftest import PASSWORD
from tests.jobs.helpers import call_job, run_burst_worker

INJECTION = "\r\nBcc: evil@example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailSink:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)  # before the 250: the sender returns only after this
        return "250 OK"

    def messages(self):
        return [email.message_from_bytes(e.original_content, policy=email.policy.default) for e in self.envelopes]


@pytest.fixture
def smtp_server(monkeypatch):
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(controller.port))
    monkeypatch.setenv("SMTP_FROM", "portal@example.com")
    yield sink
    controller.stop()


class WebhookSink:
    def __init__(self, answer: dict):
        self.requests: list[tuple[str, dict, bytes]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sink.requests.append((self.path, dict(self.headers), body))
                out = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhooks(monkeypatch):
    sink = WebhookSink({"errcode": 0, "errmsg": "ok"})
    monkeypatch.setenv("WECOM_WEBHOOK_URL", f"{sink.url}/cgi-bin/webhook/send?key=test-key")
    monkeypatch.setenv("DINGTALK_WEBHOOK_URL", f"{sink.url}/robot/send?access_token=test-token")
    yield sink
    sink.close()


@pytest.fixture
def recipient(app):
    user = create_user("zhang", PASSWORD, "张三" + INJECTION, [Role.ENGINEER], "dev", email="zhang@example.com")
    db.session.commit()
    return user


def notification(user, ticket=None, key="n1") -> Notification:
    n = Notification(key=key, user_id=user.id, kind="assign", ticket_id=ticket.id if ticket else None,
                     text="分派", link=f"/tickets/{ticket.number}" if ticket else "")
    db.session.add(n)
    db.session.commit()
    return n


def test_email_with_crlf_in_the_summary_and_the_name_gets_no_extra_header(smtp_server, recipient, ticket_factory):
    ticket = ticket_factory(summary="打印机无法打印" + INJECTION, reporter_name="刘建国" + INJECTION)
    n = notification(recipient, ticket)
    assert call_job(deliver_notification, n.id) == "sent"

    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["zhang@example.com"]
    assert envelope.mail_from == "portal@example.com"
    raw_headers = envelope.original_content.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"(?im)^bcc:", raw_headers)
    [msg] = smtp_server.messages()
    assert msg["Bcc"] is None
    assert set(msg.keys()) <= {"Subject", "From", "To", "Date", "Message-ID", "Content-Type",
                               "Content-Transfer-Encoding", "MIME-Version", "X-Peer", "X-MailFrom", "X-RcptTo"}
    subject = str(msg["Subject"])
    assert "\r" not in subject and "\n" not in subject and ticket.number in subject
    [to] = msg["To"].addresses
    assert to.addr_spec == "zhang@example.com"
    assert "\n" not in to.display_name and to.display_name.startswith("张三")
    # The user's text is in the body, where it belongs.
    assert "打印机无法打印" in msg.get_content()


def test_delivering_a_notification_twice_sends_one_email(smtp_server, recipient):
    n = notification(recipient)
    assert call_job(deliver_notification, n.id) == "sent"
    assert call_job(deliver_notification, n.id) == "nothing to do"
    assert len(smtp_server.envelopes) == 1


def test_delivery_jobs_enqueued_twice_through_the_outbox_send_one_email(smtp_server, recipient):
    n = notification(recipient)
    outbox.enqueue(deliver_notification, n.id)
    outbox.enqueue(deliver_notification, n.id)
    db.session.commit()
    run_burst_worker()
    assert len(smtp_server.envelopes) == 1
    assert db.session.get(Notification, n.id).delivered_at is not None


def test_an_address_with_crlf_is_refused_and_not_retried(smtp_server, app):
    user = create_user("li", PASSWORD, "李四", [Role.CS], "cs", email="li@example.com" + INJECTION)
    db.session.commit()
    n = notification(user)
    assert call_job(deliver_notification, n.id) == "invalid address"
    assert smtp_server.envelopes == []
    assert db.session.get(Notification, n.id).delivered_at is not None


def test_no_smtp_configured_marks_the_notification_delivered_without_sending(recipient, monkeypatch):
    monkeypatch.delenv("SMTP_HOST", raising=False)
    n = notification(recipient)
    assert call_job(deliver_notification, n.id) == "no channel"
    assert db.session.get(Notification, n.id).delivered_at is not None


def test_reminder_digest_posts_chinese_text_to_wecom_and_dingtalk(webhooks):
    assert call_job(post_reminder_digest, "monthly_callback", "cs", 3, "2026-11") == ["wecom", "dingtalk"]
    paths = [path for path, _, _ in webhooks.requests]
    assert paths == ["/cgi-bin/webhook/send?key=test-key", "/robot/send?access_token=test-token"]
    for _, headers, body in webhooks.requests:
        assert headers["Content-Type"].startswith("application/json")
        payload = json.loads(body.decode("utf-8"))
        assert payload["msgtype"] == "text"
        content = payload["text"]["content"]
        assert "客服" in content and "3" in content and "2026-11" in content
        # Chinese, not the English message ids (only the period, the count and the link are ASCII).
        link = current_app.config["PORTAL_BASE_URL"] + "/notifications"
        assert content.endswith("\n" + link) and link.startswith("http")
        assert not re.search(r"[A-Za-z]", content.replace("2026-11", "").replace(link, "")), content


def test_webhook_title_with_crlf_stays_on_its_line(webhooks):
    delivery.send_webhooks("新的提醒" + INJECTION, "正文")
    content = json.loads(webhooks.requests[0][2])["text"]["content"]
    assert content.split("\n") == ["新的提醒 Bcc: evil@example.com", "正文"]


def test_webhook_that_answers_with_an_error_code_fails_the_job(monkeypatch):
    sink = WebhookSink({"errcode": 93000, "errmsg": "invalid webhook url"})
    monkeypatch.setenv("WECOM_WEBHOOK_URL", f"{sink.url}/cgi-bin/webhook/send?key=bad")
    monkeypatch.delenv("DINGTALK_WEBHOOK_URL", raising=False)
    try:
        with pytest.raises(RuntimeError, match="93000"):
            call_job(post_reminder_digest, "overdue", "dev_manager", 1)
    finally:
        sink.close()


def test_no_webhook_configured_posts_nothing(monkeypatch):
    monkeypatch.delenv("WECOM_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("DINGTALK_WEBHOOK_URL", raising=False)
    assert call_job(post_reminder_digest, "overdue", "dev_manager", 1) == []


def test_long_webhook_text_is_cut_to_what_wecom_accepts(webhooks):
    delivery.send_webhooks("提醒", "维护" * 2000)
    for _, _, body in webhooks.requests:
        content = json.loads(body.decode("utf-8"))["text"]["content"]
        assert 2040 <= len(content.encode("utf-8")) <= 2048 and content.startswith("提醒\n维护")
