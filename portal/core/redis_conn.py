"""Redis: a server named by REDIS_URL, or an embedded one in the instance folder by default
(portal/core/embedded_redis.py: started by the first process that needs it, which owns and stops
it; any other process attaches to it)."""
from __future__ import annotations

import redis
from flask import current_app

from portal.core import embedded_redis


def start_embedded(folder: str) -> str:
    """Start (or attach to) the embedded server in `folder`; return a unix:// URL for it."""
    return embedded_redis.start_or_attach(folder)


def resolve_url(app) -> str:
    url = app.config.get("REDIS_URL")
    if not url:
        url = start_embedded(app.config["EMBEDDED_REDIS_DIR"])
        app.config["REDIS_URL"] = url
    return url


def limiter_storage_uri(url: str) -> str:
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://"):]
    return url


def get_redis() -> redis.Redis:
    app = current_app._get_current_object()
    conn = app.extensions.get("portal_redis")
    if conn is None:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # One quick retry, no backoff: with Redis down a request must not wait seconds (the
        # outbox keeps what could not be sent).
        conn = redis.Redis.from_url(app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2,
                                    retry=Retry(NoBackoff(), 1))
        app.extensions["portal_redis"] = conn
    return conn
