"""Redis unreachable during a request that needs it (the Excel import's preview is parked there): a clean Chinese
503 that says nothing was changed — never a 500 — and the next request works once Redis answers again.
A real client aimed at a port where nothing listens stands in for the stopped server (no mock of Redis)."""
from __future__ import annotations

import socket

import redis
from flask import current_app
from sqlalchemy import func, select

from portal.core.redis_conn import get_redis
from portal.customers.models import CustomerUnit
from portal.extensions import db
from tests.customers.helpers import upload, xlsx


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # released at once: nothing listens there


def test_an_import_preview_with_redis_unreachable_is_a_chinese_503_and_writes_nothing(auth):
    client = auth.client_for("cs")
    content = xlsx([["北京市某某医院", "张三", "13800138000"]])
    working = get_redis()  # (the app's client, created on first use)
    current_app.extensions["portal_redis"] = redis.Redis(host="127.0.0.1", port=_closed_port(),
                                                         socket_connect_timeout=1, socket_timeout=1)
    try:
        r = upload(client, content)
    finally:
        current_app.extensions["portal_redis"] = working
    body = r.get_data(as_text=True)
    assert r.status_code == 503 and "Traceback" not in body
    assert "后台服务（Redis）暂时无法访问" in body
    assert db.session.scalar(select(func.count()).select_from(CustomerUnit)) == 0
    assert upload(client, content).status_code == 200  # Redis back: the preview works again
