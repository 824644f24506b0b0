"""Delivering notifications outside the portal, each channel optional and configured by the
environment:

  SMTP_HOST, SMTP_PORT (25), SMTP_FROM, SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS (0/1)
  WECOM_WEBHOOK_URL      企业微信 group robot  (…/cgi-bin/webhook/send?key=…)
  DINGTALK_WEBHOOK_URL   钉钉 group robot      (…/robot/send?access_token=…)

User text never reaches a mail header unescaped: header values are built by the email
library from text whose control characters we replace first; the recipient is an `Address`
object (its display name is quoted and encoded, so "Bcc: …" or "<x@y>" in a name stays a name;
a malformed address is refused) and is also given to SMTP explicitly, never read back from headers.
"""
from __future__ import annotations

import json
import os
import re
import smtplib
import urllib.request
from email.headerregistry import Address
from email.message import EmailMessage

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
TIMEOUT = 10
MAX_CONTENT_BYTES = 2048


def header_safe(text: str, limit: int = 200) -> str:
    """One line, no control characters (CR/LF/TAB…), bounded length."""
    return _CONTROL.sub(" ", text or "").strip()[:limit]


class InvalidAddress(ValueError):
    """The user's e-mail address is not one address: nothing is sent (retrying would not help)."""


def smtp_configured() -> bool:
    return bool(os.environ.get("SMTP_HOST"))


def send_email(to_addr: str, to_name: str, subject: str, body: str) -> None:
    host = os.environ["SMTP_HOST"]
    port = int(os.environ.get("SMTP_PORT", "25"))
    sender = os.environ.get("SMTP_FROM", "portal@localhost")
    try:
        recipient = Address(display_name=header_safe(to_name, 64), addr_spec=header_safe(to_addr, 254))
    except (ValueError, IndexError) as e:  # the email package's parse errors are ValueErrors
        raise InvalidAddress(str(e)) from e
    msg = EmailMessage()
    msg["Subject"] = header_safe(subject)
    msg["From"] = sender
    msg["To"] = recipient
    msg.set_content(body)
    with smtplib.SMTP(host, port, timeout=TIMEOUT) as smtp:
        if os.environ.get("SMTP_STARTTLS") == "1":
            smtp.starttls()
        if os.environ.get("SMTP_USER"):
            smtp.login(os.environ["SMTP_USER"], os.environ.get("SMTP_PASSWORD", ""))
        smtp.send_message(msg, from_addr=sender, to_addrs=[recipient.addr_spec])


def _post_json(url: str, payload: dict) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310 (URL from the operator's config)
        body = resp.read()
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return
    if answer.get("errcode", 0) != 0:
        raise RuntimeError(f"webhook refused: {answer.get('errcode')} {answer.get('errmsg')}")


def webhook_targets() -> dict[str, str]:
    return {name: url for name, url in (("wecom", os.environ.get("WECOM_WEBHOOK_URL")),
                                         ("dingtalk", os.environ.get("DINGTALK_WEBHOOK_URL"))) if url}


def send_webhooks(title: str, text: str) -> list[str]:
    """Post a plain-text message to every configured group robot; return the channels used."""
    # WeCom takes at most 2048 bytes of UTF-8 (DingTalk more): cut on a character boundary.
    content = f"{header_safe(title)}\n{text}".encode("utf-8")[:MAX_CONTENT_BYTES].decode("utf-8", "ignore")
    sent = []
    for name, url in webhook_targets().items():
        # Both robots accept {"msgtype": "text", "text": {"content": …}}.
        _post_json(url, {"msgtype": "text", "text": {"content": content}})
        sent.append(name)
    return sent
