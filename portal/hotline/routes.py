from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.core.enums import Role
from portal.extensions import db
from portal.hotline.models import HotlineRecord

bp = Blueprint("hotline", __name__)


@bp.get("/hotline")
@login_required
def index():
    if not current_user.has_role(Role.CS):
        abort(403)
    records = list(db.session.scalars(select(HotlineRecord).order_by(HotlineRecord.id.desc()).limit(100)))
    return render_template("hotline/index.html", records=records)
