"""`/healthz`: what monitoring reads — which part is down. 503 when the database or Redis does not
answer (requests would fail); `worker` says whether any RQ worker is alive (workers register
themselves in Redis and expire there without a heartbeat). No worker does not make it 503: pages
still work, and jobs wait in Redis and in the outbox until one runs."""
from flask import Blueprint, jsonify
from rq import Worker
from sqlalchemy import text

from portal.core.redis_conn import get_redis
from portal.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    status = {"database": "ok", "redis": "ok", "worker": "unknown"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as e:  # report, don't crash: this is what monitoring reads
        db.session.rollback()
        status["database"] = f"error: {type(e).__name__}"
    try:
        get_redis().ping()
        status["worker"] = "ok" if Worker.count(connection=get_redis()) else "none"
    except Exception as e:
        status["redis"] = f"error: {type(e).__name__}"
    ok = status["database"] == "ok" and status["redis"] == "ok"
    return jsonify(status=("ok" if ok else "degraded"), **status), (200 if ok else 503)
