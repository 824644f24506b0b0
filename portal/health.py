from flask import Blueprint, jsonify
from sqlalchemy import text

from portal.core.redis_conn import get_redis
from portal.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    status = {"database": "ok", "redis": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as e:  # report, don't crash: this is what monitoring reads
        db.session.rollback()
        status["database"] = f"error: {type(e).__name__}"
    try:
        get_redis().ping()
    except Exception as e:
        status["redis"] = f"error: {type(e).__name__}"
    ok = status["database"] == "ok" and status["redis"] == "ok"
    return jsonify(status=("ok" if ok else "degraded"), **status), (200 if ok else 503)
