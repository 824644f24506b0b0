"""知识库 pages."""
from __future__ import annotations

from flask import Blueprint

from portal.core.kernel import guard_blueprint

bp = Blueprint("kb", __name__)
guard_blueprint(bp, "kb.view")


@bp.get("/kb")
def index():
    return "kb"
